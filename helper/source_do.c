/* source_do: registry credentials from DigitalOcean's API (the interface is in source.h, the
 * settings in docs/digitalocean.md).
 *
 * Why it is shaped this way:
 *  - Every GET …/docker-credentials mints a new token on the user's account. creds.c caches
 *    what fetch returns and asks again only when refresh_before says so: one request per
 *    cached lifetime, never one per `get`.
 *  - The answer is a docker config.json and carries no expiry: the expiry is the time of the
 *    request plus the expiry_seconds we asked for.
 *  - `erase` revokes the minted token at the OAuth endpoint, so logging out leaves nothing
 *    valid behind. Only our own copies are revoked: a login the user stored may be their
 *    personal API token, which is not ours to kill.
 *  - Everything the API sends is hostile until checked: wrong types, missing keys and huge
 *    values each end in one line that names the problem, never a secret.
 *  - The token is looked up only when a fetch needs it, so `get` for other registries costs
 *    nothing here (no file read, no curl). */
#include "source.h"
#include "source_do.h"
#include "source_do_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "monotonic.h"
#include "http.h"
#include "json_secret.h"
#include "log.h"
#include "secmem.h"

#define DO_NAME "digitalocean"
#define DO_SECTION "digitalocean"
#define DO_ENV "DOCKER_CREDENTIAL_KEYRING_DO"
#define DO_HOST "registry.digitalocean.com"
#define DO_API_URL "https://api.digitalocean.com"
#define DO_OAUTH_URL "https://cloud.digitalocean.com"
#define DO_LOGIN_HINT "set DIGITALOCEAN_ACCESS_TOKEN or run `docker-credential-keyring login digitalocean`"

enum {
	DO_DEFAULT_EXPIRY = 86400,          /* seconds: one day, refreshed after half of it */
	DO_MAX_HOSTS = 32,
	DO_MAX_HOST_LEN = 253,
	DO_MAX_URL_LEN = 2048,
	DO_MAX_TOKEN = 4096,
	DO_MAX_TOKEN_FILE = DO_MAX_TOKEN + 1024, /* the token, and white space around it */
	DO_MAX_FROM = 512,                  /* "where the token came from", for messages */
	DO_MAX_AUTH = 16384,                /* base64 of user:password; real ones are ~130 bytes */
	DO_MAX_BODY = 64 * 1024,            /* the real answer is ~200 bytes */
	DO_MAX_DOCTL_CONFIG = 1024 * 1024,
	DO_MAX_CONTEXTS = 256,
	DO_MAX_ATTEMPTS = 3,
	DO_RETRY_5XX_MS = 1000,
	DO_MIN_LEFT_MS = 1000,              /* a retry needs at least this much of the deadline */
	DO_MAX_NAMES_FILE = 16 * 1024,      /* the remembered registry names: a line per API URL */
	DO_MAX_NAMES_LINES = 16,
	DO_MIN_TIMEOUT_MS = 100,            /* the timeout settings' range */
	DO_MAX_TIMEOUT_MS = 120 * 1000,     /* a get that waits longer helps nobody (kubelet: 60 s) */
	DO_MAX_CONNECT_TIMEOUT_MS = 60 * 1000,
};

#define DO_MAX_EXPIRY 1576800000LL /* the API's largest accepted expiry_seconds */

/* Where the token came from: doctor's fix says where to put a new one. */
enum do_token_kind {
	DO_TK_NONE,
	DO_TK_ENV,     /* token_from names the variable */
	DO_TK_CONFIG,  /* digitalocean.token in the config file */
	DO_TK_FILE,    /* token_file, named by token_setting */
	DO_TK_KEYRING, /* saved by `login` */
	DO_TK_DOCTL,   /* doctl's config.yaml */
};

struct do_source {
	struct source base; /* first: a struct source * of ours is a struct do_source * */
	struct store *store; /* where `login` saved a token; not owned, may be NULL */
	struct http_opts http;
	char *api_url;       /* no trailing slash */
	char *oauth_url;
	char *registry;      /* NULL: the single-registry endpoint */
	char *hosts[DO_MAX_HOSTS];
	size_t nhosts;
	int64_t expiry;      /* seconds; 0: credentials that never expire */
	double share;        /* refresh when less than this share of the lifetime is left */
	int read_write;
	char *token;         /* from the environment or the config file, unchecked; or NULL */
	char *token_file;    /* or the file that holds it (token-file), read at each fetch */
	char token_from[DO_MAX_FROM]; /* where token or token_file came from, for messages */
	char token_setting[64]; /* the setting that named token_file */
	enum do_token_kind token_kind; /* of token or token_file; DO_TK_NONE without either */
};

/* --- small helpers ------------------------------------------------------------------------- */

/* A DigitalOcean registry name (models/registry_base.yml: ^[a-z0-9-]{1,63}$). Names go into
 * URL paths, so nothing else may pass. */
