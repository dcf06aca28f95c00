/* http_curl: one HTTPS request through libcurl with the project's rules (http.h), built as
 * the plugin http-curl.so (http_plugin.h; plugin.h says why libcurl is a plugin). It checks
 * the URL against the rules, sends, and keeps the answer in wiped memory; the debug log, the
 * plain-http warning and the settings are http.c's. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "err.h"
#include "http_plugin.h"

/* curl_global_init, once. */
static int ready(void)
{
	static int done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(ERR_FAILED, "cannot initialise libcurl");
	done = 1;
	return 0;
}

struct sink {
	struct secbuf *body;
	size_t max;
	int too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	/* Returning less than len makes curl abort the transfer. */
	if (len > s->max - s->body->len) {
		s->too_big = 1;
		return 0;
	}
	return secbuf_append(s->body, p, len) ? 0 : len;
}

static int64_t header_int(const char *v)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	while (*end == ' ' || *end == '\r' || *end == '\n')
		end++;
	return (end == v || *end || n < 0) ? -1 : (int64_t)n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_response *r = arg;
	size_t len = size * n;
	char line[256], *colon, *v;

	if (len >= sizeof(line))
		return len; /* no header we read is that long */
	memcpy(line, p, len);
	line[len] = '\0';
	colon = strchr(line, ':');
	if (!colon)
		return len;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	v[strcspn(v, "\r\n")] = '\0';
	if (strcasecmp(line, "retry-after") == 0)
		r->retry_after = header_int(v);
	else if (strcasecmp(line, "ratelimit-reset") == 0)
		r->ratelimit_reset = header_int(v);
	else if (strcasecmp(line, "x-api-account-id") == 0)
		snprintf(r->account_id, sizeof(r->account_id), "%s", v);
	else if (strcasecmp(line, "x-api-account-kind") == 0)
		snprintf(r->account_kind, sizeof(r->account_kind), "%s", v);
	return len;
}

/* Is host (as libcurl's URL parser gives it: IPv6 in brackets) a loopback address? Parsed, not
 * matched by prefix: "127.attacker.example" is a name anyone can point anywhere. */
static int is_loopback_host(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	char bare[INET6_ADDRSTRLEN + 1];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1; /* libcurl resolves it to loopback itself, without asking DNS */
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(bare))
		return 0;
	memcpy(bare, host + 1, n - 2);
	bare[n - 2] = '\0';
	if (inet_pton(AF_INET6, bare, &v6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&v6))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

/* Does an allow-plain-http host list name host (lower-cased by the caller) with port? */
static int is_named_plain_host(const struct http_opts *o, const char *host, const char *port)
{
	size_t i, hl = strlen(host);

	for (i = 0; i < o->nplain_hosts; i++) {
		const char *e = o->plain_hosts[i];

		if (strncmp(e, host, hl) == 0 && (e[hl] == '\0' || (e[hl] == ':' && strcmp(e + hl + 1, port) == 0)))
			return 1;
	}
	return 0;
}

/* Check the URL against the rules and return its host for messages; plain_remote as
 * http_plugin.h says ("" otherwise). */
static int check_url(const struct http_opts *o, const char *url, char *host, size_t host_size,
		     char *plain_remote, size_t plain_size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *port = NULL, lower[256];
	size_t i;
	int rc = 0, loopback;

	plain_remote[0] = '\0';
	if (!u)
		return err_set(ERR_FAILED, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rc = err_set(ERR_INVALID, "not a valid URL: %s", url);
		goto out;
	}
	snprintf(host, host_size, "%s", h);
	if (strcasecmp(scheme, "https") == 0)
		goto out;
	for (i = 0; h[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] | 0x20 : h[i]);
	lower[i] = '\0';
	loopback = is_loopback_host(lower);
	if (strcasecmp(scheme, "http") == 0 && ((o->allow_plain_loopback && loopback) ||
						is_named_plain_host(o, lower, port))) {
		if (!loopback)
			snprintf(plain_remote, plain_size, "%s:%s", h, port);
		goto out;
	}
	rc = err_set(ERR_INVALID, "refusing %s://%s: only https is allowed%s", scheme, h,
		     strcasecmp(scheme, "http") == 0
			     ? " (plain http only to a host named in allow-plain-http, or to loopback "
			       "when it is true)"
			     : "");
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static int from_curl(CURLcode c, const char *host, const struct sink *sink, const char *detail)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return err_set(ERR_TIMEOUT, "%s did not answer in time", host);
	case CURLE_WRITE_ERROR:
		if (sink->too_big)
			return err_set(ERR_UNAVAILABLE, "%s sent a response larger than %zu bytes", host,
				       sink->max);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		return err_set(ERR_UNAVAILABLE, "TLS with %s failed: %s", host, detail[0] ? detail : curl_easy_strerror(c));
	default:
		break;
	}
	return err_set(ERR_UNAVAILABLE, "cannot reach %s: %s", host, detail[0] ? detail : curl_easy_strerror(c));
}

