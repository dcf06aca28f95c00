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
#include "json_secret.h"
#include "monotonic.h"

/* The longest pagination query we follow: Rancher's is our own query plus a marker. */
#define RANCHER_MAX_QUERY 1024
#define URL_USAGE "%s: expected https://HOST[/v1|/v2-beta[/projects/1a<n>]], got %s"

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

	monotonic_sleep_ms(ms < left ? ms : left);
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

/* Callers pass a whole string or a whole path segment: what follows p[n] is never a digit. */
int rancher_api_valid_project(const char *p, size_t n)
{
	return n >= 3 && n <= 20 && strncmp(p, "1a", 2) == 0 &&
	       strspn(p + 2, "0123456789") == n - 2;
}

/* The path segment at *p, the slashes before it skipped: its start and *n, or NULL when none
 * is left. A segment ends at '/', '?', '#' or the end; *p moves past it. */
static const char *next_segment(const char **p, size_t *n)
{
	const char *seg = *p + strspn(*p, "/");

	*n = strcspn(seg, "/?#");
	*p = seg + *n;
	return *n ? seg : NULL;
}

static int segment_is(const char *seg, size_t n, const char *word)
{
	return n == strlen(word) && strncmp(seg, word, n) == 0;
}

static int is_version(const char *seg, size_t n)
{
	return segment_is(seg, n, "v1") || segment_is(seg, n, "v2-beta");
}

int rancher_api_url_is_v3(const char *url)
{
	const char *p = strstr(url, "://"), *seg;
	size_t n;

	if (!p)
		return 0;
	p += 3 + strcspn(p + 3, "/?#");
	while ((seg = next_segment(&p, &n)) && !is_version(seg, n))
		if (segment_is(seg, n, "v3"))
			return 1;
	return 0;
}

int rancher_api_parse_url(struct rancher_api *a, const char *setting, const char *url)
{
	const char *auth = strstr(url, "://"), *path, *p, *seg, *ver = NULL;
	size_t n;
	int after = 0; /* segments seen after the version: 1 "projects", 2 the id, 3 "schemas" */

	/* Every message below quotes the URL, so first refuse one that carries keys
	 * (https://ACCESS:SECRET@host), without quoting it. */
	auth = auth ? auth + 3 : url;
	if (memchr(auth, '@', strcspn(auth, "/")))
		return err_set(ERR_INVALID, "%s: credentials in the URL: give the keys in "
			       "RANCHER_ACCESS_KEY and RANCHER_SECRET_KEY (or the CATTLE_* names)", setting);
	if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0)
		return err_set(ERR_INVALID, "%s: not an http(s) URL: %s", setting, url);
	if (strpbrk(url, "?# \t\r\n"))
		return err_set(ERR_INVALID, "%s: a Rancher URL has no query, fragment or spaces: %s",
			       setting, url);
	path = auth + strcspn(auth, "/");
	if (path == auth || (size_t)(path - auth) >= sizeof(a->host))
		return err_set(ERR_INVALID, "%s: no host, or credentials in the URL: %s", setting, url);
	for (p = path; (seg = next_segment(&p, &n)) != NULL;) {
		if (!ver) {
			ver = is_version(seg, n) ? seg : NULL; /* what comes before is a prefix */
			continue;
		}
		if (after == 0 && n == 8 && strncasecmp(seg, "projects", 8) == 0) {
			after = 1;
		} else if (after == 1 && rancher_api_valid_project(seg, n)) {
			memcpy(a->project, seg, n);
			a->project[n] = '\0';
			after = 2;
		} else if ((after == 0 || after == 2) && segment_is(seg, n, "schemas")) {
			after = 3;
		} else {
			return err_set(ERR_INVALID, URL_USAGE, setting, url);
		}
	}
	if (after == 1 || (!ver && path[strspn(path, "/")]))
		return err_set(ERR_INVALID, URL_USAGE, setting, url);
	memcpy(a->host, auth, (size_t)(path - auth));
	a->host[path - auth] = '\0';
	a->url_setting = setting;
	snprintf(a->ver, sizeof(a->ver), "%s", ver && ver[1] == '1' ? "v1" : "v2-beta");
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
	memset(l, 0, sizeof(*l));
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