static int do_is_registry_name(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (i == 63 || !((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			return 0;
	return i > 0;
}

static int do_oom(void)
{
	return err_set(ERR_FAILED, "out of memory");
}

static void do_sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int do_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The name a setting is known by in messages: the variable when it is set, else section.key. */
static const char *do_setting_name(const char *key, const char *env, char *buf, size_t size)
{
	if (env && getenv(env) && getenv(env)[0])
		return env;
	snprintf(buf, size, DO_SECTION ".%s", key);
	return buf;
}

/* The host of a server key, lower case: no scheme, no path. "" when it does not fit in buf. */
static void do_host_of(const char *server, char *buf, size_t size)
{
	size_t i = 0;

	if (strncasecmp(server, "https://", 8) == 0)
		server += 8;
	else if (strncasecmp(server, "http://", 7) == 0)
		server += 7;
	for (; server[i] && server[i] != '/'; i++) {
		if (i + 1 >= size) {
			buf[0] = '\0';
			return;
		}
		buf[i] = (server[i] >= 'A' && server[i] <= 'Z') ? (char)(server[i] - 'A' + 'a') : server[i];
	}
	buf[i] = '\0';
}

/* A token as the API and an HTTP header accept it: surrounding whitespace dropped, then 1 to
 * DO_MAX_TOKEN visible ASCII characters. *out is a wiped-on-free copy. what names the token's
 * origin in messages; the token itself never appears in one. */
static int do_clean_token(const char *p, size_t len, const char *what, char **out)
{
	size_t i;
	char *t;

	while (len && do_is_space(p[0])) {
		p++;
		len--;
	}
	while (len && do_is_space(p[len - 1]))
		len--;
	if (len == 0)
		return err_set(ERR_INVALID, "the DigitalOcean token from %s is empty", what);
	if (len > DO_MAX_TOKEN)
		return err_set(ERR_INVALID, "the DigitalOcean token from %s is longer than %d bytes",
			       what, DO_MAX_TOKEN);
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return err_set(ERR_INVALID,
				       "the DigitalOcean token from %s holds a character no token has "
				       "(a space, control or non-ASCII character)", what);
	t = secmem_dup(p, len);
	if (!t)
		return do_oom();
	*out = t;
	return 0;
}

/* --- JSON ------------------------------------------------------------------------------------- */

/* Parse a whole body (json_secret.h: nothing of it is left in freed memory). */
static struct json_object *do_parse_json(const struct secbuf *body, const char **why)
{
	return json_secret_parse(body->data, body->len, 16, why);
}

/* Append s to b with control characters dropped and at most max bytes: text from the network
 * goes into one stderr line. */
static void do_append_clean(struct secbuf *b, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s && n < max; s++, n++) {
		char ch = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;

		secbuf_append(b, &ch, 1);
	}
	if (*s)
		secbuf_append_str(b, "…");
}

/* "HTTP 401: unauthorized: Unable to authenticate you. (request 4d9d…)" from an error answer
 * ({"id","message","request_id"}); just "HTTP 502" when the body is not that (HTML, empty). */
static void do_describe_error(const struct http_response *r, char *buf, size_t size)
{
	struct secbuf b = SECBUF_INIT;
	struct json_object *obj, *id = NULL, *msg = NULL, *req = NULL;
	const char *why;
	char status[32];

	snprintf(status, sizeof(status), "HTTP %ld", r->status);
	secbuf_append_str(&b, status);
	obj = do_parse_json(&r->body, &why);
	if (obj && json_object_is_type(obj, json_type_object)) {
		json_object_object_get_ex(obj, "id", &id);
		json_object_object_get_ex(obj, "message", &msg);
		json_object_object_get_ex(obj, "request_id", &req);
		if (id && json_object_is_type(id, json_type_string)) {
			secbuf_append_str(&b, ": ");
			do_append_clean(&b, json_object_get_string(id), 64);
		}
		if (msg && json_object_is_type(msg, json_type_string)) {
			secbuf_append_str(&b, ": ");
			do_append_clean(&b, json_object_get_string(msg), 300);
		}
		if (req && json_object_is_type(req, json_type_string)) {
			secbuf_append_str(&b, " (request ");
			do_append_clean(&b, json_object_get_string(req), 64);
			secbuf_append_str(&b, ")");
		}
	}
	json_secret_free(obj);
	snprintf(buf, size, "%s", b.data ? b.data : status);
	secbuf_free(&b);
}

/* --- base64 and the docker config ------------------------------------------------------------- */

static int do_b64_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 (RFC 4648 §4; the padding may be left out) into out, which is wiped on
 * free. Anything else, whitespace included, is refused: the API sends none. */
static int do_b64_decode(const char *in, size_t n, struct secbuf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	unsigned char byte;
	size_t i;
	int d, rc = 0;

	if (n >= 4 && n % 4 == 0 && in[n - 1] == '=')
		n -= in[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return ERR_INVALID;
	for (i = 0; !rc && i < n; i++) {
		d = do_b64_digit((unsigned char)in[i]);
		if (d < 0) {
			rc = ERR_INVALID;
			break;
		}
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
			rc = secbuf_append(out, &byte, 1);
		}
	}
	acc = 0;
	byte = 0;
	explicit_bzero(&acc, sizeof(acc));
	explicit_bzero(&byte, sizeof(byte));
	if (rc)
		secbuf_free(out);
	return rc;
}

/* Split "user:password" (decoded) at the FIRST colon: usernames are e-mail addresses or old
 * tokens, never with a colon; the password is a dop_v1_ token. A trailing newline (seen in the
 * spec's example) is dropped. */
static int do_split_auth(struct secbuf *dec, struct cred *c)
{
	size_t len = dec->len, i;
	char *colon;

	/* An empty "auth" decodes to nothing at all (no buffer): memchr must not see NULL. */
	if (!dec->data || !len)
		return err_set(ERR_UNAVAILABLE, "the credential in the DigitalOcean API's answer is empty");
	while (len && (dec->data[len - 1] == '\n' || dec->data[len - 1] == '\r'))
		len--;
	for (i = 0; i < len; i++)
		if ((unsigned char)dec->data[i] < 0x20 || dec->data[i] == 0x7f)
			return err_set(ERR_UNAVAILABLE, "the credential in the DigitalOcean API's answer "
				       "holds control characters");
	colon = memchr(dec->data, ':', len);
	if (!colon || colon == dec->data || colon == dec->data + len - 1)
		return err_set(ERR_UNAVAILABLE, "the credential in the DigitalOcean API's answer is not "
			       "username:password");
	c->username = secmem_dup(dec->data, (size_t)(colon - dec->data));
	c->secret_len = len - (size_t)(colon - dec->data) - 1;
	c->secret = secmem_dup(colon + 1, c->secret_len);
	if (!c->username || !c->secret)
		return do_oom();
	return 0;
}

/* The credential for server in a docker-credentials answer ({"auths":{host:{"auth":b64}}}).
 * The host is the auths key that matches server, or the only key there is (the user mapped
 * another name to this source). Fills c->username and c->secret. */
static int do_parse_config(const struct secbuf *body, const char *server, struct cred *c)
{
	struct json_object *obj, *auths = NULL, *entry = NULL, *first = NULL, *auth = NULL;
	struct secbuf dec = SECBUF_INIT;
	char want[DO_MAX_HOST_LEN + 1], key_host[DO_MAX_HOST_LEN + 1];
	const char *why;
	size_t n = 0;
	int rc = 0;

	obj = do_parse_json(body, &why);
	if (!obj)
		return err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer is not JSON: %s", why);
	do_host_of(server, want, sizeof(want));
	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object)) {
		rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer is not a docker config "
			     "(no \"auths\" object)");
		goto out;
	}
	{
		json_object_object_foreach(auths, key, val) {
			do_host_of(key, key_host, sizeof(key_host));
			if (!first)
				first = val;
			if (!entry && want[0] && strcmp(key_host, want) == 0)
				entry = val;
			n++;
		}
	}
	if (!entry && n == 1)
		entry = first;
	if (!entry) {
		if (n == 0)
			rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer holds no credentials at all");
		else
			rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer holds no credentials for %s",
				     want[0] ? want : "this server");
		goto out;
	}
	if (!json_object_is_type(entry, json_type_object) ||
	    !json_object_object_get_ex(entry, "auth", &auth) ||
	    !json_object_is_type(auth, json_type_string)) {
		rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer has no \"auth\" string "
			     "for the registry");
		goto out;
	}
	if (json_object_get_string_len(auth) > DO_MAX_AUTH) {
		rc = err_set(ERR_UNAVAILABLE, "the \"auth\" value in the DigitalOcean API's answer is "
			     "longer than %d bytes", DO_MAX_AUTH);
		goto out;
	}
	if (do_b64_decode(json_object_get_string(auth), (size_t)json_object_get_string_len(auth),
			  &dec)) {
		rc = err_set(ERR_UNAVAILABLE, "the \"auth\" value in the DigitalOcean API's answer is "
			     "not base64");
		goto out;
	}
	rc = do_split_auth(&dec, c);
out:
	secbuf_free(&dec);
	json_secret_free(obj);
	return rc;
}

/* GET /v2/registries ({"registries":[{"name":…,"region":…},…]}): how many registries and the
 * first DO_MAX_NAMES names. Every entry must have a valid name: one that is not would end up in
 * a URL. */
static int do_parse_registries(const struct secbuf *body, struct do_registries *out)
{
	struct json_object *obj, *regs = NULL;
	struct do_registries r;
	const char *why = NULL;
	size_t i;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	obj = do_parse_json(body, &why);
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "registries", &regs) ||
	    !json_object_is_type(regs, json_type_array)) {
		rc = err_set(ERR_UNAVAILABLE, "DigitalOcean's answer to GET /v2/registries is not a "
			     "registry list (%s)", obj ? "no \"registries\" array" : why);
		goto out;
	}
	for (i = 0; i < json_object_array_length(regs); i++) {
		struct json_object *name = NULL;
		const char *v;

		if (!json_object_object_get_ex(json_object_array_get_idx(regs, i), "name", &name) ||
		    !json_object_is_type(name, json_type_string) ||
		    !do_is_registry_name(v = json_object_get_string(name))) {
			rc = err_set(ERR_UNAVAILABLE, "DigitalOcean's answer to GET /v2/registries holds "
				     "a registry without a name of 1 to 63 characters of a-z, 0-9 and -");
			goto out;
		}
		if (r.n < DO_MAX_NAMES)
			snprintf(r.names[r.n], sizeof(r.names[r.n]), "%s", v);
		r.n++;
	}
	*out = r;
out:
	json_secret_free(obj);
	return rc;
}

/* A string from the API for one line of ours: at most max bytes, control characters refused. */
static int do_plain_string(struct json_object *v, size_t max)
{
	const char *p;

	if (!v || !json_object_is_type(v, json_type_string) || !json_object_get_string_len(v) ||
	    (size_t)json_object_get_string_len(v) > max)
		return 0;
	for (p = json_object_get_string(v); *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* GET /v2/account ({"account":{"email":…,"team":{"name":…},…}}): "email (team name)" into
 * who, or just the e-mail when there is no team. */
static int do_parse_account(const struct secbuf *body, char *who, size_t size)
{
	struct json_object *obj, *account = NULL, *email = NULL, *team = NULL, *team_name = NULL;
	const char *why = NULL;
	int rc = 0;

	obj = do_parse_json(body, &why);
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "account", &account) ||
	    !json_object_is_type(account, json_type_object) ||
	    !json_object_object_get_ex(account, "email", &email) || !do_plain_string(email, 254)) {
		rc = err_set(ERR_UNAVAILABLE, "DigitalOcean's answer to GET /v2/account has no account "
			     "e-mail (%s)", obj ? "no \"account\".\"email\" string of 1 to 254 "
			     "printable characters" : why);
		goto out;
	}
	if (json_object_object_get_ex(account, "team", &team) &&
	    json_object_is_type(team, json_type_object) &&
	    json_object_object_get_ex(team, "name", &team_name) && do_plain_string(team_name, 128))
		snprintf(who, size, "%s (team %s)", json_object_get_string(email),
			 json_object_get_string(team_name));
	else
		snprintf(who, size, "%s", json_object_get_string(email));
out:
	json_secret_free(obj);
	return rc;
}

