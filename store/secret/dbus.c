/* dbus: see dbus.h. */
#include "dbus.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "monotonic.h"

enum { MSG_CALL = 1, MSG_RETURN = 2, MSG_ERROR = 3 };
enum { F_PATH = 1, F_INTERFACE = 2, F_MEMBER = 3, F_ERROR = 4, F_REPLY_SERIAL = 5,
       F_DESTINATION = 6, F_SIGNATURE = 8 };

/* ---- writing ---------------------------------------------------------------------------- */

static void put(struct dbus_body *w, const void *p, size_t n)
{
	if (!w->failed && secbuf_append(&w->b, p, n) != 0)
		w->failed = 1;
}

static void pad(struct dbus_body *w, size_t align)
{
	static const unsigned char zeros[8];

	put(w, zeros, (align - w->b.len % align) % align);
}

static void put_u8(struct dbus_body *w, unsigned char v)
{
	put(w, &v, 1);
}

void dbus_put_u32(struct dbus_body *w, uint32_t v)
{
	unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};

	pad(w, 4);
	put(w, b, 4);
}

void dbus_put_string(struct dbus_body *w, const char *s)
{
	dbus_put_u32(w, (uint32_t)strlen(s));
	put(w, s, strlen(s) + 1);
}

static void put_signature(struct dbus_body *w, const char *s)
{
	put_u8(w, (unsigned char)strlen(s));
	put(w, s, strlen(s) + 1);
}

void dbus_put_variant_string(struct dbus_body *w, const char *s)
{
	put_signature(w, "s");
	dbus_put_string(w, s);
}

/* Start an array: its length (patched by array_end) and the padding to its elements. */
static size_t array_begin(struct dbus_body *w, size_t align, size_t *first)
{
	size_t at;

	dbus_put_u32(w, 0);
	at = w->b.len - 4;
	pad(w, align); /* not counted in the array's length */
	*first = w->b.len;
	return at;
}

/* Fill in the length array_begin left at offset at. */
static void array_end(struct dbus_body *w, size_t at, size_t first)
{
	uint32_t v = (uint32_t)(w->b.len - first);
	unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};

	if (!w->failed)
		memcpy(w->b.data + at, b, 4);
}

void dbus_put_dict_ss(struct dbus_body *w, size_t n, const char *const *keys,
		      const char *const *values)
{
	size_t i, first, at = array_begin(w, 8, &first);

	for (i = 0; i < n; i++) {
		pad(w, 8);
		dbus_put_string(w, keys[i]);
		dbus_put_string(w, values[i]);
	}
	array_end(w, at, first);
}

void dbus_put_paths(struct dbus_body *w, size_t n, const char *const *paths)
{
	size_t i, first, at = array_begin(w, 4, &first);

	for (i = 0; i < n; i++)
		dbus_put_string(w, paths[i]);
	array_end(w, at, first);
}

void dbus_body_free(struct dbus_body *w)
{
	secbuf_free(&w->b);
	w->failed = 0;
}

/* A header field: (code, variant of type sig holding s). */
static void put_field(struct dbus_body *w, unsigned char code, char sig, const char *s)
{
	char type[2] = {sig, '\0'};

	pad(w, 8);
	put_u8(w, code);
	put_signature(w, type);
	if (sig == 'g')
		put_signature(w, s);
	else
		dbus_put_string(w, s);
}

uint32_t dbus_call(struct dbus_conn *c, const char *dest, const char *path, const char *iface,
		   const char *member, const char *sig, const struct dbus_body *body)
{
	struct dbus_body m = {SECBUF_INIT, 0};
	size_t fields_at, first;
	uint32_t serial = c->serial + 1;

	if (body && body->failed)
		return 0;
	put_u8(&m, 'l');
	put_u8(&m, MSG_CALL);
	put_u8(&m, 0); /* flags */
	put_u8(&m, 1); /* protocol version */
	dbus_put_u32(&m, (uint32_t)(body ? body->b.len : 0));
	dbus_put_u32(&m, serial);
	fields_at = array_begin(&m, 8, &first);
	put_field(&m, F_PATH, 'o', path);
	put_field(&m, F_INTERFACE, 's', iface);
	put_field(&m, F_MEMBER, 's', member);
	put_field(&m, F_DESTINATION, 's', dest);
	if (sig && sig[0])
		put_field(&m, F_SIGNATURE, 'g', sig);
	array_end(&m, fields_at, first);
	pad(&m, 8);
	if (body && body->b.len)
		put(&m, body->b.data, body->b.len);
	if (!m.failed && secbuf_append(&c->out, m.b.data, m.b.len) == 0)
		c->serial = serial;
	else
		serial = 0;
	dbus_body_free(&m);
	return serial;
}

