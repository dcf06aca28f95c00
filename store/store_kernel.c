/* store_kernel: a first-level cache in the Linux kernel keyring in front of another store.
 *
 * Why. Every docker pull, push and build runs this helper once per registry, and answering
 * from the Secret Service costs a D-Bus connection, a session and several round trips (about
 * 13 ms here). The kernel keyring (keyrings(7)) is memory the kernel keeps per user, with a
 * timeout per key and no daemon: a cached answer costs two system calls.
 *
 * What. One "user" key per server in the caller's user keyring (KEY_SPEC_USER_KEYRING),
 * described "docker-credential-keyring:v1:<bus>:<server>" where <bus> is a hash of the session
 * bus address (so two private keyrings of one user, as in tests, never share entries) and
 * <server> becomes "h<hash>" when it is long. The payload (layout at pack()) holds the bus
 * address and server again, checked on every hit, so a hash collision is a miss, never a wrong
 * answer. Keys may be viewed, read, written and searched by their possessor and by processes
 * of the same uid; group and others get nothing.
 *
 * When. get: a hit answers without calling inner (no D-Bus); a miss asks inner and caches the
 * answer: the entry for the TTL, or a "not found" entry (same description, payload magic
 * MISS_MAGIC) for at most STORE_KERNEL_MISS_TTL. Only definite answers are cached: never a
 * locked keyring, a timeout or an unreachable service. put and del: inner first, then the
 * cached entry (hit or "not found") is removed, so the next get reads the new state from inner
 * (also when inner says "not found": a stale copy must go). Entries are only written by get,
 * so a secret enters kernel memory only once something read it, and a keyring that is locked,
 * dead or hung after a `store` answers exactly as without a cache. The one exception is
 * store_kernel_prime: a credential source's copy just fetched for a get (it is read at once),
 * cached before the write-behind child has stored it in inner (or instead, when inner did not
 * answer that get: then it may hold the user's own login, which the copy must not replace),
 * under the same generation check as a get's fill. list always asks inner: it
 * must show what the keyring holds. A source's copy is never cached past its expires.
 *
 * Notes. A third kind of key, with no secret: "inner holds an entry for this server", kept up
 * to a day (see the notes section below). creds.c asks for one before a get for a credential
 * source's host, to guess whether the keyring will answer or a fetch follows.
 *
 * Why "not found" is cached, and why only briefly. Docker asks for registries that have no
 * entry all the time (every anonymous pull, every base image of a build), and each miss used
 * to cost a D-Bus connection and a search. A cached miss costs what a hit costs. It is safe
 * because every write through this helper removes it (put, del, and a credential source's
 * fetch, whose copy replaces it: store_kernel_prime, or the put), so only a login stored by another program (the reference helper,
 * secret-tool, seahorse) is seen late, by at most STORE_KERNEL_MISS_TTL (10 s) — and a
 * client that just got "not found" was going to proceed anonymously anyway. A source-owned
 * host is not hidden by a cached miss: creds.c fetches whenever get says "not found", and
 * what it fetched replaces the miss (or, when it cannot be cached, the miss is removed). Misses count against the per-user key quota like
 * hits; the short lifetime keeps them from crowding hits out.
 *
 * Races. A get that misses may read the old entry from inner while another process stores a
 * new one and removes the cached entry; writing the old one afterwards would keep it for the
 * TTL. So put and del change a per-bus "generation" key before and after they touch inner, and
 * a get only caches what it read if the generation is the same after the read as before, and
 * removes what it cached if the generation changed by the time its key was added (the writer's
 * removal may have run just before our add).
 *
 * Safe because, and limits:
 *  - Any process running as the same uid can read these keys (it could equally ask the
 *    Secret Service, which does not authenticate callers on the session bus either). Processes
 *    of other uids cannot: the keys grant nothing to group or others, and root can read
 *    anything anyway.
 *  - Kernel keyrings are not namespaced per container: containers running with the same uid
 *    (and user namespace) share the user keyring; the bus-address hash keeps their entries
 *    apart only when their bus addresses differ.
 *  - A change made by another program (seahorse, secret-tool, the reference helper), or locking
 *    the keyring, shows after at most the TTL (default 60 s, `cache-ttl`, 0 disables);
 *    `store` and `erase` through this helper are immediate.
 *  - The memory is not swappable kernel memory and dies with a reboot; "user" payloads are at
 *    most 32767 bytes, so larger secrets are simply not cached; the kernel's per-user quota
 *    (kernel.keys.maxbytes, 20000 bytes by default for non-root) may refuse a key: then that
 *    entry is not cached.
 *  - Where keyctl is refused (ENOSYS, EPERM, EACCES: no CONFIG_KEYS, docker's default seccomp
 *    profile) the cache turns itself off for the process and every call goes to inner. */
