/* kernel_store: see kernel_store.h.
 *
 * Layout: a keyring of ours, named by the caller (default "docker-credential-keyring"), linked
 * into the persistent keyring (root: the user keyring). In it, one "user" key per server,
 * described "entry:<server>" ("hash:<hash>" for a server too long for a description), whose
 * payload holds the whole entry (pack()); the payload's server is checked on every read and
 * delete, so a hash collision is a miss, never a wrong answer. Adding a key of the same
 * description replaces the old one atomically: one entry per server, with no lock.
 *
 * A copy with an expiry is given that key timeout: the kernel removes it once it is useless.
 * Keys grant everything to their possessor and view/read/write/search/setattr to processes of
 * the same uid, nothing to group or others. */
#include "kernel_store.h"

#include <errno.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"
#include "lockfile.h"
#include "secmem.h"

#define MAGIC "DCK2"
#define MAGIC_USERNAME_IS_SECRET "DCKS" /* the same layout, the username field empty */
#define USER_PAYLOAD_MAX 32767 /* the kernel's limit for "user" keys */
#define SERVER_IN_DESC_MAX 200
#define DESC_SIZE (SERVER_IN_DESC_MAX + 32)
#define PERM (0x3f000000u | 0x00010000u | 0x00020000u | 0x00040000u | 0x00080000u | 0x00200000u)

struct kernel_store {
	struct store base;
	char *name;
	long ring; /* our keyring, 0 until found or made */
};

/* ---- system calls --------------------------------------------------------------------- */

static long k_search(long ring, const char *type, const char *desc)
{
	return syscall(SYS_keyctl, KEYCTL_SEARCH, ring, type, desc, 0);
}

static long k_read(long key, void *buf, size_t len)
{
	return syscall(SYS_keyctl, KEYCTL_READ, key, buf, len);
}

static int keyctl_error(const char *what)
{
	int e = errno;

	if (e == ENOSYS || e == EPERM || e == EACCES || e == EOPNOTSUPP)
		return err_set(ERR_UNAVAILABLE, "%s: the kernel keyring cannot be used here (%s: no "
			       "CONFIG_KEYS, or a container's seccomp profile refuses keyctl)", what,
			       strerror(e));
	if (e == EDQUOT)
		return err_set(ERR_UNAVAILABLE, "%s: this user's kernel key quota is full", what);
	return err_set(ERR_UNAVAILABLE, "%s: %s", what, strerror(e));
}

/* Our keyring: found, or (create) made. 0, ERR_NOTFOUND (not there and !create) or an error. */
static int find_ring(struct kernel_store *s, int create)
{
	long base = -1, ring;

	if (s->ring)
		return 0;
	/* Non-root: the persistent keyring, which outlives the login (and links into our process
	 * keyring, so we possess it). Root always has processes: its user keyring lasts. */
	if (getuid() != 0)
		base = syscall(SYS_keyctl, KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_PROCESS_KEYRING);
	if (base < 0) {
		base = KEY_SPEC_USER_KEYRING;
		/* A system service's session keyring does not link the user keyring (systemd's
		 * KeyringMode=private, the default for system services: the kubelet, a CI runner
		 * running as root). Without possession, KEYCTL_SETPERM (the possessor's setattr)
		 * is refused for our ring and every key made in it. Linking the user keyring into
		 * this process's own keyring, which neither children nor an exec inherit, makes it
		 * possessed again, as it is in a login session. Harmless where it already is. */
		(void)syscall(SYS_keyctl, KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_PROCESS_KEYRING);
	}
	ring = k_search(base, "keyring", s->name);
	if (ring < 0 && errno != ENOKEY)
		return keyctl_error("cannot open the kernel keyring");
	if (ring < 0 && !create)
		return ERR_NOTFOUND;
	if (ring < 0) {
		/* Adding a keyring replaces one of the same name: two helpers making it at once
		 * would leave the first one's entry in a keyring nothing links. So: under a lock,
		 * and only if it is still missing. Without a lock directory, as best we can. */
		char lock_name[64];
		int lock;

		lockfile_name(lock_name, sizeof(lock_name), "kernel-keyring", s->name);
		lock = lockfile_acquire(lock_name, 5000, NULL);
		ring = k_search(base, "keyring", s->name);
		if (ring < 0)
			ring = syscall(SYS_add_key, "keyring", s->name, NULL, 0, base);
		if (ring < 0 || syscall(SYS_keyctl, KEYCTL_SETPERM, ring, PERM) != 0) {
			lockfile_release(lock);
			return keyctl_error("cannot make a kernel keyring");
		}
		lockfile_release(lock);
	}
	s->ring = ring;
	return 0;
}

