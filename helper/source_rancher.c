/* source_rancher: Rancher 1.x (Cattle) as a credential source (see source.h; what each verb
 * does: docs/rancher.md, "What each verb does for a host Rancher manages").
 *
 * Rancher never returns a registryCredential's secretValue to ordinary API keys (only the
 * create response carries it; only the environmentAdmin keys Rancher injects into system-stack
 * containers as CATTLE_* can read it back). So get reads Rancher (fetch) with CATTLE_* keys
 * only; with RANCHER_* keys the keyring alone answers.
 *
 * What is left alone on purpose is told as SOURCE_NOTE (source.h): one line on stderr, exit 0.
 * A Rancher 2.x URL makes a source that only says what works with 2.x (v3_note).
 *
 * serverAddress cannot be filtered on (Rancher ignores the filter), so registries are listed
 * and matched here, by host (rancher_host). Every operation has one deadline
 * (DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE) that bounds its requests, waits and retries
 * together. */
#include "source.h"
#include "source_rancher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "fdio.h"
#include "host.h"
#include "http.h"
#include "lockfile.h"
#include "proto.h"
#include "rancher_api.h"
#include "token.h"

#define RANCHER_NAME "rancher" /* the source, its config section and its copies' origin */
#define RANCHER_ENV "DOCKER_CREDENTIAL_KEYRING_RANCHER"
/* v1 requires an email on a credential; this is the placeholder Rancher's engineers gave
 * (rancher/rancher#14198), used unless the email setting says otherwise. */
#define RANCHER_DEFAULT_EMAIL "not-really@required.anymore"
#define RANCHER_LOGIN_HINT "docker-credential-keyring login rancher"
#define RANCHER_HOST_MAX 300
#define RANCHER_MAX_SECRET 1024
#define RANCHER_PAUSE_MAX_MS 1000
/* The mark store writes into a credential's description when it creates or updates one, so
 * that erase removes only what it registered (with the username of the login erased): in
 * Rancher a credential belongs to the whole environment, and one a person made by hand, or
 * one of another login, is not this logout's to delete. */
#define RANCHER_MARK "registered by docker-credential-keyring"

/* A setting that names a file holding a secret key (Kubernetes keeps them in files). */
struct rancher_keyfile {
	char *path;                 /* NULL: not set */
	char setting[96];           /* its name, for messages */
};

struct rancher_source {
	struct source base;         /* first: the interface, cast back in every slot */
	struct http_opts http;
	struct rancher_api writer;  /* RANCHER_URL + RANCHER_ACCESS_KEY (+ secret) */
	struct rancher_api reader;  /* CATTLE_*: the environmentAdmin key that reads secrets */
	struct rancher_keyfile writer_file, reader_file;
	int have_writer, have_reader;
	int write_back;             /* hosts is set and read-only is not */
	char **hosts;               /* the hosts Rancher manages; NULL: all */
	size_t nhosts;
	char *email;                /* the email setting; NULL: the placeholder */
	int64_t ttl_s;
	struct store *store;        /* where a saved secret key is read from; not owned */
	char v3_note[700];          /* a Rancher 2.x URL: what to tell (the source does nothing else) */
};

/* The host of a server key as Rancher's serverAddress holds it ("please do not pre-fix with
 * http:// or https://"): scheme, credentials and path dropped, lower case, Docker Hub's
 * spellings made index.docker.io. -1 when there is no usable host. */
static int rancher_host(const char *server, char *out, size_t size)
{
	if (host_of(server, out, size))
		return -1;
	if (host_is_hub(out))
		snprintf(out, size, "%s", "index.docker.io");
	return 0;
}

static int rancher_serves_host(const struct rancher_source *r, const char *host)
{
	size_t i;

	for (i = 0; i < r->nhosts; i++)
		if (strcmp(r->hosts[i], host) == 0)
			return 1;
	return !r->hosts;
}

static int rancher_serves(struct source *s, const char *server)
{
	struct rancher_source *r = (struct rancher_source *)s;
	char host[RANCHER_HOST_MAX];

	/* With a Rancher 2.x URL and no write-back, every verb stays as it was without Rancher. */
	if (r->v3_note[0] && !r->write_back)
		return 0;
	return rancher_host(server, host, sizeof(host)) == 0 && rancher_serves_host(r, host);
}

static int rancher_gone(const char *state)
{
	return strncmp(state, "remov", 5) == 0 || strncmp(state, "purg", 4) == 0;
}

/* A credential Rancher would use for pulls, or will once its transition ends. */
static int rancher_live(const struct rancher_obj *o)
{
	return strcmp(o->state, "active") == 0 || strcmp(o->state, "activating") == 0 ||
	       strcmp(o->state, "registering") == 0 || strcmp(o->state, "updating-active") == 0;
}

/* Does a registry Rancher listed stand for host (and is it not on its way out)? */
static int rancher_registry_is(const struct rancher_obj *reg, const char *host)
{
	char h[RANCHER_HOST_MAX];

	return reg->address && rancher_host(reg->address, h, sizeof(h)) == 0 &&
	       strcmp(h, host) == 0 && !rancher_gone(reg->state);
}

/* A secret key from a file, with the checks a secret deserves: a regular file (not a FIFO that
 * would block, not a device), at most RANCHER_MAX_SECRET bytes, surrounding white space (the
 * newline an editor or echo adds) dropped, and then printable ASCII without spaces, as every
 * Rancher key is, which also keeps it from smuggling a line into an HTTP header. Every failure
 * is one line naming the setting and the file, never quoting what the file holds. */