#include "store_kernel.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "secmem.h"

#define DESC_PREFIX "docker-credential-keyring:v1:"
#define PAYLOAD_MAGIC "DCK1"
#define MISS_MAGIC "DCK0" /* a cached "not found" */
#define USER_PAYLOAD_MAX 32767 /* the kernel's limit for "user" keys */
#define SERVER_IN_DESC_MAX 200 /* longer server keys are hashed in the description */

/* Permission bits (keyutils.h has them; we use raw system calls and need no library). */
#define PERM_POS_ALL 0x3f000000u
#define PERM_USR_VIEW 0x00010000u
#define PERM_USR_READ 0x00020000u
#define PERM_USR_WRITE 0x00040000u
#define PERM_USR_SEARCH 0x00080000u
#define PERM_USR_SETATTR 0x00200000u
#define PERM_KEY (PERM_POS_ALL | PERM_USR_VIEW | PERM_USR_READ | PERM_USR_WRITE | \
		  PERM_USR_SEARCH | PERM_USR_SETATTR)

struct kernel_store {
	struct store base;
	struct store *inner;
	unsigned ttl;  /* seconds; 0: never read or fill the cache */
	int off;       /* keyctl was refused: behave as inner */
	char *bus;     /* the session bus address this cache belongs to */
	char bus_hash[17];
};

/* ---- system calls ---------------------------------------------------------------------- */

static long k_search(const char *desc)
{
	return syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
}

static long k_read(long key, void *buf, size_t len)
{
	return syscall(SYS_keyctl, KEYCTL_READ, key, buf, len);
}

static long k_add(const char *desc, const void *payload, size_t len)
{
	return syscall(SYS_add_key, "user", desc, payload, len, KEY_SPEC_USER_KEYRING);
}

static void k_remove(long key)
{
	if (syscall(SYS_keyctl, KEYCTL_INVALIDATE, key) != 0)
		syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_USER_KEYRING);
}

/* keyctl itself is unusable here (as opposed to "no such key" or "quota exceeded"). */
static int refused(int e)
{
	return e == ENOSYS || e == EPERM || e == EACCES;
}

static void note_errno(struct kernel_store *s)
{
	if (refused(errno))
		s->off = 1;
}

/* ---- names --------------------------------------------------------------------------------- */

