/* creds: the stores and the sources together (see creds.h and the table in source.h). */
#include "creds.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "lockfile.h"
#include "log.h"
#include "monotonic.h"
#include "secmem.h"
#include "token.h"
#include "utf8.h"
#include "write_behind.h"

/* How long a second caller waits for the first caller's fetch (single flight). */
#define FETCH_LOCK_WAIT_MS 30000

/* Longer than any API token or key we know of, short enough to refuse pasted garbage. */
#define SAVED_SECRET_MAX 4096

static int creds_is_reserved(const char *server)
{
	return strncmp(server, SOURCE_RESERVED_PREFIX, strlen(SOURCE_RESERVED_PREFIX)) == 0;
}

static int refuse_reserved(const char *server)
{
	return err_set(ERR_INVALID, "%s is reserved for the helper's own settings", server);
}

int creds_check_token(const char **secret, size_t *len, const char *what)
{
	switch (token_trim(secret, len, SAVED_SECRET_MAX)) {
	case TOKEN_EMPTY:
		return err_set(ERR_INVALID, "no %s on standard input", what);
	case TOKEN_LONG:
		return err_set(ERR_INVALID, "that is not a %s: longer than %d bytes", what, SAVED_SECRET_MAX);
	case TOKEN_CHARS:
		return err_set(ERR_INVALID, "that is not a %s: it holds spaces, control or "
			       "non-ASCII characters", what);
	default:
		return 0;
	}
}

int creds_save_secret(struct store *st, const char *key, const char *what, const char *secret,
		      size_t len)
{
	struct cred c = {0};
	int rc = creds_check_token(&secret, &len, what);

	if (rc)
		return rc;
	c.server = strdup(key);
	c.username = strdup(what);
	c.origin = strdup(SOURCE_ORIGIN_SECRET);
	c.secret = secmem_dup(secret, len);
	c.secret_len = len;
	rc = c.server && c.username && c.origin && c.secret ? st->put(st, &c)
							     : err_set(ERR_FAILED, "out of memory");
	cred_clear(&c);
	return rc;
}

int creds_forget_secret(struct store *st, const char *key)
{
	int rc = st->del(st, key);

	return rc == ERR_NOTFOUND ? 0 : rc;
}

struct source *creds_route(struct app *a, const char *server)
{
	size_t i;

	if (a->pinned)
		return a->pinned;
	for (i = 0; i < a->nsources; i++)
		if (a->sources[i]->serves(a->sources[i], server))
			return a->sources[i];
	return NULL;
}

/* ---- reading what the stores hold -------------------------------------------------------- */

static int is_origin(const struct cred *c, const char *origin)
{
	return c->origin && strcmp(c->origin, origin) == 0;
}

/* Is a source's copy good to answer without asking the source? */
static int is_fresh(struct source *src, const struct cred *c, time_t now)
{
	return c->expires == 0 || now + src->refresh_before(src, c) < c->expires;
}

static int is_unexpired(const struct cred *c, time_t now)
{
	return c->expires == 0 || now < c->expires;
}

