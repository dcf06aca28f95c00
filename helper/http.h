/* http: the one way this program talks HTTP (libcurl), with the rules every source needs.
 *
 *  - HTTPS only, certificates always verified. Plain http only where the settings say so
 *    (allow-plain-http): `true` permits a loopback address (tests); a host list permits those
 *    hosts by name (Rancher 1.x's default install serves http://HOST:8080). A request that
 *    carries a secret over plain http to a host that is not loopback writes one warning line
 *    on stderr (not again for the same host right after): the only place that knows it
 *    happens is here, and it must reach the user on every run, whatever the verb (a get's
 *    answer has no other channel for it).
 *  - A CA bundle from the settings, else SSL_CERT_FILE or CURL_CA_BUNDLE, else the system's.
 *  - Connect and total timeouts on every request; the body is capped (a larger one aborts).
 *  - Redirects are never followed: credentials must not travel to another host.
 *  - Everything that held a secret (credentials, the body) is wiped after use.
 *  - libcurl comes with a plugin loaded on the first request (http_plugin.h): a keyring-only
 *    call never pays for it. */
#ifndef DCK_HTTP_H
#define DCK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "secmem.h"

struct http_opts {
	char *ca_file;              /* NULL: SSL_CERT_FILE, CURL_CA_BUNDLE, or the system store */
	int64_t connect_timeout_ms;
	int64_t timeout_ms;         /* the whole request */
	size_t max_body;            /* http_opts_load: 1 MiB; a source may set less */
	int allow_plain_loopback;   /* permit http:// to 127.0.0.0/8, ::1, localhost */
	char **plain_hosts;         /* permit http:// to these: "host" (any port) or "host:port",
				     * lower case, IPv6 in brackets; owned */
	size_t nplain_hosts;
	char plain_setting[128];    /* the setting that allowed it, for the warning */
};

/* Read the shared settings of section (e.g. "digitalocean"): ca-file, connect-timeout,
 * timeout, allow-plain-http, each overridable by env_prefix + "_CA_FILE" / "_CONNECT_TIMEOUT"
 * / "_TIMEOUT" / "_ALLOW_PLAIN_HTTP" (e.g. env_prefix "DOCKER_CREDENTIAL_KEYRING_DO").
 * allow-plain-http is true/false (true: loopback only) or a list of HOST or HOST:PORT
 * separated by commas or spaces; anything else is ERR_INVALID naming the setting. */
int http_opts_load(const struct config *cfg, const char *section, const char *env_prefix,
		   struct http_opts *out);
void http_opts_clear(struct http_opts *o);

struct http_request {
	const char *method;       /* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *bearer;       /* Authorization: Bearer …, or NULL */
	const char *basic_user;   /* HTTP basic auth when non-NULL */
	const char *basic_pass;
	const char *content_type; /* for a body */
	const char *body;
	size_t body_len;
};

struct http_response {
	long status;
	struct secbuf body;
	int64_t retry_after;     /* seconds from Retry-After, -1 when absent */
	int64_t ratelimit_reset; /* Unix time from ratelimit-reset, -1 when absent */
	char account_id[64];     /* X-Api-Account-Id (Rancher), "" when absent */
	char account_kind[32];   /* X-Api-Account-Kind (Rancher: project, user, admin, …), "" */
};

/* Perform one request. 0 whenever an HTTP answer arrived (whatever its status); else
 * ERR_TIMEOUT, ERR_UNAVAILABLE (connect, TLS, redirect refused, body too large) or
 * ERR_INVALID (a URL the rules refuse), with a message that names the host, never a secret. */
int http_do(const struct http_opts *o, const struct http_request *req, struct http_response *out);

void http_response_clear(struct http_response *r);

/* Percent-encode s for a query string or form body (RFC 3986 unreserved kept). */
int http_escape(struct secbuf *out, const char *s);

#endif
