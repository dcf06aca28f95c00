/* http: the settings of a source's requests, and each request through the libcurl plugin
 * (http_plugin.h), with its debug log line and the plain-http warning (see http.h). */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "http_plugin.h"
#include "log.h"
#include "monotonic.h"
#include "plugin.h"
#include "secmem.h"

#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."

/* One entry of an allow-plain-http host list, checked and lower-cased into out: a DNS name
 * or an IPv4 address, or an IPv6 address in brackets, then an optional :PORT. A URL, a path,
 * a wildcard or user info is not a host a user names. */
static int plain_host_entry(const char *w, size_t n, char *out, size_t size)
{
	size_t i, host_end;

	if (n == 0 || n >= size)
		return -1;
	if (w[0] == '[') {
		const char *close = memchr(w, ']', n);

		if (!close || close == w + 1)
			return -1;
		host_end = (size_t)(close - w) + 1;
		if (strspn(w + 1, "0123456789abcdefABCDEF:.") != host_end - 2)
			return -1;
	} else {
		host_end = strcspn(w, ":");
		if (host_end > n)
			host_end = n;
		/* A bare number ("2", "0") is a mistyped true or false, not a host anyone names. */
		if (host_end == 0 || strspn(w, HOST_CHARS) < host_end ||
		    strspn(w, "0123456789") >= host_end)
			return -1;
	}
	if (host_end < n) {
		size_t plen = n - host_end - 1;
		long v;

		if (w[host_end] != ':' || plen == 0 || plen >= 8 ||
		    strspn(w + host_end + 1, "0123456789") < plen)
			return -1;
		v = strtol(w + host_end + 1, NULL, 10); /* the entry ends at a separator or NUL */
		if (v < 1 || v > 65535)
			return -1;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)((w[i] >= 'A' && w[i] <= 'Z') ? w[i] | 0x20 : w[i]);
	out[n] = '\0';
	return 0;
}

/* allow-plain-http: true/false, or a list of hosts (see http.h). */
static int load_plain(const struct config *cfg, const char *section, const char *env,
		      struct http_opts *o)
{
	const char *v = config_str(cfg, section, "allow-plain-http", env);
	char *setting = o->plain_setting, word[300];
	size_t n;

	config_setting_name(section, "allow-plain-http", env, setting, sizeof(o->plain_setting));
	if (!v || !v[0] || config_parse_bool(v) >= 0) {
		o->allow_plain_loopback = v && config_parse_bool(v) == 1;
		return 0;
	}
	while (*v) {
		char **hosts;

		v += strspn(v, ", \t");
		n = strcspn(v, ", \t");
		if (!n)
			break;
		if (plain_host_entry(v, n, word, sizeof(word)))
			return err_set(ERR_INVALID, "%s: \"%.*s\" is not a host: give true, false or "
				       "hosts as HOST or HOST:PORT, separated by commas", setting,
				       (int)(n < 200 ? n : 200), v);
		v += n;
		hosts = realloc(o->plain_hosts, (o->nplain_hosts + 1) * sizeof(*hosts));
		if (!hosts)
			return err_set(ERR_FAILED, "out of memory");
		o->plain_hosts = hosts;
		if (!(o->plain_hosts[o->nplain_hosts] = strdup(word)))
			return err_set(ERR_FAILED, "out of memory");
		o->nplain_hosts++;
	}
	return 0;
}

int http_opts_load(const struct config *cfg, const char *section, const char *env_prefix,
		   struct http_opts *out)
{
	char env[128];
	const char *ca;
	struct http_opts o = {0};
	int rc;