/* "alpha, beta" for messages; ", …" when the account has more than were kept. */
static void do_names_text(const struct do_registries *r, char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < r->n && i < DO_MAX_NAMES && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", r->names[i]);
	if (r->n > DO_MAX_NAMES && used < size)
		snprintf(buf + used, size - used, ", …");
}

/* The parsers on a bare body, for the fuzzer (source_do_parse.h). */
int do_parse_config_body(const char *body, size_t len, const char *server, struct cred *out)
{
	struct secbuf b = {(char *)body, len, len};
	struct cred c = {0};
	int rc = do_parse_config(&b, server, &c);

	if (rc) {
		cred_clear(&c);
		return rc;
	}
	out->username = c.username;
	out->secret = c.secret;
	out->secret_len = c.secret_len;
	return 0;
}

int do_parse_account_body(const char *body, size_t len, char *who, size_t size)
{
	struct secbuf b = {(char *)body, len, len};

	return do_parse_account(&b, who, size);
}

int do_parse_registries_body(const char *body, size_t len, struct do_registries *out)
{
	struct secbuf b = {(char *)body, len, len};

	return do_parse_registries(&b, out);
}

void do_describe_error_body(long status, const char *body, size_t len, char *buf, size_t size)
{
	struct http_response r = {0};

	r.status = status;
	r.body.data = (char *)body;
	r.body.len = r.body.cap = len;
	do_describe_error(&r, buf, size);
}

/* --- doctl's config file ------------------------------------------------------------------ */

/* Unquote a YAML scalar in place ('…' or "…", no escapes: tokens and context names need none)
 * and cut a trailing comment. */
static char *do_yaml_scalar(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"' || *s == '\'') {
		end = strchr(s + 1, *s);
		if (end) {
			*end = '\0';
			return s + 1;
		}
	}
	end = strstr(s, " #");
	if (end)
		*end = '\0';
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Split one line (already NUL-terminated) into indent, key and value in place; 0 when it is not
 * a "key: value" line (blank, comment, list item, …). */
static int do_yaml_pair(char *line, size_t *indent, char **key, char **value)
{
	char *p = line, *colon, *e;

	while (*p == ' ')
		p++;
	*indent = (size_t)(p - line);
	if (!*p || *p == '#' || *p == '-')
		return 0;
	if (*p == '"' || *p == '\'') {
		char *close = strchr(p + 1, *p);

		if (!close)
			return 0;
		*close = '\0';
		*key = p + 1;
		for (colon = close + 1; *colon == ' ' || *colon == '\t'; colon++)
			;
		if (*colon != ':')
			return 0;
	} else {
		for (colon = p; *colon; colon++)
			if (*colon == ':' && (colon[1] == ' ' || colon[1] == '\t' || colon[1] == '\0'))
				break;
		if (!*colon)
			return 0;
		*key = p;
		for (e = colon; e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
	}
	*colon = '\0';
	*value = do_yaml_scalar(colon + 1);
	return 1;
}

/* Where doctl keeps its config: 0 with path filled, ERR_NOTFOUND when no place is known. */
static int do_doctl_config_path(char *path, size_t path_size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(path, path_size, "%s/doctl/config.yaml", xdg);
	else if (home && home[0])
		snprintf(path, path_size, "%s/.config/doctl/config.yaml", home);
	else
		return ERR_NOTFOUND;
	return 0;
}

/* The token doctl would use: the context from DIGITALOCEAN_CONTEXT, else the file's `context`;
 * "default" (or none) means `access-token`, another name `auth-contexts: {name: token}`.
 * 0 with *out set, ERR_NOTFOUND (with why filled) when there is none. */
static int do_doctl_token(char **out, char *why, size_t why_size)
{
	const char *ctx_env;
	struct secbuf b = SECBUF_INIT;
	char path[4096], ctx_clean[80];
	char *line, *next, *key, *value, *access = NULL, *context = NULL;
	char *ctx_names[DO_MAX_CONTEXTS], *ctx_tokens[DO_MAX_CONTEXTS];
	const char *ctx;
	size_t indent, nctx = 0, child_indent = 0, i;
	int in_contexts = 0, rc = ERR_NOTFOUND, fd;
	FILE *f;

	if (do_doctl_config_path(path, sizeof(path)) != 0)
		return ERR_NOTFOUND;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			snprintf(why, why_size, "; no doctl config at %.400s", path);
		else
			snprintf(why, why_size, "; cannot read %.400s: %s", path, strerror(errno));
		return ERR_NOTFOUND;
	}
	fd = fileno(f);
	if (secbuf_read_fd(&b, fd, DO_MAX_DOCTL_CONFIG)) {
		fclose(f);
		snprintf(why, why_size, "; %.400s is unreadable or larger than %d bytes", path,
			 DO_MAX_DOCTL_CONFIG);
		return ERR_NOTFOUND;
	}
	fclose(f);
	for (line = b.data; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (!do_yaml_pair(line, &indent, &key, &value)) {
			/* Anything else at the left margin (a list item) ends the auth-contexts map. */
			if (line[0] && line[0] != ' ' && line[0] != '#')
				in_contexts = 0;
			continue;
		}
		if (indent == 0) {
			in_contexts = strcmp(key, "auth-contexts") == 0 && !value[0];
			child_indent = 0;
			if (strcmp(key, "access-token") == 0)
				access = value;
			else if (strcmp(key, "context") == 0)
				context = value;
		} else if (in_contexts && nctx < DO_MAX_CONTEXTS) {
			if (!child_indent)
				child_indent = indent;
			if (indent == child_indent) {
				ctx_names[nctx] = key;
				ctx_tokens[nctx++] = value;
			}
		}
	}
	ctx_env = getenv("DIGITALOCEAN_CONTEXT");
	ctx = ctx_env && ctx_env[0] ? ctx_env : (context && context[0] ? context : "default");
	value = NULL;
	if (strcasecmp(ctx, "default") == 0) {
		value = access;
	} else {
		for (i = 0; i < nctx; i++)
			if (strcasecmp(ctx_names[i], ctx) == 0)
				value = ctx_tokens[i];
	}
	snprintf(ctx_clean, sizeof(ctx_clean), "%s", ctx); /* for messages: one line */
	for (i = 0; ctx_clean[i]; i++)
		if ((unsigned char)ctx_clean[i] < 0x20 || ctx_clean[i] == 0x7f)
			ctx_clean[i] = ' ';
	if (value && value[0]) {
		char what[4200];

		snprintf(what, sizeof(what), "%s (context %s)", path, ctx_clean);
		rc = do_clean_token(value, strlen(value), what, out);
	} else {
		snprintf(why, why_size, "; %.400s has none for context %s", path, ctx_clean);
	}
	secbuf_free(&b);
	return rc;
}

/* --- the token ----------------------------------------------------------------------------- */

/* The token in the file token-file names (Kubernetes keeps secrets in files): a regular file
 * (a FIFO or a device could block, or never end) of at most DO_MAX_TOKEN_FILE bytes, holding
 * the token alone, white space around it allowed. Read at each fetch, so that a file rotated in
 * place is used from the next fetch on. Every failure names the setting. */
