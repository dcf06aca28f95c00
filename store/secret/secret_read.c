/* secret_read: see secret_read.h.
 *
 * get, in three round trips after connecting:
 *   1. Hello, SearchItems({server})                       (a second search if none found)
 *   2. OpenSession("plain"), Properties.Get(Attributes) of each unlocked item
 *      (and of their age, Modified and Created, when there are several: rare)
 *   3. GetSecrets([the newest item], session)
 * list: SearchItems for each schema (again for an empty answer), then the Attributes of every
 * item, at most WINDOW calls in flight (dbus-daemon's default limit on a connection's pending
 * replies is 128).
 *
 * One property at a time, never GetAll: gnome-keyring looks an item up anew for each property
 * it returns, at a cost that grows with the keyring (docs/performance.md).
 *
 * The "plain" session: the secret crosses the session bus unencrypted, from gnome-keyring to
 * this process of the same user, on a socket only that user can open. libsecret would run a
 * Diffie-Hellman exchange for each call, which protects against nothing here: a process that
 * could read the bus traffic could ask the unlocked keyring itself (docs/performance.md). */
#include "secret_read.h"

#include <stdlib.h>
#include <string.h>

#include "dbus.h"
#include "err.h"
#include "monotonic.h"
#include "secmem.h"
#include "secret_item.h"

#define SECRETS "org.freedesktop.secrets"
#define SERVICE_PATH "/org/freedesktop/secrets"
#define SERVICE "org.freedesktop.Secret.Service"
#define ITEM "org.freedesktop.Secret.Item"
#define PROPERTIES "org.freedesktop.DBus.Properties"
#define WINDOW 64
#define MAX_ITEMS 100000
#define MAX_COLLECTIONS 64

/* What the reads found: every item of interest, with its attributes once read. */
struct found {
	struct secret_item *items;
	size_t len, cap;
	int vanished; /* an item was deleted between the search and its read */
};

static void found_clear(struct found *f)
{
	size_t i;

	for (i = 0; i < f->len; i++)
		secret_item_clear(&f->items[i]);
	free(f->items);
	memset(f, 0, sizeof(*f));
}

static int found_add(struct found *f, const char *path, size_t n, int locked)
{
	struct secret_item *it;

	if (f->len == MAX_ITEMS)
		return err_set(ERR_UNAVAILABLE, "the keyring holds more than %d items", MAX_ITEMS);
	if (f->len == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct secret_item *bigger = realloc(f->items, cap * sizeof(*bigger));

		if (!bigger)
			return err_set(ERR_FAILED, "out of memory");
		f->items = bigger;
		f->cap = cap;
	}
	it = &f->items[f->len];
	memset(it, 0, sizeof(*it));
	it->path = strndup(path, n);
	if (!it->path)
		return err_set(ERR_FAILED, "out of memory");
	it->locked = locked;
	f->len++;
	return 0;
}

/* An error reply as our code: the service missing is plain "unavailable"; anything else is
 * libsecret's to interpret. */