static uint64_t fnv1a(const char *p, uint64_t h)
{
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

/* malloc'd description "<prefix><bus hash><kind><server>" (the server hashed when long), or
 * NULL when out of memory. kind is ENTRY_KIND for an entry, NOTE_KIND for a note. */
static char *describe_kind(const struct kernel_store *s, const char *kind, const char *server)
{
	size_t n = strlen(server);
	size_t cap = sizeof(DESC_PREFIX) + 17 + strlen(kind) + (n > SERVER_IN_DESC_MAX ? 18 : n);
	char *d = malloc(cap);

	if (!d)
		return NULL;
	if (n > SERVER_IN_DESC_MAX)
		snprintf(d, cap, DESC_PREFIX "%s%sh%016llx", s->bus_hash, kind,
			 (unsigned long long)fnv1a(server, 1469598103934665603ULL));
	else
		snprintf(d, cap, DESC_PREFIX "%s%s%s", s->bus_hash, kind, server);
	return d;
}

#define ENTRY_KIND ":"
#define NOTE_KIND "#entry:" /* never equal to an entry's or the generation's description */

/* The description of server's entry (or cached "not found"). */
static char *describe(const struct kernel_store *s, const char *server)
{
	return describe_kind(s, ENTRY_KIND, server);
}

/* ---- payload: magic, u64 cached_until, i64 expires, then 5 × (u32 length, bytes):
 *      bus, server, username, origin, secret (native byte order: it never leaves the host) ---- */

static void put_bytes(char **p, const void *src, size_t n)
{
	memcpy(*p, src, n);
	*p += n;
}

static void put_field(char **p, const char *src, size_t n)
{
	uint32_t len = (uint32_t)n;

	put_bytes(p, &len, sizeof(len));
	put_bytes(p, src, n);
}

/* A "not found" for server: magic, u64 cached_until, i64 0, then 2 × (u32 length, bytes): bus,
 * server. */
static char *pack_miss(const struct kernel_store *s, const char *server, int64_t until, size_t *len)
{
	size_t n = 4 + 8 + 8 + 2 * 4 + strlen(s->bus) + strlen(server);
	int64_t zero = 0;
	char *buf, *p;

	if (n > USER_PAYLOAD_MAX || !(buf = malloc(n)))
		return NULL;
	p = buf;
	put_bytes(&p, MISS_MAGIC, 4);
	put_bytes(&p, &until, 8);
	put_bytes(&p, &zero, 8);
	put_field(&p, s->bus, strlen(s->bus));
	put_field(&p, server, strlen(server));
	*len = n;
	return buf;
}

/* A wiped-on-free buffer holding c, or NULL when it does not fit a key (or no memory). */
static char *pack(const struct kernel_store *s, const struct cred *c, int64_t until, size_t *len)
{
	const char *origin = c->origin ? c->origin : CRED_ORIGIN_LOGIN;
	size_t n = 4 + 8 + 8 + 5 * 4 + strlen(s->bus) + strlen(c->server) + strlen(c->username) +
		   strlen(origin) + c->secret_len;
	char *buf, *p;

	if (n > USER_PAYLOAD_MAX || !(buf = malloc(n)))
		return NULL;
	p = buf;
	put_bytes(&p, PAYLOAD_MAGIC, 4);
	put_bytes(&p, &until, 8);
	put_bytes(&p, &c->expires, 8);
	put_field(&p, s->bus, strlen(s->bus));
	put_field(&p, c->server, strlen(c->server));
	put_field(&p, c->username, strlen(c->username));
	put_field(&p, origin, strlen(origin));
	put_field(&p, c->secret ? c->secret : "", c->secret_len);
	*len = n;
	return buf;
}

/* Next field of the payload at *p (n bytes left): pointer and length, or -1 when truncated. */
static int take_field(const char **p, size_t *n, const char **field, size_t *flen)
{
	uint32_t len;

	if (*n < sizeof(len))
		return -1;
	memcpy(&len, *p, sizeof(len));
	if (*n - sizeof(len) < len)
		return -1;
	*field = *p + sizeof(len);
	*flen = len;
	*p += sizeof(len) + len;
	*n -= sizeof(len) + len;
	return 0;
}

static int same(const char *field, size_t flen, const char *want)
{
	return strlen(want) == flen && memcmp(field, want, flen) == 0;
}

enum { CACHE_NONE = -1, CACHE_HIT = 0, CACHE_MISS = 1 };

/* CACHE_HIT and *out filled when buf is a current entry for server, CACHE_MISS when it is a
 * current "not found" for server, CACHE_NONE otherwise. */
static int unpack(const struct kernel_store *s, const char *server, const char *buf, size_t n,
		  int64_t now, struct cred *out)
{
	const char *f[5];
	size_t fl[5], i, nfields;
	int64_t until, expires;
	struct cred c = {0};
	int miss;

	if (n < 20)
		return CACHE_NONE;
	miss = memcmp(buf, MISS_MAGIC, 4) == 0;
	if (!miss && memcmp(buf, PAYLOAD_MAGIC, 4) != 0)
		return CACHE_NONE;
	nfields = miss ? 2 : 5;
	memcpy(&until, buf + 4, 8);
	memcpy(&expires, buf + 12, 8);
	buf += 20;
	n -= 20;
	for (i = 0; i < nfields; i++)
		if (take_field(&buf, &n, &f[i], &fl[i]))
			return CACHE_NONE;
	/* The key's own timeout normally removes it first; this also covers a key whose
	 * timeout could not be set, and a copy that a source said expires. */
	if (n != 0 || now >= until || (expires && now >= expires) || !same(f[0], fl[0], s->bus) ||
	    !same(f[1], fl[1], server))
		return CACHE_NONE;
	if (miss)
		return CACHE_MISS;
	c.server = secmem_dup(f[1], fl[1]);
	c.username = secmem_dup(f[2], fl[2]);
	c.origin = secmem_dup(f[3], fl[3]);
	c.secret = secmem_dup(f[4], fl[4]);
	c.secret_len = fl[4];
	c.expires = expires;
	if (!c.server || !c.username || !c.origin || !c.secret) {
		cred_clear(&c);
		return CACHE_NONE;
	}
	*out = c;
	return CACHE_HIT;
}

/* ---- cache operations ----------------------------------------------------------------------- */

/* Read key into a wiped-on-free buffer; NULL when it is gone or unreadable. */
static char *read_key(struct kernel_store *s, long key, size_t *len)
{
	char *buf = malloc(USER_PAYLOAD_MAX);
	long n;

	if (!buf)
		return NULL;
	n = k_read(key, buf, USER_PAYLOAD_MAX);
	if (n < 0 || n > USER_PAYLOAD_MAX) {
		if (n < 0)
			note_errno(s);
		secmem_free(buf, USER_PAYLOAD_MAX);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* CACHE_HIT (and *out), CACHE_MISS or CACHE_NONE. */
static int cache_get(struct kernel_store *s, const char *server, struct cred *out)
{
	char *desc = describe(s, server), *buf = NULL;
	size_t len = 0;
	long key;
	int rc = CACHE_NONE;

	if (!desc)
		return CACHE_NONE;
	key = k_search(desc);
	if (key < 0)
		note_errno(s);
	else if ((buf = read_key(s, key, &len)) != NULL)
		rc = unpack(s, server, buf, len, (int64_t)time(NULL), out);
	if (buf)
		secmem_free(buf, USER_PAYLOAD_MAX);
	free(desc);
	return rc;
}

/* Cache c, or "not found" for server when c is NULL. Returns the key, or -1 when nothing was
 * cached. */
static long cache_put(struct kernel_store *s, const char *server, const struct cred *c)
{
	int64_t now = (int64_t)time(NULL), life = s->ttl;
	char *desc, *payload = NULL;
	size_t len = 0;
	long key = -1;

	if (!c && life > STORE_KERNEL_MISS_TTL)
		life = STORE_KERNEL_MISS_TTL;
	if (c && c->expires && c->expires - now < life)
		life = c->expires - now;
	if (life <= 0)
		return -1;
	desc = describe(s, server);
	if (desc)
		payload = c ? pack(s, c, now + life, &len) : pack_miss(s, server, now + life, &len);
	if (payload) {
		key = k_add(desc, payload, len);
		if (key < 0) {
			note_errno(s); /* EDQUOT, a payload too large: just not cached */
		} else if (syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key, (unsigned)life) != 0 ||
			   syscall(SYS_keyctl, KEYCTL_SETPERM, key, PERM_KEY) != 0) {
			k_remove(key);
			key = -1;
		}
		secmem_free(payload, len);
	}
	free(desc);
	return key;
}

static void cache_remove(struct kernel_store *s, const char *server)
{
	char *desc = describe(s, server);
	long key;
	int i;

	if (!desc)
		return;
	/* A few rounds: a key of that description may also sit in a keyring linked into ours. */
	for (i = 0; i < 4 && (key = k_search(desc)) >= 0; i++)
		k_remove(key);
	note_errno(s);
	free(desc);
}

/* The generation: a value that put and del change, so a get can tell whether a writer ran
 * while it read from inner. 0 when there is none. */
static uint64_t gen_read(struct kernel_store *s)
{
	char desc[sizeof(DESC_PREFIX) + 24];
	uint64_t g = 0;
	long key;

	snprintf(desc, sizeof(desc), DESC_PREFIX "%s:gen", s->bus_hash);
	key = k_search(desc);
	if (key >= 0 && k_read(key, &g, sizeof(g)) != (long)sizeof(g))
		g = 0;
	return g;
}

static void gen_bump(struct kernel_store *s)
{
	char desc[sizeof(DESC_PREFIX) + 24];
	struct timespec ts;
	uint64_t g;
	long key;

	clock_gettime(CLOCK_REALTIME, &ts);
	g = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
	if (!g)
		g = 1;
	snprintf(desc, sizeof(desc), DESC_PREFIX "%s:gen", s->bus_hash);
	key = k_add(desc, &g, sizeof(g));
	if (key < 0) {
		note_errno(s);
		return;
	}
	/* It only matters while gets overlap writers; let it go eventually. */
	syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key, 2 * (s->ttl ? s->ttl : STORE_KERNEL_DEFAULT_TTL));
	syscall(SYS_keyctl, KEYCTL_SETPERM, key, PERM_KEY);
}

/* ---- notes: "inner holds an entry for server" ------------------------------------------
 * A note is a key without a secret ("1", described with NOTE_KIND) that outlives the entry's
 * 60 s, up to the entry's expiry or STORE_KERNEL_NOTE_TTL: callers use it to guess, before
 * asking inner, whether inner will answer (store_kernel_expects_entry). It is a guess for
 * speed, never an answer: a wrong one (another program removed the entry) costs only the speed
 * it was for. put and del remove it; store_kernel_prime and store_kernel_note_entry write it. */

static char *describe_note(const struct kernel_store *s, const char *server)
{
	return describe_kind(s, NOTE_KIND, server);
}

static void note_write(struct kernel_store *s, const struct cred *c)
{
	int64_t life = STORE_KERNEL_NOTE_TTL, now = (int64_t)time(NULL);
	char *desc;
	long key;

	if (c->expires && c->expires - now < life)
		life = c->expires - now;
	if (life <= 0 || !(desc = describe_note(s, c->server)))
		return;
	key = k_add(desc, "1", 1);
	if (key < 0)
		note_errno(s);
	else if (syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key, (unsigned)life) != 0 ||
		 syscall(SYS_keyctl, KEYCTL_SETPERM, key, PERM_KEY) != 0)
		k_remove(key);
	free(desc);
}