static int do_token_from_file(const struct do_source *d, char **out)
{
	struct secbuf b = SECBUF_INIT;
	struct stat st;
	int fd, rc;

	fd = open(d->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_set(ERR_INVALID, "%s: cannot read the token file: %s", d->token_from,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = err_set(ERR_INVALID, "%s: not a regular file: it must hold the token alone",
			     d->token_from);
	else if (st.st_size > DO_MAX_TOKEN_FILE ||
		 (rc = secbuf_read_fd(&b, fd, DO_MAX_TOKEN_FILE)) == ERR_INVALID)
		rc = err_set(ERR_INVALID, "%s: larger than %d bytes: it must hold the token alone",
			     d->token_from, DO_MAX_TOKEN_FILE);
	else if (rc)
		rc = err_set(ERR_INVALID, "%s: cannot read the token file", d->token_from);
	else
		rc = do_clean_token(b.data ? b.data : "", b.len, d->token_from, out);
	close(fd);
	secbuf_free(&b);
	return rc;
}

/* The API token, the first of: the file DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE names,
 * DIGITALOCEAN_ACCESS_TOKEN, DIGITALOCEAN_TOKEN, the config file's digitalocean.token-file or
 * digitalocean.token, the token `login` saved in the keyring, doctl's config. *from names where
 * it came from. ERR_NOTFOUND when there is none anywhere. */
static int do_token(struct do_source *d, char **out, char *from, size_t from_size,
		    enum do_token_kind *kind)
{
	struct cred saved = {0};
	char why[640] = "", keyring_note[400] = "";
	int rc;

	*kind = d->token_kind;
	if (d->token_file) {
		snprintf(from, from_size, "%s", d->token_from);
		return do_token_from_file(d, out);
	}
	if (d->token) {
		snprintf(from, from_size, "%s", d->token_from);
		return do_clean_token(d->token, strlen(d->token), d->token_from, out);
	}
	if (d->store) {
		rc = d->store->get(d->store, SOURCE_DO_TOKEN_KEY, &saved);
		if (!rc && saved.origin && strcmp(saved.origin, CREDS_ORIGIN_SECRET) == 0 &&
		    saved.secret) {
			*kind = DO_TK_KEYRING;
			snprintf(from, from_size, "the keyring (saved by login)");
			rc = do_clean_token(saved.secret, saved.secret_len, from, out);
			cred_clear(&saved);
			return rc;
		}
		if (rc && rc != ERR_NOTFOUND)
			snprintf(keyring_note, sizeof(keyring_note), "; the keyring could not be read: %s",
				 err_msg());
		cred_clear(&saved);
	}
	*kind = DO_TK_DOCTL;
	rc = do_doctl_token(out, why, sizeof(why));
	if (!rc) {
		snprintf(from, from_size, "doctl's config.yaml");
		return 0;
	}
	if (rc != ERR_NOTFOUND)
		return rc;
	return err_set(ERR_NOTFOUND, "no DigitalOcean API token: %s%s%s", DO_LOGIN_HINT,
		       keyring_note, why);
}

/* --- requests -------------------------------------------------------------------------- */

/* One request within the deadline (monotonic ms). */
static int do_request(struct do_source *d, const struct http_request *req, int64_t deadline,
		      struct http_response *out)
{
	struct http_opts o = d->http;
	int64_t left = deadline - monotonic_ms();

	if (left < 1)
		left = 1;
	if (o.timeout_ms > left)
		o.timeout_ms = left;
	if (o.connect_timeout_ms > left)
		o.connect_timeout_ms = left;
	return http_do(&o, req, out);
}

/* How long to wait before asking again after r, or -1 not to ask again. 429: the server's
 * Retry-After, else its ratelimit-reset, else a second. 5xx: a second, once. */
static int64_t do_retry_wait(const struct http_response *r, int *retried_5xx)
{
	const int64_t year = 366 * 86400; /* header values are hostile too: no overflow below */

	if (r->status == 429) {
		int64_t in = 1;

		if (r->retry_after >= 0)
			in = r->retry_after;
		else if (r->ratelimit_reset >= 0)
			in = r->ratelimit_reset - (int64_t)time(NULL);
		return (in < 0 ? 0 : in > year ? year : in) * 1000;
	}
	if (r->status >= 500 && r->status <= 599 && !*retried_5xx) {
		*retried_5xx = 1;
		return DO_RETRY_5XX_MS;
	}
	return -1;
}

/* A GET and what became of it, for the callers' messages. */
struct do_answer {
	struct http_response r; /* the last answer, whatever its status */
	int attempts;           /* requests made */
	int64_t wait_ms;        /* the wait the last 429 or 5xx asked for; -1: none */
	time_t asked;           /* when the last request went out */
};

/* GET url with the token, asking again after a 429 or a 5xx while the deadline allows, at most
 * DO_MAX_ATTEMPTS requests in all. 0 whenever an answer came (a->r, any status); else the
 * transport's error. The caller clears a->r. */
static int do_get(struct do_source *d, const char *url, const char *token, int64_t deadline,
		  struct do_answer *a)
{
	struct http_request req = {0};
	int retried_5xx = 0, rc;

	req.method = "GET";
	req.url = url;
	req.bearer = token;
	for (a->attempts = 1;; a->attempts++) {
		http_response_clear(&a->r);
		a->asked = time(NULL);
		rc = do_request(d, &req, deadline, &a->r);
		if (rc)
			return err_wrap(rc, "DigitalOcean API");
		a->wait_ms = a->r.status == 200 ? -1 : do_retry_wait(&a->r, &retried_5xx);
		if (a->wait_ms < 0 || a->attempts >= DO_MAX_ATTEMPTS ||
		    monotonic_ms() + a->wait_ms + DO_MIN_LEFT_MS > deadline)
			return 0;
		do_sleep_ms(a->wait_ms);
	}
}

/* The error for an answer other than 200, in one line. name: the registry asked for by name
 * ("" for the account's only one), for a 404. */
static int do_status_error(const struct do_answer *a, const char *from, const char *name)
{
	const struct http_response *r = &a->r;
	char detail[512];

	do_describe_error(r, detail, sizeof(detail));
	switch (r->status) {
	case 401:
		return err_set(ERR_DENIED, "DigitalOcean refused the API token from %s (%s)", from,
			       detail);
	case 403:
		return err_set(ERR_DENIED, "DigitalOcean refused the API token from %s: it needs the "
			       "registry:read and registry:update scopes (%s)", from, detail);
	case 404:
		if (name[0])
			return err_set(ERR_NOTFOUND, "DigitalOcean has no registry named %s on this "
				       "account (%s)", name, detail);
		return err_set(ERR_NOTFOUND, "DigitalOcean has no container registry on this account "
			       "(%s)", detail);
	case 412:
		return err_set(ERR_NOTFOUND, "the DigitalOcean account has several registries: set "
			       DO_ENV "_REGISTRY (or registry in [" DO_SECTION "]) to the one to use "
			       "(%s)", detail);
	case 429:
		if (a->attempts >= DO_MAX_ATTEMPTS)
			return err_set(ERR_UNAVAILABLE, "DigitalOcean's API rate limit is still reached "
				       "after %d requests (%s)", a->attempts, detail);
		if (a->wait_ms >= 0)
			return err_set(ERR_UNAVAILABLE, "DigitalOcean's API rate limit is reached and "
				       "lifts in %lld s, after the deadline (%s)",
				       (long long)((a->wait_ms + 999) / 1000), detail);
		return err_set(ERR_UNAVAILABLE, "DigitalOcean's API rate limit is reached (%s)", detail);
	default:
		if (r->status >= 500)
			return err_set(ERR_UNAVAILABLE, "the DigitalOcean API failed (%s)", detail);
		return err_set(ERR_FAILED, "the DigitalOcean API answered an unexpected status (%s)",
			       detail);
	}
}

/* --- which registry ------------------------------------------------------------------------- */

/* Without the registry setting, fetch asks GET /v2/registries for the account's registry once,
 * then remembers its name, so that it can use the current …/registries/<name>/docker-credentials
 * rather than the deprecated single-registry endpoint. The name is remembered in a plain file,
 * one line "<api-url> <name>" per API, in the user's cache directory: it is not a secret, and
 * the keyring would cost a D-Bus round trip to read it and a keyring write to keep it (and on a
 * server without a Secret Service, the kernel keyring forgets). It is only a cache: when it
 * cannot be read or written, the next fetch asks again. A remembered name that the API no
 * longer knows (404: the registry was deleted, or the token is now another account's) is
 * forgotten and the name asked for again, once. */

static int do_names_path(char *path, size_t size, int dir_only)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(path, size, "%s/docker-credential-keyring%s", xdg,
			     dir_only ? "" : "/digitalocean-registry");
	else if (home && home[0] == '/')
		n = snprintf(path, size, "%s/.cache/docker-credential-keyring%s", home,
			     dir_only ? "" : "/digitalocean-registry");
	else
		return ERR_NOTFOUND;
	return n > 0 && (size_t)n < size ? 0 : ERR_NOTFOUND;
}

/* The file's text (NULL data when empty), or ERR_NOTFOUND when there is none to read. */
static int do_names_read(struct secbuf *b)
{
	char path[4096];
	struct stat st;
	int fd, rc;

	if (do_names_path(path, sizeof(path), 0))
		return ERR_NOTFOUND;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ERR_NOTFOUND;
	rc = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ? ERR_NOTFOUND
							: secbuf_read_fd(b, fd, DO_MAX_NAMES_FILE);
	close(fd);
	if (rc)
		secbuf_free(b);
	return rc ? ERR_NOTFOUND : 0;
}

/* The name remembered for this API, if any: 1 with name filled. */
static int do_remembered_registry(const struct do_source *d, char *name, size_t size)
{
	struct secbuf b = SECBUF_INIT;
	char *line, *next, *sp;
	int found = 0;

	if (do_names_read(&b))
		return 0;
	for (line = b.data; line && !found; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		if (strcmp(line, d->api_url) == 0 && do_is_registry_name(sp)) {
			snprintf(name, size, "%s", sp);
			found = 1;
		}
	}
	secbuf_free(&b);
	return found;
}

static int do_mkdir(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Remember name for this API (NULL: forget it), keeping the other APIs' lines: a new file
 * renamed over the old one, so that a reader sees the old text or the new, never half. */
static void do_remember_registry(const struct do_source *d, const char *name)
{
	struct secbuf old = SECBUF_INIT, text = SECBUF_INIT;
	char dir[4096], path[4200], tmp[4300], *line, *next, *sp;
	size_t kept = 0;
	int fd = -1, rc = 0;

	if (do_names_path(dir, sizeof(dir), 1) || do_names_path(path, sizeof(path), 0))
		return;
	(void)do_names_read(&old);
	for (line = old.data; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp = strchr(line, ' ');
		if (!sp || ((size_t)(sp - line) == strlen(d->api_url) &&
			    strncmp(line, d->api_url, (size_t)(sp - line)) == 0))
			continue;
		if (++kept >= DO_MAX_NAMES_LINES)
			break;
		rc = secbuf_append_str(&text, line) || secbuf_append_str(&text, "\n");
	}
	if (!rc && name)
		rc = secbuf_append_str(&text, d->api_url) || secbuf_append_str(&text, " ") ||
		     secbuf_append_str(&text, name) || secbuf_append_str(&text, "\n");
	/* The cache directory itself may not exist yet (XDG: create it 0700). */
	*strrchr(dir, '/') = '\0';
	if (!rc)
		rc = do_mkdir(dir);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/docker-credential-keyring");
	if (!rc)
		rc = do_mkdir(dir);
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (!rc)
		rc = (fd = mkostemp(tmp, O_CLOEXEC)) < 0;
	if (!rc)
		rc = write(fd, text.data ? text.data : "", text.len) != (ssize_t)text.len;
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	if (!rc)
		rc = rename(tmp, path);
	if (rc && fd >= 0)
		unlink(tmp);
	if (rc)
		log_debug("digitalocean: cannot update %s (%s): the registry name is asked for again "
			  "next time", path, strerror(errno));
	secbuf_free(&old);
	secbuf_free(&text);
}

/* Several registries: the names, and the setting that picks one. */
static int do_several_error(const struct do_registries *regs)
{
	char names[512];

	do_names_text(regs, names, sizeof(names));
	return err_set(ERR_NOTFOUND, "the DigitalOcean account has several registries (%s): set "
		       DO_ENV "_REGISTRY (or registry in [" DO_SECTION "]) to the one to use", names);
}

/* GET /v2/registries: the account's only registry into name (and remembered). "" when the API
 * gives no usable list: the deprecated single-registry endpoint needs no name. */
static int do_learn_registry(struct do_source *d, const char *token, const char *from,
			     int64_t deadline, char *name, size_t size)
{
	struct secbuf url = SECBUF_INIT;
	struct do_answer a = {{0}, 0, -1, 0};
	struct do_registries regs;
	long status;
	int rc;

	name[0] = '\0';
	if (secbuf_append_str(&url, d->api_url) || secbuf_append_str(&url, "/v2/registries"))
		rc = do_oom();
	else
		rc = do_get(d, url.data, token, deadline, &a);
	status = a.r.status;
	if (rc) {
		/* the transport's error, as it is */
	} else if (status == 200 && do_parse_registries(&a.r.body, &regs) == 0) {
		if (regs.n == 0) {
			rc = err_set(ERR_NOTFOUND, "DigitalOcean has no container registry on this "
				     "account");
		} else if (regs.n > 1) {
			rc = do_several_error(&regs);
		} else {
			snprintf(name, size, "%s", regs.names[0]);
			do_remember_registry(d, name);
			log_debug("digitalocean: the account's only registry is %s (GET /v2/registries; "
				  "remembered for the next fetches)", name);
		}
	} else if (status == 401 || status == 403 || status == 429 || status >= 500) {
		rc = do_status_error(&a, from, "");
	} else {
		log_debug("digitalocean: GET /v2/registries gave no registry list (HTTP %ld%s%s): "
			  "using the single-registry endpoint", status, status == 200 ? ": " : "",
			  status == 200 ? err_msg() : "");
		err_clear();
	}
	http_response_clear(&a.r);
	secbuf_free(&url);
	return rc;
}

/* --- minting ------------------------------------------------------------------------------ */

/* The URL of the credentials endpoint for registry name ("" the account's only one), with its
 * query. No secret in it. */
static int do_credentials_url(struct do_source *d, const char *name, struct secbuf *url)
{
	char query[96];
	int rc = secbuf_append_str(url, d->api_url);

	if (!rc && name[0]) {
		rc = secbuf_append_str(url, "/v2/registries/");
		if (!rc)
			rc = secbuf_append_str(url, name); /* checked: [a-z0-9-] only */
		if (!rc)
			rc = secbuf_append_str(url, "/docker-credentials");
	} else if (!rc) {
		rc = secbuf_append_str(url, "/v2/registry/docker-credentials");
	}
	/* No expiry_seconds means credentials that never expire, as the API defines it. */
	if (d->expiry)
		snprintf(query, sizeof(query), "?read_write=%s&expiry_seconds=%lld",
			 d->read_write ? "true" : "false", (long long)d->expiry);
	else
		snprintf(query, sizeof(query), "?read_write=%s", d->read_write ? "true" : "false");
	if (!rc)
		rc = secbuf_append_str(url, query);
	return rc ? do_oom() : 0;
}

/* GET …/docker-credentials (a new token on the account) into c. *status: the last answer's
 * status, 0 when none came. */
static int do_mint(struct do_source *d, const char *token, const char *from, const char *name,
		   int64_t deadline, const char *server, struct cred *c, long *status)
{
	struct secbuf url = SECBUF_INIT;
	struct do_answer a = {{0}, 0, -1, 0};
	int rc = do_credentials_url(d, name, &url);

	/* http.c logs URLs without their query (one may carry a secret); this one carries none,
	 * and read_write and expiry_seconds are what a reader of the log wants to see. */
	if (!rc)
		log_debug("digitalocean: minting a registry token: GET %s", url.data + strlen(d->api_url));
	if (!rc)
		rc = do_get(d, url.data, token, deadline, &a);
	*status = a.r.status;
	if (!rc && a.r.status == 200)
		rc = do_parse_config(&a.r.body, server, c);
	else if (!rc)
		rc = do_status_error(&a, from, name);
	if (!rc) {
		c->server = strdup(server);
		c->origin = strdup(DO_NAME);
		c->expires = d->expiry ? (int64_t)a.asked + d->expiry : 0;
		if (!c->server || !c->origin)
			rc = do_oom();
	}
	http_response_clear(&a.r);
	secbuf_free(&url);
	return rc;
}

/* --- the source slots -------------------------------------------------------------------- */

static int do_serves(struct source *s, const char *server)
{
	struct do_source *d = (struct do_source *)s;
	char host[DO_MAX_HOST_LEN + 1];
	size_t i;

	do_host_of(server, host, sizeof(host));
	for (i = 0; host[0] && i < d->nhosts; i++)
		if (strcmp(host, d->hosts[i]) == 0)
			return 1;
	return 0;
}

/* The registry setting, else the remembered name, else learn it (see "which registry"). Then
 * mint; a remembered name the API no longer knows is forgotten and learned again, once. */
static int do_fetch(struct source *s, const char *server, struct cred *out)
{
	struct do_source *d = (struct do_source *)s;
	struct cred c = {0};
	char *token = NULL, from[DO_MAX_FROM] = "", name[64] = "";
	int64_t deadline = monotonic_ms() + d->http.timeout_ms;
	enum do_token_kind kind;
	long status = 0;
	int rc, remembered = 0;

	rc = do_token(d, &token, from, sizeof(from), &kind);
	if (!rc && d->registry)
		snprintf(name, sizeof(name), "%s", d->registry);
	else if (!rc && (remembered = do_remembered_registry(d, name, sizeof(name))) != 0)
		log_debug("digitalocean: registry %s, remembered from an earlier fetch", name);
	else if (!rc)
		rc = do_learn_registry(d, token, from, deadline, name, sizeof(name));
	if (!rc)
		rc = do_mint(d, token, from, name, deadline, server, &c, &status);
	if (rc && remembered && status == 404) {
		log_debug("digitalocean: the API does not know registry %s any more: asking which "
			  "registry the account has", name);
		do_remember_registry(d, NULL);
		cred_clear(&c);
		rc = do_learn_registry(d, token, from, deadline, name, sizeof(name));
		if (!rc)
			rc = do_mint(d, token, from, name, deadline, server, &c, &status);
	}
	if (!rc) {
		*out = c;
		memset(&c, 0, sizeof(c));
	}
	cred_clear(&c);
	secmem_free_str(token);
	return rc;
}

static int64_t do_refresh_before(struct source *s, const struct cred *cached)
{
	struct do_source *d = (struct do_source *)s;

	(void)cached; /* its lifetime is the one we asked for */
	return (int64_t)ceil(d->share * (double)d->expiry); /* early rather than late */
}

/* Revoke the token of a copy we minted: POST {oauth}/v1/oauth/revoke, form token=<password>,
 * authenticated by that same token (doctl registry logout does the same). */
static int do_on_erase(struct source *s, const char *server, const struct cred *cached)
{
	struct do_source *d = (struct do_source *)s;
	struct secbuf url = SECBUF_INIT, form = SECBUF_INIT;
	struct http_response r = {0};
	struct http_request req = {0};
	char *token = NULL, detail[512];
	int rc;

	/* A login the user stored is theirs (maybe their personal API token): not ours to revoke.
	 * An expired copy is no longer valid: nothing to do. */
	if (!cached || !cached->origin || strcmp(cached->origin, DO_NAME) != 0 || !cached->secret ||
	    !cached->secret_len || (cached->expires && cached->expires <= (int64_t)time(NULL)))
		return 0;
	rc = do_clean_token(cached->secret, cached->secret_len, "the cached credential", &token);
	if (rc)
		return err_wrap(rc, "erased %s, but its token cannot be revoked", server);
	rc = secbuf_append_str(&url, d->oauth_url);
	if (!rc)
		rc = secbuf_append_str(&url, "/v1/oauth/revoke");
	if (!rc)
		rc = secbuf_append_str(&form, "token=");
	if (!rc)
		rc = http_escape(&form, token);
	if (rc) {
		rc = do_oom();
		goto out;
	}
	req.method = "POST";
	req.url = url.data;
	req.bearer = token;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	rc = do_request(d, &req, monotonic_ms() + d->http.timeout_ms, &r);
	if (rc) {
		rc = err_wrap(rc, "erased %s from the keyring, but could not revoke its token at "
			      "DigitalOcean", server);
	} else if (r.status != 200 && r.status != 401) {
		/* 401: the token did not authenticate its own revocation, so it is no longer valid
		 * (revoked already, or expired): nothing valid is left behind, which is the point. */
		do_describe_error(&r, detail, sizeof(detail));
		rc = err_set(r.status == 403 ? ERR_DENIED : ERR_UNAVAILABLE,
			     "erased %s from the keyring, but DigitalOcean did not revoke its token (%s)",
			     server, detail);
	}
out:
	http_response_clear(&r);
	secbuf_free(&url);
	secbuf_free(&form);
	secmem_free_str(token);
	return rc;
}

/* Wipe and free the whole source. It takes the do_source itself, not its struct source: GCC
 * at -O3, inlining a free through &d->base, sized the wipe by that 80-byte member and refused
 * the build (-Werror=stringop-overflow), and rightly so by the letter of the object model. */
static void do_destroy(struct do_source *d)
{
	size_t i;

	if (!d)
		return;
	http_opts_clear(&d->http);
	free(d->api_url);
	free(d->oauth_url);
	free(d->registry);
	for (i = 0; i < d->nhosts; i++)
		free(d->hosts[i]);
	secmem_free_str(d->token);
	free(d->token_file);
	explicit_bzero(d, sizeof(*d));
	free(d);
}

static void do_free(struct source *s)
{
	do_destroy((struct do_source *)s); /* base is the first member: s is the do_source */
}

/* --- settings ------------------------------------------------------------------------------ */

/* An http(s) base URL without a trailing slash. Its checks beyond the scheme (https only,
 * plain http to loopback when allowed) are http.c's, at request time. */
static int do_url_setting(const struct config *cfg, const char *key, const char *env,
			  const char *def, char **out)
{
	const char *v = config_str(cfg, DO_SECTION, key, env), *rest;
	char name[64];
	size_t len, i;

	if (!v || !v[0])
		v = def;
	len = strlen(v);
	while (len && v[len - 1] == '/')
		len--;
	rest = strncasecmp(v, "https://", 8) == 0 ? v + 8 : strncasecmp(v, "http://", 7) == 0 ? v + 7 : NULL;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	if (!rest || len > DO_MAX_URL_LEN || i < len || (size_t)(rest - v) >= len)
		return err_set(ERR_INVALID, "%s: not an https:// URL (or it is too long, or holds "
			       "spaces or control characters)", do_setting_name(key, env, name, sizeof(name)));
	if (memchr(rest, '@', strcspn(rest, "/?#")))
		return err_set(ERR_INVALID, "%s: the URL must not carry user:password@",
			       do_setting_name(key, env, name, sizeof(name)));
	if (memchr(v, '?', len) || memchr(v, '#', len))
		return err_set(ERR_INVALID, "%s: a base URL takes no query or fragment",
			       do_setting_name(key, env, name, sizeof(name)));
	*out = strndup(v, len);
	return *out ? 0 : do_oom();
}

static int do_registry_setting(const struct config *cfg, struct do_source *d)
{
	const char *env = DO_ENV "_REGISTRY", *v = config_str(cfg, DO_SECTION, "registry", env);
	char name[64];

	if (!v || !v[0])
		return 0;
	if (!do_is_registry_name(v))
		return err_set(ERR_INVALID, "%s: a DigitalOcean registry name is 1 to 63 characters "
			       "of a-z, 0-9 and -", do_setting_name("registry", env, name, sizeof(name)));
	d->registry = strdup(v);
	return d->registry ? 0 : do_oom();
}

static int do_add_host(struct do_source *d, const char *h, size_t len, const char *setting)
{
	char *copy;
	size_t i;

	for (i = 0; i < len; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-' || h[i] == ':' ||
		      h[i] == '[' || h[i] == ']'))
			break;
	if (len == 0 || len > DO_MAX_HOST_LEN || i < len)
		return err_set(ERR_INVALID, "%s: \"%.*s\" is not a host name", setting,
			       (int)(len > 64 ? 64 : len), h);
	if (d->nhosts == DO_MAX_HOSTS)
		return err_set(ERR_INVALID, "%s: more than %d hosts", setting, DO_MAX_HOSTS - 1);
	copy = strndup(h, len);
	if (!copy)
		return do_oom();
	for (i = 0; i < len; i++)
		if (copy[i] >= 'A' && copy[i] <= 'Z')
			copy[i] = (char)(copy[i] - 'A' + 'a');
	d->hosts[d->nhosts++] = copy;
	return 0;
}

/* registry.digitalocean.com, then the comma-separated extra hosts. */
static int do_hosts_setting(const struct config *cfg, struct do_source *d)
{
	const char *env = DO_ENV "_HOSTS", *v = config_str(cfg, DO_SECTION, "hosts", env), *p, *end;
	char name[64];
	int rc = do_add_host(d, DO_HOST, strlen(DO_HOST), "");

	for (p = v; !rc && p && *p; p = *end ? end + 1 : end) {
		size_t len;

		end = p + strcspn(p, ",");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len)
			rc = do_add_host(d, p, len, do_setting_name("hosts", env, name, sizeof(name)));
	}
	return rc;
}