/* Member name of v made one line into buf (cut to fit, "" when absent or null): 1 when it is a
 * string, 0 when absent or null, -1 when it is another type (buf "" then). */
static int text_member(struct json_object *v, const char *name, char *buf, size_t size)
{
	const char *s;
	size_t n;
	int rc = json_secret_string(v, name, &s, &n);

	printable(buf, size, rc ? NULL : s);
	return rc ? -1 : s != NULL;
}

static int bad_field(const struct rancher_api *a, enum rancher_api_kind k, const char *field)
{
	return err_set(ERR_FAILED, "Rancher at %s sent a malformed %s: %s is missing or of the wrong type",
		       a->host, kind_type[k], field);
}

/* A string member copied whole into *out (NULL when absent or null). One that holds a NUL
 * byte is refused like a wrong type: no C string could stand for it. */
static int copy_member(const struct rancher_api *a, enum rancher_api_kind k, struct json_object *v,
		       const char *name, char **out)
{
	const char *s;
	size_t n;

	if (json_secret_string(v, name, &s, &n) || (s && memchr(s, '\0', n)))
		return bad_field(a, k, name);
	if (s && !(*out = strdup(s)))
		return err_set(ERR_FAILED, "out of memory");
	return 0;
}

/* Check and copy the fields we use from one resource. */
static int obj_parse(const struct rancher_api *a, enum rancher_api_kind k, struct json_object *v,
		     struct rancher_obj *out)
{
	struct rancher_obj o = {0};
	char yes[8];
	const char *s = NULL;
	size_t n;
	int rc;