/* "entry:<server>" into d, or "hash:<hash>" for a long one (no server can spell that). */
static void describe(char d[DESC_SIZE], const char *server)
{
	if (strlen(server) > SERVER_IN_DESC_MAX)
		snprintf(d, DESC_SIZE, "hash:%016llx", (unsigned long long)hash_fnv1a(server));
	else
		snprintf(d, DESC_SIZE, "entry:%s", server);
}

/* ---- payload: magic, i64 expires, i64 stored (Unix time), then 4 × (u32 length, bytes):
 *      server, username, origin, secret (native byte order: it never leaves the host).
 *      A username that is the secret itself (DigitalOcean's older "token:token") is kept only
 *      as the secret (MAGIC_USERNAME_IS_SECRET), as in the Secret Service (secret_item.h), so
 *      `list` never shows it. ---- */

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

/* *out: a wiped-on-free buffer holding c. 0, ERR_INVALID when it does not fit a key, or
 * ERR_FAILED. */
static int pack(const struct cred *c, char **out, size_t *len)
{
	const char *origin = c->origin ? c->origin : CRED_ORIGIN_LOGIN, *username = c->username;
	const char *magic = MAGIC;
	int64_t now = (int64_t)time(NULL);
	size_t n;
	char *buf, *p;

	if (cred_username_is_secret(c)) {
		username = "";
		magic = MAGIC_USERNAME_IS_SECRET;
	}
	n = 4 + 8 + 8 + 4 * 4 + strlen(c->server) + strlen(username) + strlen(origin) + c->secret_len;

	if (n > USER_PAYLOAD_MAX)
		return err_set(ERR_INVALID, "the entry for %s is too large for the kernel keyring (%zu "
			       "bytes, at most %d)", c->server, n, USER_PAYLOAD_MAX);
	if (!(buf = malloc(n)))
		return err_set(ERR_FAILED, "out of memory");
	p = buf;
	put_bytes(&p, magic, 4);
	put_bytes(&p, &c->expires, 8);
	put_bytes(&p, &now, 8);
	put_field(&p, c->server, strlen(c->server));
	put_field(&p, username, strlen(username));
	put_field(&p, origin, strlen(origin));
	put_field(&p, c->secret ? c->secret : "", c->secret_len);
	*out = buf;
	*len = n;
	return 0;
}

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

/* Unpack buf into *out (with the secret when with_secret); *stored (when not NULL): when it was
 * written. 0, or -1 when it is not one of our entries (for server, when server is not NULL). */
static int unpack(const char *buf, size_t n, const char *server, int with_secret, struct cred *out,
		  int64_t *stored)
{
	const char *f[4];
	size_t fl[4], i;
	struct cred c = {0};
	int username_is_secret = n >= 4 && memcmp(buf, MAGIC_USERNAME_IS_SECRET, 4) == 0;

	if (n < 20 || (memcmp(buf, MAGIC, 4) != 0 && !username_is_secret))
		return -1;
	memcpy(&c.expires, buf + 4, 8);
	if (stored)
		memcpy(stored, buf + 12, 8);
	buf += 20;
	n -= 20;
	for (i = 0; i < 4; i++)
		if (take_field(&buf, &n, &f[i], &fl[i]))
			return -1;
	if (n != 0 || memchr(f[0], '\0', fl[0]) || memchr(f[1], '\0', fl[1]) ||
	    (server && (strlen(server) != fl[0] || memcmp(server, f[0], fl[0]) != 0)))
		return -1;
	c.server = secmem_dup(f[0], fl[0]);
	if (username_is_secret && with_secret)
		c.username = secmem_dup(f[3], fl[3]);
	else
		c.username = secmem_dup(f[1], fl[1]);
	c.origin = secmem_dup(f[2], fl[2]);
	if (with_secret) {
		c.secret = secmem_dup(f[3], fl[3]);
		c.secret_len = fl[3];
	}
	if (!c.server || !c.username || !c.origin || (with_secret && !c.secret)) {
		cred_clear(&c);
		return -1;
	}
	*out = c;
	return 0;
}

