/* rancher_api: requests to one Rancher 1.x endpoint, answers checked (see rancher_api.h). */
#include "rancher_api.h"
#include "rancher_api_parse.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "monotonic.h"
#include "json_secret.h"

/* The longest pagination query we follow: Rancher's is our own query plus a marker. */
#define RANCHER_MAX_QUERY 1024

static const char *const kind_path[] = {"registries", "registrycredentials"};
static const char *const kind_type[] = {"registry", "registryCredential"};
static const char *const kind_noun[] = {"registry", "credential"};

void rancher_api_begin(struct rancher_api *a)
{
	a->deadline = monotonic_ms() + a->budget_ms;
}

int64_t rancher_api_remaining(const struct rancher_api *a)
{
	return a->deadline - monotonic_ms();
}

int rancher_api_pause(struct rancher_api *a, int64_t ms)
{
	int64_t left = rancher_api_remaining(a);
	struct timespec ts;

	if (ms > left)
		ms = left;
	if (ms > 0) {
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	/* A pause that used up the rest leaves no time for another try. */
	return rancher_api_remaining(a) > 0 ? 0
					    : err_set(ERR_TIMEOUT, "Rancher at %s: out of time", a->host);
}

int rancher_api_retryable(const struct rancher_api *a)
{
	long s = a->last_status;

	return s == 0 || s >= 500 || s == 405 || s == 409 ||
	       (s == 400 && strcmp(a->last_code, "ServerAddressUsed") == 0) ||
	       (s == 422 && strcmp(a->last_code, "ActionNotAvailable") == 0);
}

static int is_id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

static int valid_project(const char *p, size_t n)
{
	size_t i;

	if (n < 3 || n > 20 || p[0] != '1' || p[1] != 'a')
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

int rancher_api_url_is_v3(const char *url)
{
	const char *p = strstr(url, "://"), *seg;
	size_t n;

	if (!p)
		return 0;
	p += 3;
	p += strcspn(p, "/?#");
	for (seg = p; *seg == '/'; seg += n) {
		seg += strspn(seg, "/");
		n = strcspn(seg, "/?#");
		if (n == 2 && strncmp(seg, "v3", 2) == 0)
			return 1;
		if ((n == 2 && strncmp(seg, "v1", 2) == 0) || (n == 7 && strncmp(seg, "v2-beta", 7) == 0))
			return 0;
	}
	return 0;
}

int rancher_api_parse_url(struct rancher_api *a, const char *setting, const char *url)
{
	const char *auth, *path, *seg, *end, *ver = NULL, *ver_end = NULL;
	size_t auth_len, n;
	int after = 0; /* segments seen after the version: 1 "projects", 2 the id, 3 "schemas" */

	/* Every message below quotes the URL, so first refuse one that carries keys
	 * (https://ACCESS:SECRET@host), without quoting it. */
	auth = strstr(url, "://");
	auth = auth ? auth + 3 : url;
	if (memchr(auth, '@', strcspn(auth, "/")))
		return err_set(ERR_INVALID, "%s: credentials in the URL: give the keys in "
			       "RANCHER_ACCESS_KEY and RANCHER_SECRET_KEY (or the CATTLE_* names)", setting);
	if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else
		return err_set(ERR_INVALID, "%s: not an http(s) URL: %s", setting, url);
	if (strpbrk(url, "?# \t\r\n"))
		return err_set(ERR_INVALID, "%s: a Rancher URL has no query, fragment or spaces: %s",
			       setting, url);
	path = auth + strcspn(auth, "/");
	auth_len = (size_t)(path - auth);
	if (auth_len == 0 || auth_len >= sizeof(a->host) || memchr(auth, '@', auth_len))
		return err_set(ERR_INVALID, "%s: no host, or credentials in the URL: %s", setting, url);
	for (seg = path; *seg; seg = end) {
		while (*seg == '/')
			seg++;
		end = seg + strcspn(seg, "/");
		n = (size_t)(end - seg);
		if (n == 0)
			break;
		if (!ver) {
			if ((n == 2 && strncmp(seg, "v1", 2) == 0) ||
			    (n == 7 && strncmp(seg, "v2-beta", 7) == 0)) {
				ver = seg;
				ver_end = end;
			}
			continue;
		}
		if (after == 0 && n == 8 && strncasecmp(seg, "projects", 8) == 0) {
			after = 1;
		} else if (after == 1 && valid_project(seg, n)) {
			memcpy(a->project, seg, n);
			a->project[n] = '\0';
			after = 2;
		} else if (after != 1 && n == 7 && strncmp(seg, "schemas", 7) == 0 && after != 3) {
			after = 3;
		} else {
			return err_set(ERR_INVALID, "%s: expected https://HOST[/v1|/v2-beta[/projects/1a<n>]], "
				       "got %s", setting, url);
		}
	}
	if (!ver && rancher_api_url_is_v3(url))
		return err_set(ERR_INVALID, "%s: Rancher 2.x (API v3) is not supported, only Rancher 1.x "
			       "(v1, v2-beta): %s", setting, url);
	if (after == 1 || (!ver && path[strspn(path, "/")]))
		return err_set(ERR_INVALID, "%s: expected https://HOST[/v1|/v2-beta[/projects/1a<n>]], "
			       "got %s", setting, url);
	memcpy(a->host, auth, auth_len);
	a->host[auth_len] = '\0';
	a->url_setting = setting;
	if (a->project[0])
		a->project_how = RANCHER_API_PROJECT_GIVEN;
	snprintf(a->ver, sizeof(a->ver), "%s", ver && ver_end - ver == 2 ? "v1" : "v2-beta");
	/* The base keeps a path prefix before the version (a proxy's /rancher), never a slash. */
	n = ver ? (size_t)(ver - url) : strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	a->base = strndup(url, n);
	return a->base ? 0 : err_set(ERR_FAILED, "out of memory");
}

void rancher_api_clear(struct rancher_api *a)
{
	free(a->base);
	free(a->access);
	secmem_free_str(a->secret);
	a->base = a->access = a->secret = NULL;
}

void rancher_api_obj_clear(struct rancher_obj *o)
{
	free(o->address);
	free(o->public_value);
	free(o->description);
	secmem_free(o->secret_value, o->secret_len);
	memset(o, 0, sizeof(*o));
}

void rancher_api_objs_clear(struct rancher_objs *l)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		rancher_api_obj_clear(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

int rancher_api_obj_busy(const struct rancher_obj *o)
{
	static const char *const settled[] = {"active", "inactive", "removed", "purged", "error"};
	size_t i;

	if (o->transitioning)
		return 1;
	for (i = 0; i < sizeof(settled) / sizeof(settled[0]); i++)
		if (strcmp(o->state, settled[i]) == 0)
			return 0;
	return 1;
}

/* Copy at most size-1 bytes of s, control characters made spaces: one line, always. */
static void printable(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	dst[i] = '\0';
}

/* The create response and environmentAdmin reads carry secretValue: every answer is parsed
 * and freed through json_secret.h, which leaves no copy behind. NULL when it is not JSON (a
 * proxy's HTML page). */
static struct json_object *json_parse(const struct secbuf *body)
{
	const char *why;

	return json_secret_parse(body->data, body->len, 32, &why);
}

/* A string member: 0 with *out (NULL when absent or null), or -1 when it is another type. */
static int member_str(struct json_object *obj, const char *name, const char **out, size_t *len)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (len)
		*len = 0;
	if (!json_object_object_get_ex(obj, name, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return 0;
}

static int bad_field(const struct rancher_api *a, enum rancher_api_kind k, const char *field)
{
	return err_set(ERR_FAILED, "Rancher at %s sent a malformed %s: %s is missing or of the wrong type",
		       a->host, kind_type[k], field);
}

/* Check and copy the fields we use from one resource. */
static int obj_parse(const struct rancher_api *a, enum rancher_api_kind k, struct json_object *v,
		     struct rancher_obj *out)
{
	struct rancher_obj o = {0};
	const char *s;
	size_t n, i;

	if (!json_object_is_type(v, json_type_object))
		return err_set(ERR_FAILED, "Rancher at %s sent a %s that is not a JSON object", a->host,
			       kind_type[k]);
	if (member_str(v, "type", &s, NULL) || (s && strcmp(s, kind_type[k]) != 0))
		return err_set(ERR_FAILED, "Rancher at %s sent a %s where a %s was expected", a->host,
			       s ? "resource of another type" : "resource", kind_type[k]);
	if (member_str(v, "id", &s, &n) || !s || n == 0 || n >= sizeof(o.id))
		return bad_field(a, k, "id");
	for (i = 0; i < n; i++)
		if (!is_id_char(s[i]))
			return bad_field(a, k, "id");
	memcpy(o.id, s, n + 1);
	if (member_str(v, "state", &s, NULL))
		return bad_field(a, k, "state");
	printable(o.state, sizeof(o.state), s);
	if (member_str(v, "transitioning", &s, NULL))
		return bad_field(a, k, "transitioning");
	o.transitioning = s && strcmp(s, "yes") == 0;
	if (member_str(v, "transitioningMessage", &s, NULL))
		return bad_field(a, k, "transitioningMessage");
	printable(o.message, sizeof(o.message), s);
	if (k == RANCHER_API_REGISTRY) {
		if (member_str(v, "serverAddress", &s, &n))
			return bad_field(a, k, "serverAddress");
		if (s && !memchr(s, '\0', n) && !(o.address = strdup(s)))
			return err_set(ERR_FAILED, "out of memory");
		*out = o;
		return 0;
	}
	if (member_str(v, "registryId", &s, &n) || (s && n >= sizeof(o.registry_id))) {
		rancher_api_obj_clear(&o);
		return bad_field(a, k, "registryId");
	}
	printable(o.registry_id, sizeof(o.registry_id), s);
	if (member_str(v, "publicValue", &s, &n) || (s && memchr(s, '\0', n))) {
		rancher_api_obj_clear(&o);
		return bad_field(a, k, "publicValue");
	}
	if (s && !(o.public_value = strdup(s))) {
		rancher_api_obj_clear(&o);
		return err_set(ERR_FAILED, "out of memory");
	}
	if (member_str(v, "description", &s, &n) || (s && memchr(s, '\0', n))) {
		rancher_api_obj_clear(&o);
		return bad_field(a, k, "description");
	}
	if (s && !(o.description = strdup(s))) {
		rancher_api_obj_clear(&o);
		return err_set(ERR_FAILED, "out of memory");
	}
	if (member_str(v, "secretValue", &s, &n)) {
		rancher_api_obj_clear(&o);
		return bad_field(a, k, "secretValue");
	}
	if (s) {
		o.secret_value = secmem_dup(s, n);
		o.secret_len = n;
		if (!o.secret_value) {
			rancher_api_obj_clear(&o);
			return err_set(ERR_FAILED, "out of memory");
		}
	}
	*out = o;
	return 0;
}

/* Turn a non-2xx answer into one line, and remember its status and code. */
static int answer_error(struct rancher_api *a, const char *what, long status, struct json_object *v)
{
	const char *code = NULL, *msg = NULL, *field = NULL;
	char c[48] = "", m[200] = "", f[48] = "";

	if (v && json_object_is_type(v, json_type_object)) {
		if (member_str(v, "code", &code, NULL))
			code = NULL;
		if (member_str(v, "message", &msg, NULL))
			msg = NULL;
		if (member_str(v, "fieldName", &field, NULL))
			field = NULL;
	}
	printable(c, sizeof(c), code);
	printable(m, sizeof(m), msg);
	printable(f, sizeof(f), field);
	a->last_status = status;
	memcpy(a->last_code, c, sizeof(a->last_code));
	if (status == 401)
		return err_set(ERR_DENIED, "Rancher at %s refused the API key %s (401 Unauthorized): check %s",
			       a->host, a->access ? a->access : "", a->key_names);
	if (!code)
		return err_set(status >= 500 ? ERR_UNAVAILABLE : ERR_FAILED,
			       "Rancher at %s could not %s: HTTP %ld, and not an answer of Rancher's API "
			       "(a proxy in between, or the wrong URL?)", a->host, what, status);
	if (status == 403)
		return err_set(ERR_DENIED, "Rancher at %s could not %s: 403 %s: the key %s may not use "
			       "environment %s (see RANCHER_URL or DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT)",
			       a->host, what, c, a->access ? a->access : "",
			       a->project[0] ? a->project : "(its own)");
	return err_set(status >= 500 ? ERR_UNAVAILABLE : ERR_FAILED,
		       "Rancher at %s could not %s: %ld %s%s%s%s%s%s", a->host, what, status, c,
		       m[0] && strcmp(m, c) != 0 ? ": " : "", m[0] && strcmp(m, c) != 0 ? m : "",
		       f[0] ? " (field " : "", f, f[0] ? ")" : "");
}

/* Who Rancher says the key is, from the headers of an answer that arrived. */
struct key_seen {
	int answered;        /* an HTTP answer arrived (any status) */
	char account_id[64]; /* X-Api-Account-Id */
	char kind[32];       /* X-Api-Account-Kind, "" when Rancher did not send it */
};

/* One request to url. 0 with *out (a JSON object) for a 2xx answer; else an err.h code, one
 * line, a->last_status and last_code set. seen (may be NULL) gets the key's headers. */
static int call_url(struct rancher_api *a, const char *method, const char *url,
		    const struct secbuf *body, const char *what, struct json_object **out,
		    struct key_seen *seen)
{
	struct http_opts o = *a->http;
	struct http_request req = {method, url, NULL, a->access, a->secret ? a->secret : "",
				   body ? "application/json" : NULL, body ? body->data : NULL,
				   body ? body->len : 0};
	struct http_response resp = {0};
	struct json_object *v = NULL;
	int64_t left = rancher_api_remaining(a);
	long status;
	int rc;

	if (seen)
		memset(seen, 0, sizeof(*seen));
	a->last_status = 0;
	a->last_code[0] = '\0';
	if (left <= 0)
		return err_set(ERR_TIMEOUT, "Rancher at %s: out of time before it could %s", a->host, what);
	if (o.timeout_ms > left)
		o.timeout_ms = left;
	if (o.connect_timeout_ms > left)
		o.connect_timeout_ms = left;
	rc = http_do(&o, &req, &resp);
	if (rc) {
		a->last_status = rc == ERR_INVALID ? -1 : 0; /* a URL the rules refuse stays refused */
		return err_wrap(rc, "Rancher: cannot %s", what);
	}
	if (resp.account_kind[0])
		printable(a->kind, sizeof(a->kind), resp.account_kind);
	if (seen) {
		seen->answered = 1;
		printable(seen->account_id, sizeof(seen->account_id), resp.account_id);
		printable(seen->kind, sizeof(seen->kind), resp.account_kind);
	}
	status = resp.status;
	v = json_parse(&resp.body);
	http_response_clear(&resp);
	if (status < 200 || status > 299) {
		rc = answer_error(a, what, status, v);
	} else if (!v || !json_object_is_type(v, json_type_object)) {
		a->last_status = 502; /* a garbled answer may be a passing proxy fault */
		rc = err_set(ERR_UNAVAILABLE, "Rancher at %s could not %s: the answer is not a JSON object",
			     a->host, what);
	} else {
		*out = v;
		return 0;
	}
	json_secret_free(v);
	return rc;
}

/* <base>/<ver>[/projects/<p>]/<collection>[/<id>] into a malloc'd string. */
static char *make_url(const struct rancher_api *a, enum rancher_api_kind k, const char *id,
		      const char *suffix)
{
	char *url = NULL;

	if (asprintf(&url, "%s/%s%s%s/%s%s%s%s", a->base, a->ver, a->project[0] ? "/projects/" : "",
		     a->project, kind_path[k], id ? "/" : "", id ? id : "", suffix ? suffix : "") < 0)
		return NULL;
	return url;
}

static int environments_parse(const struct rancher_api *a, struct json_object *v,
			      struct rancher_api_envs *out);

/* Scope the calls that follow to environment id (valid_project: it fits). */
static void set_project(struct rancher_api *a, const char *id, int how)
{
	size_t n = strlen(id);

	if (n >= sizeof(a->project))
		return;
	memcpy(a->project, id, n + 1);
	a->project_how = how;
}

/* The account kinds of keys that belong to one environment (R4: an environment API key's
 * account is the project itself; CATTLE_* keys of a system stack act as projectadmin). */
static int is_environment_kind(const char *kind)
{
	return strcmp(kind, "project") == 0 || strcmp(kind, "projectadmin") == 0;
}

int rancher_api_account_key(const struct rancher_api *a)
{
	return a->kind[0] && !is_environment_kind(a->kind);
}

/* The environments Rancher lists for the key (environments_parse). */
static void say_environments(const struct rancher_api_envs *e, char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < e->len && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s%s%s%s", i ? ", " : "",
					 e->items[i].id, e->items[i].name[0] ? " (" : "",
					 e->items[i].name, e->items[i].name[0] ? ")" : "");
	if (e->more && used < size)
		snprintf(buf + used, size - used, " and %zu more", e->more);
}

/* Which environment a key without one in the settings works in. Rancher's own word first: the
 * X-Api-Account-Kind of an environment key says its account is the project (X-Api-Account-Id).
 * Any other key (an account key: a user, who may belong to many environments) is scoped by
 * what Rancher lists for it: the one environment, else an error that lists them and names the
 * settings to choose with. A Rancher that does not send the kind: an account id among the
 * listed environments is an environment key's. */
static int resolve_project(struct rancher_api *a, const struct key_seen *first)
{
	struct rancher_api_envs envs;
	struct json_object *v = NULL;
	struct key_seen seen;
	char *url = NULL, list[480];
	const char *kind;
	size_t i;
	int rc;

	if (asprintf(&url, "%s/%s/projects?limit=1000", a->base, a->ver) < 0)
		return err_set(ERR_FAILED, "out of memory");
	rc = call_url(a, "GET", url, NULL, "list environments", &v, &seen);
	free(url);
	if (seen.answered && is_environment_kind(seen.kind) &&
	    valid_project(seen.account_id, strlen(seen.account_id))) {
		json_secret_free(v);
		snprintf(a->kind, sizeof(a->kind), "%s", seen.kind);
		set_project(a, seen.account_id, RANCHER_API_PROJECT_LEARNT);
		return 0; /* an environment key: its list (or refusal) does not matter */
	}
	if (!rc)
		rc = environments_parse(a, v, &envs);
	json_secret_free(v);
	if (rc)
		return rc;
	kind = seen.kind[0] ? seen.kind : first->kind;
	snprintf(a->kind, sizeof(a->kind), "%s", kind);
	for (i = 0; !kind[0] && i < envs.len; i++)
		if (strcmp(envs.items[i].id, first->account_id) == 0) {
			set_project(a, first->account_id, RANCHER_API_PROJECT_LEARNT);
			return 0;
		}
	a->last_status = -1; /* a setting to change: no retry makes it right */
	if (envs.len == 1 && !envs.more) {
		set_project(a, envs.items[0].id, RANCHER_API_PROJECT_ONLY);
		a->last_status = 0;
		return 0;
	}
	if (envs.len == 0)
		return err_set(ERR_DENIED, "Rancher at %s: the key %s is %s%s%s key, not an environment's, "
			       "and may use no environment: use an environment API key, or add the "
			       "account to an environment", a->host, a->access ? a->access : "",
			       kind[0] ? "a " : "an account", kind, kind[0] ? " account" : "");
	say_environments(&envs, list, sizeof(list));
	return err_set(ERR_INVALID, "Rancher at %s: the key %s is an account key (%s) with %zu "
		       "environments: %s; name one: DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT=%s, or "
		       "%s=%s/%s/projects/%s", a->host, a->access ? a->access : "",
		       kind[0] ? kind : "not an environment's", envs.len + envs.more, list,
		       envs.items[0].id, a->url_setting ? a->url_setting : "RANCHER_URL", a->base,
		       a->ver, envs.items[0].id);
}

/* One request for collection k (resource id, then suffix: "/?action=x", "?query"), scoped to
 * the environment. When none is known yet, the answer's headers say whose key this is: an
 * environment key's unscoped answer is its environment's, and the project is learnt from it;
 * any other key's spoke for a user account, so the environment is resolved and the request
 * made again, scoped. A change is never made unscoped: the environment is resolved first. */
static int call(struct rancher_api *a, const char *method, enum rancher_api_kind k, const char *id,
		const char *suffix, const struct secbuf *body, const char *what,
		struct json_object **out)
{
	struct key_seen seen = {0};
	char *url;
	int rc, unscoped = !a->project[0];

	if (unscoped && strcmp(method, "GET") != 0) {
		if ((rc = resolve_project(a, &seen)) != 0)
			return rc;
		unscoped = 0;
	}
	if (!(url = make_url(a, k, id, suffix)))
		return err_set(ERR_FAILED, "out of memory");
	rc = call_url(a, method, url, body, what, out, &seen);
	free(url);
	if (!unscoped || !seen.answered)
		return rc;
	if (is_environment_kind(seen.kind) && valid_project(seen.account_id, strlen(seen.account_id))) {
		snprintf(a->kind, sizeof(a->kind), "%s", seen.kind);
		set_project(a, seen.account_id, RANCHER_API_PROJECT_LEARNT);
		return rc;
	}
	if (rc)
		return rc; /* 401 and the like: the error says more than a guess at the environment */
	json_secret_free(*out);
	*out = NULL;
	if ((rc = resolve_project(a, &seen)) != 0)
		return rc;
	if (!(url = make_url(a, k, id, suffix)))
		return err_set(ERR_FAILED, "out of memory");
	rc = call_url(a, method, url, body, what, out, NULL);
	free(url);
	return rc;
}

static int one(struct rancher_api *a, enum rancher_api_kind k, const char *method, const char *id,
	       const char *suffix, const struct secbuf *body, const char *what,
	       struct rancher_obj *out)
{
	struct json_object *v = NULL;
	int rc = call(a, method, k, id, suffix, body, what, &v);

	if (!rc)
		rc = obj_parse(a, k, v, out);
	json_secret_free(v);
	return rc;
}

int rancher_api_create(struct rancher_api *a, enum rancher_api_kind k, const struct secbuf *body,
		       struct rancher_obj *out)
{
	char what[64];

	snprintf(what, sizeof(what), "create a %s", kind_noun[k]);
	return one(a, k, "POST", NULL, NULL, body, what, out);
}

int rancher_api_update(struct rancher_api *a, enum rancher_api_kind k, const char *id,
		       const struct secbuf *body, struct rancher_obj *out)
{
	char what[96];

	snprintf(what, sizeof(what), "update %s %s", kind_noun[k], id);
	return one(a, k, "PUT", id, NULL, body, what, out);
}

int rancher_api_action(struct rancher_api *a, enum rancher_api_kind k, const char *id,
		       const char *action, struct rancher_obj *out)
{
	char what[96], suffix[48];

	snprintf(what, sizeof(what), "%s %s %s", action, kind_noun[k], id);
	snprintf(suffix, sizeof(suffix), "/?action=%s", action);
	return one(a, k, "POST", id, suffix, NULL, what, out);
}

int rancher_api_delete(struct rancher_api *a, enum rancher_api_kind k, const char *id,
		       struct rancher_obj *out)
{
	char what[96];

	snprintf(what, sizeof(what), "delete %s %s", kind_noun[k], id);
	return one(a, k, "DELETE", id, NULL, NULL, what, out);
}

/* The query part of pagination.next, checked: we follow it on our own URL, so a link to
 * another host (or a proxy's idea of our host) never gets the API key. */
static int next_query(const struct rancher_api *a, struct json_object *coll, char *q, size_t size)
{
	struct json_object *p = NULL;
	const char *next, *mark;
	size_t i, n;

	q[0] = '\0';
	if (!json_object_object_get_ex(coll, "pagination", &p) || !p)
		return 0;
	if (!json_object_is_type(p, json_type_object) || member_str(p, "next", &next, &n))
		return err_set(ERR_FAILED, "Rancher at %s sent malformed pagination", a->host);
	if (!next)
		return 0;
	mark = strchr(next, '?');
	if (!mark || strlen(mark + 1) >= size || strlen(next) != n)
		return err_set(ERR_FAILED, "Rancher at %s sent a pagination link without a usable query",
			       a->host);
	for (i = 1; mark[i]; i++)
		if ((unsigned char)mark[i] <= 0x20 || mark[i] == 0x7f || mark[i] == '#')
			return err_set(ERR_FAILED, "Rancher at %s sent a malformed pagination link", a->host);
	snprintf(q, size, "%s", mark + 1);
	return 0;
}

static int objs_add(struct rancher_objs *l, struct rancher_obj *o)
{
	struct rancher_obj *items = realloc(l->items, (l->len + 1) * sizeof(*items));

	if (!items)
		return err_set(ERR_FAILED, "out of memory");
	l->items = items;
	l->items[l->len++] = *o;
	memset(o, 0, sizeof(*o));
	return 0;
}

/* One page of a collection: its items appended to l, the query of its next page into q ("" at
 * the last page). */
static int page_parse(const struct rancher_api *a, enum rancher_api_kind k, struct json_object *v,
		      const char *what, struct rancher_objs *l, char *q, size_t qsize)
{
	struct json_object *data = NULL;
	size_t i, n;
	int rc = 0;

	if (!json_object_object_get_ex(v, "data", &data) || !json_object_is_type(data, json_type_array))
		return err_set(ERR_FAILED, "Rancher at %s could not %s: the answer is not a collection",
			       a->host, what);
	n = json_object_array_length(data);
	for (i = 0; !rc && i < n; i++) {
		struct rancher_obj o = {0};

		rc = obj_parse(a, k, json_object_array_get_idx(data, i), &o);
		if (!rc)
			rc = objs_add(l, &o);
	}
	return rc ? rc : next_query(a, v, q, qsize);
}

/* The environments (projects) a collection lists, checked: ids as valid_project, names made
 * printable and cut. Ones that cannot be used (inactive, on their way out) are left out; past
 * RANCHER_API_MAX_ENVS only counted. */
static int environments_parse(const struct rancher_api *a, struct json_object *v,
			      struct rancher_api_envs *out)
{
	static const char *const unusable[] = {"inactive", "deactivating", "removing", "removed",
					       "purging", "purged"};
	struct json_object *data = NULL;
	size_t i, j, n;

	memset(out, 0, sizeof(*out));
	if (!json_object_object_get_ex(v, "data", &data) || !json_object_is_type(data, json_type_array))
		return err_set(ERR_FAILED, "Rancher at %s could not list environments: the answer is "
			       "not a collection", a->host);
	n = json_object_array_length(data);
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(data, i);
		const char *id, *name, *state;
		size_t id_len;
		int usable = 1;

		if (!json_object_is_type(p, json_type_object) || member_str(p, "id", &id, &id_len) ||
		    !id || !valid_project(id, id_len) || member_str(p, "name", &name, NULL) ||
		    member_str(p, "state", &state, NULL))
			return err_set(ERR_FAILED, "Rancher at %s sent a malformed environment (project)",
				       a->host);
		for (j = 0; state && j < sizeof(unusable) / sizeof(unusable[0]); j++)
			usable &= strcmp(state, unusable[j]) != 0;
		if (!usable)
			continue;
		if (out->len == RANCHER_API_MAX_ENVS) {
			out->more++;
			continue;
		}
		memcpy(out->items[out->len].id, id, id_len + 1);
		printable(out->items[out->len].name, sizeof(out->items[out->len].name), name);
		out->len++;
	}
	return 0;
}

/* --- the parsers alone, for tests/fuzz (rancher_api_parse.h) --------------------------------- */

/* What call() does with a 2xx body: a JSON object, or one line. */
static int parse_ok_body(const struct rancher_api *a, const char *body, size_t len,
			 struct json_object **out)
{
	struct secbuf b = {(char *)body, len, len};
	struct json_object *v = json_parse(&b);

	if (!v || !json_object_is_type(v, json_type_object)) {
		json_secret_free(v);
		return err_set(ERR_UNAVAILABLE, "Rancher at %s: the answer is not a JSON object", a->host);
	}
	*out = v;
	return 0;
}

int rancher_api_parse_collection(const struct rancher_api *a, enum rancher_api_kind k,
				 const char *body, size_t len, struct rancher_objs *out, char *next,
				 size_t next_size)
{
	struct rancher_objs l = {0};
	struct json_object *v = NULL;
	int rc = parse_ok_body(a, body, len, &v);

	if (!rc)
		rc = page_parse(a, k, v, "list", &l, next, next_size);
	json_secret_free(v);
	if (rc) {
		rancher_api_objs_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}

int rancher_api_parse_resource(const struct rancher_api *a, enum rancher_api_kind k,
			       const char *body, size_t len, struct rancher_obj *out)
{
	struct json_object *v = NULL;
	int rc = parse_ok_body(a, body, len, &v);

	if (!rc)
		rc = obj_parse(a, k, v, out);
	json_secret_free(v);
	return rc;
}

int rancher_api_parse_environments(const struct rancher_api *a, const char *body, size_t len,
				   struct rancher_api_envs *out)
{
	struct json_object *v = NULL;
	int rc = parse_ok_body(a, body, len, &v);

	if (!rc)
		rc = environments_parse(a, v, out);
	json_secret_free(v);
	return rc;
}

int rancher_api_parse_error(struct rancher_api *a, const char *what, long status, const char *body,
			    size_t len)
{
	struct secbuf b = {(char *)body, len, len};
	struct json_object *v = json_parse(&b);
	int rc = answer_error(a, what, status, v);

	json_secret_free(v);
	return rc;
}

int rancher_api_list(struct rancher_api *a, enum rancher_api_kind k, const char *query,
		     struct rancher_objs *out)
{
	struct rancher_objs l = {0};
	char what[64], q[RANCHER_MAX_QUERY], prev[RANCHER_MAX_QUERY] = "";
	int page, rc = 0;

	snprintf(what, sizeof(what), "list %s", k == RANCHER_API_REGISTRY ? "registries" : "credentials");
	snprintf(q, sizeof(q), "%s", query ? query : "");
	for (page = 0; !rc; page++) {
		struct json_object *v = NULL;
		char suffix[RANCHER_MAX_QUERY + 1];

		if (page == RANCHER_API_MAX_PAGES) {
			rc = err_set(ERR_FAILED, "Rancher at %s sent more than %d pages of %s; giving up",
				     a->host, RANCHER_API_MAX_PAGES, kind_path[k]);
			break;
		}
		snprintf(suffix, sizeof(suffix), "%s%s", q[0] ? "?" : "", q);
		rc = call(a, "GET", k, NULL, suffix, NULL, what, &v);
		snprintf(prev, sizeof(prev), "%s", q);
		if (!rc)
			rc = page_parse(a, k, v, what, &l, q, sizeof(q));
		json_secret_free(v);
		if (!rc && strcmp(q, prev) == 0 && q[0])
			rc = err_set(ERR_FAILED, "Rancher at %s sent a pagination link back to the same page",
				     a->host);
		if (!q[0])
			break;
	}
	if (rc) {
		rancher_api_objs_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}

int rancher_api_probe(struct rancher_api *a, size_t *count, int *more)
{
	struct json_object *v = NULL, *data = NULL, *p = NULL, *next = NULL;
	int rc = call(a, "GET", RANCHER_API_REGISTRY, NULL, "?limit=100", NULL, "list registries", &v);

	if (!rc && (!json_object_object_get_ex(v, "data", &data) ||
		    !json_object_is_type(data, json_type_array)))
		rc = err_set(ERR_FAILED, "Rancher at %s could not list registries: the answer is not a "
			     "collection", a->host);
	if (!rc) {
		*count = json_object_array_length(data);
		*more = json_object_object_get_ex(v, "pagination", &p) && p &&
			json_object_is_type(p, json_type_object) &&
			json_object_object_get_ex(p, "next", &next) && next &&
			json_object_is_type(next, json_type_string);
	}
	json_secret_free(v);
	return rc;
}