/* timeout and connect-timeout, as http_opts_load read them: a value it would quietly make 1 ms
 * (0), or one surely meant in another unit (3000: a number alone is seconds, so 50 minutes),
 * is an error that names the setting, not a silent default. */
static int do_timeout_setting(const struct config *cfg, const char *key, int64_t ms, int64_t max)
{
	char env[64], name[64];
	const char *v;

	snprintf(env, sizeof(env), DO_ENV "_%s", strcmp(key, "timeout") == 0 ? "TIMEOUT"
										: "CONNECT_TIMEOUT");
	v = config_str(cfg, DO_SECTION, key, env);
	if (!v || !v[0] || (ms >= DO_MIN_TIMEOUT_MS && ms <= max))
		return 0;
	return err_set(ERR_INVALID, "%s: \"%.64s\" is out of range: %dms to %llds (a number alone "
		       "is seconds)", do_setting_name(key, env, name, sizeof(name)), v,
		       DO_MIN_TIMEOUT_MS, (long long)(max / 1000));
}

/* Seconds as a number or a duration (3600, 90m, 12h); 0 or "never": no expiry. */
static int do_expiry_setting(const struct config *cfg, struct do_source *d)
{
	const char *env = DO_ENV "_EXPIRY", *v = config_str(cfg, DO_SECTION, "expiry", env);
	char name[64];
	int64_t ms;

	d->expiry = DO_DEFAULT_EXPIRY;
	if (!v || !v[0])
		return 0;
	if (strcasecmp(v, "never") == 0) {
		d->expiry = 0;
		return 0;
	}
	if (config_parse_ms(v, &ms) || ms % 1000 || ms / 1000 > DO_MAX_EXPIRY)
		return err_set(ERR_INVALID, "%s: \"%.64s\" is not a whole number of seconds from 0 to "
			       "%lld (or a duration such as 12h, or never)",
			       do_setting_name("expiry", env, name, sizeof(name)), v, DO_MAX_EXPIRY);
	d->expiry = ms / 1000;
	return 0;
}