/* Append the header line name + value, built in wiped memory (curl keeps its own copy, which
 * is wiped before the list is freed); on failure the list is left as it was. */
static int add_header(struct curl_slist **headers, const char *name, const char *value)
{
	struct secbuf line = SECBUF_INIT;
	struct curl_slist *l = NULL;
	int rc = secbuf_append_str(&line, name);

	if (!rc)
		rc = secbuf_append_str(&line, value);
	if (!rc && !(l = curl_slist_append(*headers, line.data)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (l)
		*headers = l;
	secbuf_free(&line);
	return rc;
}

static int perform(const struct http_opts *o, const struct http_request *req,
		   struct http_response *out, char *plain_remote, size_t plain_size)
{
	struct http_response r = {0};
	struct sink sink = {&r.body, o->max_body, 0};
	struct curl_slist *headers = NULL;
	struct secbuf auth = SECBUF_INIT;
	char host[256] = "", errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = NULL;
	CURLcode cc;
	int rc;

	r.retry_after = -1;
	r.ratelimit_reset = -1;
	rc = ready();
	if (!rc)
		rc = check_url(o, req->url, host, sizeof(host), plain_remote, plain_size);
	if (rc)
		return rc;
	c = curl_easy_init();
	if (!c)
		return err_set(ERR_FAILED, "cannot initialise libcurl");
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	/* The protocol allow-list is a rule, not a hint: refuse to go on without it. */
	if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
			   o->allow_plain_loopback || o->nplain_hosts ? "https,http" : "https") != CURLE_OK) {
		curl_easy_cleanup(c);
		return err_set(ERR_UNAVAILABLE, "libcurl is too old to restrict protocols: 7.85 or "
			       "newer is needed");
	}
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "docker-credential-keyring/" DCK_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	if (o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (req->bearer) {
		rc = add_header(&headers, "Authorization: Bearer ", req->bearer);
	} else if (req->basic_user) {
		struct secbuf pair = SECBUF_INIT;

		rc = secbuf_append_str(&pair, req->basic_user);
		if (!rc)
			rc = secbuf_append_str(&pair, ":");
		if (!rc)
			rc = secbuf_append_str(&pair, req->basic_pass ? req->basic_pass : "");
		if (!rc)
			rc = base64_encode(&auth, pair.data, pair.len);
		if (!rc)
			rc = add_header(&headers, "Authorization: Basic ", auth.data);
		secbuf_free(&pair);
	}
	if (!rc && req->content_type)
		rc = add_header(&headers, "Content-Type: ", req->content_type);
	if (!rc)
		rc = add_header(&headers, "Accept: ", "application/json");
	if (!rc) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		cc = curl_easy_perform(c);
		if (cc != CURLE_OK) {
			rc = from_curl(cc, host, &sink, errbuf);
		} else {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
			if (r.status >= 300 && r.status < 400)
				rc = err_set(ERR_UNAVAILABLE,
					     "%s answered with a redirect (%ld); not followed, so credentials "
					     "stay with the host they are for", host, r.status);
		}
	}
	curl_easy_cleanup(c);
	/* curl_slist keeps its own copies of the strings: wipe them before freeing. */
	for (struct curl_slist *h = headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	secbuf_free(&auth);
	if (rc) {
		secbuf_free(&r.body);
		return rc;
	}
	*out = r;
	return 0;
}

__attribute__((visibility("default"))) const struct http_plugin dck_http_plugin_v1 = {
	perform,
	err_msg,
};