static void note_remove(struct kernel_store *s, const char *server)
{
	char *desc = describe_note(s, server);
	long key;

	if (desc && (key = k_search(desc)) >= 0)
		k_remove(key);
	free(desc);
}

/* ---- the store interface ------------------------------------------------------------------- */

static int kernel_get(struct store *base, const char *server, struct cred *out)
{
	struct kernel_store *s = (struct kernel_store *)base;
	struct cred c = {0};
	uint64_t gen = 0;
	int rc;

	long key;
	int cached = CACHE_NONE;

	if (s->ttl && !s->off && server[0]) {
		cached = cache_get(s, server, &c);
		if (cached == CACHE_HIT) {
			err_clear();
			*out = c;
			return 0;
		}
		if (cached == CACHE_MISS)
			return err_set(ERR_NOTFOUND, "no entry for %s in the keyring", server);
		gen = gen_read(s);
	}
	rc = s->inner->get(s->inner, server, &c);
	/* Only a definite answer is cached: an entry, or "not found" (never a locked keyring, a
	 * timeout or an unreachable service). The generation is compared again after the key is
	 * added: a writer that bumped it in between may have removed the entry before we added
	 * ours, and then ours is stale. */
	if ((rc == 0 || rc == ERR_NOTFOUND) && s->ttl && !s->off && server[0] && gen_read(s) == gen) {
		key = cache_put(s, server, rc == 0 ? &c : NULL);
		if (key >= 0 && gen_read(s) != gen)
			k_remove(key);
	}
	if (rc == 0)
		*out = c;
	return rc;
}