	snprintf(env, sizeof(env), "%s_CA_FILE", env_prefix);
	ca = config_str(cfg, section, "ca-file", env);
	if (!ca || !ca[0])
		ca = getenv("SSL_CERT_FILE");
	if (!ca || !ca[0])
		ca = getenv("CURL_CA_BUNDLE");
	if (ca && ca[0] && !(o.ca_file = strdup(ca)))
		return err_set(ERR_FAILED, "out of memory");
	/* 0 or a value surely meant in another unit (3000: a number alone is seconds, so 50
	 * minutes) is an error naming the setting. A get that waits longer than 2 minutes helps
	 * nobody (the kubelet kills its plugin at 60 s). */
	snprintf(env, sizeof(env), "%s_CONNECT_TIMEOUT", env_prefix);
	rc = config_ms_range(cfg, section, "connect-timeout", env, 3000, 100, 60000,
			     &o.connect_timeout_ms);
	snprintf(env, sizeof(env), "%s_TIMEOUT", env_prefix);
	if (!rc)
		rc = config_ms_range(cfg, section, "timeout", env, 10000, 100, 120000, &o.timeout_ms);
	snprintf(env, sizeof(env), "%s_ALLOW_PLAIN_HTTP", env_prefix);
	if (!rc)
		rc = load_plain(cfg, section, env, &o);
	if (rc) {
		http_opts_clear(&o);
		return rc;
	}
	o.max_body = 1024 * 1024; /* no API answer is near it: a larger body is an attack or a bug */
	*out = o;
	return 0;
}

void http_opts_clear(struct http_opts *o)
{
	size_t i;

	free(o->ca_file);
	o->ca_file = NULL;
	for (i = 0; i < o->nplain_hosts; i++)
		free(o->plain_hosts[i]);
	free(o->plain_hosts);
	o->plain_hosts = NULL;
	o->nplain_hosts = 0;
}

void http_response_clear(struct http_response *r)
{
	secbuf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

/* Plain http to a host that is not loopback, with a secret on board: say so on stderr, once per
 * process and host (see http.h for why the http layer writes it itself). */
static void warn_plain(const struct http_opts *o, const char *host)
{
	static char warned[300];

	if (strcmp(warned, host) == 0)
		return;
	snprintf(warned, sizeof(warned), "%s", host);
	fprintf(stderr, "%s: warning: plain http to %s (allowed by %s): the API key and what it "
		"sends cross the network unencrypted\n", program_invocation_short_name, host,
		o->plain_setting);
}

/* The URL for the debug log: scheme, host and path only. The query and fragment are cut, so
 * nothing a caller put there (none of ours holds a secret today) can reach the log. */
static void url_for_log(const char *url, char *buf, size_t size)
{
	size_t n = strcspn(url, "?#");

	snprintf(buf, size, "%.*s%s", (int)(n < size ? n : size - 1), url, url[n] ? "?…" : "");
}

int http_do(const struct http_opts *o, const struct http_request *req, struct http_response *out)
{
	static const struct http_plugin *curl;
	char plain_remote[300] = "", logurl[512] = "";
	int64_t t0 = monotonic_ms();
	int rc;

	/* What we authenticate with must never come back out in a message (see secmem.h). */
	if (req->bearer)
		secmem_remember(req->bearer, strlen(req->bearer));
	if (req->basic_pass)
		secmem_remember(req->basic_pass, strlen(req->basic_pass));
	if (!curl && !(curl = plugin_load(HTTP_PLUGIN_FILE, HTTP_PLUGIN_SYMBOL)))
		return err_wrap(ERR_UNAVAILABLE, "libcurl is not available (install libcurl4)");
	rc = curl->perform(o, req, out, plain_remote, sizeof(plain_remote));
	if (rc)
		err_set(rc, "%s", curl->last_error());
	if (plain_remote[0] && (req->bearer || req->basic_pass || req->body))
		warn_plain(o, plain_remote);
	if (log_enabled())
		url_for_log(req->url, logurl, sizeof(logurl));
	if (rc == ERR_INVALID)
		log_debug("%s refused: %s", req->method, err_msg());
	else if (rc)
		log_debug("%s %s failed after %lld ms: %s", req->method, logurl,
			  (long long)(monotonic_ms() - t0), err_msg());
	else
		log_debug("%s %s -> %ld in %lld ms (%zu bytes)", req->method, logurl, out->status,
			  (long long)(monotonic_ms() - t0), out->body.len);
	return rc;
}

int http_escape(struct secbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[3] = {'%', 0, 0};
	int rc = 0;

	for (; !rc && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			rc = secbuf_append(out, s, 1);
		} else {
			enc[1] = hex[ch >> 4];
			enc[2] = hex[ch & 15];
			rc = secbuf_append(out, enc, 3);
		}
	}
	explicit_bzero(enc, sizeof(enc));
	return rc;
}