static int rancher_read_keyfile(const struct rancher_keyfile *f, char **out)
{
	struct secbuf b = SECBUF_INIT;
	int rc = fdio_read_regular(f->path, 0, RANCHER_MAX_SECRET, &b);
	const char *key = b.data ? b.data : "";
	size_t n = b.len;
	enum token_fault fault = rc ? TOKEN_OK : token_trim(&key, &n, RANCHER_MAX_SECRET);

	if (rc == EINVAL)
		rc = err_set(ERR_INVALID, "%s: %s is not a regular file", f->setting, f->path);
	else if (rc == EFBIG || rc == EIO)
		rc = err_set(ERR_INVALID, "%s: %s is larger than %d bytes or unreadable: not a secret "
			     "key file", f->setting, f->path, RANCHER_MAX_SECRET);
	else if (rc)
		rc = err_set(ERR_INVALID, "%s: cannot open %s: %s", f->setting, f->path, strerror(rc));
	else if (fault == TOKEN_EMPTY)
		rc = err_set(ERR_INVALID, "%s: %s is empty", f->setting, f->path);
	else if (fault)
		rc = err_set(ERR_INVALID, "%s: %s holds control characters, spaces or non-ASCII "
			     "bytes: not a secret key", f->setting, f->path);
	else if (!(*out = secmem_dup(key, n)))
		rc = err_set(ERR_FAILED, "out of memory");
	else
		secmem_remember(*out, n);
	secbuf_free(&b);
	return rc;
}

/* The endpoint's secret key: the setting, else the file a *-file setting names, else (for
 * the writer) the one `login rancher` saved. Read when first needed, never at start-up: a get
 * answered from the keyring touches no file. */
static int rancher_secret(struct rancher_source *r, struct rancher_api *a)
{
	const struct rancher_keyfile *f = a == &r->writer ? &r->writer_file : &r->reader_file;
	struct cred c = {0};
	int rc;

	if (a->secret)
		return 0;
	if (f->path)
		return rancher_read_keyfile(f, &a->secret);
	rc = r->store ? r->store->get(r->store, SOURCE_RANCHER_SECRET_KEY, &c) : ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND)
		return err_set(ERR_DENIED, "no Rancher secret key: set RANCHER_SECRET_KEY, or save it "
			       "with `" RANCHER_LOGIN_HINT "`");
	if (rc)
		return err_wrap(rc, "cannot read the saved Rancher secret key");
	if (c.secret_len == 0 || memchr(c.secret, '\0', c.secret_len))
		rc = err_set(ERR_INVALID, "the saved Rancher secret key is not usable: save it again "
			     "with `" RANCHER_LOGIN_HINT "`");
	else if (!(a->secret = secmem_dup(c.secret, c.secret_len)))
		rc = err_set(ERR_FAILED, "out of memory");
	cred_clear(&c);
	return rc;
}

/* The endpoint that writes and lists: RANCHER_*, else CATTLE_*. */
static struct rancher_api *rancher_writer(struct rancher_source *r)
{
	return r->have_writer ? &r->writer : &r->reader;
}

/* Before an operation with a: its secret loaded, its clock started. */
static int rancher_start(struct rancher_source *r, struct rancher_api *a)
{
	int rc = rancher_secret(r, a);

	if (!rc)
		rancher_api_begin(a);
	return rc;
}

/* The credentials of registry reg (an id; NULL: of all, and then state is set), only those in
 * state unless it is NULL. The query asks Rancher to filter so; should a server ignore a filter,
 * we must not update, deactivate or delete another registry's credentials, nor answer with (or
 * list) an inactive one: what does not match is dropped here. */
static int rancher_list_creds(struct rancher_api *a, const char *reg, const char *state,
			      struct rancher_objs *out)
{
	char query[96];
	size_t i, n = 0;
	int rc;

	if (reg)
		snprintf(query, sizeof(query), "registryId=%s%s%s", reg, state ? "&state=" : "",
			 state ? state : "");
	else /* all registries' credentials: callers always name a state */
		snprintf(query, sizeof(query), "state=%s", state ? state : "");
	if ((rc = rancher_api_list(a, RANCHER_API_CREDENTIAL, query, out)) != 0)
		return rc;
	for (i = 0; i < out->len; i++) {
		struct rancher_obj *o = &out->items[i];

		if ((!reg || strcmp(o->registry_id, reg) == 0) &&
		    (!state || strcmp(o->state, state) == 0))
			out->items[n++] = *o;
		else
			rancher_api_obj_clear(o);
	}
	out->len = n;
	return 0;
}

/* ---- get (environmentAdmin keys) ---- */

