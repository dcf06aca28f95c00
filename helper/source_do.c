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

#include "base64.h"
#include "err.h"
#include "fdio.h"
#include "http.h"
#include "json_secret.h"
#include "log.h"
#include "monotonic.h"
#include "secmem.h"
#include "token.h"

#define DO_NAME "digitalocean"
#define DO_SECTION "digitalocean"
#define DO_ENV "DOCKER_CREDENTIAL_KEYRING_DO"
#define DO_HOST "registry.digitalocean.com"
#define DO_API_URL "https://api.digitalocean.com"
#define DO_LOGIN_HINT "set DIGITALOCEAN_ACCESS_TOKEN or run `docker-credential-keyring login digitalocean`"
#define DO_REGISTRY_SETTING DO_ENV "_REGISTRY (or registry in [" DO_SECTION "])"
#define DO_PICK_ONE "set " DO_REGISTRY_SETTING " to the one to use"
#define DO_SCOPES "the registry:read and registry:update scopes"
#define DO_UNCHECKED "not checked: the registry:update scope, which getting credentials also " \
	"needs (checking it would mint a token)"
#define DO_HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]"
#define DO_MAX_EXPIRY 1576800000LL /* the API's largest accepted expiry_seconds */

enum {
	DO_MAX_HOSTS = 32,
	DO_MAX_HOST_LEN = 253,
	DO_MAX_URL_LEN = 2048,
	DO_MAX_TOKEN = 4096,
	DO_MAX_TOKEN_FILE = DO_MAX_TOKEN + 1024, /* the token, and white space around it */
	DO_MAX_AUTH = 16384,                /* base64 of user:password; real ones are ~130 bytes */
	DO_MAX_BODY = 64 * 1024,            /* the real answer is ~200 bytes */
	DO_MAX_DOCTL_CONFIG = 1024 * 1024,
	DO_MAX_CONTEXTS = 256,
	DO_MAX_ATTEMPTS = 3,
	DO_RETRY_5XX_MS = 1000,
	DO_MIN_LEFT_MS = 1000,              /* a retry needs at least this much of the deadline */
	DO_MAX_NAMES_FILE = 16 * 1024,      /* the remembered registry names: a line per API URL */
	DO_MAX_NAMES_LINES = 16,
};

/* Where the token came from (a variable, the config file's token, a token file, `login`,
 * doctl's config.yaml): doctor's fix says where to put a new one. */
enum do_token_kind { DO_TK_ENV, DO_TK_CONFIG, DO_TK_FILE, DO_TK_KEYRING, DO_TK_DOCTL };

struct do_source {
	struct source base; /* first: a struct source * of ours is a struct do_source * */
	struct store *store; /* where `login` saved a token; not owned, may be NULL */
	struct http_opts http;
	char *api_url;       /* no trailing slash */
	char *oauth_url;
	char *registry;      /* NULL: the account's only registry */
	char *hosts[DO_MAX_HOSTS];
	size_t nhosts;
	int64_t expiry;      /* seconds; 0: credentials that never expire */
	double share;        /* refresh when less than this share of the lifetime is left */
	int read_write;
	char *token;         /* from the environment or the config file, unchecked; or NULL */
	char *token_file;    /* or the file that holds it (token-file), read at each fetch */
	char token_from[512]; /* where token or token_file came from, for messages */
	char token_setting[64]; /* the setting that named token or token_file */
	enum do_token_kind token_kind; /* of token or token_file */
};

/* --- small helpers ------------------------------------------------------------------------- */

/* A DigitalOcean registry name (models/registry_base.yml: ^[a-z0-9-]{1,63}$), len bytes (a
 * JSON string may hold a NUL). Names go into URL paths, so nothing else may pass. */
static int do_is_registry_name(const char *v, size_t len)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n > 0 && n <= 63 && n == len;
}

static int do_oom(void)
{
	return err_set(ERR_FAILED, "out of memory");
}

/* The host of a server key, lower case: https:// or http:// and any path dropped, nothing else
 * (not host.h's host_of, which also drops any scheme and user info: a key docker never sends,
 * "oci://registry.digitalocean.com", must not make a get mint a token). "" when it does not
 * fit in buf. */
static void do_host_of(const char *server, char *buf, size_t size)
{
	size_t n, i;

	if (strncasecmp(server, "https://", 8) == 0)
		server += 8;
	else if (strncasecmp(server, "http://", 7) == 0)
		server += 7;
	n = strcspn(server, "/");
	n = n < size ? n : 0;
	for (i = 0; i < n; i++)
		buf[i] = (char)(server[i] >= 'A' && server[i] <= 'Z' ? server[i] - 'A' + 'a' : server[i]);
	buf[n] = '\0';
}

/* A token as the API and an HTTP header accept it (token.h). *out is a wiped-on-free copy.
 * what names the token's origin in messages; the token itself never appears in one. */
static int do_clean_token(const char *p, size_t len, const char *what, char **out)
{
	switch (token_trim(&p, &len, DO_MAX_TOKEN)) {
	case TOKEN_EMPTY:
		return err_set(ERR_INVALID, "the DigitalOcean token from %s is empty", what);
	case TOKEN_LONG:
		return err_set(ERR_INVALID, "the DigitalOcean token from %s is longer than %d bytes",
			       what, DO_MAX_TOKEN);
	case TOKEN_CHARS:
		return err_set(ERR_INVALID, "the DigitalOcean token from %s holds a character no token "
			       "has (a space, control or non-ASCII character)", what);
	default:
		*out = secmem_dup(p, len);
		return *out ? 0 : do_oom();
	}
}

/* --- the API's answers (source_do_parse.h) ------------------------------------------------- */

/* obj[key] when it has that type, else NULL (obj may be NULL or not an object). */
static struct json_object *do_member(struct json_object *obj, const char *key, json_type type)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, type) ? v : NULL;
}

/* A string from the API for one line of ours: 1 to max bytes, no control character. Every
 * byte of the JSON string counts: one with a NUL (\u0000) is refused, not cut at the NUL. */