void store_kernel_prime(struct store *base, const struct cred *c, int note)
{
	struct kernel_store *s = (struct kernel_store *)base;
	uint64_t gen;
	long key;

	if (!base || base->get != kernel_get || !s->ttl || s->off || !c->server[0])
		return;
	/* A writer that bumps the generation while we add may have removed the entry just
	 * before our add: then ours may hide its change, so it goes (as in kernel_get). */
	gen = gen_read(s);
	key = cache_put(s, c->server, c);
	if (key < 0) {
		cache_remove(s, c->server); /* a cached "not found" would send the next get to the source */
	} else if (gen_read(s) != gen) {
		k_remove(key);
		return; /* and no note: that writer's change may have been an erase */
	}
	if (note)
		note_write(s, c);
}

void store_kernel_note_entry(struct store *base, const struct cred *c)
{
	struct kernel_store *s = (struct kernel_store *)base;

	if (base && base->get == kernel_get && s->ttl && !s->off && c->server[0])
		note_write(s, c);
}

int store_kernel_expects_entry(struct store *base, const char *server)
{
	struct kernel_store *s = (struct kernel_store *)base;
	char *desc;
	long key;

	if (!base || base->get != kernel_get || !s->ttl || s->off || !server[0])
		return -1;
	if (!(desc = describe_note(s, server)))
		return -1;
	key = k_search(desc);
	if (key < 0 && refused(errno))
		s->off = 1;
	free(desc);
	return s->off ? -1 : key >= 0;
}