static int rancher_fetch(struct source *s, const char *server, struct cred *out)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_api *a = &r->reader;
	struct rancher_objs regs = {0}, creds = {0};
	struct rancher_obj *o = NULL;
	struct cred c = {0};
	char host[RANCHER_HOST_MAX];
	size_t i;
	int rc, unreadable = 0;

	if (rancher_host(server, host, sizeof(host)))
		return err_set(ERR_NOTFOUND, "no registry host in %s", server);
	if ((rc = rancher_start(r, a)) != 0)
		return rc;
	rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);
	for (i = 0; !rc && !o && i < regs.len; i++) {
		if (!rancher_registry_is(&regs.items[i], host) ||
		    strcmp(regs.items[i].state, "inactive") == 0)
			continue;
		rancher_api_objs_clear(&creds);
		rc = rancher_list_creds(a, regs.items[i].id, "active", &creds);
		/* Rancher pulls with the lowest id among active ones; lists come in id order. */
		if (!rc && creds.len && !creds.items[0].secret_value)
			unreadable = 1;
		else if (!rc && creds.len)
			o = &creds.items[0];
	}
	if (o) {
		c.server = strdup(server);
		c.username = strdup(o->public_value ? o->public_value : "");
		c.origin = strdup(RANCHER_NAME);
		c.secret = o->secret_value;
		c.secret_len = o->secret_len;
		o->secret_value = NULL;
		c.expires = (int64_t)time(NULL) + r->ttl_s;
		if (!c.server || !c.username || !c.origin)
			rc = err_set(ERR_FAILED, "out of memory");
	} else if (!rc) {
		rc = unreadable ? err_set(ERR_NOTFOUND, "Rancher holds a credential for %s, but this key "
					  "cannot read Rancher's secrets (only environmentAdmin keys can)", host)
				: err_set(ERR_NOTFOUND, "Rancher has no active credential for %s", host);
	}
	rancher_api_objs_clear(&regs);
	rancher_api_objs_clear(&creds);
	if (!rc)
		*out = c;
	else
		cred_clear(&c);
	return rc;
}

static int64_t rancher_refresh_before(struct source *s, const struct cred *cached)
{
	(void)s;
	(void)cached;
	return 0;
}

/* ---- store and erase ---- */

/* What a store or an erase is doing, kept across its rounds. */
struct rancher_job {
	const char *host;
	const struct cred *c; /* the login stored, or (erase) the one the keyring held */
	char reg[48];         /* store: the registry, once found or created */
	int new_reg;          /* created in this round: it has no credentials to list yet */
	char keeper[48];      /* store: the credential we wrote, once written */
	int declined;         /* store: another user's credential holds the registry: not registered */
	struct rancher_objs regs; /* erase: the registries, listed once */
	int listed;
	char waiting[256];    /* what the last round waited for (erase: the ids and states left) */
	char others[300];     /* live credentials someone else made, left alone: "1c3 (user bob)" */
	char last[512];       /* the error of the last round that failed, for the timeout */
	int timed_out;
};

static int rancher_marked(const struct rancher_obj *o)
{
	return o->description && strcmp(o->description, RANCHER_MARK) == 0;
}

static int rancher_same_user(const struct rancher_obj *o, const char *username)
{
	return o->public_value && strcmp(o->public_value, username) == 0;
}

/* May store write this login over o? When this helper made it (a login of this host, maybe
 * an earlier one: the latest wins, as one helper-made credential per registry is the rule), or
 * it has this username (the same registry account). Anything else someone made by hand or with
 * another tool, for another account, is theirs. */
static int rancher_may_take(const struct rancher_obj *o, const char *username)
{
	return rancher_marked(o) || rancher_same_user(o, username);
}

/* Append "1c3 (user bob)" (and why) to a list of credentials for a message. */
static void rancher_name_cred(char *list, size_t size, const struct rancher_obj *o, const char *why)
{
	size_t used = strlen(list);

	if (used < size)
		snprintf(list + used, size - used, "%s%s (user %.63s%s)", used ? ", " : "", o->id,
			 o->public_value ? o->public_value : "", why ? why : "");
}

/* Append ,"name":value to a request body. */
static int body_field(struct secbuf *b, const char *name, const char *v, size_t len)
{
	char key[32];

	snprintf(key, sizeof(key), ",\"%s\":", name);
	return secbuf_append_str(b, key) ? ERR_FAILED : proto_json_string(b, v, len);
}

/* A credential's fields as JSON: the create body when registry_id is set, else the update (a
 * partial PUT: what it leaves out stays). Both carry the mark. v1 requires an email on create:
 * the setting's, else the placeholder; an update sends only the setting's, so that the email a
 * credential already has is never overwritten by the placeholder. */
static int body_credential(const struct rancher_source *r, const struct rancher_api *a,
			   const char *registry_id, const struct cred *c, struct secbuf *b)
{
	const char *email = r->email ? r->email : RANCHER_DEFAULT_EMAIL;
	int rc = secbuf_append_str(b, "{\"type\":\"registryCredential\"");

	if (!rc && registry_id)
		rc = body_field(b, "registryId", registry_id, strlen(registry_id));
	if (!rc)
		rc = body_field(b, "publicValue", c->username, strlen(c->username));
	if (!rc)
		rc = body_field(b, "secretValue", c->secret ? c->secret : "", c->secret_len);
	if (!rc)
		rc = body_field(b, "description", RANCHER_MARK, strlen(RANCHER_MARK));
	if (!rc && strcmp(a->ver, "v1") == 0 && (registry_id || r->email))
		rc = body_field(b, "email", email, strlen(email));
	if (!rc)
		rc = secbuf_append_str(b, "}");
	return rc ? err_set(ERR_FAILED, "out of memory") : 0;
}

/* Find the registry for the host (the first active one, else the first at all; activated when
 * inactive), or create it. */