/* Take *from into *to (to is cleared first). */
static void move_cred(struct cred *to, struct cred *from)
{
	cred_clear(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
}

/* What get would answer from for a server src serves: the store's entry, or the copies store's
 * copy of src when the store has no login and the copy is newer (or the store did not answer).
 * *answered: the store gave a definite answer (an entry or none); when it did not (locked, no
 * keyring, a timeout) it may hold the user's own login, which no copy may replace. */
static int look(struct app *a, struct source *src, const char *server, struct cred *out,
		int *answered)
{
	struct cred kept = {0};
	char why[1024] = "";
	int rc = a->store->get(a->store, server, out);

	*answered = rc == 0 || rc == ERR_NOTFOUND;
	if (rc) /* the store's reason: the copies store's look below must not replace it */
		snprintf(why, sizeof(why), "%s", err_msg());
	if (!*answered)
		log_debug("%s: the keyring did not answer: %s", server, err_msg());
	if ((rc == 0 && is_origin(out, CRED_ORIGIN_LOGIN)) || !a->copies)
		return rc;
	if (a->copies->get(a->copies, server, &kept) == 0 && is_origin(&kept, src->name) &&
	    (rc != 0 || !is_origin(out, src->name) || kept.expires > out->expires)) {
		log_debug("%s: copy in the kernel keyring", server);
		move_cred(out, &kept);
		return 0;
	}
	cred_clear(&kept);
	return rc ? err_set(rc, "%s", why) : 0;
}

static void log_found(struct source *src, const char *server, const struct cred *c, int rc)
{
	time_t now = time(NULL);

	if (rc)
		log_debug("%s: nothing cached", server);
	else if (c->expires)
		log_debug("%s: cached copy (origin %s) %s, expires in %lld s", server, c->origin,
			  !is_unexpired(c, now) ? "expired" : is_fresh(src, c, now) ? "fresh" : "stale",
			  (long long)(c->expires - now));
	else
		log_debug("%s: cached (origin %s), no expiry", server, c->origin);
}

/* Can c be answered without asking src? The user's own login always wins: they stored it on
 * purpose. */
static int answers(struct source *src, const struct cred *c)
{
	return is_origin(c, CRED_ORIGIN_LOGIN) ||
	       (is_origin(c, src->name) && is_fresh(src, c, time(NULL)));
}

/* ---- keeping a source's copy ------------------------------------------------------------- */

int creds_keep_copy(struct app *a, const struct cred *c)
{
	int rc = a->store->put(a->store, c);

	if (!rc)
		return 0;
	log_debug("%s: the keyring cannot keep the copy (%s)", c->server, err_msg());
	if (!a->copies)
		return rc;
	rc = a->copies->put(a->copies, c);
	log_debug("%s: %s", c->server, rc ? err_msg() : "copy kept in the kernel keyring");
	return rc;
}

/* A fresh copy from a source. With write-behind, a child stores it after the answer, holding
 * the fetch lock until it is done (write_behind.h), so the client does not wait for the
 * keyring's write. A keyring that did not answer the get may hold the user's own login, which
 * the copy must not replace: then it goes to the copies store only. Best effort either way:
 * an answer without a place to keep it is still an answer. */
static void keep_copy(struct app *a, const struct cred *c, int lock, int answered)
{
	if (!answered) {
		if (a->copies && a->copies->put(a->copies, c) == 0)
			log_debug("%s: copy kept in the kernel keyring (the keyring did not answer)", c->server);
		else
			log_debug("%s: the copy is not kept: %s", c->server,
				  a->copies ? err_msg() : "the keyring did not answer");
		return;
	}
	if (a->write_behind) {
		if (write_behind_spawn(c, lock) == 0)
			return;
		log_debug("%s: no write-behind (%s): storing the copy now", c->server, err_msg());
	}
	(void)creds_keep_copy(a, c);
}

/* ---- get ------------------------------------------------------------------------------------ */

/* The single-flight lock for one server, saying in the debug log when it had to wait (for
 * another fetch, or for a write-behind child storing its copy). */
static int lock_fetch(struct source *src, const char *server)
{
	char name[96], prefix[48];
	int64_t waited = monotonic_ms();
	int lock;

	snprintf(prefix, sizeof(prefix), "fetch-%s", src->name);
	lockfile_name(name, sizeof(name), prefix, server);
	lock = lockfile_acquire(name, FETCH_LOCK_WAIT_MS, NULL);
	waited = monotonic_ms() - waited;
	if (waited >= 50)
		log_debug("%s: waited %lld ms for the single-flight lock", server, (long long)waited);
	return lock;
}

/* A source's answer is input like any other: the keyring refuses a username that is not
 * UTF-8, and the answer to the client (and a copy to the write-behind child) is JSON, which
 * carries UTF-8 text only. */
static int check_fetched(struct source *src, const struct cred *c)
{
	if (!utf8_valid(c->username, strlen(c->username)))
		return err_set(ERR_UNAVAILABLE, "%s answered a username that is not valid UTF-8", src->name);
	if (!utf8_valid(c->secret, c->secret_len))
		return err_set(ERR_UNAVAILABLE, "%s answered a password that is not valid UTF-8", src->name);
	return 0;
}

static int get_from_source(struct app *a, struct source *src, const char *server, struct cred *out)
{
	struct cred cached = {0}, fetched = {0};
	int answered, again, lock, rc;

	rc = look(a, src, server, &cached, &answered);
	log_found(src, server, &cached, rc);
	if (rc == 0 && answers(src, &cached)) {
		log_debug("%s: answered from the keyring, %s not asked", server, src->name);
		move_cred(out, &cached);
		return 0;
	}
	if (!src->fetch) {
		cred_clear(&cached);
		if (rc && rc != ERR_NOTFOUND) /* the keyring's own failure, as for any other host */
			return rc;
		log_debug("%s: %s cannot be read (write-back only): not found", server, src->name);
		return err_set(ERR_NOTFOUND, "no entry for %s", server);
	}
	lock = lock_fetch(src, server);
	if (lock >= 0) {
		/* Another helper may have fetched while we waited for the lock, or the user logged in,
		 * or a keyring that did not answer the first look answers now: look again. */
		struct cred now = {0};

		if (look(a, src, server, &now, &again) == 0 && answers(src, &now)) {
			log_debug("%s: answered after the single-flight wait, %s not asked", server, src->name);
			lockfile_release(lock);
			cred_clear(&cached);
			move_cred(out, &now);
			return 0;
		}
		answered |= again;
		/* What this look found is at least as new as the first: it is what a failed fetch
		 * falls back on (a copy a write-behind child was still storing during the first). */
		if (now.server)
			move_cred(&cached, &now);
		cred_clear(&now);
	} else {
		log_debug("%s: no single-flight lock (%s): fetching anyway", server, err_msg());
	}
	log_debug("%s: fetching from %s", server, src->name);
	rc = src->fetch(src, server, &fetched);
	if (!rc)
		secmem_remember(fetched.secret, fetched.secret_len);
	if (!rc)
		rc = check_fetched(src, &fetched);
	if (!rc) {
		log_debug("%s: %s answered, expires %s%lld s", server, src->name,
			  fetched.expires ? "in " : "never, ",
			  fetched.expires ? (long long)(fetched.expires - time(NULL)) : 0LL);
		keep_copy(a, &fetched, lock, answered);
		move_cred(out, &fetched);
	} else if (is_origin(&cached, src->name) && is_unexpired(&cached, time(NULL))) {
		/* Stale while error: the copy is still valid, the source is just not answering. */
		log_debug("%s: %s failed (%s): serving the cached copy, still valid", server, src->name,
			  err_msg());
		move_cred(out, &cached);
		rc = 0;
	} else {
		log_debug("%s: %s failed: %s", server, src->name, err_msg());
	}
	lockfile_release(lock);
	cred_clear(&cached);
	cred_clear(&fetched);
	return rc;
}

int creds_get(struct app *a, const char *server, struct cred *out)
{
	struct source *src;
	struct cred c = {0};
	int rc;

	if (creds_is_reserved(server))
		return refuse_reserved(server);
	src = creds_route(a, server);
	log_debug("get %s: %s", server, src ? src->name : "keyring only");
	rc = src ? get_from_source(a, src, server, &c) : a->store->get(a->store, server, &c);
	if (!rc)
		*out = c;
	return rc;
}

/* ---- store, erase ------------------------------------------------------------------------- */

/* store and erase of a server that a source fetches for take its single-flight lock first: a
 * fetch under way, and the write-behind child storing its copy (it holds the lock until done),
 * finish before the user's change, which then wins instead of being overwritten. -1 when
 * there is no lock to take, or it could not be had (the change goes ahead anyway). */
static int lock_for_change(struct source *src, const char *server)
{
	int lock;

	if (!src || !src->fetch)
		return -1;
	lock = lock_fetch(src, server);
	if (lock < 0)
		log_debug("%s: no single-flight lock (%s): changing anyway", server, err_msg());
	return lock;
}

int creds_store(struct app *a, const struct cred *c)
{
	struct source *src;
	int lock, rc;

	if (creds_is_reserved(c->server))
		return refuse_reserved(c->server);
	secmem_remember(c->secret, c->secret_len); /* a source may quote what it was sent */
	src = creds_route(a, c->server);
	lock = lock_for_change(src, c->server);
	rc = a->store->put(a->store, c);
	lockfile_release(lock);
	log_debug("store %s: keyring %s", c->server, rc ? "failed" : "saved");
	if (rc || !src || !src->on_store)
		return rc;
	rc = src->on_store(src, c);
	log_debug("store %s: told %s: %s", c->server, src->name, rc ? err_msg() : "done");
	return rc;
}

int creds_erase(struct app *a, const char *server)
{
	struct source *src;
	struct cred cached = {0};
	int have_cached = 0, answered, lock, rc, copy_rc, src_rc = 0;

	if (creds_is_reserved(server))
		return refuse_reserved(server);
	src = creds_route(a, server);
	lock = lock_for_change(src, server);
	/* Read under the lock: the copy to revoke may be the one a write-behind just stored. */
	if (src && src->on_erase)
		have_cached = look(a, src, server, &cached, &answered) == 0;
	/* A copy the keyring could not keep goes too: the user logged out. (First, so that the
	 * keyring's own error is the one kept.) */
	copy_rc = a->copies ? a->copies->del(a->copies, server) : ERR_NOTFOUND;
	rc = a->store->del(a->store, server);
	if (rc == ERR_NOTFOUND && copy_rc == 0)
		rc = 0;
	lockfile_release(lock);
	log_debug("erase %s: keyring %s; route %s", server,
		  rc == 0 ? "deleted" : rc == ERR_NOTFOUND ? "had nothing" : "failed",
		  src ? src->name : "keyring only");
	if (src && src->on_erase && (rc == 0 || rc == ERR_NOTFOUND)) {
		src_rc = src->on_erase(src, server, have_cached ? &cached : NULL);
		log_debug("erase %s: told %s: %s", server, src->name, src_rc ? err_msg() : "done");
	}
	cred_clear(&cached);
	return src_rc ? src_rc : rc;
}

/* ---- list ------------------------------------------------------------------------------------ */

/* Append what from holds that l lacks (hiding the helper's own reserved entries). */
static int merge(struct cred_list *l, const struct cred_list *from)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < from->len; i++)
		if (!creds_is_reserved(from->items[i].server) && cred_list_find(l, from->items[i].server) < 0)
			rc = cred_list_add(l, &from->items[i]);
	return rc;
}

int creds_list(struct app *a, struct cred_list *out)
{
	struct cred_list got = {0}, l = {0};
	char partial[1024] = "";
	size_t i;
	int rc = a->store->list(a->store, &got);

	if (rc == STORE_PARTIAL) {
		snprintf(partial, sizeof(partial), "%s", err_msg());
		rc = 0;
	}
	if (!rc)
		rc = merge(&l, &got);
	cred_list_clear(&got);
	/* A source, or the copies store, that cannot be read must not hide what the keyring holds. */
	if (!rc && a->copies && a->copies->list(a->copies, &got) == 0)
		rc = merge(&l, &got);
	cred_list_clear(&got);
	for (i = 0; !rc && i < a->nsources; i++) {
		struct source *src = a->sources[i];

		if (src->list && src->list(src, &got) == 0)
			rc = merge(&l, &got);
		else if (src->list)
			log_debug("list: %s left out: %s", src->name, err_msg());
		cred_list_clear(&got);
	}
	if (rc) {
		cred_list_clear(&l);
		return rc;
	}
	*out = l;
	return partial[0] ? err_set(STORE_PARTIAL, "%s", partial) : 0;
}
