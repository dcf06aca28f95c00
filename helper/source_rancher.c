/* source_rancher: Rancher 1.x (Cattle) as a credential source (see source.h, docs/rancher.md).
 *
 * Rancher never returns a registryCredential's secretValue to ordinary API keys (only the
 * create response carries it; only the environmentAdmin keys Rancher injects into system-stack
 * containers as CATTLE_* can read it back). So, for the verbs:
 *
 *   verb    RANCHER_* keys (ordinary)                  CATTLE_* keys (environmentAdmin)
 *   get     keyring only (fetch slot NULL)              registry → active credential, cached
 *                                                       for cache-ttl
 *   store   find or create the registry, update the credential this login may take (its
 *           username's, or one this helper made) or create one, marked; wait until it is
 *           active; one of those active, others' left alone (unless read-only)
 *   erase   only with a login in the keyring: deactivate, wait, delete the credentials this
 *           helper registered for it (username and mark); retried within the deadline, what
 *           is left is named, and so is what was not ours (unless read-only)
 *   list    every registry with an active credential: {serverAddress: publicValue}
 *
 * What is left alone on purpose is told as SOURCE_NOTE (source.h): one line on stderr, exit 0.
 * A Rancher 2.x URL makes a source that only says what works with 2.x (rancher_v3_new).
 *
 * Writes use the RANCHER_* keys, or the CATTLE_* ones when only those are set. serverAddress
 * cannot be filtered on (Rancher ignores the filter), so registries are listed and matched
 * here, by host: no scheme, no path, case-insensitive, Docker Hub's spellings as one.
 * Every operation has one deadline (DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE) that bounds
 * its requests, waits and retries together. */
#include "source.h"
#include "source_rancher.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "http.h"
#include "lockfile.h"
#include "proto.h"
#include "rancher_api.h"

#define RANCHER_NAME "rancher"
#define RANCHER_SECTION "rancher"
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
	char **hosts;               /* the hosts Rancher manages; NULL: all */
	size_t nhosts;
	char *email;
	int email_set;              /* the email setting is set (else the placeholder) */
	int64_t ttl_s;
	struct store *store;        /* where a saved secret key is read from; not owned */
	char v3_note[700];          /* a Rancher 2.x URL: what to tell (the source does nothing else) */
	int v3_write_back;          /* and hosts asked for write-back */
};

/* The host of a server key as Rancher's serverAddress holds it ("please do not pre-fix with
 * http:// or https://"): scheme, credentials and path dropped, lower case, Docker Hub's
 * spellings made index.docker.io. -1 when there is no usable host. */
static int rancher_host(const char *server, char *out, size_t size)
{
	static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
					  "registry.hub.docker.com"};
	const char *p = server, *sep = strstr(server, "://"), *at;
	size_t n, i;

	if (sep && (size_t)(sep - server) == strspn(server, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+.-"))
		p = sep + 3;
	n = strcspn(p, "/?#");
	at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n == 0 || n >= size)
		return -1;
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
			return -1;
		out[i] = (char)tolower((unsigned char)p[i]);
	}
	out[n] = '\0';
	for (i = 0; i < sizeof(hub) / sizeof(hub[0]); i++)
		if (strcmp(out, hub[i]) == 0)
			snprintf(out, size, "%s", "index.docker.io");
	return 0;
}

static int rancher_serves_host(const struct rancher_source *r, const char *host)
{
	size_t i;

	if (!r->hosts)
		return 1;
	for (i = 0; i < r->nhosts; i++)
		if (strcmp(r->hosts[i], host) == 0)
			return 1;
	return 0;
}

static int rancher_serves(struct source *s, const char *server)
{
	char host[RANCHER_HOST_MAX];

	return rancher_host(server, host, sizeof(host)) == 0 &&
	       rancher_serves_host((struct rancher_source *)s, host);
}

/* Does a registry Rancher listed stand for host (and is it not on its way out)? */
static int rancher_registry_is(const struct rancher_obj *reg, const char *host)
{
	char h[RANCHER_HOST_MAX];

	return reg->address && rancher_host(reg->address, h, sizeof(h)) == 0 &&
	       strcmp(h, host) == 0 && strncmp(reg->state, "remov", 5) != 0 &&
	       strncmp(reg->state, "purg", 4) != 0;
}

static int rancher_gone(const struct rancher_obj *o)
{
	return strncmp(o->state, "remov", 5) == 0 || strncmp(o->state, "purg", 4) == 0;
}

/* A credential Rancher would use for pulls, or will once its transition ends. */
static int rancher_live(const struct rancher_obj *o)
{
	return strcmp(o->state, "active") == 0 || strcmp(o->state, "activating") == 0 ||
	       strcmp(o->state, "registering") == 0 || strcmp(o->state, "updating-active") == 0;
}

/* A secret key from a file, with the checks a secret deserves: a regular file (not a FIFO that
 * would block, not a device), at most RANCHER_MAX_SECRET bytes, surrounding white space (the
 * newline an editor or echo adds) dropped, and then printable ASCII without spaces, as every
 * Rancher key is, which also keeps it from smuggling a line into an HTTP header. Every failure
 * is one line naming the setting and the file, never quoting what the file holds. */