static int rancher_store_registry(struct rancher_api *a, struct rancher_job *j)
{
	struct rancher_objs regs = {0};
	struct rancher_obj made = {0}, *pick = NULL;
	struct secbuf body = SECBUF_INIT;
	size_t i;
	int rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);

	for (i = 0; !rc && i < regs.len; i++)
		if (rancher_registry_is(&regs.items[i], j->host) &&
		    (!pick || (strcmp(regs.items[i].state, "active") == 0 &&
			       strcmp(pick->state, "active") != 0)))
			pick = &regs.items[i];
	if (pick) {
		snprintf(j->reg, sizeof(j->reg), "%s", pick->id);
		if (strcmp(pick->state, "inactive") == 0)
			rc = rancher_api_change(a, RANCHER_API_REGISTRY, "activate", j->reg, NULL, &made);
	} else if (!rc) {
		rc = secbuf_append_str(&body, "{\"type\":\"registry\"");
		if (!rc)
			rc = body_field(&body, "serverAddress", j->host, strlen(j->host));
		if (!rc)
			rc = secbuf_append_str(&body, "}");
		if (!rc)
			rc = rancher_api_change(a, RANCHER_API_REGISTRY, "create", NULL, &body, &made);
		if (!rc) {
			snprintf(j->reg, sizeof(j->reg), "%s", made.id);
			j->new_reg = 1;
		}
	}
	rancher_api_obj_clear(&made);
	secbuf_free(&body);
	rancher_api_objs_clear(&regs);
	return rc;
}

/* The credential to update, among those store may take: live before idle, then this
 * username's, then ours. NULL: none, create one. */
static struct rancher_obj *rancher_keeper(struct rancher_objs *creds, const char *username)
{
	struct rancher_obj *best = NULL;
	int best_score = -1;
	size_t i;

	for (i = 0; i < creds->len; i++) {
		struct rancher_obj *o = &creds->items[i];
		int score = (rancher_live(o) ? 4 : 0) + (rancher_same_user(o, username) ? 2 : 0) +
			    rancher_marked(o);

		if (!rancher_gone(o->state) && rancher_may_take(o, username) && score > best_score) {
			best = o;
			best_score = score;
		}
	}
	return best;
}

/* One round of store: move Rancher one step towards "exactly one active credential for the
 * registry, with this login". *done when it is there. */
static int rancher_store_round(struct rancher_source *r, struct rancher_api *a,
			       struct rancher_job *j, int *done)
{
	struct rancher_objs creds = {0};
	struct rancher_obj res = {0}, *k = NULL;
	struct secbuf body = SECBUF_INIT;
	const char *user = j->c->username;
	size_t i;
	int rc = 0, others = 0;

	j->new_reg = 0; /* a create that failed may still have happened: list from now on */
	if (!j->reg[0])
		rc = rancher_store_registry(a, j);
	if (!rc && !j->new_reg)
		rc = rancher_list_creds(a, j->reg, NULL, &creds);
	if (rc)
		goto out;
	j->others[0] = '\0';
	for (i = 0; i < creds.len; i++)
		if (rancher_live(&creds.items[i]) && !rancher_may_take(&creds.items[i], user))
			rancher_name_cred(j->others, sizeof(j->others), &creds.items[i], NULL);
	if (!j->keeper[0]) {
		k = rancher_keeper(&creds, user);
		if (k && rancher_api_obj_busy(k)) {
			snprintf(j->waiting, sizeof(j->waiting), "credential %s is still %s", k->id, k->state);
			goto out; /* Rancher refuses an update mid-transition: wait for it */
		}
		/* Someone else's credential is what the environment pulls with: a second one
		 * would not be used (Rancher takes the lowest id), and replacing theirs is not this
		 * login's call. */
		if (!k && j->others[0]) {
			j->declined = *done = 1;
			goto out;
		}
		rc = body_credential(r, a, k ? NULL : j->reg, j->c, &body);
		if (!rc)
			rc = rancher_api_change(a, RANCHER_API_CREDENTIAL, k ? "update" : "create",
						k ? k->id : NULL, &body, &res);
		if (!rc)
			snprintf(j->keeper, sizeof(j->keeper), "%s", res.id);
		goto out;
	}
	for (i = 0; i < creds.len; i++)
		if (strcmp(creds.items[i].id, j->keeper) == 0)
			k = &creds.items[i];
	if (!k || rancher_gone(k->state)) {
		j->keeper[0] = '\0'; /* removed under us: write it again */
		goto out;
	}
	/* Of what store may take, only the keeper stays active. What someone else made for
	 * another account is left alone (and named in the note). */
	for (i = 0; !rc && i < creds.len; i++) {
		struct rancher_obj *o = &creds.items[i];

		if (o == k || !rancher_live(o) || !rancher_may_take(o, user))
			continue;
		others++;
		if (!rancher_api_obj_busy(o))
			rc = rancher_api_change(a, RANCHER_API_CREDENTIAL, "deactivate", o->id, NULL, &res);
		rancher_api_obj_clear(&res);
	}
	if (!rc && strcmp(k->state, "inactive") == 0 && !k->transitioning)
		rc = rancher_api_change(a, RANCHER_API_CREDENTIAL, "activate", k->id, NULL, &res);
	*done = !rc && !others && strcmp(k->state, "active") == 0 && !k->transitioning;
	snprintf(j->waiting, sizeof(j->waiting), "credential %s is still %s%s%s", k->id, k->state,
		 k->message[0] ? ": " : "", k->message);
	if (others && strcmp(k->state, "active") == 0)
		snprintf(j->waiting, sizeof(j->waiting), "%d other credential%s still active", others,
			 others > 1 ? "s are" : " is");
out:
	rancher_api_obj_clear(&res);
	secbuf_free(&body);
	rancher_api_objs_clear(&creds);
	return rc;
}

/* One round of erase over the credentials this helper registered for the login: deactivate
 * what is active, delete what is inactive, wait for the rest. Every other credential of the
 * host's registries is only named, in j->others. The registries are listed once, in the first
 * round, so that a failed list is retried like any other step. */