/* ---- reading ---------------------------------------------------------------------------- */

static uint32_t get_u32_at(const unsigned char *p, int be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

static int align(struct dbus_iter *it, size_t a)
{
	size_t to = align_up(it->pos, a);

	if (to > it->end)
		return -1;
	it->pos = to;
	return 0;
}

void dbus_iter_init(struct dbus_iter *it, const struct dbus_reply *r)
{
	it->p = r->body;
	it->pos = 0;
	it->end = r->len;
	it->be = r->big_endian;
}

int dbus_get_u32(struct dbus_iter *it, uint32_t *out)
{
	if (align(it, 4) || it->end - it->pos < 4)
		return -1;
	*out = get_u32_at(it->p + it->pos, it->be);
	it->pos += 4;
	return 0;
}

int dbus_get_u64(struct dbus_iter *it, uint64_t *out)
{
	uint32_t a, b;

	if (align(it, 8) || it->end - it->pos < 8)
		return -1;
	a = get_u32_at(it->p + it->pos, it->be);
	b = get_u32_at(it->p + it->pos + 4, it->be);
	*out = it->be ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
	it->pos += 8;
	return 0;
}

int dbus_get_string(struct dbus_iter *it, const char **s, size_t *len)
{
	uint32_t n;

	if (dbus_get_u32(it, &n) || n >= it->end - it->pos || it->p[it->pos + n] != '\0')
		return -1;
	*s = (const char *)it->p + it->pos;
	*len = n;
	it->pos += (size_t)n + 1;
	return 0;
}

static int get_signature(struct dbus_iter *it, const char **s)
{
	size_t n;

	if (it->pos >= it->end)
		return -1;
	n = it->p[it->pos];
	if (n + 2 > it->end - it->pos || it->p[it->pos + 1 + n] != '\0')
		return -1;
	*s = (const char *)it->p + it->pos + 1;
	it->pos += n + 2;
	return 0;
}

int dbus_get_array(struct dbus_iter *it, size_t a, size_t *end)
{
	uint32_t n;

	if (dbus_get_u32(it, &n) || align(it, a) || n > it->end - it->pos)
		return -1;
	*end = it->pos + n;
	return 0;
}

int dbus_get_bytes(struct dbus_iter *it, const unsigned char **p, size_t *len)
{
	size_t end;

	if (dbus_get_array(it, 1, &end))
		return -1;
	*p = it->p + it->pos;
	*len = end - it->pos;
	it->pos = end;
	return 0;
}

int dbus_get_struct(struct dbus_iter *it)
{
	return align(it, 8);
}

int dbus_get_variant(struct dbus_iter *it, const char **sig)
{
	return get_signature(it, sig);
}

/* Alignment of the type starting at sig. */
static size_t type_align(char t)
{
	switch (t) {
	case 'y': case 'g': case 'v':
		return 1;
	case 'n': case 'q':
		return 2;
	case 'x': case 't': case 'd': case '(': case '{':
		return 8;
	default:
		return 4;
	}
}

/* Past one complete type in a signature, or NULL when it is not one. */
static const char *sig_next(const char *s, int depth)
{
	char close;

	if (depth > 32)
		return NULL;
	switch (*s) {
	case 'y': case 'b': case 'n': case 'q': case 'i': case 'u': case 'x': case 't': case 'd':
	case 'h': case 's': case 'o': case 'g': case 'v':
		return s + 1;
	case 'a':
		return sig_next(s + 1, depth + 1);
	case '(': case '{':
		close = *s == '(' ? ')' : '}';
		if (s[1] == close)
			return NULL; /* an empty struct is not a type */
		for (s++; s && *s && *s != close;)
			s = sig_next(s, depth + 1);
		return s && *s ? s + 1 : NULL;
	default:
		return NULL;
	}
}

/* Skip one value of the complete type at *sig; depth bounds hostile nesting. */
static int skip(struct dbus_iter *it, const char **sig, int depth)
{
	const char *s, *elem, *after = sig_next(*sig, 0);
	size_t end, n;
	char t = **sig;

	if (depth > 32 || !after)
		return -1;
	switch (t) {
	case 'y':
		n = 1;
		break;
	case 'n': case 'q':
		n = 2;
		break;
	case 'b': case 'i': case 'u': case 'h':
		n = 4;
		break;
	case 'x': case 't': case 'd':
		n = 8;
		break;
	case 's': case 'o':
		*sig = after;
		return dbus_get_string(it, &s, &n);
	case 'g':
		*sig = after;
		return get_signature(it, &s);
	case 'v':
		*sig = after;
		if (get_signature(it, &s))
			return -1;
		elem = s;
		return skip(it, &elem, depth + 1) || *elem ? -1 : 0;
	case 'a':
		if (dbus_get_array(it, type_align((*sig)[1]), &end))
			return -1;
		while (it->pos < end) {
			size_t before = it->pos;

			elem = *sig + 1;
			/* An element that reads nothing would never reach the end. */
			if (skip(it, &elem, depth + 1) || it->pos == before)
				return -1;
		}
		*sig = after;
		return it->pos == end ? 0 : -1;
	default: /* a struct or a dict entry: its members in turn */
		if (align(it, 8))
			return -1;
		for (elem = *sig + 1; elem < after - 1;)
			if (skip(it, &elem, depth + 1))
				return -1;
		*sig = after;
		return 0;
	}
	*sig = after;
	if (align(it, n) || it->end - it->pos < n)
		return -1;
	it->pos += n;
	return 0;
}

int dbus_skip(struct dbus_iter *it, const char **sig)
{
	return skip(it, sig, 0);
}

/* ---- messages --------------------------------------------------------------------------- */

size_t dbus_message_size(const unsigned char *buf)
{
	size_t fields, body, total;
	int be;

	if ((buf[0] != 'l' && buf[0] != 'B') || buf[3] != 1)
		return 0;
	be = buf[0] == 'B';
	body = get_u32_at(buf + 4, be);
	fields = get_u32_at(buf + 12, be);
	if (body > DBUS_MAX_MESSAGE || fields > DBUS_MAX_MESSAGE)
		return 0;
	total = align_up(16 + fields, 8) + body;
	return total > DBUS_MAX_MESSAGE ? 0 : total;
}

/* Copy a header field's string value into out (cut to fit). */
static void take(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

int dbus_parse(const unsigned char *buf, size_t len, struct dbus_reply *out)
{
	struct dbus_reply r;
	struct dbus_iter it;
	size_t total, fields_end;

	memset(&r, 0, sizeof(r));
	if (len < 16 || (total = dbus_message_size(buf)) == 0 || total > len)
		return -1;
	r.big_endian = buf[0] == 'B';
	r.type = buf[1];
	fields_end = 16 + get_u32_at(buf + 12, r.big_endian);
	/* The fields are an a(yv) whose length we already read: iterate from offset 16 with
	 * positions counted from the message start, as alignment is. */
	it.p = buf;
	it.pos = 16;
	it.end = fields_end;
	it.be = r.big_endian;
	while (it.pos < fields_end) {
		const char *sig, *s;
		unsigned char code;
		uint32_t u;
		size_t n;

		if (align(&it, 8) || it.pos >= fields_end)
			return -1;
		code = buf[it.pos++];
		if (get_signature(&it, &sig) || strlen(sig) != 1)
			return -1;
		if (code == F_REPLY_SERIAL && sig[0] == 'u') {
			if (dbus_get_u32(&it, &u))
				return -1;
			r.reply_serial = u;
		} else if (code == F_SIGNATURE && sig[0] == 'g') {
			if (get_signature(&it, &s))
				return -1;
			take(r.sig, sizeof(r.sig), s, strlen(s));
		} else if (code == F_ERROR && sig[0] == 's') {
			if (dbus_get_string(&it, &s, &n))
				return -1;
			take(r.error, sizeof(r.error), s, n);
		} else if (skip(&it, &sig, 0)) {
			return -1;
		}
	}
	if (it.pos != fields_end)
		return -1;
	r.body = buf + align_up(fields_end, 8);
	r.len = total - align_up(fields_end, 8);
	*out = r;
	return 0;
}

/* ---- the connection --------------------------------------------------------------------- */

/* Wait until fd is ready for events or the deadline. 1 ready, 0 timeout, -1 error. */
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

/* Send everything queued. 0, ERR_TIMEOUT or ERR_UNAVAILABLE. */
static int flush(struct dbus_conn *c)
{
	size_t done = 0;
	int r;

	while (done < c->out.len) {
		ssize_t w;

		r = wait_for(c->fd, POLLOUT, c->deadline);
		if (r <= 0)
			return r == 0 ? err_set(ERR_TIMEOUT, "the session bus did not take our call in time")
				      : err_set(ERR_UNAVAILABLE, "the session bus connection failed");
		w = send(c->fd, c->out.data + done, c->out.len - done, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return err_set(ERR_UNAVAILABLE, "the session bus closed the connection");
		done += (size_t)w;
	}
	explicit_bzero(c->out.data, c->out.len);
	c->out.len = 0;
	return 0;
}

/* Read more into c->in. 0 read something; ERR_TIMEOUT; ERR_UNAVAILABLE on EOF or error. */
static int fill(struct dbus_conn *c)
{
	for (;;) {
		ssize_t r;
		int w;

		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			unsigned char *bigger;

			if (cap > DBUS_MAX_MESSAGE + 65536 || !(bigger = malloc(cap)))
				return err_set(ERR_UNAVAILABLE, "a reply on the session bus is too large");
			if (c->in)
				memcpy(bigger, c->in, c->len);
			secmem_free(c->in, c->cap);
			c->in = bigger;
			c->cap = cap;
		}
		w = wait_for(c->fd, POLLIN, c->deadline);
		if (w <= 0)
			return w == 0 ? ERR_TIMEOUT : err_set(ERR_UNAVAILABLE, "the session bus connection failed");
		r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return err_set(ERR_UNAVAILABLE, "the session bus closed the connection");
		c->len += (size_t)r;
		if (c->idle_ms)
			c->deadline = monotonic_ms() + c->idle_ms;
		return 0;
	}
}

/* Take the next whole message out of c->in into c->msg. 0, or an err.h code. */
static int next_message(struct dbus_conn *c)
{
	size_t size;
	int rc;

	while (c->len < 16 || (size = dbus_message_size(c->in)) == 0 || size > c->len) {
		if (c->len >= 16 && dbus_message_size(c->in) == 0)
			return err_set(ERR_UNAVAILABLE, "the session bus sent something that is not D-Bus");
		rc = fill(c);
		if (rc)
			return rc;
	}
	secmem_free(c->msg, c->msg_len);
	c->msg = malloc(size);
	if (!c->msg)
		return err_set(ERR_FAILED, "out of memory");
	memcpy(c->msg, c->in, size);
	c->msg_len = size;
	explicit_bzero(c->in, size);
	memmove(c->in, c->in + size, c->len - size);
	c->len -= size;
	return 0;
}

int dbus_collect(struct dbus_conn *c, uint32_t first, uint32_t n, dbus_reply_fn *on_reply, void *ctx)
{
	uint32_t got = 0;
	int rc = flush(c);

	while (!rc && got < n) {
		struct dbus_reply r;

		rc = next_message(c);
		if (rc == ERR_TIMEOUT)
			rc = err_set(ERR_TIMEOUT, "no answer on the session bus in time");
		if (rc)
			break;
		if (dbus_parse(c->msg, c->msg_len, &r) != 0)
			return err_set(ERR_UNAVAILABLE, "the session bus sent a malformed message");
		if ((r.type != MSG_RETURN && r.type != MSG_ERROR) || r.reply_serial < first ||
		    r.reply_serial - first >= n)
			continue; /* a signal, or the reply to a call we do not wait for (Hello) */
		got++;
		rc = on_reply(ctx, r.reply_serial - first, &r);
	}
	return rc;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode a D-Bus address value (%XX escapes) into out. -1 when malformed or too long. */
static int unescape(const char *v, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char ch = v[i];

		if (ch == '%') {
			if (n - i < 3 || hexval(v[i + 1]) < 0 || hexval(v[i + 2]) < 0)
				return -1;
			ch = (char)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
			i += 2;
		}
		if (ch == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = ch;
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
		int abstract = klen == 8 && strncmp(p, "abstract", 8) == 0;

		if (abstract || (klen == 4 && strncmp(p, "path", 4) == 0)) {
			if (unescape(eq + 1, (size_t)(stop - eq - 1), value, sizeof(value) - 1) != 0 ||
			    !value[0])
				return -1;
			/* An abstract name starts with a NUL byte in sun_path. */
			memcpy(sa->sun_path + abstract, value, strlen(value));
			*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)abstract +
					     strlen(value) + (abstract ? 0 : 1));
			return 0;
		}
		p = comma ? comma + 1 : address + n;
	}
	return -1;
}

/* SASL EXTERNAL with our uid; the reply "OK <guid>". 0 or an err.h code. */
static int authenticate(struct dbus_conn *c)
{
	char uid[24], line[128], hex[64];
	size_t i;
	int rc;

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	for (i = 0; uid[i]; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)uid[i]);
	snprintf(line, sizeof(line), "%cAUTH EXTERNAL %s\r\n", 0, hex);
	if (secbuf_append(&c->out, line, 1 + strlen(line + 1)) != 0)
		return err_set(ERR_FAILED, "out of memory");
	rc = flush(c);
	while (!rc && !memchr(c->in ? c->in : (unsigned char *)"", '\n', c->len))
		rc = fill(c);
	if (rc)
		return rc == ERR_TIMEOUT ? err_set(rc, "the session bus did not answer in time") : rc;
	if (c->len < 3 || memcmp(c->in, "OK ", 3) != 0)
		return err_set(ERR_UNAVAILABLE, "the session bus refused us (SASL EXTERNAL)");
	c->len = 0; /* nothing may follow OK before our BEGIN */
	return secbuf_append_str(&c->out, "BEGIN\r\n") ? err_set(ERR_FAILED, "out of memory") : 0;
}