/* Read key into a wiped-on-free buffer; NULL when it is gone or unreadable. */
static char *read_key(long key, size_t *len)
{
	char *buf = malloc(USER_PAYLOAD_MAX);
	long n;

	if (!buf)
		return NULL;
	n = k_read(key, buf, USER_PAYLOAD_MAX);
	if (n < 0 || n > USER_PAYLOAD_MAX) {
		secmem_free(buf, USER_PAYLOAD_MAX);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* The *n keys of our keyring (malloc'd, possibly NULL). KEYCTL_READ answers the size it needs:
 * when another helper added a key between asking and reading, it copied nothing, so ask
 * again. */
static int32_t *ring_keys(struct kernel_store *s, size_t *n)
{
	int32_t *raw = NULL;
	size_t size = 0;
	long got = k_read(s->ring, NULL, 0);
	int attempt;

	*n = 0;
	for (attempt = 0; got > 0 && attempt < 4; attempt++) {
		int32_t *bigger = realloc(raw, (size_t)got);

		if (!bigger)
			break;
		raw = bigger;
		size = (size_t)got;
		got = k_read(s->ring, raw, size);
		if (got >= 0 && (size_t)got <= size)
			break;
	}
	if (raw && got > 0 && (size_t)got <= size)
		*n = (size_t)got / sizeof(*raw);
	return raw;
}

/* ---- the quota ------------------------------------------------------------------------------ */

/* This user's key usage from /proc/key-users ("uid: usage n/n keys/maxkeys bytes/maxbytes"). */
static int quota(long *keys, long *maxkeys, long *bytes, long *maxbytes)
{
	FILE *f = fopen("/proc/key-users", "re");
	char line[256];
	unsigned uid;
	long usage, nk, nik;
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, " %u: %ld %ld/%ld %ld/%ld %ld/%ld", &uid, &usage, &nk, &nik, keys,
			       maxkeys, bytes, maxbytes) == 8 && uid == (unsigned)getuid();
	fclose(f);
	return found ? 0 : -1;
}

/* Room for a key of len bytes: within half the quota for us and a quarter left for others.
 * Our oldest source copies go first (never a login); 0 when it fits, else an error. */
static int make_room(struct kernel_store *s, const char *server, size_t len)
{
	long keys, maxkeys, bytes, maxbytes;
	int round;

	for (round = 0; round < 64; round++) {
		size_t n, i, ours = 0, our_bytes = 0;
		int32_t *ids;
		long oldest = -1;
		int64_t oldest_at = INT64_MAX;

		if (quota(&keys, &maxkeys, &bytes, &maxbytes) != 0)
			return 0; /* no figures: the kernel's own EDQUOT is the limit */
		ids = ring_keys(s, &n);
		for (i = 0; i < n; i++) {
			size_t plen = 0;
			char *buf = read_key(ids[i], &plen);
			struct cred c = {0};
			int64_t stored;

			if (!buf)
				continue;
			ours++;
			our_bytes += plen;
			if (unpack(buf, plen, NULL, 0, &c, &stored) == 0 && strcmp(c.server, server) != 0 &&
			    strcmp(c.origin, CRED_ORIGIN_LOGIN) != 0 && stored < oldest_at) {
				oldest = ids[i];
				oldest_at = stored;
			}
			cred_clear(&c);
			secmem_free(buf, USER_PAYLOAD_MAX);
		}
		free(ids);
		if ((long)(our_bytes + len) <= maxbytes / 2 && bytes + (long)len <= maxbytes * 3 / 4 &&
		    (long)ours + 1 <= maxkeys / 2 && keys + 1 <= maxkeys * 3 / 4)
			return 0;
		if (oldest < 0)
			return err_set(ERR_UNAVAILABLE, "no room in this user's kernel key quota (%ld of "
				       "%ld bytes, %ld of %ld keys in use; this helper keeps to half): "
				       "remove entries with `erase`, or raise kernel.keys.maxbytes",
				       bytes, maxbytes, keys, maxkeys);
		syscall(SYS_keyctl, KEYCTL_UNLINK, oldest, s->ring);
	}
	return err_set(ERR_UNAVAILABLE, "no room in this user's kernel key quota");
}

/* ---- the store interface ------------------------------------------------------------------- */

/* The key holding server's entry, with the entry unpacked into *out (the secret too for get).
 * Only that key: a hashed description may be another server's. for_get picks get's words for
 * the errors, else del's. */
static int lookup(struct kernel_store *s, const char *server, int for_get, long *key,
		  struct cred *out)
{
	char desc[DESC_SIZE], *buf = NULL;
	size_t len = 0;
	int rc = find_ring(s, 0);

	if (rc)
		return rc == ERR_NOTFOUND ? err_set(ERR_NOTFOUND, "no entry for %s", server) : rc;
	describe(desc, server);
	*key = k_search(s->ring, "user", desc);
	if (*key < 0 && errno != ENOKEY && errno != EKEYEXPIRED && errno != EKEYREVOKED)
		rc = keyctl_error(for_get ? "cannot read the kernel keyring"
					  : "cannot remove from the kernel keyring");
	else if (*key < 0 || !(buf = read_key(*key, &len)) || unpack(buf, len, server, for_get, out, NULL))
		rc = err_set(ERR_NOTFOUND, for_get ? "no entry for %s in the kernel keyring"
						   : "no entry for %s", server);
	secmem_free(buf, USER_PAYLOAD_MAX);
	return rc;
}

static int k_get(struct store *base, const char *server, struct cred *out)
{
	long key;

	return lookup((struct kernel_store *)base, server, 1, &key, out);
}

static int k_del(struct store *base, const char *server)
{
	struct kernel_store *s = (struct kernel_store *)base;
	struct cred c = {0};
	long key;
	int rc = lookup(s, server, 0, &key, &c);

	if (!rc && syscall(SYS_keyctl, KEYCTL_UNLINK, key, s->ring) != 0)
		rc = keyctl_error("cannot remove from the kernel keyring");
	cred_clear(&c);
	return rc;
}

static int k_put(struct store *base, const struct cred *c)
{
	struct kernel_store *s = (struct kernel_store *)base;
	char desc[DESC_SIZE], *payload = NULL;
	int64_t life = c->expires ? c->expires - (int64_t)time(NULL) : 0;
	size_t len = 0;
	long key;
	int rc = find_ring(s, 1);

	/* Already expired: nothing worth keeping, and nothing older may answer for it either. */
	if (!rc && c->expires && life <= 0)
		return (rc = k_del(base, c->server)) == ERR_NOTFOUND ? 0 : rc;
	if (!rc)
		rc = pack(c, &payload, &len);
	describe(desc, c->server);
	if (!rc)
		rc = make_room(s, c->server, len + strlen(desc));
	if (!rc) {
		key = syscall(SYS_add_key, "user", desc, payload, len, s->ring);
		if (key < 0)
			rc = keyctl_error("cannot store in the kernel keyring");
		else if (syscall(SYS_keyctl, KEYCTL_SETPERM, key, PERM) != 0 ||
			 (life > 0 && syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key,
					    life > UINT_MAX ? UINT_MAX : (unsigned)life) != 0))
			rc = keyctl_error("cannot store in the kernel keyring");
	}
	secmem_free(payload, len);
	return rc;
}

static int k_list(struct store *base, struct cred_list *out)
{
	struct kernel_store *s = (struct kernel_store *)base;
	struct cred_list l = {0};
	size_t n = 0, i;
	int32_t *ids;
	int rc = find_ring(s, 0);

	if (rc == ERR_NOTFOUND) {
		*out = l;
		return 0;
	}
	if (rc)
		return rc;
	ids = ring_keys(s, &n);
	for (i = 0; !rc && i < n; i++) {
		size_t len = 0;
		char *buf = read_key(ids[i], &len);
		struct cred c = {0};

		if (buf && unpack(buf, len, NULL, 0, &c, NULL) == 0 &&
		    (!c.expires || c.expires > (int64_t)time(NULL)))
			rc = cred_list_add(&l, &c);
		cred_clear(&c);
		secmem_free(buf, USER_PAYLOAD_MAX);
	}
	free(ids);
	if (rc) {
		cred_list_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}

static int k_check(struct store *base, char *what, size_t size)
{
	struct kernel_store *s = (struct kernel_store *)base;
	struct cred_list l = {0};
	long keys, maxkeys, bytes, maxbytes;
	int rc;

	/* Can this process use the kernel keyring at all? */
	if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) < 0) {
		rc = keyctl_error("no kernel keyring");
		snprintf(what, size, "allow keyctl, add_key and request_key in the container's seccomp "
			 "profile, or use a Secret Service: `store = secret-service` with a session bus");
		return rc;
	}
	rc = k_list(base, &l);
	if (rc) {
		snprintf(what, size, "check that the kernel keyring %s is this user's", s->name);
		return rc;
	}
	if (quota(&keys, &maxkeys, &bytes, &maxbytes) == 0)
		snprintf(what, size, "the kernel keyring \"%s\" (%s): %zu entr%s; this user's kernel keys "
			 "use %ld of %ld bytes; entries do not survive a reboot", s->name,
			 getuid() ? "this user's persistent keyring" : "root's user keyring", l.len,
			 l.len == 1 ? "y" : "ies", bytes, maxbytes);
	else
		snprintf(what, size, "the kernel keyring \"%s\": %zu entr%s; entries do not survive a "
			 "reboot", s->name, l.len, l.len == 1 ? "y" : "ies");
	cred_list_clear(&l);
	return 0;
}

static void k_free(struct store *base)
{
	struct kernel_store *s = (struct kernel_store *)base;

	free(s->name);
	free(s);
}

struct store *kernel_store_new(const char *name)
{
	struct kernel_store *s = calloc(1, sizeof(*s));

	if (!s || !(s->name = strdup(name && name[0] ? name : KERNEL_STORE_DEFAULT_NAME))) {
		free(s);
		return NULL;
	}
	s->base = (struct store){k_get, k_put, k_del, k_list, k_check, k_free};
	return &s->base;
}