static int rancher_erase_round(struct rancher_source *r, struct rancher_api *a,
			       struct rancher_job *j, int *done)
{
	struct rancher_obj res = {0};
	size_t i, k, used = 0, size = sizeof(j->waiting);
	int rc = 0, first_rc = 0, left = 0;

	(void)r;
	if (!j->listed && (rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &j->regs)) != 0)
		return rc;
	j->listed = 1;
	j->waiting[0] = j->others[0] = '\0';
	for (i = 0; i < j->regs.len; i++) {
		struct rancher_objs creds = {0};

		if (!rancher_registry_is(&j->regs.items[i], j->host))
			continue;
		if ((rc = rancher_list_creds(a, j->regs.items[i].id, NULL, &creds)) != 0)
			return rc;
		for (k = 0; k < creds.len; k++) {
			struct rancher_obj *o = &creds.items[k];
			const char *state = o->state;
			int same_user = rancher_same_user(o, j->c->username);

			if (rancher_gone(o->state))
				continue;
			if (!same_user || !rancher_marked(o)) {
				rancher_name_cred(j->others, sizeof(j->others), o,
						  same_user ? ", not registered by this helper" : NULL);
				continue;
			}
			rc = 0;
			if (!rancher_api_obj_busy(o) && strcmp(o->state, "inactive") == 0)
				rc = rancher_api_change(a, RANCHER_API_CREDENTIAL, "delete", o->id, NULL, &res);
			else if (rancher_live(o) || strncmp(o->state, "updating", 8) == 0)
				/* Cattle accepts deactivate mid-registering too: do not wait for that. */
				rc = rancher_api_change(a, RANCHER_API_CREDENTIAL, "deactivate", o->id, NULL,
							&res);
			if (!rc && res.id[0])
				state = res.state;
			if (rc && !first_rc)
				first_rc = rc;
			if (rc || !rancher_gone(state)) {
				left++;
				if (used < size)
					used += (size_t)snprintf(j->waiting + used, size - used, "%s%s (%s)",
								 used ? ", " : "", o->id,
								 rc ? o->state : state);
			}
			rancher_api_obj_clear(&res);
			if (rc && !rancher_api_retryable(a))
				break;
		}
		rancher_api_objs_clear(&creds);
		if (first_rc && !rancher_api_retryable(a))
			break;
	}
	*done = !first_rc && !left;
	return first_rc;
}

/* The rounds of one store or erase for j->host, until one says it is done: with the writer's
 * key, under a lock per Rancher server and host across processes (without it two helpers could
 * both create a credential: stop instead), failures that may pass retried after a growing
 * pause, all within one deadline (then j->timed_out, and j->last the last failure's line). */
static int rancher_rounds(struct rancher_source *r, struct rancher_job *j,
			  int (*round)(struct rancher_source *, struct rancher_api *,
				       struct rancher_job *, int *))
{
	struct rancher_api *a = rancher_writer(r);
	char key[1024], name[64];
	int64_t left, pause = 100;
	int lock = -1, done = 0, rc = rancher_start(r, a);

	if (!rc) {
		snprintf(key, sizeof(key), "%s|%s", a->base, j->host);
		lockfile_name(name, sizeof(name), RANCHER_NAME, key);
		left = rancher_api_remaining(a);
		lock = lockfile_acquire(name, left > 0 ? (unsigned)left : 1, "the rancher deadline setting");
		if (lock < 0)
			rc = err_wrap(lock, "cannot change Rancher safely");
	}
	while (!rc) {
		rc = round(r, a, j, &done);
		if (done || (rc && !rancher_api_retryable(a)))
			break;
		snprintf(j->last, sizeof(j->last), "%s", rc ? err_msg() : "");
		rc = rancher_api_pause(a, pause);
		pause = pause * 2 > RANCHER_PAUSE_MAX_MS ? RANCHER_PAUSE_MAX_MS : pause * 2;
		j->timed_out = rc != 0;
	}
	lockfile_release(lock);
	return rc;
}

static int rancher_on_store(struct source *s, const struct cred *c)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_job j = {0};
	struct rancher_api *a = rancher_writer(r);
	char host[RANCHER_HOST_MAX];
	int rc;

	if (r->v3_note[0])
		return err_set(SOURCE_NOTE, "stored in the keyring only: %s", r->v3_note);
	if (rancher_host(c->server, host, sizeof(host)))
		return err_set(ERR_INVALID, "no registry host in %s", c->server);
	/* An identity token is an OAuth refresh token for this user, not a password hosts could
	 * pull with: it stays in the keyring and is not shared with the environment. */
	if (strcmp(c->username, "<token>") == 0)
		return 0;
	j.host = host;
	j.c = c;
	rc = rancher_rounds(r, &j, rancher_store_round);
	if (j.timed_out)
		rc = j.last[0] ? err_set(ERR_TIMEOUT, "%s", j.last)
			       : err_set(ERR_TIMEOUT, "Rancher at %s: %s after %gs", a->host,
					 j.waiting[0] ? j.waiting : "no progress", (double)a->budget_ms / 1000);
	if (rc)
		return err_wrap(rc, "stored in the keyring, but not registered with Rancher");
	if (j.declined)
		return err_set(SOURCE_NOTE, "stored in the keyring only: Rancher at %s holds, for %s, "
			       "a credential this helper did not make, for another user, left as it "
			       "is: %s. Log in with that username to update it, or remove it in "
			       "Rancher first", a->host, host, j.others);
	if (j.others[0])
		return err_set(SOURCE_NOTE, "registered with Rancher at %s; it also holds, for %s, a "
			       "credential this helper did not make, for another user, left as it "
			       "is: %s (with several active, Rancher pulls with the lowest id)",
			       a->host, host, j.others);
	return 0;
}

