/* bench-floor: the least a credential helper's `get` hit can cost against the Secret Service,
 * as a yardstick for the benchmark. Not product code: no GLib, no libsecret, no timeouts, no
 * unlocking, no cache; little-endian replies only.
 *
 *     printf %s SERVER | bench-floor      (the session bus from DBUS_SESSION_BUS_ADDRESS)
 *
 * What it does, in two round trips after the handshake:
 *   connect to the bus socket, SASL EXTERNAL;
 *   one write: BEGIN, Hello, SearchItems({"server": SERVER}), OpenSession("plain", "")
 *     (the session does not depend on the search, so it travels with it);
 *   one write: GetSecrets([first unlocked item], session), Get(item, "Attributes")
 *     (the username is in the attributes: a helper's answer needs both).
 * It prints {"ServerURL":…,"Username":…,"Secret":…} without escaping (the bench's values need
 * none). Exit 0 on a hit, 1 when no item matched, 2 on anything else.
 *
 * gnome-keyring admits a new client from an idle callback and may answer a call that arrives
 * first without the client's session: a search then finds nothing, or a call is declined. As
 * the helper does (store/secret/secret_read.c), an empty or declined first answer is asked
 * again once.
 *
 * Wire format: D-Bus specification, "Message Protocol": a 16-byte fixed header, header fields
 * (code, variant) padded to 8, the body; every value aligned to its own size. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SECRETS "org.freedesktop.secrets"
#define SERVICE "/org/freedesktop/secrets"
#define SERVICE_IFACE "org.freedesktop.Secret.Service"

static int bus = -1;
static uint32_t next_serial = 1;

/* ---- writing ------------------------------------------------------------------------------ */

struct buf {
	unsigned char d[8192];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > sizeof b->d)
		exit(2);
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void align(struct buf *b, size_t a)
{
	static const unsigned char zero[8];

	put(b, zero, (a - b->n % a) % a);
}

static void put_u32(struct buf *b, uint32_t v)
{
	align(b, 4);
	put(b, &v, 4); /* little-endian host: the header says 'l' */
}

static void put_str(struct buf *b, const char *s)
{
	put_u32(b, (uint32_t)strlen(s));
	put(b, s, strlen(s) + 1);
}

static void put_sig(struct buf *b, const char *s)
{
	unsigned char n = (unsigned char)strlen(s);

	put(b, &n, 1);
	put(b, s, n + 1u);
}

/* One header field: code, then a variant of type t ('o', 's' or 'g'). */
static void put_field(struct buf *b, unsigned char code, const char *t, const char *v)
{
	align(b, 8);
	put(b, &code, 1);
	put_sig(b, t);
	if (t[0] == 'g')
		put_sig(b, v);
	else
		put_str(b, v);
}

/* Appends one method call with an already marshalled body to out; returns its serial. */
static uint32_t call(struct buf *out, const char *dest, const char *path, const char *iface,
		     const char *member, const char *sig, const struct buf *body)
{
	struct buf h = {.n = 0};
	uint32_t serial = next_serial++, fields_len;
	const unsigned char fixed[4] = {'l', 1, 0, 1}; /* little-endian, method call, flags, v1 */

	put(&h, fixed, 4);
	put_u32(&h, (uint32_t)body->n);
	put_u32(&h, serial);
	put_u32(&h, 0); /* fields length, filled in below */
	put_field(&h, 1, "o", path);
	put_field(&h, 2, "s", iface);
	put_field(&h, 3, "s", member);
	put_field(&h, 6, "s", dest);
	if (sig[0])
		put_field(&h, 8, "g", sig);
	fields_len = (uint32_t)(h.n - 16);
	memcpy(h.d + 12, &fields_len, 4);
	align(&h, 8);
	put(out, h.d, h.n);
	put(out, body->d, body->n);
	return serial;
}

static void send_all(const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(bus, c, n);

		if (w <= 0)
			exit(2);
		c += w;
		n -= (size_t)w;
	}
}

/* ---- reading ------------------------------------------------------------------------------ */

struct msg {
	unsigned char *d;
	size_t len, pos; /* pos: the reader's place in d (the body starts at body) */
	size_t body;
	int type;
	uint32_t reply_to;
};

static void take(struct msg *m, size_t n)
{
	if (m->pos + n > m->len)
		exit(2);
	m->pos += n;
}

static void skip_align(struct msg *m, size_t a)
{
	take(m, (a - m->pos % a) % a);
}

static uint32_t get_u32(struct msg *m)
{
	uint32_t v;

	skip_align(m, 4);
	take(m, 4);
	memcpy(&v, m->d + m->pos - 4, 4);
	return v;
}