static int do_share_setting(const struct config *cfg, struct do_source *d)
{
	const char *env = DO_ENV "_REFRESH_SHARE", *v = config_str(cfg, DO_SECTION, "refresh-share", env);
	char name[64], *end;
	double share;

	d->share = 0.5;
	if (!v || !v[0])
		return 0;
	errno = 0;
	share = strtod(v, &end);
	while (*end == ' ')
		end++;
	/* 1 would mean "always refresh": a new token on the account at every get. */
	if (end == v || *end || errno || !isfinite(share) || share < 0 || share >= 1)
		return err_set(ERR_INVALID, "%s: \"%.64s\" is not a number from 0 up to (not including) 1",
			       do_setting_name("refresh-share", env, name, sizeof(name)), v);
	d->share = share;
	return 0;
}

/* token-file: an absolute path, or ~/… in the home directory. The file is read when a fetch
 * needs the token (do_token_from_file), not here: opening the source does no I/O. */
static int do_token_file_setting(struct do_source *d, const char *v, const char *setting)
{
	const char *home = getenv("HOME");
	int n;

	if (v[0] == '~' && v[1] == '/' && home && home[0] == '/')
		n = asprintf(&d->token_file, "%s%s", home, v + 1);
	else if (v[0] == '/')
		n = asprintf(&d->token_file, "%s", v);
	else
		return err_set(ERR_INVALID, "%s: \"%.200s\" is not an absolute path (or ~/…)", setting, v);
	if (n < 0) {
		d->token_file = NULL;
		return do_oom();
	}
	snprintf(d->token_from, sizeof(d->token_from), "%s (%.400s)", setting, d->token_file);
	snprintf(d->token_setting, sizeof(d->token_setting), "%s", setting);
	d->token_kind = DO_TK_FILE;
	return 0;
}