/* erase removes from Rancher only what this helper registered for the login erased: that is
 * what a logout means. A credential in Rancher serves the whole environment (other hosts and
 * services pull with it), and `podman logout --all` erases every host of credHelpers. So: no
 * login in the keyring (nothing, or a copy read from Rancher), no request at all; else only
 * the credentials with the login's username and our mark, and a note naming the rest (the
 * whole rule, with store's part in it: docs/rancher.md, "What a logout removes"). */
static int rancher_on_erase(struct source *s, const char *server, const struct cred *cached)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_job j = {0};
	struct rancher_api *a = rancher_writer(r);
	char host[RANCHER_HOST_MAX];
	int rc;

	if (r->v3_note[0])
		return err_set(SOURCE_NOTE, "erased from the keyring only: %s", r->v3_note);
	if (!cached || !cached->origin || strcmp(cached->origin, CRED_ORIGIN_LOGIN) != 0 ||
	    !cached->username || strcmp(cached->username, "<token>") == 0)
		return 0; /* no login of the user's: nothing of ours in Rancher */
	if (rancher_host(server, host, sizeof(host)))
		return 0; /* nothing Rancher could hold */
	j.host = host;
	j.c = cached;
	rc = rancher_rounds(r, &j, rancher_erase_round);
	rancher_api_objs_clear(&j.regs);
	if (j.timed_out)
		rc = err_set(ERR_TIMEOUT, "Rancher at %s still holds, for %s after %gs: %s%s%s", a->host,
			     host, (double)a->budget_ms / 1000, j.waiting[0] ? j.waiting : "credentials",
			     j.last[0] ? "; last error: " : "", j.last);
	if (rc)
		return err_wrap(rc, "erased from the keyring, but not from Rancher");
	if (j.others[0])
		return err_set(SOURCE_NOTE, "Rancher at %s still holds, for %s, credentials this helper "
			       "did not register for this login, left as they are: %s", a->host, host,
			       j.others);
	return 0;
}

/* ---- list ---- */

static int rancher_list_src(struct source *s, struct cred_list *out)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_objs regs = {0}, creds = {0};
	struct cred_list l = {0};
	struct rancher_api *a = rancher_writer(r);
	char host[RANCHER_HOST_MAX];
	size_t i, k;
	int rc = rancher_start(r, a);

	if (!rc)
		rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);
	if (!rc)
		rc = rancher_list_creds(a, NULL, "active", &creds);
	for (i = 0; !rc && i < creds.len; i++) {
		for (k = 0; !rc && k < regs.len; k++) {
			const struct rancher_obj *reg = &regs.items[k];
			struct cred c = {0};

			if (strcmp(reg->id, creds.items[i].registry_id) != 0 || !reg->address ||
			    rancher_gone(reg->state) || rancher_host(reg->address, host, sizeof(host)) ||
			    !rancher_serves_host(r, host) || cred_list_find(&l, reg->address) >= 0)
				continue;
			c.server = reg->address;
			c.username = creds.items[i].public_value ? creds.items[i].public_value : "";
			c.origin = RANCHER_NAME;
			rc = cred_list_add(&l, &c);
		}
	}
	rancher_api_objs_clear(&regs);
	rancher_api_objs_clear(&creds);
	if (!rc)
		*out = l;
	else
		cred_list_clear(&l);
	return rc;
}

/* ---- doctor ---- */

/* One probe of one key pair: "KEYS key AK: environment 1a5, 3 registries" into buf, with what
 * Rancher said of the key (an account key, and how its environment was chosen) and a warning
 * for plain http. */
static int rancher_check_one(struct rancher_source *r, struct rancher_api *a, const char *label,
			     char *buf, size_t size)
{
	char why[300];
	size_t count = 0;
	int account_key, more = 0, rc = rancher_start(r, a);

	if (rc == ERR_DENIED && !a->secret) { /* rancher_secret found none anywhere */
		snprintf(why, sizeof(why), "%s", err_msg());
		return err_set(ERR_NOTFOUND, "%s", why);
	}
	if (!rc)
		rc = rancher_api_probe(a, &count, &more);
	account_key = rancher_api_account_key(a);
	if (!rc)
		snprintf(buf, size, "%s key %s%s%s%s: environment %s%s, %zu%s registr%s%s", label, a->access,
			 account_key ? " (account key, " : "", account_key ? a->kind : "",
			 account_key ? ")" : "", a->project[0] ? a->project : "(the key's own)",
			 a->project_only ? ", the only one it may use" : "",
			 count, more ? "+" : "", count == 1 && !more ? "y" : "ies",
			 strncasecmp(a->base, "http://", 7) == 0
				 ? "; warning: plain http, the key crosses the network unencrypted"
				 : "");
	return rc;
}

/* doctor: one GET of the registries collection with each configured key pair (the RANCHER_*
 * writer, the CATTLE_* reader), both reported. With a Rancher 2.x URL: what works there. */