static int do_plain_string(struct json_object *v, size_t max)
{
	const char *p = json_object_get_string(v); /* NULL v: NULL, and a length of 0 */
	size_t i, n = (size_t)json_object_get_string_len(v);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

void do_describe_error_body(long status, const char *body, size_t len, char *buf, size_t size)
{
	static const struct {
		const char *key, *before, *after;
		size_t max;
	} parts[] = {{"id", ": ", "", 64}, {"message", ": ", "", 300}, {"request_id", " (request ", ")", 64}};
	struct secbuf b = SECBUF_INIT;
	struct json_object *obj, *v;
	const char *why, *s;
	size_t i, n;

	obj = json_secret_parse(body, len, 16, &why);
	for (i = 0; obj && i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!(v = do_member(obj, parts[i].key, json_type_string)))
			continue;
		secbuf_append_str(&b, parts[i].before);
		/* Text from the network goes into one stderr line: no control characters, capped
		 * (a character the cap falls in is kept whole: the line stays UTF-8). */
		for (s = json_object_get_string(v), n = 0;
		     *s && (n < parts[i].max || ((unsigned char)*s & 0xc0) == 0x80); s++, n++)
			secbuf_append(&b, ((unsigned char)*s < 0x20 || *s == 0x7f) ? " " : s, 1);
		if (*s)
			secbuf_append_str(&b, "…");
		secbuf_append_str(&b, parts[i].after);
	}
	json_secret_free(obj);
	snprintf(buf, size, "HTTP %ld%s", status, b.data ? b.data : "");
	secbuf_free(&b);
}

/* Split "user:password" (decoded) at the FIRST colon: usernames are e-mail addresses or old
 * tokens, never with a colon; the password is a dop_v1_ token. A trailing newline (seen in the
 * spec's example) is dropped. out is written only on success. */
static int do_split_auth(const char *p, size_t len, struct cred *out)
{
	const char *colon;
	char *user, *secret;
	size_t i;

	/* An empty "auth" decodes to nothing at all (no buffer): memchr must not see NULL. */
	if (!p || !len)
		return err_set(ERR_UNAVAILABLE, "the credential in the DigitalOcean API's answer is empty");
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return err_set(ERR_UNAVAILABLE, "the credential in the DigitalOcean API's answer "
				       "holds control characters");
	colon = memchr(p, ':', len);
	if (!colon || colon == p || colon == p + len - 1)
		return err_set(ERR_UNAVAILABLE, "the credential in the DigitalOcean API's answer is not "
			       "username:password");
	user = secmem_dup(p, (size_t)(colon - p));
	secret = secmem_dup(colon + 1, len - (size_t)(colon - p) - 1);
	if (!user || !secret) {
		secmem_free_str(user);
		secmem_free_str(secret);
		return do_oom();
	}
	out->username = user;
	out->secret = secret;
	out->secret_len = strlen(secret); /* no NUL inside: control characters were refused */
	return 0;
}

int do_parse_config_body(const char *body, size_t len, const char *server, struct cred *out)
{
	struct json_object *obj, *auths, *found = NULL, *auth = NULL;
	struct secbuf dec = SECBUF_INIT;
	char want[DO_MAX_HOST_LEN + 1], host[DO_MAX_HOST_LEN + 1];
	const char *why;
	int n = 0, rc;

	obj = json_secret_parse(body, len, 16, &why);
	if (!obj)
		return err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer is not JSON: %s", why);
	do_host_of(server, want, sizeof(want));
	auths = do_member(obj, "auths", json_type_object);
	if (auths) {
		/* The key that matches server, or the only one there is (the user mapped another
		 * name to this source). */
		n = json_object_object_length(auths);
		json_object_object_foreach(auths, key, val) {
			do_host_of(key, host, sizeof(host));
			if (n == 1 || (want[0] && strcmp(host, want) == 0)) {
				found = val;
				break;
			}
		}
		auth = do_member(found, "auth", json_type_string);
	}
	if (!auths)
		rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer is not a docker config "
			     "(no \"auths\" object)");
	else if (!found && n == 0)
		rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer holds no credentials at all");
	else if (!found)
		rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer holds no credentials for %s",
			     want[0] ? want : "this server");
	else if (!auth)
		rc = err_set(ERR_UNAVAILABLE, "the DigitalOcean API's answer has no \"auth\" string "
			     "for the registry");
	else if (json_object_get_string_len(auth) > DO_MAX_AUTH)
		rc = err_set(ERR_UNAVAILABLE, "the \"auth\" value in the DigitalOcean API's answer is "
			     "longer than %d bytes", DO_MAX_AUTH);
	else if (base64_decode(&dec, json_object_get_string(auth),
			       (size_t)json_object_get_string_len(auth)))
		rc = err_set(ERR_UNAVAILABLE, "the \"auth\" value in the DigitalOcean API's answer is "
			     "not base64");
	else
		rc = do_split_auth(dec.data, dec.len, out);
	secbuf_free(&dec);
	json_secret_free(obj);
	return rc;
}

int do_parse_registries_body(const char *body, size_t len, struct do_registries *out)
{
	struct json_object *obj, *regs, *name;
	struct do_registries r;
	const char *why = NULL;
	size_t i;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	obj = json_secret_parse(body, len, 16, &why);
	regs = do_member(obj, "registries", json_type_array);
	if (!regs)
		rc = err_set(ERR_UNAVAILABLE, "DigitalOcean's answer to GET /v2/registries is not a "
			     "registry list (%s)", obj ? "no \"registries\" array" : why);
	for (i = 0; !rc && i < json_object_array_length(regs); i++, r.n++) {
		name = do_member(json_object_array_get_idx(regs, i), "name", json_type_string);
		if (!name || !do_is_registry_name(json_object_get_string(name),
						  (size_t)json_object_get_string_len(name)))
			rc = err_set(ERR_UNAVAILABLE, "DigitalOcean's answer to GET /v2/registries holds "
				     "a registry without a name of 1 to 63 characters of a-z, 0-9 and -");
		else if (r.n < DO_MAX_NAMES)
			snprintf(r.names[r.n], sizeof(r.names[r.n]), "%s", json_object_get_string(name));
	}
	if (!rc)
		*out = r;
	json_secret_free(obj);
	return rc;
}

