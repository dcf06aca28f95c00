/* creds: keyring and sources together (see creds.h and the table in source.h). */
#include "creds.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "monotonic.h"
#include "lockfile.h"
#include "log.h"
#include "secmem.h"
#include "utf8.h"
#include "store_kernel.h"
#include "write_behind.h"

/* How long a second caller waits for the first caller's fetch (single flight). */
#define FETCH_LOCK_WAIT_MS 30000

int creds_is_reserved(const char *server)
{
	return strncmp(server, CREDS_RESERVED_PREFIX, strlen(CREDS_RESERVED_PREFIX)) == 0;
}

static int refuse_reserved(const char *server)
{
	return err_set(ERR_INVALID, "%s is reserved for the helper's own settings", server);
}

/* Longer than any API token or key we know of, short enough to refuse pasted garbage. */
#define SAVED_SECRET_MAX 4096

int creds_save_secret(struct store *st, const char *key, const char *what, const char *secret,
		      size_t len)
{
	struct cred c = {0};
	size_t i;
	int rc;

	while (len && (secret[0] == ' ' || secret[0] == '\t' || secret[0] == '\n' || secret[0] == '\r')) {
		secret++;
		len--;
	}
	while (len && (secret[len - 1] == ' ' || secret[len - 1] == '\t' || secret[len - 1] == '\n' ||
		       secret[len - 1] == '\r'))
		len--;
	if (len == 0)
		return err_set(ERR_INVALID, "no %s on standard input", what);
	if (len > SAVED_SECRET_MAX)
		return err_set(ERR_INVALID, "that is not a %s: longer than %d bytes", what, SAVED_SECRET_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)secret[i] <= 0x20 || (unsigned char)secret[i] >= 0x7f)
			return err_set(ERR_INVALID, "that is not a %s: it holds spaces, control or "
				       "non-ASCII characters", what);
	c.server = strdup(key);
	c.username = strdup(what);
	c.origin = strdup(CREDS_ORIGIN_SECRET);
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

static int is_origin(const struct cred *c, const char *origin)
{
	return c->origin && strcmp(c->origin, origin) == 0;
}

/* Is a source's cached copy good to answer without asking the source? */
static int is_fresh(struct source *src, const struct cred *c, time_t now)
{
	return c->expires == 0 || now + src->refresh_before(src, c) < c->expires;
}

static int is_unexpired(const struct cred *c, time_t now)
{
	return c->expires == 0 || now < c->expires;
}