static int rancher_check(struct source *s, char *what, size_t what_size)
{
	struct rancher_source *r = (struct rancher_source *)s;
	char w[300] = "", rd[300] = "", why[600];
	int rc = 0;

	if (r->v3_note[0] && r->write_back)
		return err_set(ERR_INVALID, "%s asks for write-back, but %s", RANCHER_ENV "_HOSTS",
			       r->v3_note);
	if (r->v3_note[0]) {
		/* doctor shows this fix when a config file routes registries to "rancher" (with
		 * 2.x, only its name routes here); the fix for a missing key (set
		 * RANCHER_SECRET_KEY) would not help with 2.x. */
		snprintf(what, what_size, "with Rancher 2.x, logins stay in the keyring: route those "
			 "registries to it by its own name, `docker-credential-keyring configure "
			 "HOST...` (it writes \"keyring\" over \"rancher\"); to share a login with a "
			 "project, add it in Rancher as a registry credential (Resources, Secrets, "
			 "Registry Credentials) or with `kubectl create secret docker-registry`");
		return err_set(ERR_NOTFOUND, "%s", r->v3_note);
	}
	if (r->have_writer && (rc = rancher_check_one(r, &r->writer, "RANCHER_*", w, sizeof(w))) != 0)
		return rc;
	if (r->have_reader)
		rc = rancher_check_one(r, &r->reader, "CATTLE_*", rd, sizeof(rd));
	if (rc && w[0]) {
		snprintf(why, sizeof(why), "%s", err_msg());
		return err_set(rc, "%s accepted, but the CATTLE_* key: %s", w, why);
	}
	if (rc)
		return rc;
	snprintf(what, what_size, "key%s accepted (%s%s%s)", w[0] && rd[0] ? "s" : "", w,
		 w[0] && rd[0] ? "; " : "", rd);
	return 0;
}

/* ---- settings ---- */

static void rancher_free(struct source *s)
{
	struct rancher_source *r = (struct rancher_source *)s;
	size_t i;

	if (!r)
		return;
	rancher_api_clear(&r->writer);
	rancher_api_clear(&r->reader);
	http_opts_clear(&r->http);
	for (i = 0; i < r->nhosts; i++)
		free(r->hosts[i]);
	free(r->hosts);
	free(r->email);
	free(r->writer_file.path);
	free(r->reader_file.path);
	free(r);
}

/* A setting of the [rancher] section (the environment wins); NULL when unset or empty. */
static const char *rancher_str(const struct config *cfg, const char *key, const char *env)
{
	const char *v = config_str(cfg, RANCHER_NAME, key, env);

	return v && v[0] ? v : NULL;
}

/* hosts: "all" / "*", or a list separated by commas or spaces. */
static int rancher_hosts(struct rancher_source *r, const char *v)
{
	char host[RANCHER_HOST_MAX], word[RANCHER_HOST_MAX], **hosts, name[80];
	size_t n;

	if (!v || strcmp(v, "all") == 0 || strcmp(v, "*") == 0)
		return 0;
	config_setting_name(RANCHER_NAME, "hosts", RANCHER_ENV "_HOSTS", name, sizeof(name));
	for (v += strspn(v, ", \t"); *v; v += strspn(v, ", \t")) {
		n = strcspn(v, ", \t");
		if (n >= sizeof(word))
			return err_set(ERR_INVALID, "%s: a host is too long", name);
		memcpy(word, v, n);
		word[n] = '\0';
		v += n;
		if (rancher_host(word, host, sizeof(host)))
			return err_set(ERR_INVALID, "%s: not a registry host: %s", name, word);
		if (!(hosts = realloc(r->hosts, (r->nhosts + 1) * sizeof(*hosts))))
			return err_set(ERR_FAILED, "out of memory");
		r->hosts = hosts;
		if (!(r->hosts[r->nhosts] = strdup(host)))
			return err_set(ERR_FAILED, "out of memory");
		r->nhosts++;
	}
	return r->nhosts ? 0 : err_set(ERR_INVALID, "%s: empty list (use \"all\")", name);
}

/* One key pair's endpoint, and the *-file setting that may hold its secret key (its path, and
 * its name as the user set it, for messages). */
