/* http: one libcurl request with the project's rules (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "monotonic.h"
#include "log.h"

/* No API answer we read is anywhere near this; a body this large is an attack or a bug. */
#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)

/* libcurl is loaded on the first request, not at start-up. The helper runs under every docker
 * command and most calls never leave the keyring; linking libcurl would make each of them load
 * it and its ~30 dependencies (TLS, LDAP, Kerberos, …): measured here, 4.5 ms and 6 MB of the
 * 6.6 ms and 10.6 MB a cached `get` cost. The headers give the ABI; libcurl.so.4 is the soname
 * every libcurl 7.x and 8.x ships. */
#define LIBCURL_SONAME "libcurl.so.4"

static struct {
	int loaded; /* dlopen'd, symbols found */
	int ready;  /* and initialised */
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
	CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **content, unsigned int flags);
	void (*url_cleanup)(CURLU *u);
	void (*free)(void *p);
} lc;

/* Standard base64 of n bytes into a malloc'd string the caller wipes (secmem_free_str). */
static char *b64_encode(const char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)p;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = tab[u[i] >> 2];
		*o++ = tab[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
		*o++ = tab[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)];
		*o++ = tab[u[i + 2] & 63];
	}
	if (i < n) {
		*o++ = tab[u[i] >> 2];
		if (i + 1 < n) {
			*o++ = tab[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
			*o++ = tab[(u[i + 1] & 15) << 2];
		} else {
			*o++ = tab[(u[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* Load libcurl (once). ERR_UNAVAILABLE with why filled when it cannot be: the caller decides
 * whether to say so (http_prepare does not, http_do does). */
static int load_libcurl(char *why, size_t why_size)
{
	static const struct {
		const char *name;
		void **slot;
	} symbols[] = {
		{"curl_global_init", (void **)&lc.global_init},
		{"curl_easy_init", (void **)&lc.easy_init},
		{"curl_easy_setopt", (void **)&lc.easy_setopt},
		{"curl_easy_perform", (void **)&lc.easy_perform},
		{"curl_easy_getinfo", (void **)&lc.easy_getinfo},
		{"curl_easy_cleanup", (void **)&lc.easy_cleanup},
		{"curl_easy_strerror", (void **)&lc.easy_strerror},
		{"curl_slist_append", (void **)&lc.slist_append},
		{"curl_slist_free_all", (void **)&lc.slist_free_all},
		{"curl_url", (void **)&lc.url},
		{"curl_url_set", (void **)&lc.url_set},
		{"curl_url_get", (void **)&lc.url_get},
		{"curl_url_cleanup", (void **)&lc.url_cleanup},
		{"curl_free", (void **)&lc.free},
	};
	void *lib;
	size_t i;

	if (lc.loaded)
		return 0;
	/* RTLD_NOW, although binding lazily would save up to 0.3 ms: a library of libcurl's that
	 * lacks a symbol (a foreign libcurl on LD_LIBRARY_PATH, say) must fail here, with our
	 * one-line error, not kill the process at its first call. */
	lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(why, why_size, "cannot load %s (install libcurl4): %s", LIBCURL_SONAME,
			 dlerror());
		return ERR_UNAVAILABLE;
	}
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		*symbols[i].slot = dlsym(lib, symbols[i].name);
		if (!*symbols[i].slot) {
			dlclose(lib);
			snprintf(why, why_size, "%s lacks %s: libcurl 7.85 or newer is needed",
				 LIBCURL_SONAME, symbols[i].name);
			return ERR_UNAVAILABLE;
		}
	}
	lc.loaded = 1;
	return 0;
}

/* Load and initialise libcurl (once), as load_libcurl; ERR_FAILED when it will not initialise. */
static int ready_libcurl(char *why, size_t why_size)
{
	int rc;

	if (lc.ready)
		return 0;
	if ((rc = load_libcurl(why, why_size)) != 0)
		return rc;
	if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, why_size, "cannot initialise libcurl");
		return ERR_FAILED;
	}
	lc.ready = 1;
	return 0;
}

static int http_init(void)
{
	char why[1024];
	int rc = ready_libcurl(why, sizeof(why));

	return rc ? err_set(rc, "%s", why) : 0;
}

/* One entry of an allow-plain-http host list, checked and lower-cased into out: a DNS name
 * or an IPv4 address, or an IPv6 address in brackets, then an optional :PORT. A URL, a path,
 * a wildcard or user info is not a host a user names. */
static int plain_host_entry(const char *w, size_t n, char *out, size_t size)
{
	size_t i = 0, host_end;

	if (n == 0 || n >= size)
		return -1;
	if (w[0] == '[') {
		const char *close = memchr(w, ']', n);

		if (!close || close == w + 1)
			return -1;
		host_end = (size_t)(close - w) + 1;
		for (i = 1; i + 1 < host_end; i++)
			if (!strchr("0123456789abcdefABCDEF:.", w[i]))
				return -1;
	} else {
		host_end = strcspn(w, ":");
		if (host_end > n)
			host_end = n;
		if (host_end == 0)
			return -1;
		for (i = 0; i < host_end; i++)
			if (!(((w[i] | 0x20) >= 'a' && (w[i] | 0x20) <= 'z') ||
			      (w[i] >= '0' && w[i] <= '9') || w[i] == '-' || w[i] == '.'))
				return -1;
		/* A bare number ("2", "0") is a mistyped true or false, not a host anyone names. */
		if (strspn(w, "0123456789") >= host_end)
			return -1;
	}
	if (host_end < n) {
		char port[8];
		size_t plen = n - host_end - 1;
		long v;

		if (w[host_end] != ':' || plen == 0 || plen >= sizeof(port) ||
		    strspn(w + host_end + 1, "0123456789") < plen)
			return -1;
		memcpy(port, w + host_end + 1, plen);
		port[plen] = '\0';
		v = strtol(port, NULL, 10);
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

	if (env && getenv(env) && getenv(env)[0])
		snprintf(setting, sizeof(o->plain_setting), "%s", env);
	else
		snprintf(setting, sizeof(o->plain_setting), "%s%sallow-plain-http", section,
			 section[0] ? "." : "");
	if (!v || !v[0] || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
		return 0;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
	    strcmp(v, "1") == 0) {
		o->allow_plain_loopback = 1;
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
	snprintf(env, sizeof(env), "%s_CONNECT_TIMEOUT", env_prefix);
	rc = config_ms(cfg, section, "connect-timeout", env, 3000, &o.connect_timeout_ms);
	snprintf(env, sizeof(env), "%s_TIMEOUT", env_prefix);
	if (!rc)
		rc = config_ms(cfg, section, "timeout", env, 10000, &o.timeout_ms);
	snprintf(env, sizeof(env), "%s_ALLOW_PLAIN_HTTP", env_prefix);
	if (!rc)
		rc = load_plain(cfg, section, env, &o);
	if (rc) {
		http_opts_clear(&o);
		return rc;
	}
	if (o.connect_timeout_ms <= 0)
		o.connect_timeout_ms = 1;
	if (o.timeout_ms <= 0)
		o.timeout_ms = 1;
	o.max_body = HTTP_DEFAULT_MAX_BODY;
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
	size_t len = size * n, name_len;
	char line[256], *colon, *v;

	if (len >= sizeof(line))
		return len; /* no header we read is that long */
	memcpy(line, p, len);
	line[len] = '\0';
	colon = strchr(line, ':');
	if (!colon)
		return len;
	name_len = (size_t)(colon - line);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	v[strcspn(v, "\r\n")] = '\0';
	if (name_len == 11 && strncasecmp(line, "retry-after", 11) == 0)
		r->retry_after = header_int(v);
	else if (name_len == 15 && strncasecmp(line, "ratelimit-reset", 15) == 0)
		r->ratelimit_reset = header_int(v);
	else if (name_len == 16 && strncasecmp(line, "x-api-account-id", 16) == 0)
		snprintf(r->account_id, sizeof(r->account_id), "%s", v);
	else if (name_len == 18 && strncasecmp(line, "x-api-account-kind", 18) == 0)
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

/* Check the URL against the rules and return its host for messages. plain_remote: "host:port"
 * of plain http to a host that is not loopback (allowed by name), which the caller warns
 * about; "" otherwise. */
static int check_url(const struct http_opts *o, const char *url, char *host, size_t host_size,
		     char *plain_remote, size_t plain_size)
{
	CURLU *u = lc.url();
	char *scheme = NULL, *h = NULL, *port = NULL, lower[256];
	size_t i;
	int rc = 0, loopback;

	plain_remote[0] = '\0';
	if (!u)
		return err_set(ERR_FAILED, "out of memory");
	if (lc.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    lc.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    lc.url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    lc.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
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
	lc.free(scheme);
	lc.free(h);
	lc.free(port);
	lc.url_cleanup(u);
	return rc;
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
		return err_set(ERR_UNAVAILABLE, "TLS with %s failed: %s", host, detail[0] ? detail : lc.easy_strerror(c));
	default:
		break;
	}
	return err_set(ERR_UNAVAILABLE, "cannot reach %s: %s", host, detail[0] ? detail : lc.easy_strerror(c));
}

/* The URL for the debug log: scheme, host and path only. The query and fragment are cut, so
 * nothing a caller put there (none of ours holds a secret today) can reach the log. */
static void url_for_log(const char *url, char *buf, size_t size)
{
	size_t n = strcspn(url, "?#");

	snprintf(buf, size, "%.*s%s", (int)(n < size ? n : size - 1), url, url[n] ? "?…" : "");
}

/* Append a header line; on failure the list is left as it was (and freed, wiped, later). */
static int add_header(struct curl_slist **headers, const char *line)
{
	struct curl_slist *l = lc.slist_append(*headers, line);

	if (!l)
		return err_set(ERR_FAILED, "out of memory");
	*headers = l;
	return 0;
}

int http_do(const struct http_opts *o, const struct http_request *req, struct http_response *out)
{
	struct http_response r = {0};
	struct sink sink = {&r.body, o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY, 0};
	struct curl_slist *headers = NULL;
	struct secbuf auth = SECBUF_INIT, ctype = SECBUF_INIT;
	char host[256] = "", errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = NULL;
	CURLcode cc;
	char plain_remote[300] = "";
	int rc;

	r.retry_after = -1;
	r.ratelimit_reset = -1;
	/* What we authenticate with must never come back out in a message (see secmem.h). */
	if (req->bearer)
		secmem_remember(req->bearer, strlen(req->bearer));
	if (req->basic_pass)
		secmem_remember(req->basic_pass, strlen(req->basic_pass));
	rc = http_init();
	if (!rc)
		rc = check_url(o, req->url, host, sizeof(host), plain_remote, sizeof(plain_remote));
	if (rc) {
		log_debug("%s refused: %s", req->method, err_msg());
		return rc;
	}
	if (plain_remote[0] && (req->bearer || req->basic_pass || req->body))
		warn_plain(o, plain_remote);
	c = lc.easy_init();
	if (!c)
		return err_set(ERR_FAILED, "cannot initialise libcurl");
	lc.easy_setopt(c, CURLOPT_URL, req->url);
	/* The protocol allow-list is a rule, not a hint: refuse to go on without it. */
	if (lc.easy_setopt(c, CURLOPT_PROTOCOLS_STR,
			   o->allow_plain_loopback || o->nplain_hosts ? "https,http" : "https") != CURLE_OK) {
		lc.easy_cleanup(c);
		return err_set(ERR_UNAVAILABLE, "%s is too old to restrict protocols: libcurl 7.85 or "
			       "newer is needed", LIBCURL_SONAME);
	}
	lc.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	lc.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	lc.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	lc.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	lc.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
	lc.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	lc.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	lc.easy_setopt(c, CURLOPT_USERAGENT, "docker-credential-keyring/" DCK_VERSION);
	lc.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	lc.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	lc.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	lc.easy_setopt(c, CURLOPT_HEADERDATA, &r);
	if (o->ca_file)
		lc.easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	lc.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "GET") == 0)
		lc.easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (req->body) {
		lc.easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		lc.easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		lc.easy_setopt(c, CURLOPT_POSTFIELDS, "");
		lc.easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	/* Credentials go in headers we build in wiped memory; curl copies the list's strings
	 * as given, so the list is freed after the request and our copies wiped. */
	if (req->bearer) {
		rc = secbuf_append_str(&auth, "Authorization: Bearer ");
		if (!rc)
			rc = secbuf_append_str(&auth, req->bearer);
	} else if (req->basic_user) {
		char *b64 = NULL;
		struct secbuf pair = SECBUF_INIT;

		rc = secbuf_append_str(&pair, req->basic_user);
		if (!rc)
			rc = secbuf_append_str(&pair, ":");
		if (!rc)
			rc = secbuf_append_str(&pair, req->basic_pass ? req->basic_pass : "");
		if (!rc)
			b64 = b64_encode(pair.data, pair.len);
		if (!rc && !b64)
			rc = err_set(ERR_FAILED, "out of memory");
		if (!rc)
			rc = secbuf_append_str(&auth, "Authorization: Basic ");
		if (!rc)
			rc = secbuf_append_str(&auth, b64);
		secmem_free_str(b64);
		secbuf_free(&pair);
	}
	if (!rc && auth.len)
		rc = add_header(&headers, auth.data);
	if (!rc && req->content_type) {
		rc = secbuf_append_str(&ctype, "Content-Type: ");
		if (!rc)
			rc = secbuf_append_str(&ctype, req->content_type);
		if (!rc)
			rc = add_header(&headers, ctype.data);
	}
	if (!rc)
		rc = add_header(&headers, "Accept: application/json");
	if (!rc) {
		char logurl[512] = "";
		int64_t t0 = monotonic_ms();

		lc.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		cc = lc.easy_perform(c);
		if (log_enabled())
			url_for_log(req->url, logurl, sizeof(logurl));
		if (cc != CURLE_OK) {
			rc = from_curl(cc, host, &sink, errbuf);
			log_debug("%s %s failed after %lld ms: %s", req->method, logurl,
				  (long long)(monotonic_ms() - t0), err_msg());
		} else {
			lc.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
			log_debug("%s %s -> %ld in %lld ms (%zu bytes)", req->method, logurl, r.status,
				  (long long)(monotonic_ms() - t0), r.body.len);
			if (r.status >= 300 && r.status < 400)
				rc = err_set(ERR_UNAVAILABLE,
					     "%s answered with a redirect (%ld); not followed, so credentials "
					     "stay with the host they are for", host, r.status);
		}
	}
	lc.easy_cleanup(c);
	/* curl_slist keeps its own copies of the strings: wipe them before freeing. */
	for (struct curl_slist *h = headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	lc.slist_free_all(headers);
	secbuf_free(&auth);
	secbuf_free(&ctype);
	if (rc) {
		secbuf_free(&r.body);
		return rc;
	}
	*out = r;
	return 0;
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