static int error_reply(const struct dbus_reply *r, const char *what)
{
	if (strcmp(r->error, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
	    strcmp(r->error, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
		return err_set(ERR_UNAVAILABLE, "%s: no Secret Service on the session bus "
			       "(start gnome-keyring-daemon or another keyring)", what);
	err_set(ERR_UNAVAILABLE, "%s: %s", what, r->error);
	return SECRET_READ_FALLBACK;
}

static int malformed(const char *what)
{
	err_set(ERR_UNAVAILABLE, "%s: an answer this helper cannot read", what);
	return SECRET_READ_FALLBACK;
}

/* Did the item go away under us? gnome-keyring answers a call on a deleted item with
 * UnknownMethod ("No such secret item at path"), other services with NoSuchObject or
 * UnknownObject. */
static int vanished(const struct dbus_reply *r)
{
	return strcmp(r->error, "org.freedesktop.DBus.Error.UnknownMethod") == 0 ||
	       strcmp(r->error, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
	       strcmp(r->error, "org.freedesktop.Secret.Error.NoSuchObject") == 0;
}

/* ---- SearchItems ---------------------------------------------------------------------- */

/* (ao ao): unlocked, then locked. */
static int on_search(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct found *f = ctx;
	struct dbus_iter it;
	size_t end;
	int pass, rc = 0;

	(void)i;
	if (r->type == 3)
		return error_reply(r, "cannot search the keyring");
	if (strcmp(r->sig, "aoao") != 0)
		return malformed("cannot search the keyring");
	dbus_iter_init(&it, r);
	for (pass = 0; !rc && pass < 2; pass++) {
		if (dbus_get_array(&it, 4, &end))
			return malformed("cannot search the keyring");
		while (!rc && it.pos < end) {
			const char *path;
			size_t n;

			if (dbus_get_string(&it, &path, &n))
				return malformed("cannot search the keyring");
			rc = found_add(f, path, n, pass == 1);
		}
	}
	return rc;
}

/* One call to the Secret Service (body freed here) and its reply, handed to on_reply. */
static int call(struct dbus_conn *c, const char *path, const char *iface, const char *member,
		const char *sig, struct dbus_body *body, dbus_reply_fn *on_reply, void *ctx)
{
	uint32_t serial = dbus_call(c, SECRETS, path, iface, member, sig, body);

	dbus_body_free(body);
	return serial ? dbus_collect(c, serial, 1, on_reply, ctx) : err_set(ERR_FAILED, "out of memory");
}

/* SearchItems({key: value}), answered into f. */
static int search(struct dbus_conn *c, const char *key, const char *value, struct found *f)
{
	struct dbus_body body = {SECBUF_INIT, 0};

	dbus_put_dict_ss(&body, 1, &key, &value);
	return call(c, SERVICE_PATH, SERVICE, "SearchItems", "a{ss}", &body, on_search, f);
}

/* ---- Properties.Get ------------------------------------------------------------------------ */

/* a{ss} into the item's attributes. */
static int read_attributes(struct dbus_iter *it, struct secret_item *item)
{
	size_t end;
	int rc = 0;

	if (dbus_get_array(it, 8, &end))
		return -1;
	while (!rc && it->pos < end) {
		const char *k, *v;
		size_t kn, vn;

		if (dbus_get_struct(it) || dbus_get_string(it, &k, &kn) || dbus_get_string(it, &v, &vn))
			return -1;
		rc = secret_item_attr(item, k, v);
	}
	return rc;
}

/* OpenSession("plain", "") → (v o): the session's path. */
static int on_session(char **session, const struct dbus_reply *r)
{
	struct dbus_iter it;
	const char *sig, *path;
	size_t n;

	if (r->type == 3)
		return error_reply(r, "cannot open a session with the Secret Service");
	dbus_iter_init(&it, r);
	if (strcmp(r->sig, "vo") != 0 || dbus_get_variant(&it, &sig) || dbus_skip(&it, &sig) ||
	    dbus_get_string(&it, &path, &n))
		return malformed("cannot open a session with the Secret Service");
	*session = strndup(path, n);
	return *session ? 0 : err_set(ERR_FAILED, "out of memory");
}

/* One window of calls: the session's (when asked for) first, then one property read per item. */
struct batch {
	struct found *f;
	char **session;      /* NULL: no OpenSession in this window */
	const char *prop;    /* Attributes, Modified or Created */
	size_t idx[WINDOW];  /* the item each read is for */
};

/* Get's (v) reply for the property prop: Attributes (a{ss}), Modified or Created (t). */
static int read_property(const struct dbus_reply *r, const char *prop, struct secret_item *item)
{
	struct dbus_iter it;
	const char *sig;
	int rc;

	dbus_iter_init(&it, r);
	if (strcmp(r->sig, "v") != 0 || dbus_get_variant(&it, &sig))
		return -1;
	if (strcmp(prop, "Attributes") == 0 && strcmp(sig, "a{ss}") == 0)
		return (rc = read_attributes(&it, item)) != 0 ? rc : secret_item_finish(item);
	if (strcmp(prop, "Modified") == 0 && strcmp(sig, "t") == 0)
		return dbus_get_u64(&it, &item->modified);
	if (strcmp(prop, "Created") == 0 && strcmp(sig, "t") == 0)
		return dbus_get_u64(&it, &item->created);
	return -1;
}

static int on_batch(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct batch *b = ctx;
	struct secret_item *item;
	int rc;

	if (b->session && i == 0)
		return on_session(b->session, r);
	item = &b->f->items[b->idx[i - (b->session ? 1 : 0)]];
	if (r->type == 3 && vanished(r)) {
		b->f->vanished = 1;
		item->kind = ITEM_OTHER;
		return 0;
	}
	if (r->type == 3)
		return error_reply(r, "cannot read an entry's attributes");
	rc = read_property(r, b->prop, item);
	return rc < 0 ? malformed("cannot read an entry's attributes") : rc;
}

/* Get of prop for the unlocked items of f (a locked item shows nothing worth reading) that want
 * says to read (NULL: all), WINDOW calls at a time. With session, an OpenSession("plain") rides
 * in the first window. */
static int read_items(struct dbus_conn *c, struct found *f, const char *prop,
		      int (*want)(const struct found *f, size_t i), char **session)
{
	struct dbus_body args = {SECBUF_INIT, 0}, plain = {SECBUF_INIT, 0};
	size_t next = 0;
	int rc = 0;

	dbus_put_string(&args, ITEM);
	dbus_put_string(&args, prop);
	dbus_put_string(&plain, "plain");
	dbus_put_variant_string(&plain, "");
	do {
		struct batch b = {f, session, prop, {0}};
		uint32_t first = c->serial + 1, n = 0;
		int queued = 1;

		if (session) {
			queued = dbus_call(c, SECRETS, SERVICE_PATH, SERVICE, "OpenSession", "sv", &plain) != 0;
			n = 1;
		}
		for (; queued && next < f->len && n < WINDOW; next++) {
			if (f->items[next].locked || (want && !want(f, next)))
				continue;
			queued = dbus_call(c, SECRETS, f->items[next].path, PROPERTIES, "Get", "ss", &args) != 0;
			b.idx[n - (session ? 1 : 0)] = next;
			n++;
		}
		/* Serials are consecutive: dbus_call takes the next one only when it succeeds. */
		if (!queued)
			rc = err_set(ERR_FAILED, "out of memory");
		else if (n)
			rc = dbus_collect(c, first, n, on_batch, &b);
		session = NULL;
	} while (!rc && next < f->len);
	dbus_body_free(&args);
	dbus_body_free(&plain);
	return rc;
}

/* ---- get ----------------------------------------------------------------------------------- */

struct secret_answer {
	struct secret_item *item;
	struct cred *out;
	int got;
};

/* GetSecrets → a{o(oayays)}: (session, parameters, value, content type) per item. */
static int on_secrets(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct secret_answer *a = ctx;
	struct dbus_iter it;
	size_t end;

	(void)i;
	if (r->type == 3 && vanished(r))
		return 0; /* got stays 0: search again */
	if (r->type == 3)
		return error_reply(r, "cannot read the secret");
	if (strcmp(r->sig, "a{o(oayays)}") != 0)
		return malformed("cannot read the secret");
	dbus_iter_init(&it, r);
	if (dbus_get_array(&it, 8, &end))
		return malformed("cannot read the secret");
	while (it.pos < end) {
		const char *path, *s;
		const unsigned char *params, *value;
		size_t n, np, nv;

		if (dbus_get_struct(&it) || dbus_get_string(&it, &path, &n) || dbus_get_struct(&it) ||
		    dbus_get_string(&it, &s, &n) || dbus_get_bytes(&it, &params, &np) ||
		    dbus_get_bytes(&it, &value, &nv) || dbus_get_string(&it, &s, &n))
			return malformed("cannot read the secret");
		if (strcmp(path, a->item->path) == 0 && !a->got) {
			int rc = secret_item_take(a->item, value, nv, a->out);

			if (rc)
				return rc;
			a->got = 1;
		}
	}
	return 0;
}

/* One look: search, read, pick, fetch the secret. *again when the item vanished meanwhile. */
static int get_once(struct dbus_conn *c, const char *server, struct cred *out, int *again)
{
	struct found f = {0};
	struct dbus_body body = {SECBUF_INIT, 0};
	struct secret_answer a = {NULL, out, 0};
	char *session = NULL;
	const char *one[1];
	size_t i;
	int rc;

	*again = 0;
	rc = search(c, "server", server, &f);
	/* Nothing found may be the admission race (secret_read.h): ask once more. */
	if (!rc && f.len == 0)
		rc = search(c, "server", server, &f);
	if (!rc && f.len == 0)
		rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
	if (!rc)
		rc = read_items(c, &f, "Attributes", NULL, &session);
	/* Several items for one server: their age decides (secret_item.h). */
	if (!rc && f.len > 1)
		rc = read_items(c, &f, "Modified", NULL, NULL);
	if (!rc && f.len > 1)
		rc = read_items(c, &f, "Created", NULL, NULL);
	for (i = 0; !rc && i < f.len; i++)
		if (!a.item || secret_item_better(&f.items[i], a.item))
			a.item = &f.items[i];
	if (!rc && (a.item->kind == ITEM_OTHER || a.item->locked)) {
		if (f.vanished)
			*again = 1;
		else if (a.item->locked) {
			err_set(ERR_UNAVAILABLE, "the keyring is locked");
			rc = SECRET_READ_FALLBACK;
		} else {
			rc = err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
		}
	}
	if (!rc && !*again && !session)
		rc = malformed("cannot open a session with the Secret Service");
	if (!rc && !*again) {
		one[0] = a.item->path;
		dbus_put_paths(&body, 1, one);
		dbus_put_string(&body, session);
		rc = call(c, SERVICE_PATH, SERVICE, "GetSecrets", "aoo", &body, on_secrets, &a);
		if (!rc && !a.got)
			*again = 1;
	}
	free(session);
	found_clear(&f);
	return rc;
}

int secret_read_get(const char *address, const char *server, int64_t deadline, struct cred *out)
{
	struct dbus_conn c;
	int attempt, again = 1, rc;

	rc = dbus_open(&c, address, deadline);
	if (rc == DBUS_UNSUPPORTED)
		rc = SECRET_READ_FALLBACK; /* an address we do not speak: libsecret does */
	/* A store replaces an item by creating the new one, then deleting the old: a read that
	 * lands in between may find the old one gone. Looking again finds the new one. */
	for (attempt = 0; !rc && again && attempt < 4; attempt++)
		rc = get_once(&c, server, out, &again);
	if (!rc && again)
		rc = err_set(ERR_UNAVAILABLE, "the entry for %s kept changing while it was read", server);
	dbus_close(&c);
	return rc;
}

/* ---- list ---------------------------------------------------------------------------------- */

static int by_server(const void *pa, const void *pb)
{
	const struct secret_item *a = pa, *b = pb;

	return strcmp(a->c.server ? a->c.server : "", b->c.server ? b->c.server : "");
}

/* After sorting by server: does item i share its server with a neighbour? */
static int shares_server(const struct found *f, size_t i)
{
	const char *s = f->items[i].c.server;

	return s && ((i > 0 && f->items[i - 1].c.server && strcmp(f->items[i - 1].c.server, s) == 0) ||
		     (i + 1 < f->len && f->items[i + 1].c.server &&
		      strcmp(f->items[i + 1].c.server, s) == 0));
}

static int by_path(const void *pa, const void *pb)
{
	return strcmp(((const struct secret_item *)pa)->path, ((const struct secret_item *)pb)->path);
}

/* Items of f whose attributes an earlier look read (prev, sorted by path) keep them, unless
 * they are locked now: a retry then reads only what is new, in a window too short for much
 * to change again. */
static void carry(struct found *prev, struct found *f)
{
	size_t i;

	for (i = 0; i < f->len; i++) {
		struct secret_item *old = bsearch(&f->items[i], prev->items, prev->len,
						  sizeof(prev->items[0]), by_path);
		struct secret_item swap;

		if (old && old->c.server && !f->items[i].locked) {
			swap = f->items[i];
			f->items[i] = *old;
			*old = swap;
		}
	}
}

static int unread(const struct found *f, size_t i)
{
	return f->items[i].c.server == NULL;
}

static int list_once(struct dbus_conn *c, struct found *f)
{
	static const char *const schemas[] = {SCHEMA_OURS, SCHEMA_LEGACY};
	struct found prev = *f;
	size_t k, before;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	for (k = 0; !rc && k < 2; k++) {
		before = f->len;
		rc = search(c, "xdg:schema", schemas[k], f);
		if (!rc && f->len == before) /* the admission race, as in get */
			rc = search(c, "xdg:schema", schemas[k], f);
	}
	if (!rc && prev.len) {
		qsort(prev.items, prev.len, sizeof(prev.items[0]), by_path);
		carry(&prev, f);
	}
	found_clear(&prev);
	/* The attributes of all; the age only where one server has several items (secret_item.h:
	 * the newest answers), which is rare. */
	if (!rc)
		rc = read_items(c, f, "Attributes", unread, NULL);
	if (!rc && f->len)
		qsort(f->items, f->len, sizeof(f->items[0]), by_server);
	if (!rc)
		rc = read_items(c, f, "Modified", shares_server, NULL);
	return rc ? rc : read_items(c, f, "Created", shares_server, NULL);
}

/* The service's collections (the first MAX_COLLECTIONS) and how many of them are locked. */
struct collections {
	char *paths[MAX_COLLECTIONS];
	size_t len;
	size_t locked;
};

static int on_collections(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct collections *cs = ctx;
	struct dbus_iter it;
	const char *sig, *path;
	size_t end, n;

	(void)i;
	if (r->type == 3)
		return 0; /* a service without the property: nothing to report */
	dbus_iter_init(&it, r);
	if (strcmp(r->sig, "v") != 0 || dbus_get_variant(&it, &sig) || strcmp(sig, "ao") != 0 ||
	    dbus_get_array(&it, 4, &end))
		return malformed("cannot list the keyring's collections");
	while (it.pos < end) {
		if (dbus_get_string(&it, &path, &n))
			return malformed("cannot list the keyring's collections");
		if (cs->len == MAX_COLLECTIONS)
			break;
		if (!(cs->paths[cs->len] = strndup(path, n)))
			return err_set(ERR_FAILED, "out of memory");
		cs->len++;
	}
	return 0;
}

static int on_locked(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct collections *cs = ctx;
	struct dbus_iter it;
	const char *sig;
	uint32_t b;

	(void)i;
	dbus_iter_init(&it, r);
	if (r->type == 2 && strcmp(r->sig, "v") == 0 && !dbus_get_variant(&it, &sig) &&
	    strcmp(sig, "b") == 0 && !dbus_get_u32(&it, &b) && b)
		cs->locked++;
	return 0;
}

/* How many of the service's collections are locked: a locked collection's items show no
 * schema, so a search by schema cannot see them, and list must still say they exist. */
static int count_locked(struct dbus_conn *c, size_t *locked)
{
	struct dbus_body prop = {SECBUF_INIT, 0};
	struct collections cs = {{NULL}, 0, 0};
	uint32_t serial, first = 0;
	size_t i;
	int rc;

	dbus_put_string(&prop, SERVICE);
	dbus_put_string(&prop, "Collections");
	rc = call(c, SERVICE_PATH, PROPERTIES, "Get", "ss", &prop, on_collections, &cs);
	for (i = 0; !rc && i < cs.len; i++) {
		dbus_put_string(&prop, "org.freedesktop.Secret.Collection");
		dbus_put_string(&prop, "Locked");
		serial = dbus_call(c, SECRETS, cs.paths[i], PROPERTIES, "Get", "ss", &prop);
		dbus_body_free(&prop);
		first = first ? first : serial;
		if (!serial)
			rc = err_set(ERR_FAILED, "out of memory");
	}
	if (!rc && cs.len)
		rc = dbus_collect(c, first, (uint32_t)cs.len, on_locked, &cs);
	for (i = 0; i < cs.len; i++)
		free(cs.paths[i]);
	if (!rc)
		*locked = cs.locked;
	return rc;
}

int secret_read_list(const char *address, unsigned idle_ms, struct cred_list *out, size_t *locked)
{
	struct dbus_conn c;
	struct found f = {0};
	int attempt, rc;

	rc = dbus_open(&c, address, monotonic_ms() + idle_ms);
	c.idle_ms = idle_ms;
	if (rc == DBUS_UNSUPPORTED)
		rc = SECRET_READ_FALLBACK;
	/* An item deleted between the search and its read: its replacement exists by then, and
	 * another look finds it (reading only what it has not read yet). */
	for (attempt = 0; !rc && attempt < 8; attempt++) {
		rc = list_once(&c, &f);
		if (!rc && !f.vanished)
			break;
	}
	if (!rc && f.vanished)
		rc = err_set(ERR_UNAVAILABLE, "the keyring kept changing while it was listed");
	if (!rc)
		rc = count_locked(&c, locked);
	dbus_close(&c);
	if (!rc)
		rc = secret_item_list(f.items, f.len, out, NULL);
	found_clear(&f);
	return rc;
}

/* ---- health ---------------------------------------------------------------------------- */

/* ReadAlias → (o): "/" when the alias is not set. */
static int on_alias(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct secret_health *h = ctx;
	struct dbus_iter it;
	const char *path;
	size_t n;

	(void)i;
	if (r->type == 3)
		return error_reply(r, "cannot ask the keyring for its default collection");
	dbus_iter_init(&it, r);
	if (strcmp(r->sig, "o") != 0 || dbus_get_string(&it, &path, &n))
		return malformed("cannot ask the keyring for its default collection");
	if (strcmp(path, "/") != 0 && n < sizeof(h->collection))
		memcpy(h->collection, path, n + 1);
	return 0;
}

static int on_default_locked(void *ctx, uint32_t i, const struct dbus_reply *r)
{
	struct secret_health *h = ctx;
	struct dbus_iter it;
	const char *sig;
	uint32_t b;

	(void)i;
	dbus_iter_init(&it, r);
	if (r->type == 3 || strcmp(r->sig, "v") != 0 || dbus_get_variant(&it, &sig) ||
	    strcmp(sig, "b") != 0 || dbus_get_u32(&it, &b))
		return malformed("cannot read whether the default collection is locked");
	h->locked = b != 0;
	return 0;
}

int secret_read_health(const char *address, unsigned idle_ms, struct secret_health *h)
{
	struct cred_list l = {0};
	struct dbus_body body = {SECBUF_INIT, 0};
	struct dbus_conn c;
	int rc;

	memset(h, 0, sizeof(*h));
	/* list first: its first call is a search, which the admission race cannot hurt. */
	rc = secret_read_list(address, idle_ms, &l, &h->locked_collections);
	h->entries = l.len;
	cred_list_clear(&l);
	if (rc)
		return rc;
	rc = dbus_open(&c, address, monotonic_ms() + idle_ms);
	if (!rc) { /* a search first again, for the same reason, on this new connection */
		struct found f = {0};

		rc = search(&c, "xdg:schema", SCHEMA_OURS, &f);
		found_clear(&f);
	}
	if (!rc) {
		dbus_put_string(&body, "default");
		rc = call(&c, SERVICE_PATH, SERVICE, "ReadAlias", "s", &body, on_alias, h);
	}
	if (!rc && h->collection[0]) {
		dbus_put_string(&body, "org.freedesktop.Secret.Collection");
		dbus_put_string(&body, "Locked");
		rc = call(&c, h->collection, PROPERTIES, "Get", "ss", &body, on_default_locked, h);
	}
	dbus_close(&c);
	return rc == DBUS_UNSUPPORTED ? SECRET_READ_FALLBACK : rc;
}