/* A string or object path: its bytes, NUL-terminated in place, and its length in *n. */
static const char *get_str(struct msg *m, uint32_t *n)
{
	uint32_t len = get_u32(m);
	const char *s = (const char *)m->d + m->pos;

	take(m, (size_t)len + 1);
	if (n)
		*n = len;
	return s;
}

static const char *get_sig(struct msg *m)
{
	size_t n;

	take(m, 1);
	n = m->d[m->pos - 1];
	take(m, n + 1);
	return (const char *)m->d + m->pos - n - 1;
}

static void read_all(void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(bus, c, n);

		if (r <= 0)
			exit(2);
		c += r;
		n -= (size_t)r;
	}
}

/* Reads messages until the reply (or error) to serial arrives; signals are dropped. */
static void wait_reply(uint32_t serial, struct msg *m)
{
	for (;;) {
		unsigned char fixed[16];
		uint32_t body_len, fields_len;
		const char *sig;

		read_all(fixed, 16);
		if (fixed[0] != 'l')
			exit(2);
		memcpy(&body_len, fixed + 4, 4);
		memcpy(&fields_len, fixed + 12, 4);
		m->body = (16 + (size_t)fields_len + 7) / 8 * 8;
		m->len = m->body + body_len;
		free(m->d);
		if (m->len > (1u << 24) || !(m->d = malloc(m->len)))
			exit(2);
		memcpy(m->d, fixed, 16);
		read_all(m->d + 16, m->len - 16);
		m->type = fixed[1];
		m->reply_to = 0;
		for (m->pos = 16; m->pos < 16 + fields_len;) {
			unsigned char code;

			skip_align(m, 8);
			take(m, 1);
			code = m->d[m->pos - 1];
			sig = get_sig(m);
			if (sig[0] == 'u') {
				uint32_t v = get_u32(m);

				if (code == 5)
					m->reply_to = v;
			} else if (sig[0] == 'g') {
				get_sig(m);
			} else {
				get_str(m, NULL);
			}
		}
		m->pos = m->body;
		if ((m->type == 2 || m->type == 3) && m->reply_to == serial)
			return;
	}
}

/* ---- the get ------------------------------------------------------------------------------ */

static int connect_bus(void)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS"), *p;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	char auth[64], reply[256];
	ssize_t n;

	if (!addr)
		return -1;
	if ((p = strstr(addr, "unix:path="))) {
		p += strlen("unix:path=");
		len = (socklen_t)strcspn(p, ",;");
		memcpy(sa.sun_path, p, len < sizeof sa.sun_path - 1 ? len : sizeof sa.sun_path - 1);
	} else if ((p = strstr(addr, "unix:abstract="))) {
		p += strlen("unix:abstract=");
		len = (socklen_t)strcspn(p, ",;");
		memcpy(sa.sun_path + 1, p, len < sizeof sa.sun_path - 2 ? len : sizeof sa.sun_path - 2);
		len++;
	} else {
		return -1;
	}
	bus = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bus < 0 || connect(bus, (struct sockaddr *)&sa,
			       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		return -1;
	/* EXTERNAL: the uid in decimal, hex-encoded. */
	snprintf(reply, sizeof reply, "%u", (unsigned)getuid());
	n = snprintf(auth, sizeof auth, "%cAUTH EXTERNAL ", 0);
	for (p = reply; *p; p++)
		n += snprintf(auth + n, sizeof auth - (size_t)n, "%02x", (unsigned char)*p);
	n += snprintf(auth + n, sizeof auth - (size_t)n, "\r\n");
	send_all(auth, (size_t)n);
	n = read(bus, reply, sizeof reply - 1);
	return n > 2 && !memcmp(reply, "OK", 2) ? 0 : -1;
}

static uint32_t search(struct buf *out, const char *server)
{
	struct buf body = {.n = 0};

	put_u32(&body, 0); /* a{ss}: length, filled in below */
	align(&body, 8);
	put_str(&body, "server");
	put_str(&body, server);
	{
		uint32_t alen = (uint32_t)(body.n - 8);

		memcpy(body.d, &alen, 4);
	}
	return call(out, SECRETS, SERVICE, SERVICE_IFACE, "SearchItems", "a{ss}", &body);
}

static uint32_t open_session(struct buf *out)
{
	struct buf body = {.n = 0};

	put_str(&body, "plain");
	put_sig(&body, "s"); /* the variant: an empty string */
	put_str(&body, "");
	return call(out, SECRETS, SERVICE, SERVICE_IFACE, "OpenSession", "sv", &body);
}