int dbus_open(struct dbus_conn *c, const char *address, int64_t deadline)
{
	struct sockaddr_un sa;
	socklen_t salen = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->deadline = deadline;
	if (!address || parse_address(address, &sa, &salen) != 0) {
		err_set(ERR_UNAVAILABLE, "a session bus address this helper cannot use directly: %s",
			address ? address : "(none)");
		return DBUS_UNSUPPORTED;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return err_set(ERR_UNAVAILABLE, "no socket: %s", strerror(errno));
	/* AF_UNIX connects at once or fails (EAGAIN: the bus's backlog is full). */
	if (connect(c->fd, (struct sockaddr *)&sa, salen) != 0)
		return err_set(ERR_UNAVAILABLE, "cannot connect to the session bus (%s): %s", address,
			       strerror(errno));
	rc = authenticate(c);
	if (rc)
		return rc;
	/* Hello first, as every connection must; its reply is not waited for. */
	return dbus_call(c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			 "Hello", NULL, NULL) ? 0 : err_set(ERR_FAILED, "out of memory");
}

void dbus_close(struct dbus_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	secbuf_free(&c->out);
	secmem_free(c->in, c->cap);
	secmem_free(c->msg, c->msg_len);
	c->in = c->msg = NULL;
	c->len = c->cap = c->msg_len = 0;
}
