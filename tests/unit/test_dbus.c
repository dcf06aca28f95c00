/* Unit tests of store/secret/dbus.c and of secret_read.c's decisions: marshalling round trips,
 * the message parser and the skipper on good, truncated and hostile bytes, and whole reads
 * against a scripted one-connection bus (empty answers asked twice, errors, silence, a refused
 * handshake). The real bus and gnome-keyring are exercised by the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dbus.h"
#include "err.h"
#include "monotonic.h"
#include "secret_read.h"

/* ---- building replies, little-endian ----------------------------------------------------- */

struct msg {
	unsigned char b[2048];
	size_t n;
};

static void pad(struct msg *m, size_t a)
{
	while (m->n % a)
		m->b[m->n++] = 0;
}

static void u32(struct msg *m, uint32_t v)
{
	pad(m, 4);
	memcpy(m->b + m->n, &v, 4); /* a little-endian host, as everywhere we build */
	m->n += 4;
}

static void str(struct msg *m, const char *s)
{
	u32(m, (uint32_t)strlen(s));
	memcpy(m->b + m->n, s, strlen(s) + 1);
	m->n += strlen(s) + 1;
}

static void field(struct msg *m, unsigned char code, char type)
{
	pad(m, 8);
	m->b[m->n++] = code, m->b[m->n++] = 1, m->b[m->n++] = (unsigned char)type, m->b[m->n++] = 0;
}

/* A return (type 2) or error (type 3, named error) to serial to, with body of signature sig. */
static void reply_to(struct msg *m, uint32_t to, int type, const char *error, const char *sig,
		     const unsigned char *body, size_t len)
{
	size_t fields;
	uint32_t f;

	m->n = 0;
	m->b[m->n++] = 'l', m->b[m->n++] = (unsigned char)type, m->b[m->n++] = 1, m->b[m->n++] = 1;
	u32(m, (uint32_t)len);
	u32(m, 7);
	u32(m, 0);
	fields = m->n;
	field(m, 5, 'u');
	u32(m, to);
	field(m, 7, 's');
	str(m, ":1.5");
	if (type == 3) {
		field(m, 4, 's');
		str(m, error);
	}
	field(m, 8, 'g');
	m->b[m->n++] = (unsigned char)strlen(sig);
	memcpy(m->b + m->n, sig, strlen(sig) + 1);
	m->n += strlen(sig) + 1;
	f = (uint32_t)(m->n - fields);
	memcpy(m->b + 12, &f, 4);
	pad(m, 8);
	if (len) /* body may be NULL: memcpy's arguments must be valid even for 0 bytes */
		memcpy(m->b + m->n, body, len);
	m->n += len;
}

static const unsigned char EMPTY[8] = {0};
/* One unlocked path "/a" (array length 7: u32 len 2, "/a", NUL), then an empty array. */
static const unsigned char ONE[] = {7, 0, 0, 0, 2, 0, 0, 0, '/', 'a', 0, 0, 0, 0, 0, 0};

/* ---- marshalling and parsing --------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	static const char *const keys[] = {"server", "xdg:schema"}, *const values[] = {"r.example", "s"};
	static const char *const paths[] = {"/a", "/bb"};
	struct dbus_body w = {SECBUF_INIT, 0};
	struct dbus_reply r = {0};
	struct dbus_iter it;
	const char *s, *sig;
	size_t n, end;
	uint32_t u;

	(void)state;
	dbus_put_string(&w, "plain");
	dbus_put_variant_string(&w, "");
	dbus_put_dict_ss(&w, 2, keys, values);
	dbus_put_paths(&w, 2, paths);
	dbus_put_u32(&w, 42);
	assert_false(w.failed);
	r.body = (const unsigned char *)w.b.data;
	r.len = w.b.len;
	dbus_iter_init(&it, &r);
	assert_int_equal(dbus_get_string(&it, &s, &n), 0);
	assert_string_equal(s, "plain");
	assert_int_equal(dbus_get_variant(&it, &sig), 0);
	assert_string_equal(sig, "s");
	assert_int_equal(dbus_get_string(&it, &s, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dbus_get_array(&it, 8, &end), 0);
	assert_int_equal(dbus_get_struct(&it), 0);
	assert_int_equal(dbus_get_string(&it, &s, &n), 0);
	assert_string_equal(s, "server");
	assert_int_equal(dbus_get_string(&it, &s, &n), 0);
	assert_string_equal(s, "r.example");
	sig = "{ss}";
	assert_int_equal(dbus_skip(&it, &sig), 0);
	assert_int_equal(it.pos, end);
	sig = "ao";
	assert_int_equal(dbus_skip(&it, &sig), 0);
	assert_int_equal(dbus_get_u32(&it, &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(it.pos, it.end);
	assert_int_equal(dbus_get_u32(&it, &u), -1); /* past the end */
	dbus_body_free(&w);
}