/* The single-flight lock for one server: a file name from a hash of the key. */
static int lock_fetch(struct source *src, const char *server)
{
	unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
	char name[96];
	const char *p;

	for (p = server; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(name, sizeof(name), "fetch-%s-%016llx", src->name, h);
	return lockfile_acquire(name, FETCH_LOCK_WAIT_MS);
}

/* Take *from into *to (to is cleared first). */
static void move_cred(struct cred *to, struct cred *from)
{
	cred_clear(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
}

/* lock_fetch, saying in the debug log when it had to wait (for another fetch, or for a
 * write-behind child storing its copy). */
static int lock_fetch_waiting(struct source *src, const char *server)
{
	int64_t waited = monotonic_ms();
	int lock = lock_fetch(src, server);

	waited = monotonic_ms() - waited;
	if (waited >= 50)
		log_debug("%s: waited %lld ms for the single-flight lock", server, (long long)waited);
	return lock;
}

static const char *origin_of(const struct cred *c)
{
	return c->origin ? c->origin : "none";
}

/* Keep what a source answered. With write-behind: in the kernel cache now, so the next get
 * finds it at once, and in the keyring by a child that holds the fetch lock until it is done
 * (write_behind.h), so the client does not wait for the keyring's write. Without it, or when
 * the child cannot start: in the keyring now. Best effort either way: an answer without a
 * keyring is still an answer. A keyring that did not answer the get (timed out, locked, not
 * reachable) may hold the user's own login, which the copy must not replace: then the copy
 * stays in the kernel cache only, for its short life, so that the next gets do not all fetch. */
static void keep_copy(struct app *a, const struct cred *c, int lock, int keyring_answered)
{
	if (!keyring_answered) {
		log_debug("%s: the copy is not stored: the keyring did not answer", c->server);
		store_kernel_prime(a->store, c, 0);
		return;
	}
	if (a->write_behind) {
		store_kernel_prime(a->store, c, 1);
		if (write_behind_spawn(c, lock) == 0)
			return;
		log_debug("%s: no write-behind (%s): storing the copy now", c->server, err_msg());
	}
	if (a->store->put(a->store, c) != 0)
		log_debug("%s: not cached: %s", c->server, err_msg());
	else
		store_kernel_note_entry(a->store, c); /* put forgot the note (store_kernel.h) */
}

static int prepare_source(void *src)
{
	return ((struct source *)src)->prepare(src);
}

static int get_from_source(struct app *a, struct source *src, const char *server, struct cred *out)
{
	struct cred cached = {0}, fetched = {0};
	int have_cached, keyring_answered, lock, rc;
	time_t now = time(NULL);
	/* Is the keyring likely to leave this get to the source? The kernel cache keeps a note (no
	 * secret) for a server whose entry a get or a fetch saw. Without one a fetch is likely, and
	 * its preparation overlaps the keyring's answer. With one the keyring most likely answers,
	 * and loading libcurl for nothing would cost that get about 4 ms. Where the kernel cache
	 * is off there are no notes (-1), and no guessing. */
	int noted = store_kernel_expects_entry(a->store, server);

	if (noted == 0 && src->fetch && src->prepare)
		store_overlap(prepare_source, src);
	rc = a->store->get(a->store, server, &cached);
	store_overlap(NULL, NULL);
	have_cached = rc == 0;
	keyring_answered = rc == 0 || rc == ERR_NOTFOUND;
	if (!keyring_answered)
		log_debug("%s: the keyring did not answer: %s", server, err_msg());
	else if (!have_cached)
		log_debug("%s: nothing cached in the keyring", server);
	else if (cached.expires)
		log_debug("%s: cached copy (origin %s) %s, expires in %lld s", server, origin_of(&cached),
			  !is_unexpired(&cached, now) ? "expired" : is_fresh(src, &cached, now) ? "fresh" : "stale",
			  (long long)(cached.expires - now));
	else
		log_debug("%s: cached copy (origin %s), no expiry", server, origin_of(&cached));
	/* The user's own login always wins: they stored it on purpose. */
	if (have_cached && (is_origin(&cached, CRED_ORIGIN_LOGIN) ||
			    (is_origin(&cached, src->name) && is_fresh(src, &cached, now)))) {
		log_debug("%s: answered from the keyring, %s not asked", server, src->name);
		if (noted == 0)
			store_kernel_note_entry(a->store, &cached);
		move_cred(out, &cached);
		return 0;
	}
	if (!src->fetch) {
		log_debug("%s: %s cannot be read (write-back only): not found", server, src->name);
		cred_clear(&cached);
		return err_set(ERR_NOTFOUND, "no entry for %s", server);
	}
	lock = lock_fetch_waiting(src, server);
	if (lock >= 0) {
		/* Another helper may have fetched while we waited for the lock: look again. A
		 * keyring that did not answer the first look may answer this one, with the user's
		 * own login. */
		struct cred again = {0};
		int again_rc = a->store->get(a->store, server, &again);

		keyring_answered |= again_rc == 0 || again_rc == ERR_NOTFOUND;
		if (again_rc == 0 && (is_origin(&again, CRED_ORIGIN_LOGIN) ||
				      (is_origin(&again, src->name) && is_fresh(src, &again, time(NULL))))) {
			log_debug("%s: %s", server, is_origin(&again, CRED_ORIGIN_LOGIN)
				  ? "the keyring answered this time, with a login"
				  : "another helper fetched it while we waited (single flight)");
			lockfile_release(lock);
			cred_clear(&cached);
			move_cred(out, &again);
			return 0;
		}
		cred_clear(&again);
	} else {
		log_debug("%s: no single-flight lock (%s): fetching anyway", server, err_msg());
	}
	log_debug("%s: fetching from %s", server, src->name);
	rc = src->fetch(src, server, &fetched);
	if (!rc)
		secmem_remember(fetched.secret, fetched.secret_len);
	/* An API's answer is input like any other: the keyring refuses text that is not UTF-8. */
	if (!rc && !utf8_valid(fetched.username, strlen(fetched.username)))
		rc = err_set(ERR_UNAVAILABLE, "%s answered a username that is not valid UTF-8", src->name);
	if (!rc) {
		log_debug("%s: %s answered, expires %s%lld s", server, src->name,
			  fetched.expires ? "in " : "never, ", fetched.expires ?
			  (long long)(fetched.expires - time(NULL)) : 0LL);
		keep_copy(a, &fetched, lock, keyring_answered);
		move_cred(out, &fetched);
	} else if (have_cached && is_origin(&cached, src->name) && is_unexpired(&cached, time(NULL))) {
		/* Stale while error: the copy is still valid, the source is just not answering. */
		log_debug("%s: %s failed (%s): serving the cached copy, still valid", server,
			  src->name, err_msg());
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

/* store and erase of a server that a source fetches for take its single-flight lock first: a
 * fetch under way, and the write-behind child storing its copy (it holds the lock until done),
 * finish before the user's change, which then wins instead of being overwritten. -1 when
 * there is no lock to take, or it could not be had (the change goes ahead anyway). */
static int lock_for_change(struct source *src, const char *server)
{
	int lock;

	if (!src || !src->fetch)
		return -1;
	lock = lock_fetch_waiting(src, server);
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
	if (rc)
		return rc;
	if (!src || !src->on_store)
		return 0;
	rc = src->on_store(src, c);
	log_debug("store %s: told %s: %s", c->server, src->name, rc ? err_msg() : "done");
	return rc;
}

int creds_erase(struct app *a, const char *server)
{
	struct source *src;
	struct cred cached = {0};
	int have_cached = 0, lock, rc, src_rc = 0;

	if (creds_is_reserved(server))
		return refuse_reserved(server);
	src = creds_route(a, server);
	lock = lock_for_change(src, server);
	/* Read under the lock: the copy to revoke may be the one a write-behind just stored. */
	if (src && src->on_erase)
		have_cached = a->store->get(a->store, server, &cached) == 0;
	rc = a->store->del(a->store, server);
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

int creds_list(struct app *a, struct cred_list *out)
{
	struct cred_list stored = {0}, l = {0};
	size_t i, j;
	int rc = a->store->list(a->store, &stored);

	for (i = 0; !rc && i < stored.len; i++)
		if (!creds_is_reserved(stored.items[i].server))
			rc = cred_list_add(&l, &stored.items[i]);
	cred_list_clear(&stored);
	for (i = 0; !rc && i < a->nsources; i++) {
		struct cred_list extra = {0};
		struct source *src = a->sources[i];

		/* A source that cannot be reached must not hide what the keyring holds. */
		if (!src->list || src->list(src, &extra) != 0) {
			if (src->list)
				log_debug("list: %s left out: %s", src->name, err_msg());
			cred_list_clear(&extra);
			continue;
		}
		for (j = 0; !rc && j < extra.len; j++)
			if (cred_list_find(&l, extra.items[j].server) < 0)
				rc = cred_list_add(&l, &extra.items[j]);
		cred_list_clear(&extra);
	}
	if (rc) {
		cred_list_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}