int do_parse_account_body(const char *body, size_t len, char *who, size_t size)
{
	struct json_object *obj, *account, *email, *team;
	const char *why = NULL;
	int rc = 0;

	obj = json_secret_parse(body, len, 16, &why);
	account = do_member(obj, "account", json_type_object);
	email = do_member(account, "email", json_type_string);
	team = do_member(do_member(account, "team", json_type_object), "name", json_type_string);
	if (!do_plain_string(email, 254))
		rc = err_set(ERR_UNAVAILABLE, "DigitalOcean's answer to GET /v2/account has no account "
			     "e-mail (%s)", obj ? "no \"account\".\"email\" string of 1 to 254 "
			     "printable characters" : why);
	else if (do_plain_string(team, 128))
		snprintf(who, size, "%s (team %s)", json_object_get_string(email),
			 json_object_get_string(team));
	else
		snprintf(who, size, "%s", json_object_get_string(email));
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

/* --- doctl's config file ------------------------------------------------------------------ */

/* Unquote a YAML scalar in place ('…' or "…", no escapes: tokens and context names need none)
 * and cut a trailing comment and white space. */
static char *do_yaml_scalar(char *s)
{
	char *end;

	s += strspn(s, " \t");
	if ((*s == '"' || *s == '\'') && (end = strchr(s + 1, *s)) != NULL) {
		*end = '\0';
		return s + 1;
	}
	if ((end = strstr(s, " #")) != NULL)
		*end = '\0';
	for (end = s + strlen(s); end > s && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	return s;
}

/* Split one line in place into indent, key and value; 0 when it is not a "key: value" line
 * (blank, comment, list item, …). */
static int do_yaml_pair(char *line, size_t *indent, char **key, char **value)
{
	char *p = line + strspn(line, " "), *colon = p;

	*indent = (size_t)(p - line);
	if (!*p || *p == '#' || *p == '-')
		return 0;
	if ((*p == '"' || *p == '\'') && !(colon = strchr(p + 1, *p))) /* a quoted key may hold ':' */
		return 0;
	for (; *colon; colon++)
		if (*colon == ':' && (colon[1] == ' ' || colon[1] == '\t' || colon[1] == '\0'))
			break;
	if (!*colon)
		return 0;
	*colon = '\0';
	*key = do_yaml_scalar(p);
	*value = do_yaml_scalar(colon + 1);
	return 1;
}

/* The token doctl would use: the context from DIGITALOCEAN_CONTEXT, else the file's `context`;
 * "default" (or none) means `access-token`, another name `auth-contexts: {name: token}`.
 * 0 with *out set, ERR_NOTFOUND (with why filled) when there is none. */
static int do_doctl_token(char **out, char *why, size_t why_size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	const char *ctx = getenv("DIGITALOCEAN_CONTEXT");
	struct secbuf b = SECBUF_INIT;
	char path[4096], what[4200];
	char *line, *next, *key, *value = NULL, *access = NULL, *context = NULL;
	char *ctx_names[DO_MAX_CONTEXTS], *ctx_tokens[DO_MAX_CONTEXTS];
	size_t indent, nctx = 0, child_indent = 0, i;
	int in_contexts = 0, rc;

	if (xdg && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/doctl/config.yaml", xdg);
	else if (home && home[0])
		snprintf(path, sizeof(path), "%s/.config/doctl/config.yaml", home);
	else
		return ERR_NOTFOUND;
	rc = fdio_read_regular(path, 0, DO_MAX_DOCTL_CONFIG, &b);
	if (rc == ENOENT)
		snprintf(why, why_size, "; no doctl config at %.400s", path);
	else if (rc == EINVAL || rc == EFBIG || rc == EIO)
		snprintf(why, why_size, "; %.400s is unreadable or larger than %d bytes", path,
			 DO_MAX_DOCTL_CONFIG);
	else if (rc)
		snprintf(why, why_size, "; cannot read %.400s: %s", path, strerror(rc));
	if (rc)
		return ERR_NOTFOUND;
	for (next = b.data; (line = strsep(&next, "\n")) != NULL;) {
		line[strcspn(line, "\r")] = '\0';
		if (!do_yaml_pair(line, &indent, &key, &value)) {
			/* Anything else at the left margin (a list item) ends the auth-contexts map. */
			if (line[0] && line[0] != ' ' && line[0] != '#')
				in_contexts = 0;
		} else if (indent == 0) {
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
	if (!ctx || !ctx[0])
		ctx = context && context[0] ? context : "default";
	value = strcasecmp(ctx, "default") == 0 ? access : NULL;
	for (i = 0; i < nctx; i++)
		if (strcasecmp(ctx_names[i], ctx) == 0)
			value = ctx_tokens[i];
	/* Messages quote the context as it is: err_set makes them one line. */
	snprintf(what, sizeof(what), "%s (context %.80s)", path, ctx);
	rc = ERR_NOTFOUND;
	if (value && value[0])
		rc = do_clean_token(value, strlen(value), what, out);
	else
		snprintf(why, why_size, "; %.400s has none for context %.80s", path, ctx);
	secbuf_free(&b);
	return rc;
}

/* --- the token ----------------------------------------------------------------------------- */

/* The token in the file token-file names (Kubernetes keeps secrets in files): the token alone,
 * white space around it allowed. Read at each fetch, so that a file rotated in place is used
 * from the next fetch on. Every failure names the setting. */
static int do_token_from_file(const struct do_source *d, char **out)
{
	struct secbuf b = SECBUF_INIT;
	int rc = fdio_read_regular(d->token_file, 0, DO_MAX_TOKEN_FILE, &b);

	if (rc == EINVAL)
		rc = err_set(ERR_INVALID, "%s: not a regular file: it must hold the token alone",
			     d->token_from);
	else if (rc == EFBIG)
		rc = err_set(ERR_INVALID, "%s: larger than %d bytes: it must hold the token alone",
			     d->token_from, DO_MAX_TOKEN_FILE);
	else if (rc)
		rc = err_set(ERR_INVALID, "%s: cannot read the token file: %s", d->token_from,
			     strerror(rc));
	else
		rc = do_clean_token(b.data ? b.data : "", b.len, d->token_from, out);
	secbuf_free(&b);
	return rc;
}

/* The API token: the one the settings name (do_token_setting), else the token `login` saved in
 * the keyring, else doctl's. *from says where it came from (for messages), *kind for doctor's
 * fix. ERR_NOTFOUND when there is none anywhere, with why saying what the last places lacked
 * ("; …" parts, for doctor). */
static int do_token(struct do_source *d, char **out, const char **from, enum do_token_kind *kind,
		    char *why, size_t why_size)
{
	struct cred saved = {0};
	char note[400] = "", doctl[640] = "";
	int rc;

	*kind = d->token_kind;
	*from = d->token_from;
	if (d->token_file)
		return do_token_from_file(d, out);
	if (d->token)
		return do_clean_token(d->token, strlen(d->token), d->token_from, out);
	rc = d->store ? d->store->get(d->store, SOURCE_DO_TOKEN_KEY, &saved) : ERR_NOTFOUND;
	if (!rc && saved.origin && strcmp(saved.origin, SOURCE_ORIGIN_SECRET) == 0 && saved.secret) {
		*kind = DO_TK_KEYRING;
		*from = "the keyring (saved by login)";
		rc = do_clean_token(saved.secret, saved.secret_len, *from, out);
		cred_clear(&saved);
		return rc;
	}
	if (rc && rc != ERR_NOTFOUND)
		snprintf(note, sizeof(note), "; the keyring could not be read: %s", err_msg());
	cred_clear(&saved);
	*kind = DO_TK_DOCTL;
	*from = "doctl's config.yaml";
	rc = do_doctl_token(out, doctl, sizeof(doctl));
	if (rc != ERR_NOTFOUND)
		return rc;
	snprintf(why, why_size, "%s%s", note, doctl);
	return err_set(ERR_NOTFOUND, "no DigitalOcean API token: " DO_LOGIN_HINT "%s", why);
}

/* --- requests -------------------------------------------------------------------------- */

/* How long to wait before asking again after r, or -1 not to ask again. 429: the server's
 * Retry-After, else its ratelimit-reset, else a second. 5xx: a second, once. */
static int64_t do_retry_wait(const struct http_response *r, int *retried_5xx)
{
	const int64_t year = 366 * 86400; /* header values are hostile too: no overflow below */
	int64_t in = 1;

	if (r->status == 429) {
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

/* GET the API's path with the token, asking again after a 429 or a 5xx while the deadline
 * (monotonic ms) allows, at most tries requests in all. 0 whenever an answer came (a->r, any
 * status); else the transport's error. The caller clears a->r. */
static int do_get(struct do_source *d, const char *path, const char *token, int64_t deadline,
		  int tries, struct do_answer *a)
{
	char url[DO_MAX_URL_LEN + 256];
	struct http_request req = {.method = "GET", .url = url, .bearer = token};
	struct http_opts o = d->http;
	int64_t left;
	int retried_5xx = 0, rc;

	snprintf(url, sizeof(url), "%s%s", d->api_url, path);
	for (a->attempts = 1;; a->attempts++) {
		http_response_clear(&a->r);
		a->asked = time(NULL);
		/* Each request within what is left of the deadline. */
		left = deadline - monotonic_ms();
		if (o.timeout_ms > left)
			o.timeout_ms = left > 1 ? left : 1;
		if (o.connect_timeout_ms > o.timeout_ms)
			o.connect_timeout_ms = o.timeout_ms;
		rc = http_do(&o, &req, &a->r);
		if (rc)
			return err_wrap(rc, "DigitalOcean API");
		a->wait_ms = -1;
		if (a->r.status != 200 && a->attempts < tries)
			a->wait_ms = do_retry_wait(&a->r, &retried_5xx);
		if (a->wait_ms < 0 || monotonic_ms() + a->wait_ms + DO_MIN_LEFT_MS > deadline)
			return 0;
		monotonic_sleep_ms(a->wait_ms);
	}
}

/* The error for an answer other than 200, in one line. name: the registry asked for by name
 * ("" for the account's only one), for a 404. */
static int do_status_error(const struct do_answer *a, const char *from, const char *name)
{
	long status = a->r.status;
	char detail[512];

	do_describe_error_body(status, a->r.body.data, a->r.body.len, detail, sizeof(detail));
	if (status == 401 || status == 403)
		return err_set(ERR_DENIED, "DigitalOcean refused the API token from %s%s (%s)", from,
			       status == 403 ? ": it needs " DO_SCOPES : "", detail);
	if (status == 404)
		return err_set(ERR_NOTFOUND, "DigitalOcean has no %s%s on this account (%s)",
			       name[0] ? "registry named " : "container registry", name, detail);
	if (status == 412)
		return err_set(ERR_NOTFOUND, "the DigitalOcean account has several registries: "
			       DO_PICK_ONE " (%s)", detail);
	if (status == 429 && a->attempts >= DO_MAX_ATTEMPTS)
		return err_set(ERR_UNAVAILABLE, "DigitalOcean's API rate limit is still reached after "
			       "%d requests (%s)", a->attempts, detail);
	if (status == 429 && a->wait_ms >= 0)
		return err_set(ERR_UNAVAILABLE, "DigitalOcean's API rate limit is reached and lifts in "
			       "%lld s, after the deadline (%s)", (long long)((a->wait_ms + 999) / 1000),
			       detail);
	if (status == 429)
		return err_set(ERR_UNAVAILABLE, "DigitalOcean's API rate limit is reached (%s)", detail);
	if (status >= 500)
		return err_set(ERR_UNAVAILABLE, "the DigitalOcean API failed (%s)", detail);
	return err_set(ERR_FAILED, "the DigitalOcean API answered an unexpected status (%s)", detail);
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

/* The file's path; -1 when there is no place for it. */
static int do_names_path(char *path, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n = -1;

	if (xdg && xdg[0] == '/')
		n = snprintf(path, size, "%s/docker-credential-keyring/digitalocean-registry", xdg);
	else if (home && home[0] == '/')
		n = snprintf(path, size, "%s/.cache/docker-credential-keyring/digitalocean-registry", home);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Read the file: the name remembered for this API into name (when name is not NULL and a valid
 * one is there), and the other APIs' lines, as many as may be kept with a new one, into others
 * (when not NULL). 1 when this API's name was found. */
static int do_names_load(const struct do_source *d, char *name, size_t size, struct secbuf *others)
{
	struct secbuf b = SECBUF_INIT;
	char path[4096], *line, *next, *sp;
	size_t kept = 0;
	int found = 0;

	if (do_names_path(path, sizeof(path)) || fdio_read_regular(path, O_NOFOLLOW, DO_MAX_NAMES_FILE, &b))
		return 0;
	for (next = b.data; (line = strsep(&next, "\n")) != NULL;) {
		if (!(sp = strchr(line, ' ')))
			continue;
		*sp = '\0';
		if (strcmp(line, d->api_url) == 0) {
			if (name && !found && do_is_registry_name(sp + 1, strlen(sp + 1))) {
				snprintf(name, size, "%s", sp + 1);
				found = 1;
			}
		} else if (others && ++kept < DO_MAX_NAMES_LINES) {
			*sp = ' ';
			secbuf_append_str(others, line);
			secbuf_append_str(others, "\n");
		}
	}
	secbuf_free(&b);
	return found;
}

/* Remember name for this API (NULL: forget it), keeping the other APIs' lines: a new file
 * renamed over the old one, so that a reader sees the old text or the new, never half. */
static void do_remember_registry(const struct do_source *d, const char *name)
{
	struct secbuf text = SECBUF_INIT;
	char path[4096], dir[4096], tmp[4200], *slash;
	int fd = -1, rc = 0;

	if (do_names_path(path, sizeof(path)))
		return;
	do_names_load(d, NULL, 0, &text);
	if (name)
		rc = secbuf_append_str(&text, d->api_url) || secbuf_append_str(&text, " ") ||
		     secbuf_append_str(&text, name) || secbuf_append_str(&text, "\n");
	/* Our directory, and the cache directory above it, may not exist yet (XDG: create 0700). */
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (!rc && mkdir(dir, 0700) != 0 && errno != EEXIST)
		rc = -1;
	*slash = '/';
	if (!rc && mkdir(dir, 0700) != 0 && errno != EEXIST)
		rc = -1;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (!rc && (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		rc = -1;
	if (!rc && fdio_write_all(fd, text.data ? text.data : "", text.len) != 0)
		rc = -1;
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	if (!rc)
		rc = rename(tmp, path);
	if (rc && fd >= 0)
		unlink(tmp);
	if (rc)
		log_debug("digitalocean: cannot update %s (%s): the registry name is asked for again "
			  "next time", path, strerror(errno));
	secbuf_free(&text);
}

/* GET /v2/registries: the account's only registry into name (and remembered). "" when the API
 * gives no usable list: the deprecated single-registry endpoint needs no name. */
static int do_learn_registry(struct do_source *d, const char *token, const char *from,
			     int64_t deadline, char *name, size_t size)
{
	struct do_answer a = {0};
	struct do_registries regs;
	char names[512];
	long status;
	int rc = do_get(d, "/v2/registries", token, deadline, DO_MAX_ATTEMPTS, &a);

	name[0] = '\0';
	status = a.r.status;
	if (rc) {
		/* the transport's error, as it is */
	} else if (status == 200 && do_parse_registries_body(a.r.body.data, a.r.body.len, &regs) == 0) {
		do_names_text(&regs, names, sizeof(names));
		if (regs.n == 0) {
			rc = err_set(ERR_NOTFOUND, "DigitalOcean has no container registry on this "
				     "account");
		} else if (regs.n > 1) {
			rc = err_set(ERR_NOTFOUND, "the DigitalOcean account has several registries "
				     "(%s): " DO_PICK_ONE, names);
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

/* GET …/docker-credentials (a new token on the account) for registry name ("": the account's
 * only one, at the deprecated endpoint) into c. *status: the answer's, 0 when none came. */
static int do_mint(struct do_source *d, const char *token, const char *from, const char *name,
		   int64_t deadline, const char *server, struct cred *c, long *status)
{
	struct do_answer a = {0};
	char query[96], path[256];
	int rc;

	/* No expiry_seconds means credentials that never expire, as the API defines it. */
	snprintf(query, sizeof(query), "?read_write=%s", d->read_write ? "true" : "false");
	if (d->expiry)
		snprintf(query + strlen(query), sizeof(query) - strlen(query), "&expiry_seconds=%lld",
			 (long long)d->expiry);
	if (name[0])
		snprintf(path, sizeof(path), "/v2/registries/%s/docker-credentials%s", name, query);
	else
		snprintf(path, sizeof(path), "/v2/registry/docker-credentials%s", query);
	/* http.c logs URLs without their query (one may carry a secret); this one carries none,
	 * and read_write and expiry_seconds are what a reader of the log wants to see. */
	log_debug("digitalocean: minting a registry token: GET %s", path);
	rc = do_get(d, path, token, deadline, DO_MAX_ATTEMPTS, &a);
	*status = a.r.status;
	if (!rc && a.r.status == 200)
		rc = do_parse_config_body(a.r.body.data, a.r.body.len, server, c);
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
	return rc;
}

/* The registry setting, else the remembered name, else learn it (see "which registry"). Then
 * mint; a remembered name the API no longer knows is forgotten and learned again, once. */
static int do_fetch(struct source *s, const char *server, struct cred *out)
{
	struct do_source *d = (struct do_source *)s;
	struct cred c = {0};
	const char *from = "";
	char *token = NULL, name[64] = "", why[1100];
	int64_t deadline = monotonic_ms() + d->http.timeout_ms;
	enum do_token_kind kind;
	long status = 0;
	int rc, remembered = 0;

	rc = do_token(d, &token, &from, &kind, why, sizeof(why));
	if (!rc && d->registry)
		snprintf(name, sizeof(name), "%s", d->registry);
	else if (!rc && (remembered = do_names_load(d, name, sizeof(name), NULL)) != 0)
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
	struct secbuf form = SECBUF_INIT;
	struct http_response r = {0};
	char *token = NULL, url[DO_MAX_URL_LEN + 32], detail[512];
	struct http_request req = {.method = "POST", .url = url,
				   .content_type = "application/x-www-form-urlencoded"};
	int rc;

	/* A login the user stored is theirs (maybe their personal API token): not ours to revoke.
	 * An expired copy is no longer valid: nothing to do. */
	if (!cached || !cached->origin || strcmp(cached->origin, DO_NAME) != 0 || !cached->secret ||
	    !cached->secret_len || (cached->expires && cached->expires <= (int64_t)time(NULL)))
		return 0;
	rc = do_clean_token(cached->secret, cached->secret_len, "the cached credential", &token);
	if (rc)
		return err_wrap(rc, "erased %s, but its token cannot be revoked", server);
	snprintf(url, sizeof(url), "%s/v1/oauth/revoke", d->oauth_url);
	if (secbuf_append_str(&form, "token=") || http_escape(&form, token)) {
		rc = do_oom();
		goto out;
	}
	req.bearer = token;
	req.body = form.data;
	req.body_len = form.len;
	rc = http_do(&d->http, &req, &r);
	if (rc) {
		rc = err_wrap(rc, "erased %s from the keyring, but could not revoke its token at "
			      "DigitalOcean", server);
	} else if (r.status != 200 && r.status != 401) {
		/* 401: the token did not authenticate its own revocation, so it is no longer valid
		 * (revoked already, or expired): nothing valid is left behind, which is the point. */
		do_describe_error_body(r.status, r.body.data, r.body.len, detail, sizeof(detail));
		rc = err_set(r.status == 403 ? ERR_DENIED : ERR_UNAVAILABLE,
			     "erased %s from the keyring, but DigitalOcean did not revoke its token (%s)",
			     server, detail);
	}
out:
	http_response_clear(&r);
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
static int do_set_url(const char *v, const char *name, char **out)
{
	size_t len = strlen(v), scheme, i;

	while (len && v[len - 1] == '/')
		len--;
	scheme = strncasecmp(v, "https://", 8) == 0 ? 8 : strncasecmp(v, "http://", 7) == 0 ? 7 : 0;
	for (i = 0; i < len && (unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7f; i++)
		;
	if (!scheme || len <= scheme || len > DO_MAX_URL_LEN || i < len)
		return err_set(ERR_INVALID, "%s: not an https:// URL (or it is too long, or holds "
			       "spaces or control characters)", name);
	if (memchr(v + scheme, '@', strcspn(v + scheme, "/?#")))
		return err_set(ERR_INVALID, "%s: the URL must not carry user:password@", name);
	if (memchr(v, '?', len) || memchr(v, '#', len))
		return err_set(ERR_INVALID, "%s: a base URL takes no query or fragment", name);
	*out = strndup(v, len);
	return *out ? 0 : do_oom();
}

static int do_set_api_url(struct do_source *d, const char *v, const char *name)
{
	return do_set_url(v, name, &d->api_url);
}

static int do_set_oauth_url(struct do_source *d, const char *v, const char *name)
{
	return do_set_url(v, name, &d->oauth_url);
}

static int do_set_registry(struct do_source *d, const char *v, const char *name)
{
	if (!do_is_registry_name(v, strlen(v)))
		return err_set(ERR_INVALID, "%s: a DigitalOcean registry name is 1 to 63 characters "
			       "of a-z, 0-9 and -", name);
	d->registry = strdup(v);
	return d->registry ? 0 : do_oom();
}

/* registry.digitalocean.com, then the comma-separated extra hosts, in lower case. */
static int do_set_hosts(struct do_source *d, const char *v, const char *name)
{
	const char *p, *end;
	char *host;
	size_t len, i;

	if (!(d->hosts[d->nhosts++] = strdup(DO_HOST)))
		return do_oom();
	for (p = v; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		p += strspn(p, " \t");
		for (len = (size_t)(end - p); len && (p[len - 1] == ' ' || p[len - 1] == '\t'); len--)
			;
		if (!len)
			continue;
		if (len > DO_MAX_HOST_LEN || strspn(p, DO_HOST_CHARS) < len)
			return err_set(ERR_INVALID, "%s: \"%.*s\" is not a host name", name,
				       (int)(len > 64 ? 64 : len), p);
		if (d->nhosts == DO_MAX_HOSTS)
			return err_set(ERR_INVALID, "%s: more than %d hosts", name, DO_MAX_HOSTS - 1);
		if (!(host = strndup(p, len)))
			return do_oom();
		for (i = 0; i < len; i++)
			if (host[i] >= 'A' && host[i] <= 'Z')
				host[i] = (char)(host[i] - 'A' + 'a');
		d->hosts[d->nhosts++] = host;
	}
	return 0;
}

/* Seconds as a number or a duration (3600, 90m, 12h); 0 or "never": no expiry. */
static int do_set_expiry(struct do_source *d, const char *v, const char *name)
{
	int64_t ms = 0;

	if (strcasecmp(v, "never") != 0 &&
	    (config_parse_ms(v, &ms) || ms % 1000 || ms / 1000 > DO_MAX_EXPIRY))
		return err_set(ERR_INVALID, "%s: \"%.64s\" is not a whole number of seconds from 0 to "
			       "%lld (or a duration such as 12h, or never)", name, v, DO_MAX_EXPIRY);
	d->expiry = ms / 1000;
	return 0;
}

static int do_set_share(struct do_source *d, const char *v, const char *name)
{
	char *end;

	errno = 0;
	d->share = strtod(v, &end);
	end += strspn(end, " ");
	/* 1 would mean "always refresh": a new token on the account at every get. */
	if (end == v || *end || errno || !isfinite(d->share) || d->share < 0 || d->share >= 1)
		return err_set(ERR_INVALID, "%s: \"%.64s\" is not a number from 0 up to (not "
			       "including) 1", name, v);
	return 0;
}

/* Each setting: its key in [digitalocean], the variable that wins over it, its default (NULL:
 * none, the setter is not called). */
static const struct do_setting {
	const char *key, *env, *def;
	int (*set)(struct do_source *d, const char *v, const char *name);
} do_settings[] = {
	{"api-url", "DIGITALOCEAN_API_URL", DO_API_URL, do_set_api_url},
	{"oauth-url", DO_ENV "_OAUTH_URL", "https://cloud.digitalocean.com", do_set_oauth_url},
	{"registry", DO_ENV "_REGISTRY", NULL, do_set_registry},
	{"hosts", DO_ENV "_HOSTS", "", do_set_hosts},
	{"expiry", DO_ENV "_EXPIRY", "86400", do_set_expiry}, /* a day, refreshed after half */
	{"refresh-share", DO_ENV "_REFRESH_SHARE", "0.5", do_set_share},
};

/* Where the token comes from, by precedence: the token-file variable (ours, so the most
 * specific), DIGITALOCEAN_ACCESS_TOKEN, DIGITALOCEAN_TOKEN, then the config file, where
 * token-file and token together are ambiguous, so an error. A token is copied unchecked: it is
 * checked when a fetch needs it, so a bad one spoils DigitalOcean's answers only, not every
 * verb's. A token file is read then too: opening the source does no I/O. The keyring and
 * doctl's config come after these, in do_token. */
static int do_token_setting(const struct config *cfg, struct do_source *d)
{
	static const struct {
		const char *name; /* a variable, or a key in [digitalocean] */
		int in_file;
		enum do_token_kind kind;
	} places[] = {
		{DO_ENV "_TOKEN_FILE", 0, DO_TK_FILE},  {"DIGITALOCEAN_ACCESS_TOKEN", 0, DO_TK_ENV},
		{"DIGITALOCEAN_TOKEN", 0, DO_TK_ENV},   {"token-file", 1, DO_TK_FILE},
		{"token", 1, DO_TK_CONFIG},
	};
	const char *v = NULL, *home = getenv("HOME"), *other;
	size_t i;

	for (i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		v = places[i].in_file ? config_file_value(cfg, DO_SECTION, places[i].name)
				      : getenv(places[i].name);
		if (v && v[0])
			break;
	}
	if (i == sizeof(places) / sizeof(places[0]))
		return 0;
	other = config_file_value(cfg, DO_SECTION, "token");
	if (places[i].in_file && places[i].kind == DO_TK_FILE && other && other[0])
		return err_set(ERR_INVALID, DO_SECTION ".token-file and " DO_SECTION ".token are both "
			       "set in the config file: keep one");
	d->token_kind = places[i].kind;
	snprintf(d->token_setting, sizeof(d->token_setting), "%s%s",
		 places[i].in_file ? DO_SECTION "." : "", places[i].name);
	if (places[i].kind != DO_TK_FILE) {
		snprintf(d->token_from, sizeof(d->token_from), "%s%s", d->token_setting,
			 places[i].in_file ? " in the config file" : "");
		d->token = secmem_dup(v, strlen(v));
		return d->token ? 0 : do_oom();
	}
	/* A token file: an absolute path, or ~/… in the home directory. */
	if (v[0] == '/') {
		d->token_file = strdup(v);
	} else if (v[0] == '~' && v[1] == '/' && home && home[0] == '/') {
		if (asprintf(&d->token_file, "%s%s", home, v + 1) < 0)
			d->token_file = NULL;
	} else {
		return err_set(ERR_INVALID, "%s: \"%.200s\" is not an absolute path (or ~/…)",
			       d->token_setting, v);
	}
	if (!d->token_file)
		return do_oom();
	snprintf(d->token_from, sizeof(d->token_from), "%s (%.400s)", d->token_setting, d->token_file);
	return 0;
}

/* --- doctor ------------------------------------------------------------------------------ */

#define DO_NEW_TOKEN "make a new token with " DO_SCOPES " (control panel: API, Tokens), then "

/* Where a token goes, for a fix line: where this one came from. prefix says what to do first
 * ("make a new token …, then "); "" when the token there is only malformed. */
static void do_fix_put_token(const struct do_source *d, enum do_token_kind kind, char *fix,
			     size_t size, const char *prefix)
{
	const char *it = prefix[0] ? "it" : "the token alone (no spaces, quotes or line breaks)";

	if (kind == DO_TK_ENV)
		snprintf(fix, size, "%sset %s to %s", prefix, d->token_from, it);
	else if (kind == DO_TK_CONFIG)
		snprintf(fix, size, "%sset `token = …` in the config file's [" DO_SECTION "] section "
			 "to %s (or save it with `docker-credential-keyring login digitalocean` and "
			 "remove that line)", prefix, it);
	else if (kind == DO_TK_FILE)
		snprintf(fix, size, "%swrite %s to %.400s (%s)", prefix, it, d->token_file,
			 d->token_setting);
	else if (kind == DO_TK_DOCTL)
		snprintf(fix, size, "%s%s with `docker-credential-keyring login digitalocean` (it comes "
			 "before doctl's config)", prefix, prefix[0] ? "save it" : "save a token");
	else
		snprintf(fix, size, "%s%s with `docker-credential-keyring login digitalocean`", prefix,
			 prefix[0] ? "save it" : "save the token again");
}

/* The exact fix for a failed check (doctor prints it under the failure). names: the account's
 * registries when GET /v2/registries gave a list, else NULL. */
static void do_check_fix(const struct do_source *d, int rc, int have_token, long status,
			 enum do_token_kind kind, const char *names, char *fix, size_t size)
{
	char api_buf[64], reg_buf[64];
	const char *api = config_setting_name(DO_SECTION, "api-url", "DIGITALOCEAN_API_URL", api_buf,
						  sizeof(api_buf));
	const char *reg = config_setting_name(DO_SECTION, "registry", DO_ENV "_REGISTRY", reg_buf,
						  sizeof(reg_buf));

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
	struct do_source *d = (struct do_source *)s;
	struct do_answer a = {0};
	struct do_registries regs = {0};
	enum do_token_kind kind;
	const char *from = "";
	char *token = NULL, names[512] = "", why[1100] = "";
	size_t i;
	int rc, listed = 0, named = 0;

	rc = do_token(d, &token, &from, &kind, why, sizeof(why));
	if (rc == ERR_NOTFOUND) /* the hint is the fix line; the message says where none was */
		rc = err_set(ERR_NOTFOUND, "no API token (" DO_ENV "_TOKEN_FILE, DIGITALOCEAN_ACCESS_TOKEN, "
			     "DIGITALOCEAN_TOKEN, " DO_SECTION ".token-file, " DO_SECTION ".token, "
			     "`login`, doctl's config: none set)%s", why);
	if (!rc)
		rc = do_get(d, "/v2/registries", token, monotonic_ms() + d->http.timeout_ms, 1, &a);
	if (!rc && a.r.status != 200 && (rc = do_status_error(&a, from, "")) == ERR_NOTFOUND)
		rc = ERR_FAILED; /* ERR_NOTFOUND means "no token" here */
	if (!rc && do_parse_registries_body(a.r.body.data, a.r.body.len, &regs) != 0)
		rc = ERR_FAILED;
	if (!rc) {
		do_names_text(&regs, names, sizeof(names));
		listed = 1;
	}
	for (i = 0; d->registry && i < regs.n && i < DO_MAX_NAMES; i++)
		named |= strcmp(regs.names[i], d->registry) == 0;
	if (!rc && regs.n == 0)
		rc = err_set(ERR_FAILED, "token accepted, but the account has no container registry");
	else if (!rc && d->registry && !named)
		rc = err_set(ERR_INVALID, "token accepted, but the account has no registry named %s "
			     "(it has: %s)", d->registry, names);
	else if (!rc && !d->registry && regs.n > 1)
		rc = err_set(ERR_INVALID, "token accepted, but the account has %zu registries (%s) and "
			     DO_REGISTRY_SETTING " names none", regs.n, names);
	if (!rc)
		snprintf(what, what_size, "token accepted (registry %s, token from %s); " DO_UNCHECKED,
			 d->registry ? d->registry : regs.names[0], from);
	else
		do_check_fix(d, rc, token != NULL, a.r.status, kind, listed ? names : NULL, what,
			     what_size);
	http_response_clear(&a.r);
	secmem_free_str(token);
	return rc;
}

int source_do_new(const struct config *cfg, struct store *st, struct source **out)
{
	static const struct source slots = {
		.name = DO_NAME,
		.serves = do_serves,
		.fetch = do_fetch,
		.refresh_before = do_refresh_before,
		.on_store = NULL, /* a DO login is kept like any other */
		.on_erase = do_on_erase,
		.list = NULL,     /* cached copies are in the keyring, which list shows */
		.check = do_check,
		.free = do_free,
	};
	struct do_source *d = calloc(1, sizeof(*d));
	char name[64];
	size_t i;
	int ro = 0, rc;

	*out = NULL;
	if (!d)
		return do_oom();
	d->base = slots;
	d->store = st;
	rc = http_opts_load(cfg, DO_SECTION, DO_ENV, &d->http);
	d->http.max_body = DO_MAX_BODY;
	for (i = 0; !rc && i < sizeof(do_settings) / sizeof(do_settings[0]); i++) {
		const struct do_setting *s = &do_settings[i];
		const char *v = config_str(cfg, DO_SECTION, s->key, s->env);

		if (!v || !v[0])
			v = s->def;
		if (v)
			rc = s->set(d, v, config_setting_name(DO_SECTION, s->key, s->env, name, sizeof(name)));
	}
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

int source_do_check_login(const struct config *cfg, const char *token, char *msg, size_t size)
{
	struct source *s = NULL;
	struct do_source *d;
	struct do_answer a = {0};
	struct do_registries regs;
	const char *refused = NULL, *unshown = "the token has no account:read scope";
	char who[320] = "", saved[400], names[256], note[600] = "", detail[512];
	int64_t deadline;
	int rc = source_do_new(cfg, NULL, &s);

	if (rc)
		return rc;
	d = (struct do_source *)s;
	deadline = monotonic_ms() + d->http.timeout_ms;
	/* The account is for the confirmation only: any answer but a 401 leaves it unknown (403:
	 * the token has no account:read, which the helper does not need). */
	rc = do_get(d, "/v2/account", token, deadline, DO_MAX_ATTEMPTS, &a);
	if (!rc && a.r.status == 401) {
		refused = "";
	} else if (!rc) {
		if (a.r.status == 200 && do_parse_account_body(a.r.body.data, a.r.body.len, who,
							       sizeof(who)) != 0) {
			unshown = "DigitalOcean's answer names no usable account e-mail";
			err_clear();
		}
		rc = do_get(d, "/v2/registries", token, deadline, DO_MAX_ATTEMPTS, &a);
		if (!rc && (a.r.status == 401 || a.r.status == 403))
			refused = ": it needs " DO_SCOPES;
		else if (!rc && a.r.status != 200)
			rc = do_status_error(&a, "login", "");
		else if (!rc)
			rc = do_parse_registries_body(a.r.body.data, a.r.body.len, &regs);
	}
	if (!rc && refused) {
		do_describe_error_body(a.r.status, a.r.body.data, a.r.body.len, detail, sizeof(detail));
		rc = err_set(ERR_DENIED, "DigitalOcean refused this token%s (%s): nothing saved", refused,
			     detail);
	}
	if (!rc) {
		do_names_text(&regs, names, sizeof(names));
		if (who[0])
			snprintf(saved, sizeof(saved), "for %s in the keyring", who);
		else
			snprintf(saved, sizeof(saved), "in the keyring (the account is not shown: %s)",
				 unshown);
		if (d->token || d->token_file)
			snprintf(note, sizeof(note), "  note: %s is set and comes before the saved "
				 "token\n", d->token_from);
		snprintf(msg, size, "saved the DigitalOcean API token %s\n  registry: %s\n  " DO_UNCHECKED
			 "\n%s", saved, names[0] ? names : "none yet (`doctl registry create NAME`)", note);
	}
	http_response_clear(&a.r);
	do_destroy(d);
	return rc;
}