static int rancher_endpoint(struct rancher_source *r, const struct config *cfg, struct rancher_api *a,
			    const char *setting, const char *url, const char *access,
			    const char *secret, const char *file_key, const char *file_env,
			    const char *key_names, int64_t deadline)
{
	struct rancher_keyfile *f = a == &r->writer ? &r->writer_file : &r->reader_file;
	const char *path = rancher_str(cfg, file_key, file_env);
	int rc = rancher_api_parse_url(a, setting, url);

	a->http = &r->http;
	a->key_names = key_names;
	a->budget_ms = deadline;
	config_setting_name(RANCHER_NAME, file_key, file_env, f->setting, sizeof(f->setting));
	if (!rc && !(a->access = strdup(access)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc && path && !(f->path = strdup(path)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc && secret && !(a->secret = secmem_dup(secret, strlen(secret))))
		rc = err_set(ERR_FAILED, "out of memory");
	return rc;
}

/* The settings of a source with RANCHER_* or CATTLE_* keys (v1 or v2-beta URLs). */
static int rancher_open(struct rancher_source *r, const struct config *cfg, const char *url,
			const char *curl)
{
	const char *project = rancher_str(cfg, "project", RANCHER_ENV "_PROJECT");
	const char *email = rancher_str(cfg, "email", RANCHER_ENV "_EMAIL");
	int64_t deadline = 0, ttl = 0;
	char name[80];
	int rc = http_opts_load(cfg, RANCHER_NAME, RANCHER_ENV, &r->http);

	if (!rc)
		rc = config_ms_range(cfg, RANCHER_NAME, "deadline", RANCHER_ENV "_DEADLINE", 10000, 100,
				     600000, &deadline);
	if (!rc)
		rc = config_ms_range(cfg, RANCHER_NAME, "cache-ttl", RANCHER_ENV "_CACHE_TTL", 30000, 0,
				     86400000, &ttl);
	r->ttl_s = (ttl + 999) / 1000;
	if (!rc && email && !(r->email = strdup(email)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc && r->have_writer)
		rc = rancher_endpoint(r, cfg, &r->writer, "RANCHER_URL", url,
				      rancher_str(cfg, "access-key", "RANCHER_ACCESS_KEY"),
				      rancher_str(cfg, "secret-key", "RANCHER_SECRET_KEY"),
				      "secret-key-file", RANCHER_ENV "_SECRET_KEY_FILE",
				      "RANCHER_ACCESS_KEY and RANCHER_SECRET_KEY", deadline);
	if (!rc && r->have_reader)
		rc = rancher_endpoint(r, cfg, &r->reader, curl ? "CATTLE_URL" : "RANCHER_URL",
				      curl ? curl : url,
				      rancher_str(cfg, "cattle-access-key", "CATTLE_ACCESS_KEY"),
				      rancher_str(cfg, "cattle-secret-key", "CATTLE_SECRET_KEY"),
				      "cattle-secret-key-file", RANCHER_ENV "_CATTLE_SECRET_KEY_FILE",
				      "CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY", deadline);
	if (!rc && project && !rancher_api_valid_project(project, strlen(project)))
		rc = err_set(ERR_INVALID, "%s: expected an environment id like 1a5, got %s",
			     config_setting_name(RANCHER_NAME, "project", RANCHER_ENV "_PROJECT", name,
						 sizeof(name)),
			     project);
	if (!rc && project)
		snprintf(rancher_writer(r)->project, sizeof(r->writer.project), "%s", project);
	return rc;
}

/* A Rancher 2.x URL (API v3) in RANCHER_URL or CATTLE_URL: the helper cannot write to 2.x
 * (dockercredentials are a different API), but it must not ignore the setting in silence
 * either, so the source only explains (docs/rancher.md, "Rancher 2.x: what works today").
 * The note names the setting and the server, never the URL itself: it may carry keys. */
static void rancher_v3_say(struct rancher_source *r, const char *setting, const char *url)
{
	char host[200];

	snprintf(r->v3_note, sizeof(r->v3_note), "%s points to Rancher 2.x (API v3) at %s, and this "
		 "helper writes logins back to Rancher 1.x only (API v1, v2-beta); with 2.x, logins "
		 "stay in the keyring: to share one with a project, add it there as a registry "
		 "credential (Rancher's UI: Resources, Secrets, Registry Credentials; or `kubectl "
		 "create secret docker-registry`)", setting,
		 rancher_host(url, host, sizeof(host)) ? "(no usable host)" : host);
}

int source_rancher_new(const struct config *cfg, struct store *st, struct source **out)
{
	const char *url = rancher_str(cfg, "url", "RANCHER_URL");
	const char *curl = rancher_str(cfg, "cattle-url", "CATTLE_URL");
	const char *hosts = rancher_str(cfg, "hosts", RANCHER_ENV "_HOSTS");
	int v3_url = url && rancher_api_url_is_v3(url);
	int v3 = v3_url || (curl && rancher_api_url_is_v3(curl));
	int have_writer = url && rancher_str(cfg, "access-key", "RANCHER_ACCESS_KEY");
	int have_reader = rancher_str(cfg, "cattle-access-key", "CATTLE_ACCESS_KEY") &&
			  (rancher_str(cfg, "cattle-secret-key", "CATTLE_SECRET_KEY") ||
			   rancher_str(cfg, "cattle-secret-key-file", RANCHER_ENV "_CATTLE_SECRET_KEY_FILE")) &&
			  (curl || url);
	struct rancher_source *r;
	int rc, read_only = 0;

	*out = NULL;
	if (!v3 && !have_writer && !have_reader)
		return 0;
	if (!(r = calloc(1, sizeof(*r))))
		return err_set(ERR_FAILED, "out of memory");
	r->store = st;
	r->have_writer = have_writer && !v3;
	r->have_reader = have_reader && !v3;
	rc = rancher_hosts(r, hosts);
	if (!rc)
		rc = config_bool(cfg, RANCHER_NAME, "read-only", RANCHER_ENV "_READ_ONLY", 0, &read_only);
	if (!rc && v3)
		rancher_v3_say(r, v3_url ? "RANCHER_URL" : "CATTLE_URL", v3_url ? url : curl);
	else if (!rc)
		rc = rancher_open(r, cfg, url, curl);
	if (rc) {
		rancher_free(&r->base);
		return rc;
	}
	/* Writing back is opt-in: RANCHER_URL and RANCHER_ACCESS_KEY are often exported for the
	 * rancher CLI, and copying every `docker login` (a personal ghcr.io token, say) into a
	 * shared environment is not something to do unasked. `hosts` (a list, or all) says yes. */
	r->write_back = hosts && !read_only;
	r->base.name = RANCHER_NAME;
	r->base.serves = rancher_serves;
	r->base.fetch = r->have_reader ? rancher_fetch : NULL;
	r->base.refresh_before = rancher_refresh_before;
	r->base.on_store = r->write_back ? rancher_on_store : NULL;
	r->base.on_erase = r->write_back ? rancher_on_erase : NULL;
	r->base.list = v3 ? NULL : rancher_list_src;
	r->base.check = rancher_check;
	r->base.free = rancher_free;
	*out = &r->base;
	return 0;
}