static void test_parse(void **state)
{
	struct dbus_reply m;
	struct msg r;
	size_t i;

	(void)state;
	reply_to(&r, 2, 2, NULL, "aoao", EMPTY, 8);
	assert_int_equal(dbus_message_size(r.b), r.n);
	assert_int_equal(dbus_parse(r.b, r.n, &m), 0);
	assert_int_equal(m.type, 2);
	assert_int_equal(m.reply_serial, 2);
	assert_string_equal(m.sig, "aoao");
	assert_int_equal(m.len, 8);

	reply_to(&r, 2, 3, "org.example.Oops", "s", (const unsigned char *)"\4\0\0\0oops", 9);
	assert_int_equal(dbus_parse(r.b, r.n, &m), 0);
	assert_int_equal(m.type, 3);
	assert_string_equal(m.error, "org.example.Oops");

	/* Every truncation is refused, never read past. */
	reply_to(&r, 2, 2, NULL, "aoao", ONE, sizeof(ONE));
	for (i = 0; i < r.n; i++)
		assert_int_equal(dbus_parse(r.b, i, &m), -1);
	assert_int_equal(dbus_parse(r.b, r.n, &m), 0);

	/* A wrong endianness mark or version, a field of the wrong type, a huge length. */
	reply_to(&r, 2, 2, NULL, "aoao", EMPTY, 8);
	r.b[0] = 'x';
	assert_int_equal(dbus_message_size(r.b), 0);
	reply_to(&r, 2, 2, NULL, "aoao", EMPTY, 8);
	r.b[3] = 2;
	assert_int_equal(dbus_parse(r.b, r.n, &m), -1);
	reply_to(&r, 2, 2, NULL, "aoao", EMPTY, 8);
	r.b[16 + 2] = 'v'; /* REPLY_SERIAL's type: a variant holding nothing that follows */
	assert_int_equal(dbus_parse(r.b, r.n, &m), -1);
	reply_to(&r, 2, 2, NULL, "aoao", EMPTY, 8);
	r.b[4] = 0xff, r.b[5] = 0xff, r.b[6] = 0xff, r.b[7] = 0x7f;
	assert_int_equal(dbus_message_size(r.b), 0);
	assert_int_equal(dbus_parse(r.b, r.n, &m), -1);
}

static void test_skip_hostile(void **state)
{
	static const char *const sigs[] = {"", "a", "(", "(s", "{s}", "z", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaas",
					   "v", "a{sv}", "(uuuuuuuuuuuuuuuuu)"};
	unsigned char body[64];
	struct dbus_reply r = {0};
	struct dbus_iter it;
	size_t i;

	(void)state;
	memset(body, 0xff, sizeof(body)); /* lengths of 4 GiB everywhere */
	r.body = body;
	r.len = sizeof(body);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		const char *sig = sigs[i];

		dbus_iter_init(&it, &r);
		assert_int_equal(dbus_skip(&it, &sig), -1);
		assert_true(it.pos <= it.end);
	}
	/* A variant that claims to hold itself, again and again, stops at the depth bound. */
	memset(body, 0, sizeof(body));
	for (i = 0; i + 3 <= sizeof(body); i += 3)
		body[i] = 1, body[i + 1] = 'v', body[i + 2] = 0;
	dbus_iter_init(&it, &r);
	{
		const char *sig = "v";

		assert_int_equal(dbus_skip(&it, &sig), -1);
	}
	/* An array of empty structs (8 bytes of them) read nothing per element: it looped forever.
	 * The same inside a variant, as OpenSession's reply could carry it. */
	memset(body, 0, sizeof(body));
	body[0] = 8;
	dbus_iter_init(&it, &r);
	{
		const char *sig = "a()";

		assert_int_equal(dbus_skip(&it, &sig), -1);
	}
	memset(body, 0, sizeof(body));
	body[0] = 3, body[1] = 'a', body[2] = '(', body[3] = ')', body[8] = 8;
	dbus_iter_init(&it, &r);
	{
		const char *sig = "v";

		assert_int_equal(dbus_skip(&it, &sig), -1);
	}
}

/* ---- reads against a scripted bus ------------------------------------------------------------ */

/* What the bus answers: to SearchItems (serials 2 and 3) and whatever follows. */
enum bus_mode {
	BUS_EMPTY,   /* no item, twice: not found */
	BUS_FLAKY,   /* no item, then one (the admission race): not "not found" */
	BUS_NOKEYRING, /* ServiceUnknown: no Secret Service */
	BUS_ODD,     /* an error reply we do not know: left to libsecret */
	BUS_SILENT,  /* authenticates, then never answers */
	BUS_REJECT,  /* refuses the handshake */
};