static int rancher_read_keyfile(const struct rancher_keyfile *f, char **out)
{
	struct secbuf b = SECBUF_INIT;
	struct stat st;
	size_t i, start = 0, end;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc = 0;

	if (fd < 0)
		return err_set(ERR_INVALID, "%s: cannot open %s: %s", f->setting, f->path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = err_set(ERR_INVALID, "%s: %s is not a regular file", f->setting, f->path);
	else if (st.st_size > RANCHER_MAX_SECRET ||
		 secbuf_read_fd(&b, fd, RANCHER_MAX_SECRET) != 0)
		rc = err_set(ERR_INVALID, "%s: %s is larger than %d bytes or unreadable: not a secret "
			     "key file", f->setting, f->path, RANCHER_MAX_SECRET);
	close(fd);
	end = b.len;
	while (!rc && start < end && strchr(" \t\r\n", b.data[start]))
		start++;
	while (!rc && end > start && strchr(" \t\r\n", b.data[end - 1]))
		end--;
	if (!rc && start == end)
		rc = err_set(ERR_INVALID, "%s: %s is empty", f->setting, f->path);
	for (i = start; !rc && i < end; i++)
		if ((unsigned char)b.data[i] <= 0x20 || (unsigned char)b.data[i] >= 0x7f)
			rc = err_set(ERR_INVALID, "%s: %s holds control characters, spaces or non-ASCII "
				     "bytes: not a secret key", f->setting, f->path);
	if (!rc && !(*out = secmem_dup(b.data + start, end - start)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc)
		secmem_remember(*out, end - start);
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

/* The endpoint that writes and lists: RANCHER_*, else CATTLE_*. Its secret is loaded and
 * its clock started. */
static int rancher_writer(struct rancher_source *r, struct rancher_api **out)
{
	struct rancher_api *a = r->have_writer ? &r->writer : &r->reader;
	int rc = rancher_secret(r, a);

	if (!rc)
		rancher_api_begin(a);
	*out = a;
	return rc;
}

/* One cross-process lock per Rancher server and host, so that two helpers on this machine do
 * not both create a credential for one registry. */
static int rancher_lock(struct rancher_api *a, const char *host)
{
	unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
	const char *parts[] = {a->base, "|", host}, *p;
	char name[64];
	size_t i;
	int64_t left = rancher_api_remaining(a);

	for (i = 0; i < 3; i++)
		for (p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(name, sizeof(name), "rancher-%016llx", h);
	return lockfile_acquire(name, left > 0 ? (unsigned)left : 1);
}

/* The credential lists ask Rancher to filter by registry (and state). Should a server ignore
 * a filter, we must not update, deactivate or delete another registry's credentials, nor
 * answer with an inactive one: keep only what matches. state NULL: any. */
static void rancher_keep_matching(struct rancher_objs *l, const char *registry_id, const char *state)
{
	size_t i, n = 0;

	for (i = 0; i < l->len; i++) {
		struct rancher_obj *o = &l->items[i];

		if (strcmp(o->registry_id, registry_id) == 0 &&
		    (!state || strcmp(o->state, state) == 0))
			l->items[n++] = *o;
		else
			rancher_api_obj_clear(o);
	}
	l->len = n;
}

static int body_field(struct secbuf *b, const char *name, const char *v, size_t len)
{
	int rc = secbuf_append_str(b, ",\"");

	if (!rc)
		rc = secbuf_append_str(b, name);
	if (!rc)
		rc = secbuf_append_str(b, "\":");
	return rc ? rc : proto_json_string(b, v, len);
}

/* A credential's fields as JSON: the create body when registry_id is set, else the update (a
 * partial PUT: what it leaves out stays). Both carry the mark. v1 requires an email on create:
 * the setting's, else the placeholder; an update sends only the setting's, so that the email a
 * credential already has is never overwritten by the placeholder. */
static int body_credential(const struct rancher_source *r, const struct rancher_api *a,
			   const char *registry_id, const struct cred *c, struct secbuf *b)
{
	int rc = secbuf_append_str(b, "{\"type\":\"registryCredential\"");

	if (!rc && registry_id)
		rc = body_field(b, "registryId", registry_id, strlen(registry_id));
	if (!rc)
		rc = body_field(b, "publicValue", c->username, strlen(c->username));
	if (!rc)
		rc = body_field(b, "secretValue", c->secret ? c->secret : "", c->secret_len);
	if (!rc)
		rc = body_field(b, "description", RANCHER_MARK, strlen(RANCHER_MARK));
	if (!rc && strcmp(a->ver, "v1") == 0 && (registry_id || r->email_set))
		rc = body_field(b, "email", r->email, strlen(r->email));
	if (!rc)
		rc = secbuf_append_str(b, "}");
	return rc ? err_set(ERR_FAILED, "out of memory") : 0;
}

/* ---- get (environmentAdmin keys) ---- */

static int rancher_fetch(struct source *s, const char *server, struct cred *out)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_api *a = &r->reader;
	struct rancher_objs regs = {0};
	struct cred c = {0};
	char host[RANCHER_HOST_MAX], query[96];
	size_t i;
	int rc, unreadable = 0, found = 0;

	if (rancher_host(server, host, sizeof(host)))
		return err_set(ERR_NOTFOUND, "no registry host in %s", server);
	if ((rc = rancher_secret(r, a)) != 0)
		return rc;
	rancher_api_begin(a);
	rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);
	for (i = 0; !rc && !found && i < regs.len; i++) {
		struct rancher_objs creds = {0};

		if (!rancher_registry_is(&regs.items[i], host) ||
		    strcmp(regs.items[i].state, "inactive") == 0)
			continue;
		snprintf(query, sizeof(query), "registryId=%s&state=active", regs.items[i].id);
		rc = rancher_api_list(a, RANCHER_API_CREDENTIAL, query, &creds);
		rancher_keep_matching(&creds, regs.items[i].id, "active");
		/* Rancher pulls with the lowest id among active ones; lists come in id order. */
		if (!rc && creds.len && !creds.items[0].secret_value) {
			unreadable = 1;
		} else if (!rc && creds.len) {
			struct rancher_obj *o = &creds.items[0];

			c.server = strdup(server);
			c.username = strdup(o->public_value ? o->public_value : "");
			c.origin = strdup(RANCHER_NAME);
			c.secret = o->secret_value;
			c.secret_len = o->secret_len;
			o->secret_value = NULL;
			o->secret_len = 0;
			c.expires = (int64_t)time(NULL) + r->ttl_s;
			found = 1;
			if (!c.server || !c.username || !c.origin)
				rc = err_set(ERR_FAILED, "out of memory");
		}
		rancher_api_objs_clear(&creds);
	}
	rancher_api_objs_clear(&regs);
	if (!rc && !found)
		rc = unreadable ? err_set(ERR_NOTFOUND, "Rancher holds a credential for %s, but this key "
					  "cannot read Rancher's secrets (only environmentAdmin keys can)", host)
				: err_set(ERR_NOTFOUND, "Rancher has no active credential for %s", host);
	if (rc) {
		cred_clear(&c);
		return rc;
	}
	*out = c;
	return 0;
}

static int64_t rancher_refresh_before(struct source *s, const struct cred *cached)
{
	(void)s;
	(void)cached;
	return 0;
}

/* ---- store ---- */

struct rancher_store_job {
	const char *host;
	const struct cred *c;
	char reg[48];        /* the registry, once found or created */
	int new_reg;         /* created in this round: it has no credentials to list yet */
	char keeper[48];     /* the credential we wrote, once written */
	char waiting[256];   /* what the last round waited for, for the report */
	char others[300];    /* live credentials someone else made, left alone: "1c3 (user bob)" */
	int declined;        /* one of them holds the registry: this login was not registered */
};

static int rancher_marked(const struct rancher_obj *o)
{
	return o->description && strcmp(o->description, RANCHER_MARK) == 0;
}

static int rancher_same_user(const struct rancher_obj *o, const char *username)
{
	return o->public_value && strcmp(o->public_value, username) == 0;
}

/* Is o a credential this helper registered for the login of username (erase removes only
 * those)? */
static int rancher_ours(const struct rancher_obj *o, const char *username)
{
	return rancher_same_user(o, username) && rancher_marked(o);
}

/* May store write this login over o? When this helper made it (a login of this host, maybe
 * an earlier one: the latest wins, as one helper-made credential per registry is the rule), or
 * it has this username (the same registry account). Anything else someone made by hand or with
 * another tool, for another account, is theirs. */
static int rancher_store_may_take(const struct rancher_obj *o, const char *username)
{
	return rancher_marked(o) || rancher_same_user(o, username);
}

/* Append "1c3 (user bob)" to a list of credentials for a message. */
static void rancher_name_cred(char *list, size_t size, const struct rancher_obj *o, const char *why)
{
	size_t used = strlen(list);
	char user[64];

	snprintf(user, sizeof(user), "%s", o->public_value ? o->public_value : "");
	if (used < size)
		snprintf(list + used, size - used, "%s%s (user %s%s)", used ? ", " : "", o->id, user,
			 why ? why : "");
}

/* Find the registry for host, or create it. */
static int rancher_store_registry(struct rancher_source *r, struct rancher_api *a,
				  struct rancher_store_job *j)
{
	struct rancher_objs regs = {0};
	struct rancher_obj made = {0};
	struct secbuf body = SECBUF_INIT;
	size_t i, pick = (size_t)-1;
	int rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);

	(void)r;
	/* The first active one, else the first at all. */
	for (i = 0; !rc && i < regs.len; i++) {
		if (!rancher_registry_is(&regs.items[i], j->host))
			continue;
		if (pick == (size_t)-1 || (strcmp(regs.items[i].state, "active") == 0 &&
					   strcmp(regs.items[pick].state, "active") != 0))
			pick = i;
	}
	if (!rc && pick != (size_t)-1) {
		snprintf(j->reg, sizeof(j->reg), "%s", regs.items[pick].id);
		if (strcmp(regs.items[pick].state, "inactive") == 0)
			rc = rancher_api_action(a, RANCHER_API_REGISTRY, j->reg, "activate", &made);
	} else if (!rc) {
		rc = secbuf_append_str(&body, "{\"type\":\"registry\"");
		if (!rc)
			rc = body_field(&body, "serverAddress", j->host, strlen(j->host));
		if (!rc)
			rc = secbuf_append_str(&body, "}");
		if (!rc)
			rc = rancher_api_create(a, RANCHER_API_REGISTRY, &body, &made);
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

/* The credential to update, among those store may take (rancher_store_may_take): live before
 * idle, then this username's, then ours. NULL: none, create one. */
static struct rancher_obj *rancher_keeper(struct rancher_objs *creds, const char *username)
{
	struct rancher_obj *best = NULL;
	int best_score = -1;
	size_t i;

	for (i = 0; i < creds->len; i++) {
		struct rancher_obj *o = &creds->items[i];
		int score;

		if (rancher_gone(o) || !rancher_store_may_take(o, username))
			continue;
		score = (rancher_live(o) ? 4 : 0) + (rancher_same_user(o, username) ? 2 : 0) +
			rancher_marked(o);
		if (score > best_score) {
			best = o;
			best_score = score;
		}
	}
	return best;
}

/* One round of store: move Rancher one step towards "exactly one active credential for the
 * registry, with this login". *done when it is there. */
static int rancher_store_round(struct rancher_source *r, struct rancher_api *a,
			       struct rancher_store_job *j, int *done)
{
	struct rancher_objs creds = {0};
	struct rancher_obj res = {0}, *k;
	struct secbuf body = SECBUF_INIT;
	char query[64];
	size_t i;
	int rc = 0, others = 0;

	j->new_reg = 0; /* a create that failed may still have happened: list from now on */
	if (!j->reg[0])
		rc = rancher_store_registry(r, a, j);
	if (!rc && !j->new_reg) {
		snprintf(query, sizeof(query), "registryId=%s", j->reg);
		rc = rancher_api_list(a, RANCHER_API_CREDENTIAL, query, &creds);
		rancher_keep_matching(&creds, j->reg, NULL);
	}
	if (rc)
		goto out;
	j->others[0] = '\0';
	for (i = 0; i < creds.len; i++)
		if (rancher_live(&creds.items[i]) &&
		    !rancher_store_may_take(&creds.items[i], j->c->username))
			rancher_name_cred(j->others, sizeof(j->others), &creds.items[i], NULL);
	if (!j->keeper[0]) {
		k = rancher_keeper(&creds, j->c->username);
		if (k && rancher_api_obj_busy(k)) {
			snprintf(j->waiting, sizeof(j->waiting), "credential %s is still %s", k->id, k->state);
			goto out; /* Rancher refuses an update mid-transition: wait for it */
		}
		/* Someone else's credential is what the environment pulls with: a second one
		 * would not be used (Rancher takes the lowest id), and replacing theirs is not this
		 * login's call. */
		if (!k && j->others[0]) {
			j->declined = 1;
			*done = 1;
			goto out;
		}
		rc = body_credential(r, a, k ? NULL : j->reg, j->c, &body);
		if (!rc)
			rc = k ? rancher_api_update(a, RANCHER_API_CREDENTIAL, k->id, &body, &res)
			       : rancher_api_create(a, RANCHER_API_CREDENTIAL, &body, &res);
		if (!rc)
			snprintf(j->keeper, sizeof(j->keeper), "%s", res.id);
		goto out;
	}
	for (k = NULL, i = 0; i < creds.len; i++)
		if (strcmp(creds.items[i].id, j->keeper) == 0)
			k = &creds.items[i];
	if (!k || rancher_gone(k)) {
		j->keeper[0] = '\0'; /* removed under us: write it again */
		goto out;
	}
	/* Of what store may take, only the keeper stays active. What someone else made for
	 * another account is left alone (and named in the note). */
	for (i = 0; !rc && i < creds.len; i++) {
		struct rancher_obj *o = &creds.items[i];

		if (o == k || !rancher_live(o) || !rancher_store_may_take(o, j->c->username))
			continue;
		others++;
		if (!rancher_api_obj_busy(o))
			rc = rancher_api_action(a, RANCHER_API_CREDENTIAL, o->id, "deactivate", &res);
		rancher_api_obj_clear(&res);
	}
	if (!rc && strcmp(k->state, "inactive") == 0 && !k->transitioning)
		rc = rancher_api_action(a, RANCHER_API_CREDENTIAL, k->id, "activate", &res);
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

static int rancher_on_store(struct source *s, const struct cred *c)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_store_job j = {0};
	struct rancher_api *a;
	char host[RANCHER_HOST_MAX], last[512] = "";
	int64_t pause = 100;
	int rc, lock, done = 0;

	if (rancher_host(c->server, host, sizeof(host)))
		return err_set(ERR_INVALID, "no registry host in %s", c->server);
	/* An identity token is an OAuth refresh token for this user, not a password hosts could
	 * pull with: it stays in the keyring and is not shared with the environment. */
	if (strcmp(c->username, "<token>") == 0)
		return 0;
	j.host = host;
	j.c = c;
	rc = rancher_writer(r, &a);
	lock = rc ? -1 : rancher_lock(a, host);
	/* Without the lock two helpers could both create a credential: stop instead. */
	if (!rc && lock < 0)
		rc = err_wrap(lock, "cannot change Rancher safely");
	while (!rc) {
		rc = rancher_store_round(r, a, &j, &done);
		if (done || (rc && !rancher_api_retryable(a)))
			break;
		snprintf(last, sizeof(last), "%s", rc ? err_msg() : "");
		rc = rancher_api_pause(a, pause);
		pause = pause * 2 > RANCHER_PAUSE_MAX_MS ? RANCHER_PAUSE_MAX_MS : pause * 2;
		if (rc)
			rc = last[0] ? err_set(ERR_TIMEOUT, "%s", last)
				     : err_set(ERR_TIMEOUT, "Rancher at %s: %s after %gs", a->host,
					       j.waiting[0] ? j.waiting : "no progress",
					       (double)a->budget_ms / 1000);
	}
	lockfile_release(lock);
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

/* ---- erase ---- */

struct rancher_erase_job {
	const char *host;
	const char *username;   /* of the login erased */
	int left;               /* ours still there after a round */
	char left_text[256];    /* and their ids and states */
	char others[300];       /* what is not ours, left alone: "1c3 (user bob)" */
};

/* One round of erase over the credentials this helper registered for the login: deactivate
 * what is active, delete what is inactive, wait for the rest. Every other credential of the
 * host's registries is only named, in j->others. */
static int rancher_erase_round(struct rancher_api *a, const struct rancher_objs *regs,
			       struct rancher_erase_job *j)
{
	struct rancher_obj res = {0};
	char query[64];
	size_t i, k, used = 0, size = sizeof(j->left_text);
	int rc = 0, first_rc = 0;

	j->left = 0;
	j->left_text[0] = '\0';
	j->others[0] = '\0';
	for (i = 0; i < regs->len; i++) {
		struct rancher_objs creds = {0};

		if (!rancher_registry_is(&regs->items[i], j->host))
			continue;
		snprintf(query, sizeof(query), "registryId=%s", regs->items[i].id);
		rc = rancher_api_list(a, RANCHER_API_CREDENTIAL, query, &creds);
		if (rc)
			return rc;
		rancher_keep_matching(&creds, regs->items[i].id, NULL);
		for (k = 0; k < creds.len; k++) {
			struct rancher_obj *o = &creds.items[k];
			const char *state = o->state;

			if (rancher_gone(o))
				continue;
			if (!rancher_ours(o, j->username)) {
				rancher_name_cred(j->others, sizeof(j->others), o,
						  rancher_same_user(o, j->username)
							  ? ", not registered by this helper" : NULL);
				continue;
			}
			rc = 0;
			if (!rancher_api_obj_busy(o) && strcmp(o->state, "inactive") == 0)
				rc = rancher_api_delete(a, RANCHER_API_CREDENTIAL, o->id, &res);
			else if (rancher_live(o) || strncmp(o->state, "updating", 8) == 0)
				/* Cattle accepts deactivate mid-registering too: do not wait for that. */
				rc = rancher_api_action(a, RANCHER_API_CREDENTIAL, o->id, "deactivate", &res);
			if (!rc && res.id[0])
				state = res.state;
			if (rc && !first_rc)
				first_rc = rc;
			if (rc || !(strncmp(state, "remov", 5) == 0 || strncmp(state, "purg", 4) == 0)) {
				j->left++;
				if (used < size)
					used += (size_t)snprintf(j->left_text + used, size - used, "%s%s (%s)",
								 used ? ", " : "", o->id,
								 rc ? o->state : state);
			}
			rancher_api_obj_clear(&res);
			if (rc && !rancher_api_retryable(a))
				break;
		}
		rancher_api_objs_clear(&creds);
		if (first_rc && !rancher_api_retryable(a))
			return first_rc;
	}
	return first_rc;
}

/* erase removes from Rancher only what this helper registered for the login erased: that is
 * what a logout means. A credential in Rancher serves the whole environment (other hosts and
 * services pull with it); `podman logout --all` erases every host of credHelpers, and one made
 * by hand or by another login must survive it. So: no login in the keyring (nothing, or a copy
 * read from Rancher), no request at all; else only credentials with its username and our mark,
 * and a note naming the rest. */
static int rancher_on_erase(struct source *s, const char *server, const struct cred *cached)
{
	struct rancher_source *r = (struct rancher_source *)s;
	struct rancher_erase_job j = {0};
	struct rancher_objs regs = {0};
	struct rancher_api *a;
	char host[RANCHER_HOST_MAX], last[512] = "";
	int64_t pause = 100;
	int rc, lock, listed = 0;

	if (!cached || !cached->origin || strcmp(cached->origin, CRED_ORIGIN_LOGIN) != 0 ||
	    !cached->username || strcmp(cached->username, "<token>") == 0)
		return 0; /* no login of the user's: nothing of ours in Rancher */
	if (rancher_host(server, host, sizeof(host)))
		return 0; /* nothing Rancher could hold */
	j.host = host;
	j.username = cached->username;
	rc = rancher_writer(r, &a);
	lock = rc ? -1 : rancher_lock(a, host);
	/* Without the lock two helpers could both create a credential: stop instead. */
	if (!rc && lock < 0)
		rc = err_wrap(lock, "cannot change Rancher safely");
	while (!rc) {
		/* The registries are listed once, inside the loop so that a failed list is retried
		 * like any other step. */
		rc = listed ? 0 : rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);
		listed = !rc;
		if (!rc)
			rc = rancher_erase_round(a, &regs, &j);
		if ((!rc && !j.left) || (rc && !rancher_api_retryable(a)))
			break;
		snprintf(last, sizeof(last), "%s", rc ? err_msg() : "");
		rc = rancher_api_pause(a, pause);
		pause = pause * 2 > RANCHER_PAUSE_MAX_MS ? RANCHER_PAUSE_MAX_MS : pause * 2;
		if (rc)
			rc = err_set(ERR_TIMEOUT, "Rancher at %s still holds, for %s after %gs: %s%s%s",
				     a->host, host, (double)a->budget_ms / 1000,
				     j.left_text[0] ? j.left_text : "credentials",
				     last[0] ? "; last error: " : "", last);
	}
	lockfile_release(lock);
	rancher_api_objs_clear(&regs);
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
	struct rancher_api *a;
	char host[RANCHER_HOST_MAX];
	size_t i, k;
	int rc = rancher_writer(r, &a);

	if (!rc)
		rc = rancher_api_list(a, RANCHER_API_REGISTRY, NULL, &regs);
	if (!rc)
		rc = rancher_api_list(a, RANCHER_API_CREDENTIAL, "state=active", &creds);
	for (i = 0; !rc && i < creds.len; i++) {
		for (k = 0; k < regs.len; k++) {
			const struct rancher_obj *reg = &regs.items[k];
			struct cred c = {0};

			if (strcmp(reg->id, creds.items[i].registry_id) != 0 || !reg->address ||
			    rancher_gone(reg) || rancher_host(reg->address, host, sizeof(host)) ||
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
	if (rc) {
		cred_list_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}

/* ---- doctor ---- */

/* One probe of one key pair: "KEYS key AK: environment 1a5, 3 registries" into buf, with what
 * Rancher said of the key (an account key, and how its environment was chosen) and a warning
 * for plain http. */
static int rancher_check_one(struct rancher_source *r, struct rancher_api *a, const char *label,
			     char *buf, size_t size)
{
	size_t count = 0;
	int account_key, more = 0, rc = rancher_secret(r, a);

	if (rc == ERR_DENIED && !a->secret) { /* rancher_secret found none anywhere */
		char why[300];

		snprintf(why, sizeof(why), "%s", err_msg());
		return err_set(ERR_NOTFOUND, "%s", why);
	}
	if (!rc) {
		rancher_api_begin(a);
		rc = rancher_api_probe(a, &count, &more);
	}
	account_key = rancher_api_account_key(a);
	if (!rc)
		snprintf(buf, size, "%s key %s%s%s%s: environment %s%s, %zu%s registr%s%s", label, a->access,
			 account_key ? " (account key, " : "", account_key ? a->kind : "",
			 account_key ? ")" : "", a->project[0] ? a->project : "(the key's own)",
			 a->project_how == RANCHER_API_PROJECT_ONLY ? ", the only one it may use" : "",
			 count, more ? "+" : "", count == 1 && !more ? "y" : "ies",
			 strncasecmp(a->base, "http://", 7) == 0
				 ? "; warning: plain http, the key crosses the network unencrypted"
				 : "");
	return rc;
}

/* doctor: one GET of the registries collection with each configured key pair (the RANCHER_*
 * writer, the CATTLE_* reader), both reported. */
static int rancher_check(struct source *s, char *what, size_t what_size)
{
	struct rancher_source *r = (struct rancher_source *)s;
	char w[300] = "", rd[300] = "", why[600];
	int rc = 0;

	if (r->have_writer) {
		rc = rancher_check_one(r, &r->writer, "RANCHER_*", w, sizeof(w));
		if (rc)
			return rc;
	}
	if (r->have_reader) {
		rc = rancher_check_one(r, &r->reader, "CATTLE_*", rd, sizeof(rd));
		if (rc && w[0]) {
			snprintf(why, sizeof(why), "%s", err_msg());
			return err_set(rc, "%s accepted, but the CATTLE_* key: %s", w, why);
		}
		if (rc)
			return rc;
	}
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

static int rancher_set(const char *v)
{
	return v && v[0];
}

/* hosts: "all" / "*", or a list separated by commas or spaces. */
static int rancher_hosts(struct rancher_source *r, const char *v)
{
	char host[RANCHER_HOST_MAX], word[RANCHER_HOST_MAX], **hosts;
	size_t n;

	if (!rancher_set(v) || strcmp(v, "all") == 0 || strcmp(v, "*") == 0)
		return 0;
	while (*v) {
		v += strspn(v, ", \t");
		n = strcspn(v, ", \t");
		if (!n)
			break;
		if (n >= sizeof(word))
			return err_set(ERR_INVALID, "rancher hosts: a host is too long");
		memcpy(word, v, n);
		word[n] = '\0';
		v += n;
		if (rancher_host(word, host, sizeof(host)))
			return err_set(ERR_INVALID, "rancher hosts: not a registry host: %s", word);
		hosts = realloc(r->hosts, (r->nhosts + 1) * sizeof(*hosts));
		if (!hosts)
			return err_set(ERR_FAILED, "out of memory");
		r->hosts = hosts;
		if (!(r->hosts[r->nhosts] = strdup(host)))
			return err_set(ERR_FAILED, "out of memory");
		r->nhosts++;
	}
	return r->nhosts ? 0 : err_set(ERR_INVALID, "rancher hosts: empty list (use \"all\")");
}

static int rancher_endpoint(struct rancher_source *r, struct rancher_api *a, const char *setting,
			    const char *url, const char *access, const char *secret,
			    const char *key_names, int64_t deadline)
{
	int rc = rancher_api_parse_url(a, setting, url);

	a->http = &r->http;
	a->key_names = key_names;
	a->budget_ms = deadline;
	if (!rc && !(a->access = strdup(access)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc && rancher_set(secret) && !(a->secret = secmem_dup(secret, strlen(secret))))
		rc = err_set(ERR_FAILED, "out of memory");
	return rc;
}

static const char *rancher_str(const struct config *cfg, const char *key, const char *env)
{
	return config_str(cfg, RANCHER_SECTION, key, env);
}

/* A *-file setting: its path (copied) and its name as the user set it, for messages. */
static int rancher_keyfile_setting(const struct config *cfg, const char *key, const char *env,
				   struct rancher_keyfile *f)
{
	const char *v = rancher_str(cfg, key, env);

	if (getenv(env) && getenv(env)[0])
		snprintf(f->setting, sizeof(f->setting), "%s", env);
	else
		snprintf(f->setting, sizeof(f->setting), RANCHER_SECTION ".%s", key);
	if (rancher_set(v) && !(f->path = strdup(v)))
		return err_set(ERR_FAILED, "out of memory");
	return 0;
}

/* ---- Rancher 2.x ---- */

/* A Rancher 2.x URL (API v3) in RANCHER_URL or CATTLE_URL: the helper cannot write to 2.x
 * (dockercredentials are a different API, see docs/rancher.md), but it must not ignore the
 * setting in silence either. The source then only explains: doctor says what the URL is and
 * what works with 2.x today; store and erase of a host in `hosts` do their keyring part and add
 * the same as a note. Without `hosts` it serves nothing, so that every verb stays as it was. */
static int rancher_serves_none(struct source *s, const char *server)
{
	(void)s;
	(void)server;
	return 0;
}

static int rancher_v3_on_store(struct source *s, const struct cred *c)
{
	(void)c;
	return err_set(SOURCE_NOTE, "stored in the keyring only: %s", ((struct rancher_source *)s)->v3_note);
}

static int rancher_v3_on_erase(struct source *s, const char *server, const struct cred *cached)
{
	(void)server;
	(void)cached;
	return err_set(SOURCE_NOTE, "erased from the keyring only: %s",
		       ((struct rancher_source *)s)->v3_note);
}

static int rancher_v3_check(struct source *s, char *what, size_t what_size)
{
	struct rancher_source *r = (struct rancher_source *)s;

	(void)what;
	(void)what_size;
	if (r->v3_write_back)
		return err_set(ERR_INVALID, "%s asks for write-back, but %s", RANCHER_ENV "_HOSTS",
			       r->v3_note);
	return err_set(ERR_NOTFOUND, "%s", r->v3_note);
}

/* The note, naming the setting and the server (never the URL itself: it may carry keys). */
static void rancher_v3_say(struct rancher_source *r, const char *setting, const char *url)
{
	const char *auth = strstr(url, "://") + 3, *at;
	size_t n = strcspn(auth, "/?#");

	at = memchr(auth, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	snprintf(r->v3_note, sizeof(r->v3_note), "%s points to Rancher 2.x (API v3) at %.*s, and this "
		 "helper writes logins back to Rancher 1.x only (API v1, v2-beta); with 2.x, logins "
		 "stay in the keyring: to share one with a project, add it there as a registry "
		 "credential (Rancher's UI: Resources, Secrets, Registry Credentials; or `kubectl "
		 "create secret docker-registry`)", setting, (int)(n < 200 ? n : 200), auth);
}

static int rancher_v3_new(const struct config *cfg, const char *setting, const char *url,
			  struct source **out)
{
	struct rancher_source *r = calloc(1, sizeof(*r));
	int rc, read_only = 0;

	if (!r)
		return err_set(ERR_FAILED, "out of memory");
	rc = rancher_hosts(r, rancher_str(cfg, "hosts", RANCHER_ENV "_HOSTS"));
	if (!rc)
		rc = config_bool(cfg, RANCHER_SECTION, "read-only", RANCHER_ENV "_READ_ONLY", 0, &read_only);
	if (rc) {
		rancher_free(&r->base);
		return rc;
	}
	rancher_v3_say(r, setting, url);
	r->v3_write_back = rancher_set(rancher_str(cfg, "hosts", RANCHER_ENV "_HOSTS")) && !read_only;
	r->base.name = RANCHER_NAME;
	r->base.serves = r->v3_write_back ? rancher_serves : rancher_serves_none;
	r->base.refresh_before = rancher_refresh_before;
	r->base.on_store = r->v3_write_back ? rancher_v3_on_store : NULL;
	r->base.on_erase = r->v3_write_back ? rancher_v3_on_erase : NULL;
	r->base.check = rancher_v3_check;
	r->base.free = rancher_free;
	*out = &r->base;
	return 0;
}

int source_rancher_new(const struct config *cfg, struct store *st, struct source **out)
{
	const char *url = rancher_str(cfg, "url", "RANCHER_URL");
	const char *access = rancher_str(cfg, "access-key", "RANCHER_ACCESS_KEY");
	const char *curl = rancher_str(cfg, "cattle-url", "CATTLE_URL");
	const char *caccess = rancher_str(cfg, "cattle-access-key", "CATTLE_ACCESS_KEY");
	const char *csecret = rancher_str(cfg, "cattle-secret-key", "CATTLE_SECRET_KEY");
	const char *project = rancher_str(cfg, "project", RANCHER_ENV "_PROJECT");
	const char *email = rancher_str(cfg, "email", RANCHER_ENV "_EMAIL");
	const char *hosts = rancher_str(cfg, "hosts", RANCHER_ENV "_HOSTS");
	const char *csecret_file = rancher_str(cfg, "cattle-secret-key-file",
					       RANCHER_ENV "_CATTLE_SECRET_KEY_FILE");
	struct rancher_source *r;
	int64_t deadline = 0, ttl = 0;
	int rc, read_only = 0, have_writer, have_reader;

	*out = NULL;
	if (rancher_set(url) && rancher_api_url_is_v3(url))
		return rancher_v3_new(cfg, "RANCHER_URL", url, out);
	if (rancher_set(curl) && rancher_api_url_is_v3(curl))
		return rancher_v3_new(cfg, "CATTLE_URL", curl, out);
	have_writer = rancher_set(url) && rancher_set(access);
	have_reader = rancher_set(caccess) && (rancher_set(csecret) || rancher_set(csecret_file)) &&
		      (rancher_set(curl) || rancher_set(url));
	if (!have_writer && !have_reader)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return err_set(ERR_FAILED, "out of memory");
	r->store = st;
	r->have_writer = have_writer;
	r->have_reader = have_reader;
	rc = http_opts_load(cfg, RANCHER_SECTION, RANCHER_ENV, &r->http);
	if (!rc)
		rc = rancher_keyfile_setting(cfg, "secret-key-file", RANCHER_ENV "_SECRET_KEY_FILE",
					     &r->writer_file);
	if (!rc)
		rc = rancher_keyfile_setting(cfg, "cattle-secret-key-file",
					     RANCHER_ENV "_CATTLE_SECRET_KEY_FILE", &r->reader_file);
	if (!rc)
		rc = config_ms(cfg, RANCHER_SECTION, "deadline", RANCHER_ENV "_DEADLINE", 10000, &deadline);
	if (!rc)
		rc = config_ms(cfg, RANCHER_SECTION, "cache-ttl", RANCHER_ENV "_CACHE_TTL", 30000, &ttl);
	if (!rc)
		rc = config_bool(cfg, RANCHER_SECTION, "read-only", RANCHER_ENV "_READ_ONLY", 0, &read_only);
	if (!rc)
		rc = rancher_hosts(r, hosts);
	deadline = deadline < 100 ? 100 : deadline > 600000 ? 600000 : deadline;
	r->ttl_s = ttl <= 0 ? 0 : ttl < 86400000 ? (ttl + 999) / 1000 : 86400;
	r->email_set = rancher_set(email);
	if (!rc && !(r->email = strdup(rancher_set(email) ? email : RANCHER_DEFAULT_EMAIL)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc && have_writer)
		rc = rancher_endpoint(r, &r->writer, "RANCHER_URL", url, access,
				      rancher_str(cfg, "secret-key", "RANCHER_SECRET_KEY"),
				      "RANCHER_ACCESS_KEY and RANCHER_SECRET_KEY", deadline);
	if (!rc && have_reader)
		rc = rancher_endpoint(r, &r->reader, rancher_set(curl) ? "CATTLE_URL" : "RANCHER_URL",
				      rancher_set(curl) ? curl : url, caccess, csecret,
				      "CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY", deadline);
	if (!rc && rancher_set(project)) {
		if (strlen(project) >= sizeof(r->writer.project) || strncmp(project, "1a", 2) != 0 ||
		    !project[2] || strspn(project + 2, "0123456789") != strlen(project + 2))
			rc = err_set(ERR_INVALID, "rancher project: expected an environment id like 1a5, got %s",
				     project);
		else {
			struct rancher_api *a = have_writer ? &r->writer : &r->reader;

			snprintf(a->project, sizeof(a->project), "%s", project);
			a->project_how = RANCHER_API_PROJECT_GIVEN;
		}
	}
	if (rc) {
		rancher_free(&r->base);
		return rc;
	}
	r->base.name = RANCHER_NAME;
	r->base.serves = rancher_serves;
	r->base.fetch = have_reader ? rancher_fetch : NULL;
	r->base.refresh_before = rancher_refresh_before;
	/* Writing back is opt-in: RANCHER_URL and RANCHER_ACCESS_KEY are often exported for the
	 * rancher CLI, and copying every `docker login` (a personal ghcr.io token, say) into a
	 * shared environment is not something to do unasked. `hosts` (a list, or all) says yes. */
	if (!rancher_set(hosts))
		read_only = 1;
	r->base.on_store = read_only ? NULL : rancher_on_store;
	r->base.on_erase = read_only ? NULL : rancher_on_erase;
	r->base.list = rancher_list_src;
	r->base.check = rancher_check;
	r->base.free = rancher_free;
	*out = &r->base;
	return 0;
}