/* SearchItems' reply (ao unlocked, ao locked): 1 and the first unlocked path copied to item,
 * 0 when none, -1 for an error reply. */
static int first_unlocked(struct msg *m, char *item, size_t size)
{
	uint32_t n;
	const char *path;

	if (m->type != 2)
		return -1;
	if (get_u32(m) == 0)
		return 0;
	path = get_str(m, &n);
	if (n >= size)
		exit(2);
	memcpy(item, path, n + 1);
	return 1;
}

/* OpenSession's reply (v output, o session): 0 and the session's path, or -1. */
static int session_path(struct msg *m, char *session, size_t size)
{
	uint32_t n;
	const char *path;

	if (m->type != 2)
		return -1;
	get_sig(m); /* the variant: "s" and an empty string */
	get_str(m, NULL);
	path = get_str(m, &n);
	if (n >= size)
		exit(2);
	memcpy(session, path, n + 1);
	return 0;
}

/* GetSecrets' reply a{o(oayays)}, one entry: a copy of the value, its length in *len. */
static char *secret_value(struct msg *m, uint32_t *len)
{
	char *copy;

	if (m->type != 2 || get_u32(m) == 0)
		exit(2);
	skip_align(m, 8);
	get_str(m, NULL); /* the item */
	skip_align(m, 8);
	get_str(m, NULL);      /* the session */
	take(m, get_u32(m));   /* the parameters: none for "plain" */
	*len = get_u32(m);
	take(m, *len);
	/* The next wait_reply frees m->d. A real helper would wipe both copies. */
	if (!(copy = malloc(*len + 1u)))
		exit(2);
	memcpy(copy, m->d + m->pos - *len, *len);
	copy[*len] = 0;
	return copy;
}

/* Get(Item, "Attributes")'s reply, a variant holding a{ss}: the username attribute. */
static const char *username(struct msg *m)
{
	const char *user = "";
	size_t end;

	if (m->type != 2 || strcmp(get_sig(m), "a{ss}") != 0)
		exit(2);
	end = get_u32(m);
	skip_align(m, 8);
	for (end += m->pos; m->pos < end;) {
		const char *k, *v;

		skip_align(m, 8);
		k = get_str(m, NULL);
		v = get_str(m, NULL);
		if (!strcmp(k, "username"))
			user = v;
	}
	return user;
}

int main(void)
{
	static char server[4096], item[512], session[512];
	struct buf out = {.n = 0}, body = {.n = 0};
	struct msg m = {0};
	uint32_t s_search, s_session, s_secret, s_attrs, len;
	int found = -1, have_session = 0, tries;
	char *secret;
	size_t n;

	n = fread(server, 1, sizeof server - 1, stdin);
	while (n && (server[n - 1] == '\n' || server[n - 1] == '\r'))
		n--;
	server[n] = 0;
	if (connect_bus() < 0)
		return 2;

	put(&out, "BEGIN\r\n", 7);
	call(&out, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello",
	     "", &body);
	s_search = search(&out, server);
	s_session = open_session(&out);
	send_all(out.d, out.n);
	for (tries = 0;; tries++) {
		if (found != 1) {
			wait_reply(s_search, &m);
			found = first_unlocked(&m, item, sizeof item);
		}
		if (!have_session) {
			wait_reply(s_session, &m);
			have_session = session_path(&m, session, sizeof session) == 0;
		}
		if ((found == 1 && have_session) || tries == 1)
			break;
		out.n = 0; /* empty or declined: the race above; ask once more */
		if (found != 1)
			s_search = search(&out, server);
		if (!have_session)
			s_session = open_session(&out);
		send_all(out.d, out.n);
	}
	if (found != 1 || !have_session)
		return found == 0 ? 1 : 2;

	out.n = body.n = 0;
	put_u32(&body, 0); /* ao with one path: length filled in below */
	put_str(&body, item);
	len = (uint32_t)(body.n - 4);
	memcpy(body.d, &len, 4);
	put_str(&body, session);
	s_secret = call(&out, SECRETS, SERVICE, SERVICE_IFACE, "GetSecrets", "aoo", &body);
	body.n = 0;
	put_str(&body, "org.freedesktop.Secret.Item");
	put_str(&body, "Attributes");
	s_attrs = call(&out, SECRETS, item, "org.freedesktop.DBus.Properties", "Get", "ss", &body);
	send_all(out.d, out.n);

	wait_reply(s_secret, &m);
	secret = secret_value(&m, &len);
	wait_reply(s_attrs, &m);
	printf("{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}\n", server,
	       username(&m), secret);
	return 0;
}