/* Where the token comes from, by precedence: the token-file variable (ours, so the most
 * specific), DIGITALOCEAN_ACCESS_TOKEN, DIGITALOCEAN_TOKEN, then the config file, where
 * token-file and token together are ambiguous, so an error. A token is copied unchecked: it is
 * checked when a fetch needs it, so a bad one spoils DigitalOcean's answers only, not every
 * verb's. The keyring and doctl's config come after these, in do_token. */
static int do_token_setting(const struct config *cfg, struct do_source *d)
{
	static const char *const envs[] = {"DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN"};
	const char *v = getenv(DO_ENV "_TOKEN_FILE"), *file_v, *file_token;
	size_t i;

	if (v && v[0])
		return do_token_file_setting(d, v, DO_ENV "_TOKEN_FILE");
	for (i = 0, v = NULL; i < 2 && !v; i++) {
		v = getenv(envs[i]);
		if (v && v[0]) {
			snprintf(d->token_from, sizeof(d->token_from), "%s", envs[i]);
			d->token_kind = DO_TK_ENV;
		} else {
			v = NULL;
		}
	}
	if (!v) {
		file_v = config_file_value(cfg, DO_SECTION, "token-file");
		file_token = config_file_value(cfg, DO_SECTION, "token");
		if (file_v && file_v[0] && file_token && file_token[0])
			return err_set(ERR_INVALID, DO_SECTION ".token-file and " DO_SECTION ".token are "
				       "both set in the config file: keep one");
		if (file_v && file_v[0])
			return do_token_file_setting(d, file_v, DO_SECTION ".token-file");
		v = file_token;
		if (v && v[0]) {
			snprintf(d->token_from, sizeof(d->token_from), DO_SECTION ".token in the config file");
			d->token_kind = DO_TK_CONFIG;
		} else {
			v = NULL;
		}
	}
	if (!v)
		return 0;
	d->token = secmem_dup(v, strlen(v));
	return d->token ? 0 : do_oom();
}

/* --- doctor ------------------------------------------------------------------------------ */

#define DO_NEW_TOKEN "make a new token with the registry:read and registry:update scopes (control " \
	"panel: API, Tokens), then "

/* Where a token goes, for a fix line: where this one came from. prefix says what to do first
 * ("make a new token …, then "); "" when the token there is only malformed. */
static void do_fix_put_token(const struct do_source *d, enum do_token_kind kind, char *fix,
			     size_t size, const char *prefix)
{
	const char *it = prefix[0] ? "it" : "the token alone (no spaces, quotes or line breaks)";

	switch (kind) {
	case DO_TK_ENV:
		snprintf(fix, size, "%sset %s to %s", prefix, d->token_from, it);
		break;
	case DO_TK_CONFIG:
		snprintf(fix, size, "%sset `token = …` in the config file's [" DO_SECTION "] section "
			 "to %s (or save it with `docker-credential-keyring login digitalocean` and "
			 "remove that line)", prefix, it);
		break;
	case DO_TK_FILE:
		snprintf(fix, size, "%swrite %s to %.400s (%s)", prefix, it, d->token_file,
			 d->token_setting);
		break;
	case DO_TK_DOCTL:
		snprintf(fix, size, "%s%s with `docker-credential-keyring login digitalocean` (it comes "
			 "before doctl's config)", prefix, prefix[0] ? "save it" : "save a token");
		break;
	default:
		snprintf(fix, size, "%s%s with `docker-credential-keyring login digitalocean`", prefix,
			 prefix[0] ? "save it" : "save the token again");
		break;
	}
}

/* The exact fix for a failed check (doctor prints it under the failure). names: the account's
 * registries when GET /v2/registries gave a list, else NULL. */
static void do_check_fix(const struct do_source *d, int rc, int have_token, long status,
			 enum do_token_kind kind, const char *names, char *fix, size_t size)
{
	char api_buf[64], reg_buf[64];
	const char *api = do_setting_name("api-url", "DIGITALOCEAN_API_URL", api_buf, sizeof(api_buf));
	const char *reg = do_setting_name("registry", DO_ENV "_REGISTRY", reg_buf, sizeof(reg_buf));

	if (rc == ERR_NOTFOUND)
		snprintf(fix, size, DO_LOGIN_HINT);
	else if (!have_token) /* it is there, but empty, too long, with a space; or no file */
		do_fix_put_token(d, kind, fix, size, "");
	else if (status == 0 && rc == ERR_INVALID) /* http.c refused the URL */
		snprintf(fix, size, "set %s to an https:// URL (plain http goes only to a loopback "
			 "address, with " DO_ENV "_ALLOW_PLAIN_HTTP)", api);
	else if (status == 401)
		do_fix_put_token(d, kind, fix, size, "the token is wrong, expired or revoked: "
				 DO_NEW_TOKEN);
	else if (status == 403)
		do_fix_put_token(d, kind, fix, size, DO_NEW_TOKEN);
	else if (status == 429)
		snprintf(fix, size, "wait for DigitalOcean's rate limit on this token to lift, then run "
			 "`docker-credential-keyring doctor` again");
	else if (status >= 500)
		snprintf(fix, size, "DigitalOcean's API is failing: run `docker-credential-keyring "
			 "doctor` again later");
	else if (status == 0 && rc == ERR_TIMEOUT)
		snprintf(fix, size, "check that the API (%s: %s) is reachable from here, or raise "
			 DO_ENV "_TIMEOUT", api, d->api_url);
	else if (status == 0)
		snprintf(fix, size, "check that the API (%s: %s) is reachable from here: network, "
			 "proxy, or set " DO_ENV "_CA_FILE to the CA bundle that signed its certificate",
			 api, d->api_url);
	else if (names && names[0] && d->registry)
		snprintf(fix, size, "set %s to one of: %s", reg, names);
	else if (names && names[0])
		snprintf(fix, size, "set " DO_ENV "_REGISTRY (or `registry = …` in the config file's ["
			 DO_SECTION "] section) to one of: %s", names);
	else if (names && !names[0])
		snprintf(fix, size, "create a container registry: `doctl registry create NAME`, or "
			 "the control panel's Container Registry page");
	else
		snprintf(fix, size, "check that %s (%s) is DigitalOcean's API, "
			 DO_API_URL " (unset it to use that)", api, d->api_url);
}

/* doctor: GET /v2/registries, one read-only call that needs registry:read and mints nothing
 * (never the docker-credentials endpoint). It also tells whether fetch can pick the registry:
 * with several on the account, the registry setting must name one of them. registry:update,
 * which minting also needs, cannot be checked without minting: the line says so. On failure,
 * what holds the exact fix. */