	if (!json_object_is_type(v, json_type_object))
		return err_set(ERR_FAILED, "Rancher at %s sent a %s that is not a JSON object", a->host,
			       kind_type[k]);
	rc = json_secret_string(v, "type", &s, &n);
	if (rc || (s && strcmp(s, kind_type[k]) != 0))
		return err_set(ERR_FAILED, "Rancher at %s sent a %s where a %s was expected", a->host,
			       rc ? "resource" : "resource of another type", kind_type[k]);
	if (json_secret_string(v, "id", &s, &n) || !s || n == 0 || n >= sizeof(o.id) ||
	    strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz") != n)
		return bad_field(a, k, "id");
	memcpy(o.id, s, n + 1);
	if (text_member(v, "state", o.state, sizeof(o.state)) < 0)
		return bad_field(a, k, "state");
	if (text_member(v, "transitioning", yes, sizeof(yes)) < 0)
		return bad_field(a, k, "transitioning");
	o.transitioning = strcmp(yes, "yes") == 0;
	if (text_member(v, "transitioningMessage", o.message, sizeof(o.message)) < 0)
		return bad_field(a, k, "transitioningMessage");
	if (k == RANCHER_API_REGISTRY) {
		rc = copy_member(a, k, v, "serverAddress", &o.address);
	} else if (json_secret_string(v, "registryId", &s, &n) || (s && n >= sizeof(o.registry_id))) {
		rc = bad_field(a, k, "registryId");
	} else {
		printable(o.registry_id, sizeof(o.registry_id), s);
		rc = copy_member(a, k, v, "publicValue", &o.public_value);
		if (!rc)
			rc = copy_member(a, k, v, "description", &o.description);
		if (!rc && json_secret_string(v, "secretValue", &s, &n))
			rc = bad_field(a, k, "secretValue");
		if (!rc && s && !(o.secret_value = secmem_dup(s, n)))
			rc = err_set(ERR_FAILED, "out of memory");
		o.secret_len = o.secret_value ? n : 0;
	}
	if (rc) {
		rancher_api_obj_clear(&o);
		return rc;
	}
	*out = o;
	return 0;
}

int rancher_api_parse_error(struct rancher_api *a, const char *what, long status, const char *body,
			    size_t len)
{
	const char *why;
	struct json_object *v = json_secret_parse(body, len, 32, &why);
	char c[48], m[200], f[48];
	int has_code = text_member(v, "code", c, sizeof(c)) > 0;

	text_member(v, "message", m, sizeof(m));
	text_member(v, "fieldName", f, sizeof(f));
	json_secret_free(v);
	a->last_status = status;
	memcpy(a->last_code, c, sizeof(a->last_code));
	if (status == 401)
		return err_set(ERR_DENIED, "Rancher at %s refused the API key %s (401 Unauthorized): check %s",
			       a->host, a->access ? a->access : "", a->key_names);
	if (!has_code)
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

/* A 2xx body as a JSON object into *v (free it with json_secret_free: the create response and
 * environmentAdmin reads carry secretValue, and json_secret.h leaves no copy behind). With
 * data, it must be a collection: its array into *data. */
static int parse_object(struct rancher_api *a, const char *what, const char *body, size_t len,
			struct json_object **v, struct json_object **data)
{
	const char *why;

	*v = json_secret_parse(body, len, 32, &why);
	if (!json_object_is_type(*v, json_type_object)) {
		json_secret_free(*v);
		*v = NULL;
		a->last_status = 502; /* a garbled answer may be a passing proxy fault */
		return err_set(ERR_UNAVAILABLE, "Rancher at %s could not %s: the answer is not a JSON object",
			       a->host, what);
	}
	if (data && (!json_object_object_get_ex(*v, "data", data) ||
		     !json_object_is_type(*data, json_type_array)))
		return err_set(ERR_FAILED, "Rancher at %s could not %s: the answer is not a collection",
			       a->host, what);
	return 0;
}

/* One request to url. 0 with a 2xx answer in *resp (clear it with http_response_clear); else
 * an err.h code, one line, a->last_status and last_code set. a->kind and account_id get what
 * the answer's headers say of the key. */
static int call_url(struct rancher_api *a, const char *method, const char *url,
		    const struct secbuf *body, const char *what, struct http_response *resp)
{
	struct http_opts o = *a->http;
	struct http_request req = {method, url, NULL, a->access, a->secret ? a->secret : "",
				   body ? "application/json" : NULL, body ? body->data : NULL,
				   body ? body->len : 0};
	int64_t left = rancher_api_remaining(a);
	int rc;

	a->last_status = 0;
	a->last_code[0] = '\0';
	a->account_id[0] = '\0';
	if (left <= 0)
		return err_set(ERR_TIMEOUT, "Rancher at %s: out of time before it could %s", a->host, what);
	if (o.timeout_ms > left)
		o.timeout_ms = left;
	if (o.connect_timeout_ms > left)
		o.connect_timeout_ms = left;
	rc = http_do(&o, &req, resp);
	if (rc) {
		http_response_clear(resp);
		a->last_status = rc == ERR_INVALID ? -1 : 0; /* a URL the rules refuse stays refused */
		return err_wrap(rc, "Rancher: cannot %s", what);
	}
	if (resp->account_kind[0])
		printable(a->kind, sizeof(a->kind), resp->account_kind);
	printable(a->account_id, sizeof(a->account_id), resp->account_id);
	if (resp->status >= 200 && resp->status <= 299)
		return 0;
	rc = rancher_api_parse_error(a, what, resp->status, resp->body.data, resp->body.len);
	http_response_clear(resp);
	return rc;
}

/* One request for collection k at <base>/<ver>[/projects/<p>]/<collection>[/<id>]<suffix>. */
static int call_kind(struct rancher_api *a, const char *method, enum rancher_api_kind k,
		     const char *id, const char *suffix, const struct secbuf *body, const char *what,
		     struct http_response *resp)
{
	char *url = NULL;
	int rc;

	if (asprintf(&url, "%s/%s%s%s/%s%s%s%s", a->base, a->ver, a->project[0] ? "/projects/" : "",
		     a->project, kind_path[k], id ? "/" : "", id ? id : "", suffix) < 0)
		return err_set(ERR_FAILED, "out of memory");
	rc = call_url(a, method, url, body, what, resp);
	free(url);
	return rc;
}

static void set_project(struct rancher_api *a, const char *id, int only)
{
	snprintf(a->project, sizeof(a->project), "%s", id);
	a->project_only = only;
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

/* Did the last answer come to an environment's own key? Then its account is the environment,
 * and the calls that follow are scoped to it. */
static int learn_project(struct rancher_api *a)
{
	if (!is_environment_kind(a->kind) ||
	    !rancher_api_valid_project(a->account_id, strlen(a->account_id)))
		return 0;
	set_project(a, a->account_id, 0);
	return 1;
}

/* The environments (projects) a collection lists, checked: ids as rancher_api_valid_project,
 * names made printable and cut. Ones that cannot be used (inactive, on their way out) are left
 * out; past RANCHER_API_MAX_ENVS only counted. */
int rancher_api_parse_environments(struct rancher_api *a, const char *body, size_t len,
				   struct rancher_api_envs *out)
{
	static const char *const unusable[] = {"inactive", "deactivating", "removing", "removed",
					       "purging", "purged"};
	struct json_object *v, *data = NULL;
	size_t i, j, n;
	int rc = parse_object(a, "list environments", body, len, &v, &data);

	memset(out, 0, sizeof(*out));
	n = rc ? 0 : json_object_array_length(data);
	for (i = 0; !rc && i < n; i++) {
		struct json_object *p = json_object_array_get_idx(data, i);
		char state[32], name[sizeof(out->items[0].name)];
		const char *id;
		size_t id_len;
		int usable = 1;

		if (!json_object_is_type(p, json_type_object) || json_secret_string(p, "id", &id, &id_len) ||
		    !id || !rancher_api_valid_project(id, id_len) ||
		    text_member(p, "name", name, sizeof(name)) < 0 ||
		    text_member(p, "state", state, sizeof(state)) < 0) {
			rc = err_set(ERR_FAILED, "Rancher at %s sent a malformed environment (project)",
				     a->host);
			break;
		}
		for (j = 0; j < sizeof(unusable) / sizeof(unusable[0]); j++)
			usable &= strcmp(state, unusable[j]) != 0;
		if (usable && out->len == RANCHER_API_MAX_ENVS) {
			out->more++;
		} else if (usable) {
			memcpy(out->items[out->len].id, id, id_len + 1);
			memcpy(out->items[out->len].name, name, sizeof(name));
			out->len++;
		}
	}
	json_secret_free(v);
	return rc;
}

/* Which environment a key without one in the settings works in, as rancher_api.h tells (at
 * rancher_api_list). A Rancher that does not send X-Api-Account-Kind: an account id among the
 * listed environments is an environment key's. */
static int resolve_project(struct rancher_api *a)
{
	struct rancher_api_envs envs;
	struct http_response resp = {0};
	char *url = NULL, list[480] = "";
	size_t i, used = 0;
	int rc;

	if (asprintf(&url, "%s/%s/projects?limit=1000", a->base, a->ver) < 0)
		return err_set(ERR_FAILED, "out of memory");
	rc = call_url(a, "GET", url, NULL, "list environments", &resp);
	free(url);
	if (learn_project(a)) {
		http_response_clear(&resp);
		return 0; /* an environment key: its list (or refusal) does not matter */
	}
	if (!rc)
		rc = rancher_api_parse_environments(a, resp.body.data, resp.body.len, &envs);
	http_response_clear(&resp);
	if (rc)
		return rc;
	for (i = 0; !a->kind[0] && i < envs.len; i++)
		if (strcmp(envs.items[i].id, a->account_id) == 0) {
			set_project(a, a->account_id, 0);
			return 0;
		}
	if (envs.len == 1 && !envs.more) {
		set_project(a, envs.items[0].id, 1);
		return 0;
	}
	a->last_status = -1; /* a setting to change: no retry makes it right */
	if (envs.len == 0)
		return err_set(ERR_DENIED, "Rancher at %s: the key %s is %s%s%s key, not an environment's, "
			       "and may use no environment: use an environment API key, or add the "
			       "account to an environment", a->host, a->access ? a->access : "",
			       a->kind[0] ? "a " : "an account", a->kind, a->kind[0] ? " account" : "");
	for (i = 0; i < envs.len && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s%s%s%s", i ? ", " : "",
					 envs.items[i].id, envs.items[i].name[0] ? " (" : "",
					 envs.items[i].name, envs.items[i].name[0] ? ")" : "");
	if (envs.more && used < sizeof(list))
		snprintf(list + used, sizeof(list) - used, " and %zu more", envs.more);
	return err_set(ERR_INVALID, "Rancher at %s: the key %s is an account key (%s) with %zu "
		       "environments: %s; name one: DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT=%s, or "
		       "%s=%s/%s/projects/%s", a->host, a->access ? a->access : "",
		       a->kind[0] ? a->kind : "not an environment's", envs.len + envs.more, list,
		       envs.items[0].id, a->url_setting ? a->url_setting : "RANCHER_URL", a->base,
		       a->ver, envs.items[0].id);
}

/* call_kind in a->project. A GET while none is known goes unscoped: an environment key's answer
 * is its environment's (learn_project); any other key's spoke for a user account, so the
 * environment is resolved and the request made again, scoped. A change resolves it first. */
static int call(struct rancher_api *a, const char *method, enum rancher_api_kind k, const char *id,
		const char *suffix, const struct secbuf *body, const char *what,
		struct http_response *resp)
{
	int rc, unscoped = !a->project[0];

	if (unscoped && strcmp(method, "GET") != 0) {
		if ((rc = resolve_project(a)) != 0)
			return rc;
		unscoped = 0;
	}
	rc = call_kind(a, method, k, id, suffix, body, what, resp);
	if (!unscoped || learn_project(a))
		return rc;
	if (rc)
		return rc; /* 401 and the like: the error says more than a guess at the environment */
	http_response_clear(resp);
	if ((rc = resolve_project(a)) != 0)
		return rc;
	return call_kind(a, method, k, id, suffix, body, what, resp);
}

int rancher_api_parse_resource(struct rancher_api *a, enum rancher_api_kind k, const char *what,
			       const char *body, size_t len, struct rancher_obj *out)
{
	struct json_object *v;
	int rc = parse_object(a, what, body, len, &v, NULL);

	if (!rc)
		rc = obj_parse(a, k, v, out);
	json_secret_free(v);
	return rc;
}

int rancher_api_change(struct rancher_api *a, enum rancher_api_kind k, const char *verb,
		       const char *id, const struct secbuf *body, struct rancher_obj *out)
{
	struct http_response resp = {0};
	const char *method = "POST";
	char what[96], suffix[48] = "";
	int rc;

	if (!id)
		snprintf(what, sizeof(what), "%s a %s", verb, kind_noun[k]);
	else
		snprintf(what, sizeof(what), "%s %s %s", verb, kind_noun[k], id);
	if (strcmp(verb, "update") == 0)
		method = "PUT";
	else if (strcmp(verb, "delete") == 0)
		method = "DELETE";
	else if (id)
		snprintf(suffix, sizeof(suffix), "/?action=%s", verb);
	rc = call(a, method, k, id, suffix, body, what, &resp);
	if (!rc)
		rc = rancher_api_parse_resource(a, k, what, resp.body.data, resp.body.len, out);
	http_response_clear(&resp);
	return rc;
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
	if (!json_object_is_type(p, json_type_object) || json_secret_string(p, "next", &next, &n))
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

int rancher_api_parse_collection(struct rancher_api *a, enum rancher_api_kind k, const char *what,
				 const char *body, size_t len, struct rancher_objs *l, char *q,
				 size_t qsize)
{
	struct json_object *v, *data = NULL;
	size_t i, n;
	int rc = parse_object(a, what, body, len, &v, &data);

	n = rc ? 0 : json_object_array_length(data);
	for (i = 0; !rc && i < n; i++) {
		struct rancher_obj o = {0}, *items;
		size_t cap = l->cap ? 2 * l->cap : 16;

		if (l->len == RANCHER_API_MAX_ITEMS) {
			rc = err_set(ERR_FAILED, "Rancher at %s sent more than %d %s; giving up",
				     a->host, RANCHER_API_MAX_ITEMS, kind_path[k]);
			break;
		}
		if ((rc = obj_parse(a, k, json_object_array_get_idx(data, i), &o)) != 0)
			break;
		/* Each item parsed before room is made for it: a long array of garbage fails at
		 * its first item, before any large allocation. The room doubles, up to the cap. */
		if (l->len == l->cap) {
			if (cap > RANCHER_API_MAX_ITEMS)
				cap = RANCHER_API_MAX_ITEMS;
			if (!(items = realloc(l->items, cap * sizeof(*items)))) {
				rancher_api_obj_clear(&o);
				rc = err_set(ERR_FAILED, "out of memory");
				break;
			}
			l->items = items;
			l->cap = cap;
		}
		l->items[l->len++] = o;
	}
	if (!rc)
		rc = next_query(a, v, q, qsize);
	json_secret_free(v);
	if (rc)
		rancher_api_objs_clear(l);
	return rc;
}

int rancher_api_list(struct rancher_api *a, enum rancher_api_kind k, const char *query,
		     struct rancher_objs *out)
{
	struct rancher_objs l = {0};
	char what[64], q[RANCHER_MAX_QUERY], suffix[RANCHER_MAX_QUERY + 1];
	int page, rc = 0;

	snprintf(what, sizeof(what), "list %s", k == RANCHER_API_REGISTRY ? "registries" : "credentials");
	snprintf(q, sizeof(q), "%s", query ? query : "");
	for (page = 0; !rc; page++) {
		struct http_response resp = {0};

		if (page == RANCHER_API_MAX_PAGES) {
			rc = err_set(ERR_FAILED, "Rancher at %s sent more than %d pages of %s; giving up",
				     a->host, RANCHER_API_MAX_PAGES, kind_path[k]);
			break;
		}
		snprintf(suffix, sizeof(suffix), "?%s", q);
		rc = call(a, "GET", k, NULL, q[0] ? suffix : "", NULL, what, &resp);
		if (!rc)
			rc = rancher_api_parse_collection(a, k, what, resp.body.data, resp.body.len, &l,
							  q, sizeof(q));
		http_response_clear(&resp);
		if (!rc && q[0] && strcmp(q, suffix + 1) == 0) /* suffix: "?" and the query just read */
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
	struct rancher_objs l = {0};
	struct http_response resp = {0};
	char q[RANCHER_MAX_QUERY];
	int rc = call(a, "GET", RANCHER_API_REGISTRY, NULL, "?limit=100", NULL, "list registries", &resp);

	if (!rc)
		rc = rancher_api_parse_collection(a, RANCHER_API_REGISTRY, "list registries",
						  resp.body.data, resp.body.len, &l, q, sizeof(q));
	http_response_clear(&resp);
	if (!rc) {
		*count = l.len;
		*more = q[0] != '\0';
	}
	rancher_api_objs_clear(&l);
	return rc;
}