/* Read whole messages from c until the one with serial want has arrived. -1 on EOF. */
static int read_until(int c, uint32_t want)
{
	static unsigned char buf[65536];
	static size_t len;
	size_t size;

	for (;;) {
		while (len >= 16 && (size = dbus_message_size(buf)) && size <= len) {
			uint32_t serial;

			memcpy(&serial, buf + 8, 4);
			memmove(buf, buf + size, len - size);
			len -= size;
			if (serial == want)
				return 0;
		}
		ssize_t n = read(c, buf + len, sizeof(buf) - len);

		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

static void serve(int c, enum bus_mode mode)
{
	char buf[256];
	struct msg r;
	ssize_t n = read(c, buf, sizeof(buf)); /* "\0AUTH EXTERNAL ...\r\n" */

	if (n <= 0 || memcmp(buf, "\0AUTH EXTERNAL ", 15) != 0)
		_exit(1);
	if (mode == BUS_REJECT) {
		(void)!write(c, "REJECTED EXTERNAL\r\n", 19);
		sleep(5);
		_exit(0);
	}
	(void)!write(c, "OK 0123456789abcdef0123456789abcdef\r\n", 37);
	n = read(c, buf, 7);
	if (n != 7 || memcmp(buf, "BEGIN\r\n", 7) != 0 || mode == BUS_SILENT || read_until(c, 2))
		_exit(mode == BUS_SILENT ? (sleep(5), 0) : 1);
	if (mode == BUS_NOKEYRING || mode == BUS_ODD) {
		reply_to(&r, 2, 3, mode == BUS_ODD ? "org.example.Odd"
						   : "org.freedesktop.DBus.Error.ServiceUnknown", "", NULL, 0);
		(void)!write(c, r.b, r.n);
		sleep(1);
		_exit(0);
	}
	reply_to(&r, 2, 2, NULL, "aoao", EMPTY, 8);
	(void)!write(c, r.b, r.n);
	if (read_until(c, 3))
		_exit(1);
	reply_to(&r, 3, 2, NULL, "aoao", mode == BUS_FLAKY ? ONE : EMPTY, mode == BUS_FLAKY ? sizeof(ONE) : 8);
	(void)!write(c, r.b, r.n);
	if (mode == BUS_FLAKY && read_until(c, 4) == 0) { /* OpenSession: refused, oddly */
		reply_to(&r, 4, 3, "org.example.Odd", "", NULL, 0);
		(void)!write(c, r.b, r.n);
	}
	sleep(1);
	_exit(0);
}

static pid_t start_bus(const char *path, enum bus_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		serve(accept(l, NULL, NULL), mode);
	close(l);
	return pid;
}

/* A get against the bus in mode within 300 ms: want that code within [min_ms, max_ms). */
static void get(enum bus_mode mode, int want, int64_t min_ms, int64_t max_ms)
{
	char path[] = "/tmp/dck-dbus-XXXXXX", sock[64], addr[96];
	struct cred c = {0};
	int64_t start, ms;
	pid_t pid;

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/bus", path);
	snprintf(addr, sizeof(addr), "unix:path=%s,guid=0123", sock);
	pid = start_bus(sock, mode);
	start = monotonic_ms();
	assert_int_equal(secret_read_get(addr, "registry.example.com", start + 300, &c), want);
	ms = monotonic_ms() - start;
	assert_true(ms >= min_ms && ms < max_ms);
	assert_null(c.server); /* written only on success */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock);
	rmdir(path);
}

static void test_reads(void **state)
{
	(void)state;
	get(BUS_EMPTY, ERR_NOTFOUND, 0, 250);
	/* "No item" is only believed when a second search, after the first answer, agrees. */
	get(BUS_FLAKY, SECRET_READ_FALLBACK, 0, 250);
	get(BUS_NOKEYRING, ERR_UNAVAILABLE, 0, 250);
	assert_non_null(strstr(err_msg(), "no Secret Service on the session bus"));
	get(BUS_ODD, SECRET_READ_FALLBACK, 0, 250);
	get(BUS_REJECT, ERR_UNAVAILABLE, 0, 250);
	get(BUS_SILENT, ERR_TIMEOUT, 290, 1000);
}

static void test_addresses(void **state)
{
	struct cred c = {0};

	(void)state;
	/* Kinds we do not speak are libsecret's; a socket that is not there is "unavailable". */
	assert_int_equal(secret_read_get("tcp:host=localhost,port=1", "r", monotonic_ms() + 100, &c),
			 SECRET_READ_FALLBACK);
	assert_int_equal(secret_read_get("unix:path=/nonexistent/bus", "r", monotonic_ms() + 100, &c),
			 ERR_UNAVAILABLE);
	assert_int_equal(secret_read_get("unix:path=%zz", "r", monotonic_ms() + 100, &c),
			 SECRET_READ_FALLBACK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_skip_hostile),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_addresses),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
