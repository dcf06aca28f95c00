/* dbus_quick: "does any item have this server attribute?", asked over the session bus socket
 * directly, without GLib.
 *
 * Why. "Not found" is the Secret Service's most common answer: every anonymous pull, every
 * public base image of a build, the first get of a registry a credential source serves. Asked
 * through libsecret it costs loading GLib, GIO and libsecret (1.6 ms) and GIO's type-system and
 * connection set-up (about 2 ms) before the one SearchItems call that decides it. Here it costs
 * a connect, the SASL EXTERNAL handshake and one round trip carrying Hello and SearchItems
 * together: about 0.3 ms, and the process never loads GLib.
 *
 * What it does not try. Only unix:path= and unix:abstract= addresses (every session bus we know
 * of), only EXTERNAL authentication, only the question above. Anything else — another
 * address kind, a rejected handshake, an error reply (no Secret Service, a locked or odd
 * service), a reply we cannot read — is DBUS_QUICK_UNKNOWN, and the caller asks through
 * libsecret as before, which also produces the right error message. So this file can make a
 * miss faster, never a different answer. The only verdict it gives on its own is "no item":
 * SearchItems listed no unlocked and no locked path.
 *
 * Wire format (D-Bus specification, "Message Protocol"): a 16-byte fixed header (endianness,
 * type, flags, version, body length, serial, header-field array length), the header fields
 * (code, variant), padding to 8, the body. Every value is aligned to its own size. */
#include "dbus_quick.h"
#include "monotonic.h"

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGE (1u << 20) /* replies we read are tiny; a larger one is not ours to parse */
#define MAX_SERVER 4096        /* longer keys take the ordinary path */
#define SEARCH_SERIAL 2u

/* ---- building the two calls -------------------------------------------------------------- */