static int kernel_put(struct store *base, const struct cred *c)
{
	struct kernel_store *s = (struct kernel_store *)base;
	int rc;

	if (!s->off)
		gen_bump(s);
	rc = s->inner->put(s->inner, c);
	if (!s->off) {
		gen_bump(s);
		cache_remove(s, c->server);
		note_remove(s, c->server);
	}
	return rc;
}

static int kernel_del(struct store *base, const char *server)
{
	struct kernel_store *s = (struct kernel_store *)base;
	int rc;

	if (!s->off)
		gen_bump(s);
	rc = s->inner->del(s->inner, server);
	if (!s->off) {
		gen_bump(s);
		cache_remove(s, server);
		note_remove(s, server);
	}
	return rc;
}

static int kernel_list(struct store *base, struct cred_list *out)
{
	struct kernel_store *s = (struct kernel_store *)base;

	return s->inner->list(s->inner, out);
}

static void kernel_free(struct store *base)
{
	struct kernel_store *s = (struct kernel_store *)base;

	store_free(s->inner);
	free(s->bus);
	free(s);
}

/* The address store_secret will connect to (the same rule as its ensure_session_bus_address). */
static char *bus_address(void)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	size_t n;
	char *a;

	if (addr && addr[0])
		return strdup(addr);
	rt = rt ? rt : "";
	n = strlen(rt) + sizeof("unix:path=/bus");
	a = malloc(n);
	if (a)
		snprintf(a, n, "unix:path=%s/bus", rt);
	return a;
}

struct store *store_kernel_new(struct store *inner, unsigned ttl_seconds)
{
	struct kernel_store *s;

	if (!inner)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->bus = bus_address();
	if (!s || !s->bus) {
		free(s);
		store_free(inner);
		return NULL;
	}
	s->inner = inner;
	s->ttl = ttl_seconds;
	snprintf(s->bus_hash, sizeof(s->bus_hash), "%016llx",
		 (unsigned long long)fnv1a(s->bus, 1469598103934665603ULL));
	s->base.get = kernel_get;
	s->base.put = kernel_put;
	s->base.del = kernel_del;
	s->base.list = kernel_list;
	s->base.free = kernel_free;
	return &s->base;
}