static int do_check(struct source *s, char *what, size_t what_size)
{
	static const char no_token[] = "no DigitalOcean API token: " DO_LOGIN_HINT;
	struct do_source *d = (struct do_source *)s;
	struct secbuf url = SECBUF_INIT;
	struct http_request req = {0};
	struct do_answer a = {{0}, 1, -1, 0};
	struct do_registries regs;
	enum do_token_kind kind;
	char *token = NULL, from[DO_MAX_FROM] = "", names[512] = "";
	size_t i;
	int rc, listed = 0;

	memset(&regs, 0, sizeof(regs));
	rc = do_token(d, &token, from, sizeof(from), &kind);
	if (rc == ERR_NOTFOUND && strncmp(err_msg(), no_token, sizeof(no_token) - 1) == 0) {
		char rest[700];

		/* the hint is the fix line; keep only why the other places had none */
		snprintf(rest, sizeof(rest), "%s", err_msg() + sizeof(no_token) - 1);
		rc = err_set(ERR_NOTFOUND, "no API token (" DO_ENV "_TOKEN_FILE, DIGITALOCEAN_ACCESS_TOKEN, "
			     "DIGITALOCEAN_TOKEN, " DO_SECTION ".token-file, " DO_SECTION ".token, "
			     "`login`, doctl's config: none set)%s", rest);
	}
	if (!rc && (secbuf_append_str(&url, d->api_url) || secbuf_append_str(&url, "/v2/registries")))
		rc = do_oom();
	req.method = "GET";
	req.url = url.data;
	req.bearer = token;
	if (!rc && (rc = do_request(d, &req, monotonic_ms() + d->http.timeout_ms, &a.r)) != 0)
		rc = err_wrap(rc, "DigitalOcean API");
	if (!rc && a.r.status != 200) {
		rc = do_status_error(&a, from, "");
		if (rc == ERR_NOTFOUND) /* ERR_NOTFOUND means "no token" here */
			rc = ERR_FAILED;
	}
	if (!rc && do_parse_registries(&a.r.body, &regs) != 0)
		rc = ERR_FAILED;
	if (!rc) {
		do_names_text(&regs, names, sizeof(names));
		listed = 1;
	}
	for (i = 0; !rc && d->registry && i < regs.n && i < DO_MAX_NAMES; i++)
		if (strcmp(regs.names[i], d->registry) == 0)
			break;
	if (!rc && regs.n == 0)
		rc = err_set(ERR_FAILED, "token accepted, but the account has no container registry");
	else if (!rc && d->registry && (i == regs.n || i == DO_MAX_NAMES))
		rc = err_set(ERR_INVALID, "token accepted, but the account has no registry named %s "
			     "(it has: %s)", d->registry, names);
	else if (!rc && !d->registry && regs.n > 1)
		rc = err_set(ERR_INVALID, "token accepted, but the account has %zu registries (%s) and "
			     DO_ENV "_REGISTRY (or registry in [" DO_SECTION "]) names none", regs.n,
			     names);
	if (!rc)
		snprintf(what, what_size, "token accepted (registry %s, token from %s); not checked: "
			 "the registry:update scope, which getting credentials also needs (checking it "
			 "would mint a token)", d->registry ? d->registry : regs.names[0], from);
	else
		do_check_fix(d, rc, token != NULL, a.r.status, kind, listed ? names : NULL, what,
			     what_size);
	http_response_clear(&a.r);
	secbuf_free(&url);
	secmem_free_str(token);
	return rc;
}

int source_do_new(const struct config *cfg, struct store *st, struct source **out)
{
	struct do_source *d = calloc(1, sizeof(*d));
	int ro = 0, rc;

	*out = NULL;
	if (!d)
		return do_oom();
	d->store = st;
	d->base.name = DO_NAME;
	d->base.serves = do_serves;
	d->base.fetch = do_fetch;
	d->base.refresh_before = do_refresh_before;
	d->base.on_store = NULL; /* a DO login is kept like any other */
	d->base.on_erase = do_on_erase;
	d->base.list = NULL;     /* cached copies are in the keyring, which list shows */
	d->base.check = do_check;
	d->base.free = do_free;
	rc = http_opts_load(cfg, DO_SECTION, DO_ENV, &d->http);
	if (rc) {
		free(d);
		return rc;
	}
	d->http.max_body = DO_MAX_BODY;
	rc = do_timeout_setting(cfg, "timeout", d->http.timeout_ms, DO_MAX_TIMEOUT_MS);
	if (!rc)
		rc = do_timeout_setting(cfg, "connect-timeout", d->http.connect_timeout_ms,
					DO_MAX_CONNECT_TIMEOUT_MS);
	if (!rc)
		rc = do_url_setting(cfg, "api-url", "DIGITALOCEAN_API_URL", DO_API_URL, &d->api_url);
	if (!rc)
		rc = do_url_setting(cfg, "oauth-url", DO_ENV "_OAUTH_URL", DO_OAUTH_URL, &d->oauth_url);
	if (!rc)
		rc = do_registry_setting(cfg, d);
	if (!rc)
		rc = do_hosts_setting(cfg, d);
	if (!rc)
		rc = do_expiry_setting(cfg, d);
	if (!rc)
		rc = do_share_setting(cfg, d);
	if (!rc)
		rc = config_bool(cfg, DO_SECTION, "read-only", DO_ENV "_READ_ONLY", 0, &ro);
	if (!rc)
		rc = do_token_setting(cfg, d);
	if (rc) {
		do_destroy(d);
		return rc;
	}
	d->read_write = !ro;
	*out = &d->base;
	return 0;
}

/* --- login --------------------------------------------------------------------------------- */

/* GET api_url + path with token, for login's check: 0 with a->r (any status), or the transport's
 * error. */
static int do_login_get(struct do_source *d, const char *path, const char *token, int64_t deadline,
			struct do_answer *a)
{
	struct secbuf url = SECBUF_INIT;
	int rc = secbuf_append_str(&url, d->api_url) || secbuf_append_str(&url, path) ? do_oom()
										      : 0;

	if (!rc)
		rc = do_get(d, url.data, token, deadline, a);
	secbuf_free(&url);
	return rc;
}

/* A refusal of the token login was given: nothing is saved. */
static int do_login_refused(const struct do_answer *a, const char *why)
{
	char detail[512];

	do_describe_error(&a->r, detail, sizeof(detail));
	return err_set(ERR_DENIED, "DigitalOcean refused this token%s (%s): nothing saved", why, detail);
}

/* The account is for the confirmation only: any answer but a 401 leaves it unknown (403: the
 * token has no account:read, which the helper does not need). */
static int do_login_account(struct do_source *d, const char *token, int64_t deadline,
			    struct source_do_login *out)
{
	struct do_answer a = {{0}, 0, -1, 0};
	int rc = do_login_get(d, "/v2/account", token, deadline, &a);

	if (!rc && a.r.status == 401)
		rc = do_login_refused(&a, "");
	else if (!rc && a.r.status == 200 &&
		 do_parse_account(&a.r.body, out->account, sizeof(out->account)) != 0)
		err_clear();
	http_response_clear(&a.r);
	return rc;
}

static int do_login_registries(struct do_source *d, const char *token, int64_t deadline,
			       struct source_do_login *out)
{
	struct do_answer a = {{0}, 0, -1, 0};
	struct do_registries regs;
	int rc = do_login_get(d, "/v2/registries", token, deadline, &a);

	if (!rc && a.r.status == 200 && (rc = do_parse_registries(&a.r.body, &regs)) == 0)
		do_names_text(&regs, out->registries, sizeof(out->registries));
	else if (!rc && (a.r.status == 401 || a.r.status == 403))
		rc = do_login_refused(&a, ": it needs the registry:read and registry:update scopes");
	else if (!rc && a.r.status != 200)
		rc = do_status_error(&a, "login", "");
	http_response_clear(&a.r);
	return rc;
}

int source_do_check_login(const struct config *cfg, const char *token, struct source_do_login *out)
{
	struct source *s = NULL;
	struct do_source *d;
	char *clean = NULL;
	int64_t deadline;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = source_do_new(cfg, NULL, &s);
	if (rc)
		return rc;
	d = (struct do_source *)s;
	deadline = monotonic_ms() + d->http.timeout_ms;
	rc = do_clean_token(token, strlen(token), "standard input", &clean);
	if (!rc)
		rc = do_login_account(d, clean, deadline, out);
	if (!rc)
		rc = do_login_registries(d, clean, deadline, out);
	if (d->token || d->token_file)
		snprintf(out->shadowed_by, sizeof(out->shadowed_by), "%s", d->token_from);
	secmem_free_str(clean);
	do_destroy(d);
	return rc;
}