struct out {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const void *v, size_t n)
{
	if (o->failed || o->cap - o->len < n) {
		o->failed = 1;
		return;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

static void pad(struct out *o, size_t align)
{
	static const unsigned char zeros[8];

	put(o, zeros, (align - o->len % align) % align);
}

static void put_u8(struct out *o, unsigned char v)
{
	put(o, &v, 1);
}

static void put_u32(struct out *o, uint32_t v)
{
	unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};

	pad(o, 4);
	put(o, b, 4);
}

static void put_string(struct out *o, const char *s)
{
	put_u32(o, (uint32_t)strlen(s));
	put(o, s, strlen(s) + 1);
}

/* A header field: (code, variant of signature sig holding s). */
static void put_field(struct out *o, unsigned char code, char sig, const char *s)
{
	pad(o, 8);
	put_u8(o, code);
	put_u8(o, 1);
	put_u8(o, (unsigned char)sig);
	put_u8(o, 0);
	if (sig == 'g') {
		put_u8(o, (unsigned char)strlen(s));
		put(o, s, strlen(s) + 1);
	} else {
		put_string(o, s);
	}
}

/* A method call, little-endian. body is already marshalled from an 8-aligned start. */
static void put_call(struct out *o, uint32_t serial, const char *dest, const char *path,
		     const char *iface, const char *member, const char *sig,
		     const struct out *body)
{
	size_t start = o->len, fields;

	put_u8(o, 'l');
	put_u8(o, 1); /* METHOD_CALL */
	put_u8(o, 0);
	put_u8(o, 1); /* protocol version */
	put_u32(o, (uint32_t)(body ? body->len : 0));
	put_u32(o, serial);
	put_u32(o, 0); /* the header fields' length, filled below */
	fields = o->len;
	put_field(o, 1, 'o', path);
	put_field(o, 2, 's', iface);
	put_field(o, 3, 's', member);
	put_field(o, 6, 's', dest);
	if (sig)
		put_field(o, 8, 'g', sig);
	if (!o->failed) {
		uint32_t n = (uint32_t)(o->len - fields);
		unsigned char b[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >> 24};

		memcpy(o->p + start + 12, b, 4);
	}
	pad(o, 8);
	if (body)
		put(o, body->p, body->len);
}

/* The body of SearchItems: a{ss} holding {"server": server}. */
static void put_search_body(struct out *o, const char *server)
{
	size_t len_at, first;

	put_u32(o, 0); /* the array's byte length, filled below */
	len_at = o->len - 4;
	pad(o, 8);     /* dict entries are 8-aligned; the length excludes this padding */
	first = o->len;
	put_string(o, "server");
	put_string(o, server);
	if (!o->failed) {
		uint32_t n = (uint32_t)(o->len - first);
		unsigned char b[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >> 24};

		memcpy(o->p + len_at, b, 4);
	}
}

/* ---- reading replies ----------------------------------------------------------------------- */

static uint32_t get_u32(const unsigned char *p, int big_endian)
{
	return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
			  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

size_t dbus_quick_message_size(const unsigned char *buf)
{
	int be;
	size_t fields, body, total;

	if ((buf[0] != 'l' && buf[0] != 'B') || buf[3] != 1)
		return 0;
	be = buf[0] == 'B';
	body = get_u32(buf + 4, be);
	fields = get_u32(buf + 12, be);
	if (body > MAX_MESSAGE || fields > MAX_MESSAGE)
		return 0;
	total = align_up(16 + fields, 8) + body;
	return total > MAX_MESSAGE ? 0 : total;
}

/* Skip a value of single complete type sig[0] at *at (only the types a header field may hold
 * in practice: strings, object paths, signatures, integers). -1 on anything else. */
static int skip_value(const unsigned char *b, size_t end, size_t *at, char type, int be)
{
	size_t n;

	switch (type) {
	case 'y':
		n = 1;
		break;
	case 'b': case 'i': case 'u':
		*at = align_up(*at, 4);
		n = 4;
		break;
	case 'x': case 't': case 'd':
		*at = align_up(*at, 8);
		n = 8;
		break;
	case 's': case 'o':
		*at = align_up(*at, 4);
		if (*at > end || end - *at < 5 || get_u32(b + *at, be) > end - *at - 5)
			return -1;
		n = 4 + (size_t)get_u32(b + *at, be) + 1;
		break;
	case 'g':
		if (*at + 1 > end)
			return -1;
		n = 1 + (size_t)b[*at] + 1;
		break;
	default:
		return -1;
	}
	if (*at > end || end - *at < n)
		return -1;
	*at += n;
	return 0;
}

int dbus_quick_parse(const unsigned char *buf, size_t len, struct dbus_quick_msg *out)
{
	struct dbus_quick_msg m = {0};
	size_t total, fields_end, at = 16;

	if (len < 16 || (total = dbus_quick_message_size(buf)) == 0 || total > len)
		return -1;
	m.big_endian = buf[0] == 'B';
	m.type = buf[1];
	fields_end = 16 + get_u32(buf + 12, m.big_endian);
	while (at < fields_end) {
		unsigned char code, siglen;
		char type;

		at = align_up(at, 8);
		if (at + 4 > fields_end)
			return -1;
		code = buf[at];
		siglen = buf[at + 1];
		if (siglen != 1 || at + 4 > fields_end || buf[at + 3] != 0)
			return -1;
		type = (char)buf[at + 2];
		at += 4;
		if (code == 5 && type == 'u') { /* REPLY_SERIAL */
			at = align_up(at, 4);
			if (at + 4 > fields_end)
				return -1;
			m.reply_serial = get_u32(buf + at, m.big_endian);
			at += 4;
			continue;
		}
		if (code == 8 && type == 'g') { /* SIGNATURE */
			size_t n = at < fields_end ? buf[at] : 0;

			if (at + 1 + n + 1 > fields_end || buf[at + 1 + n] != 0 || n >= sizeof(m.sig))
				return -1;
			memcpy(m.sig, buf + at + 1, n);
			m.sig[n] = '\0';
			at += 1 + n + 1;
			continue;
		}
		if (skip_value(buf, fields_end, &at, type, m.big_endian))
			return -1;
	}
	if (at != fields_end)
		return -1;
	m.body = buf + align_up(fields_end, 8);
	m.body_len = total - align_up(fields_end, 8);
	*out = m;
	return 0;
}

enum dbus_quick_answer dbus_quick_verdict(const unsigned char *body, size_t len, int big_endian,
					  const char *sig)
{
	uint32_t unlocked, locked;

	if (strcmp(sig, "aoao") != 0 || len < 8)
		return DBUS_QUICK_UNKNOWN;
	unlocked = get_u32(body, big_endian);
	if (unlocked != 0)
		return unlocked <= len - 4 ? DBUS_QUICK_SOME : DBUS_QUICK_UNKNOWN;
	/* An empty first array ends at offset 4, where the second one's length starts. */
	locked = get_u32(body + 4, big_endian);
	if (locked == 0)
		return len == 8 ? DBUS_QUICK_NONE : DBUS_QUICK_UNKNOWN;
	return locked <= len - 8 ? DBUS_QUICK_SOME : DBUS_QUICK_UNKNOWN;
}

/* ---- the connection ------------------------------------------------------------------------ */

/* Wait until fd is ready for events, or the deadline. 1 ready, 0 timeout, -1 error. */
static int wait_for(int fd, short events, int64_t deadline)
{
	struct pollfd p = {fd, events, 0};
	int64_t left;
	int n;

	for (;;) {
		/* Past the deadline, one look without waiting: what has already arrived counts. */
		left = deadline - monotonic_ms();
		n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n > 0)
			return (p.revents & (POLLERR | POLLNVAL)) ? -1 : 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* 1 sent, 0 timeout, -1 error. */
static int send_all(int fd, const void *buf, size_t n, int64_t deadline)
{
	const unsigned char *p = buf;

	while (n) {
		ssize_t w;
		int r = wait_for(fd, POLLOUT, deadline);

		if (r <= 0)
			return r;
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

/* Read more into buf (len so far, cap). 1 read something, 0 timeout, -1 error or EOF. */
static int recv_some(int fd, unsigned char *buf, size_t *len, size_t cap, int64_t deadline)
{
	for (;;) {
		ssize_t r;
		int w;

		if (*len >= cap)
			return -1;
		w = wait_for(fd, POLLIN, deadline);
		if (w <= 0)
			return w;
		r = recv(fd, buf + *len, cap - *len, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		*len += (size_t)r;
		return 1;
	}
}

/* Decode a D-Bus address value (%XX escapes) into out. -1 when malformed or too long. */
static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int unescape(const char *v, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = v[i];

		if (c == '%') {
			if (n - i < 3 || hexval(v[i + 1]) < 0 || hexval(v[i + 2]) < 0)
				return -1;
			c = (char)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* The socket address of the first entry of a D-Bus address, if it is unix:path= or
 * unix:abstract=. -1 otherwise. */
static int parse_address(const char *address, struct sockaddr_un *sa, socklen_t *salen)
{
	const char *p, *end = strchr(address, ';');
	size_t n = end ? (size_t)(end - address) : strlen(address);
	char value[sizeof(sa->sun_path)];

	if (n < 5 || strncmp(address, "unix:", 5) != 0)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	for (p = address + 5; p < address + n;) {
		const char *comma = memchr(p, ',', (size_t)(address + n - p));
		const char *stop = comma ? comma : address + n;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		size_t klen = eq ? (size_t)(eq - p) : 0;
		int abstract;

		if (eq && ((klen == 4 && strncmp(p, "path", 4) == 0) ||
			   (klen == 8 && strncmp(p, "abstract", 8) == 0))) {
			abstract = klen == 8;
			if (unescape(eq + 1, (size_t)(stop - eq - 1), value, sizeof(value) - 1) != 0 ||
			    !value[0])
				return -1;
			/* An abstract name starts with a NUL byte in sun_path. */
			memcpy(sa->sun_path + abstract, value, strlen(value));
			*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract +
					     strlen(value) + (abstract ? 0 : 1));
			return 0;
		}
		p = comma ? comma + 1 : address + n;
	}
	return -1;
}

/* SASL EXTERNAL with our uid, then BEGIN. 1 authenticated, 0 timeout, -1 refused/error. */
static int authenticate(int fd, int64_t deadline)
{
	char uid[24], line[128], hex[64];
	unsigned char in[256];
	size_t i, len = 0;
	int r;

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	for (i = 0; uid[i]; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)uid[i]);
	snprintf(line, sizeof(line), "%cAUTH EXTERNAL %s\r\n", 0, hex);
	r = send_all(fd, line, 1 + strlen(line + 1), deadline);
	if (r <= 0)
		return r;
	while (!memchr(in, '\n', len)) {
		r = recv_some(fd, in, &len, sizeof(in), deadline);
		if (r <= 0)
			return r;
	}
	return len >= 3 && memcmp(in, "OK ", 3) == 0 ? 1 : -1;
}

/* One connection to the bus: the socket, what has been read and not yet parsed, the deadline. */
struct conn {
	int fd;
	unsigned char *in;
	size_t len, cap;
	int64_t deadline;
};

/* The reply to call serial on the connection: its verdict, DBUS_QUICK_UNKNOWN for an error
 * reply or anything unreadable, DBUS_QUICK_TIMEOUT when the deadline passes. Messages before
 * it (Hello's reply, the NameAcquired signal, an earlier call's reply) are skipped. */
static enum dbus_quick_answer await_reply(struct conn *c, uint32_t serial)
{
	for (;;) {
		struct dbus_quick_msg m;
		size_t size = 0;
		int r;

		while (c->len < 16 || (size = dbus_quick_message_size(c->in)) == 0 || size > c->len) {
			if (c->len >= 16 && dbus_quick_message_size(c->in) == 0)
				return DBUS_QUICK_UNKNOWN;
			if (c->len >= 16 && dbus_quick_message_size(c->in) > c->cap) {
				size_t want = dbus_quick_message_size(c->in);
				unsigned char *bigger = realloc(c->in, want);

				if (!bigger)
					return DBUS_QUICK_UNKNOWN;
				c->in = bigger;
				c->cap = want;
			}
			r = recv_some(c->fd, c->in, &c->len, c->cap, c->deadline);
			if (r <= 0)
				return r == 0 ? DBUS_QUICK_TIMEOUT : DBUS_QUICK_UNKNOWN;
		}
		if (dbus_quick_parse(c->in, size, &m) != 0)
			return DBUS_QUICK_UNKNOWN;
		memmove(c->in, c->in + size, c->len - size);
		c->len -= size;
		if ((m.type == 2 || m.type == 3) && m.reply_serial == serial)
			return m.type == 2 ? dbus_quick_verdict(m.body, m.body_len, m.big_endian, m.sig)
					   : DBUS_QUICK_UNKNOWN;
	}
}

/* The caller's work while an answer is on its way. The time it takes is the caller's, not the
 * bus's: it moves the deadline, so that a slow step cannot turn an answer that is waiting in
 * the socket into a timeout. */
static void run_while_waiting(struct conn *c, void (*while_waiting)(void))
{
	int64_t start;

	if (!while_waiting)
		return;
	start = monotonic_ms();
	while_waiting();
	c->deadline += monotonic_ms() - start;
}

/* SearchItems({"server": server}) with this serial, marshalled into o. */
static void put_search(struct out *o, uint32_t serial, const struct out *body)
{
	put_call(o, serial, "org.freedesktop.secrets", "/org/freedesktop/secrets",
		 "org.freedesktop.Secret.Service", "SearchItems", "a{ss}", body);
}

enum dbus_quick_answer dbus_quick_any_item(const char *address, const char *server,
					   unsigned timeout_ms, void (*while_waiting)(void))
{
	struct conn c = {-1, NULL, 0, 64 * 1024, monotonic_ms() + timeout_ms};
	struct sockaddr_un sa;
	socklen_t salen = 0;
	unsigned char body_buf[MAX_SERVER + 64], msg_buf[MAX_SERVER + 512];
	unsigned char again_buf[MAX_SERVER + 256];
	struct out body = {body_buf, 0, sizeof(body_buf), 0};
	struct out msg = {msg_buf, 0, sizeof(msg_buf), 0};
	struct out again = {again_buf, 0, sizeof(again_buf), 0};
	enum dbus_quick_answer answer = DBUS_QUICK_UNKNOWN;
	int r;

	if (!address || strlen(server) > MAX_SERVER || parse_address(address, &sa, &salen) != 0)
		return DBUS_QUICK_UNKNOWN;
	put_search_body(&body, server);
	put(&msg, "BEGIN\r\n", 7);
	/* BEGIN leaves the buffer unaligned; D-Bus alignment counts from each message's start. */
	{
		struct out call = {msg_buf + msg.len, 0, sizeof(msg_buf) - msg.len, 0};

		/* Hello has no body, so it is a multiple of 8 long and the next call starts
		 * 8-aligned in call too. */
		put_call(&call, 1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			 "org.freedesktop.DBus", "Hello", NULL, NULL);
		put_search(&call, SEARCH_SERIAL, &body);
		msg.len += call.len;
		msg.failed |= call.failed;
	}
	put_search(&again, SEARCH_SERIAL + 1, &body);
	if (body.failed || msg.failed || again.failed)
		return DBUS_QUICK_UNKNOWN;
	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c.fd < 0)
		return DBUS_QUICK_UNKNOWN;
	if (connect(c.fd, (struct sockaddr *)&sa, salen) != 0) /* AF_UNIX: done or refused */
		goto out;
	r = authenticate(c.fd, c.deadline);
	if (r > 0)
		r = send_all(c.fd, msg_buf, msg.len, c.deadline);
	if (r <= 0) {
		answer = r == 0 ? DBUS_QUICK_TIMEOUT : DBUS_QUICK_UNKNOWN;
		goto out;
	}
	if (!(c.in = malloc(c.cap)))
		goto out;
	/* The bus routes Hello and the search and the service walks its items (about 1 ms with
	 * 1,000 of them) whether or not we sit in poll meanwhile; the answer waits in the
	 * socket. */
	run_while_waiting(&c, while_waiting);
	answer = await_reply(&c, SEARCH_SERIAL);
	/* gnome-keyring admits a new client from an idle callback, and a client's first call can
	 * be handled before that: then the search runs without the client's session and finds
	 * nothing (the race behind its "assertion 'client' failed" reports). Items cannot appear
	 * that way, only vanish, so "some" stands; "none" is asked once more, after the first
	 * answer, when the client surely exists. */
	if (answer == DBUS_QUICK_NONE) {
		r = send_all(c.fd, again_buf, again.len, c.deadline);
		if (r > 0)
			run_while_waiting(&c, while_waiting);
		answer = r > 0 ? await_reply(&c, SEARCH_SERIAL + 1)
			       : r == 0 ? DBUS_QUICK_TIMEOUT : DBUS_QUICK_UNKNOWN;
	}
out:
	free(c.in);
	if (c.fd >= 0)
		close(c.fd);
	return answer;
}
