/* Unit tests of dbus_quick.c: the verdict on SearchItems replies, the message parser on good,
 * truncated and hostile bytes, and the whole exchange against a tiny bus that answers, errs or
 * stays silent. The real bus and gnome-keyring are exercised by the integration tests. */
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

#include "dbus_quick.h"

/* ---- a reply message, little-endian, as dbus-daemon forwards gnome-keyring's ------------- */

struct msg {
	unsigned char b[512];
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
	m->b[m->n++] = v & 0xff;
	m->b[m->n++] = (v >> 8) & 0xff;
	m->b[m->n++] = (v >> 16) & 0xff;
	m->b[m->n++] = v >> 24;
}

static void str(struct msg *m, const char *s)
{
	u32(m, (uint32_t)strlen(s));
	memcpy(m->b + m->n, s, strlen(s) + 1);
	m->n += strlen(s) + 1;
}

/* type 2 (return) or 3 (error) to serial to, with a SENDER field and sig/body. */
static void reply_to(struct msg *m, uint32_t to, int type, const char *sig,
		     const unsigned char *body, size_t len)
{
	size_t fields;

	m->n = 0;
	m->b[m->n++] = 'l';
	m->b[m->n++] = (unsigned char)type;
	m->b[m->n++] = 1;
	m->b[m->n++] = 1;
	u32(m, (uint32_t)len);
	u32(m, 7);
	u32(m, 0);
	fields = m->n;
	pad(m, 8); /* REPLY_SERIAL */
	m->b[m->n++] = 5, m->b[m->n++] = 1, m->b[m->n++] = 'u', m->b[m->n++] = 0;
	u32(m, to);
	pad(m, 8); /* SENDER = ":1.5" */
	m->b[m->n++] = 7, m->b[m->n++] = 1, m->b[m->n++] = 's', m->b[m->n++] = 0;
	str(m, ":1.5");
	if (type == 3) { /* ERROR_NAME */
		pad(m, 8);
		m->b[m->n++] = 4, m->b[m->n++] = 1, m->b[m->n++] = 's', m->b[m->n++] = 0;
		str(m, "org.freedesktop.DBus.Error.ServiceUnknown");
	}
	pad(m, 8); /* SIGNATURE */
	m->b[m->n++] = 8, m->b[m->n++] = 1, m->b[m->n++] = 'g', m->b[m->n++] = 0;
	m->b[m->n++] = (unsigned char)strlen(sig);
	memcpy(m->b + m->n, sig, strlen(sig) + 1);
	m->n += strlen(sig) + 1;
	{
		uint32_t f = (uint32_t)(m->n - fields);

		memcpy(m->b + 12, &f, 4); /* little-endian host, as everywhere we build */
	}
	pad(m, 8);
	memcpy(m->b + m->n, body, len);
	m->n += len;
}

/* The reply to our first SearchItems (serial 2). */
static void reply(struct msg *m, int type, const char *sig, const unsigned char *body, size_t len)
{
	reply_to(m, 2, type, sig, body, len);
}

static const unsigned char EMPTY[8] = {0};
/* One unlocked path "/a" (array length 7: u32 len 2, "/a", NUL), then an empty array. */
static const unsigned char ONE[] = {7, 0, 0, 0, 2, 0, 0, 0, '/', 'a', 0, 0, 0, 0, 0, 0};

static void test_verdict(void **state)
{
	(void)state;
	assert_int_equal(dbus_quick_verdict(EMPTY, 8, 0, "aoao"), DBUS_QUICK_NONE);
	assert_int_equal(dbus_quick_verdict(ONE, sizeof(ONE), 0, "aoao"), DBUS_QUICK_SOME);
	/* An empty unlocked list and one locked path. */
	{
		unsigned char b[] = {0, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, '/', 'a', 0};

		assert_int_equal(dbus_quick_verdict(b, sizeof(b), 0, "aoao"), DBUS_QUICK_SOME);
	}
	/* Big-endian lengths. */
	{
		unsigned char b[] = {0, 0, 0, 7, 0, 0, 0, 2, '/', 'a', 0, 0, 0, 0, 0, 0};

		assert_int_equal(dbus_quick_verdict(b, sizeof(b), 1, "aoao"), DBUS_QUICK_SOME);
		assert_int_equal(dbus_quick_verdict(EMPTY, 8, 1, "aoao"), DBUS_QUICK_NONE);
	}
	/* Not what SearchItems answers, or not all of it: never "no item". */
	assert_int_equal(dbus_quick_verdict(EMPTY, 8, 0, "ao"), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_verdict(EMPTY, 8, 0, ""), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_verdict(EMPTY, 4, 0, "aoao"), DBUS_QUICK_UNKNOWN);
	{
		unsigned char b[12] = {0};

		assert_int_equal(dbus_quick_verdict(b, sizeof(b), 0, "aoao"), DBUS_QUICK_UNKNOWN);
	}
	{
		unsigned char b[] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};

		assert_int_equal(dbus_quick_verdict(b, sizeof(b), 0, "aoao"), DBUS_QUICK_UNKNOWN);
	}
}

static void test_parse(void **state)
{
	struct dbus_quick_msg m;
	struct msg r;
	size_t i;

	(void)state;
	reply(&r, 2, "aoao", EMPTY, 8);
	assert_int_equal(dbus_quick_message_size(r.b), r.n);
	assert_int_equal(dbus_quick_parse(r.b, r.n, &m), 0);
	assert_int_equal(m.type, 2);
	assert_int_equal(m.reply_serial, 2);
	assert_string_equal(m.sig, "aoao");
	assert_int_equal(m.body_len, 8);
	assert_int_equal(dbus_quick_verdict(m.body, m.body_len, m.big_endian, m.sig), DBUS_QUICK_NONE);

	reply(&r, 3, "s", (const unsigned char *)"\4\0\0\0oops", 9);
	assert_int_equal(dbus_quick_parse(r.b, r.n, &m), 0);
	assert_int_equal(m.type, 3);

	/* Every truncation is refused, never read past. */
	reply(&r, 2, "aoao", ONE, sizeof(ONE));
	for (i = 0; i < r.n; i++)
		assert_int_equal(dbus_quick_parse(r.b, i, &m), -1);
	assert_int_equal(dbus_quick_parse(r.b, r.n, &m), 0);

	/* A wrong endianness mark or version, a field of a type we do not read, a huge length. */
	reply(&r, 2, "aoao", EMPTY, 8);
	r.b[0] = 'x';
	assert_int_equal(dbus_quick_message_size(r.b), 0);
	reply(&r, 2, "aoao", EMPTY, 8);
	r.b[3] = 2;
	assert_int_equal(dbus_quick_parse(r.b, r.n, &m), -1);
	reply(&r, 2, "aoao", EMPTY, 8);
	r.b[16 + 2] = 'v'; /* REPLY_SERIAL's type */
	assert_int_equal(dbus_quick_parse(r.b, r.n, &m), -1);
	reply(&r, 2, "aoao", EMPTY, 8);
	r.b[4] = 0xff, r.b[5] = 0xff, r.b[6] = 0xff, r.b[7] = 0x7f;
	assert_int_equal(dbus_quick_message_size(r.b), 0);
	assert_int_equal(dbus_quick_parse(r.b, r.n, &m), -1);
}

/* ---- the exchange, against a one-connection bus in a child process ------------------------ */

/* BUS_EMPTY answers both searches with no item; BUS_FLAKY answers the first with no item and
 * the second (the confirmation) with one; BUS_ONCE answers the first and then stays silent. */
/* BUS_LATE: as BUS_EMPTY, each search answered 120 ms after it arrived. */
enum bus_mode { BUS_EMPTY, BUS_FLAKY, BUS_ONCE, BUS_ERROR, BUS_SILENT, BUS_REJECT, BUS_LATE };

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
	if (pid == 0) {
		char buf[4096];
		struct msg hello_reply, r;
		int c = accept(l, NULL, NULL);
		ssize_t n = read(c, buf, sizeof(buf)); /* "\0AUTH EXTERNAL ...\r\n" */

		if (n <= 0 || memcmp(buf, "\0AUTH EXTERNAL ", 15) != 0)
			_exit(1);
		if (mode == BUS_REJECT) {
			(void)!write(c, "REJECTED EXTERNAL\r\n", 19);
			sleep(5);
			_exit(0);
		}
		(void)!write(c, "OK 0123456789abcdef0123456789abcdef\r\n", 37);
		n = read(c, buf, sizeof(buf)); /* BEGIN, Hello, SearchItems (maybe in pieces) */
		if (n <= 0 || memcmp(buf, "BEGIN\r\n", 7) != 0)
			_exit(1);
		if (mode == BUS_SILENT) {
			sleep(5);
			_exit(0);
		}
		/* Hello's reply goes to serial 1: build it as a reply to 2 and patch the serial. */
		reply(&hello_reply, 2, "s", (const unsigned char *)"\4\0\0\0:1.9\0", 9);
		hello_reply.b[16 + 4] = 1;
		if (mode == BUS_ERROR)
			reply(&r, 3, "s", (const unsigned char *)"\4\0\0\0oops\0", 9);
		else
			reply(&r, 2, "aoao", EMPTY, 8);
		if (mode == BUS_LATE)
			usleep(120 * 1000);
		(void)!write(c, hello_reply.b, hello_reply.n);
		(void)!write(c, r.b, r.n);
		if (mode == BUS_EMPTY || mode == BUS_FLAKY || mode == BUS_LATE) {
			n = read(c, buf, sizeof(buf)); /* the confirming SearchItems, serial 3 */
			if (n <= 0)
				_exit(1);
			if (mode == BUS_LATE)
				usleep(120 * 1000);
			if (mode != BUS_FLAKY)
				reply_to(&r, 3, 2, "aoao", EMPTY, 8);
			else
				reply_to(&r, 3, 2, "aoao", ONE, sizeof(ONE));
			(void)!write(c, r.b, r.n);
		}
		sleep(1);
		_exit(0);
	}
	close(l);
	return pid;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int waits; /* how often the while_waiting hook ran */

static void count_wait(void)
{
	waits++;
}

/* Ask the fake bus in mode; want that answer within [min_ms, max_ms) and the while_waiting
 * hook run calls times (once per question sent: the search, the confirming search). */
static void ask(enum bus_mode mode, enum dbus_quick_answer want, double min_ms, double max_ms,
		int calls)
{
	char path[] = "/tmp/dck-quick-XXXXXX", sock[64], addr[96];
	struct timespec t0;
	pid_t pid;
	double ms;

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/bus", path);
	snprintf(addr, sizeof(addr), "unix:path=%s,guid=0123", sock);
	pid = start_bus(sock, mode);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	waits = 0;
	assert_int_equal(dbus_quick_any_item(addr, "registry.example.com", 300, count_wait), want);
	ms = elapsed_ms(&t0);
	assert_true(ms >= min_ms && ms < max_ms);
	assert_int_equal(waits, calls);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock);
	rmdir(path);
}

static void test_exchange(void **state)
{
	(void)state;
	ask(BUS_EMPTY, DBUS_QUICK_NONE, 0, 250, 2);
	/* "No item" is only believed when a second search, after the first answer, agrees. */
	ask(BUS_FLAKY, DBUS_QUICK_SOME, 0, 250, 2);
	ask(BUS_ONCE, DBUS_QUICK_TIMEOUT, 290, 1000, 2);
	ask(BUS_ERROR, DBUS_QUICK_UNKNOWN, 0, 250, 1);
	ask(BUS_REJECT, DBUS_QUICK_UNKNOWN, 0, 250, 0);
	ask(BUS_SILENT, DBUS_QUICK_TIMEOUT, 290, 1000, 1);
}

static long wait_ms; /* how long each while_waiting call works */

static void slow_wait(void)
{
	struct timespec t = {0, wait_ms * 1000000L};

	waits++;
	nanosleep(&t, NULL);
}

/* Ask a fake bus in mode with a 100 ms timeout while each wait works for work_ms. */
static enum dbus_quick_answer ask_while_working(enum bus_mode mode, long work_ms)
{
	char path[] = "/tmp/dck-quick-XXXXXX", sock[64], addr[96];
	enum dbus_quick_answer answer;
	pid_t pid;

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/bus", path);
	snprintf(addr, sizeof(addr), "unix:path=%s", sock);
	pid = start_bus(sock, mode);
	waits = 0;
	wait_ms = work_ms;
	answer = dbus_quick_any_item(addr, "registry.example.com", 100, slow_wait);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock);
	rmdir(path);
	return answer;
}

/* The caller's work is not the bus's time. 90 ms of work, then an answer 30 ms later, against a
 * 100 ms timeout: only a deadline moved by the work waits for it (twice). And answers already
 * in the socket when the work ends past the deadline (2 × 200 ms) still count. */
static void test_slow_work_is_not_a_timeout(void **state)
{
	(void)state;
	assert_int_equal(ask_while_working(BUS_LATE, 90), DBUS_QUICK_NONE);
	assert_int_equal(waits, 2);
	assert_int_equal(ask_while_working(BUS_EMPTY, 200), DBUS_QUICK_NONE);
	assert_int_equal(waits, 2);
}

static void test_addresses(void **state)
{
	(void)state;
	assert_int_equal(dbus_quick_any_item(NULL, "x", 100, NULL), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_any_item("tcp:host=127.0.0.1,port=1", "x", 100, NULL), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_any_item("unix:path=/nonexistent/bus", "x", 100, NULL), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_any_item("unix:path=/tmp/%zz", "x", 100, NULL), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_any_item("unix:guid=1", "x", 100, NULL), DBUS_QUICK_UNKNOWN);
	assert_int_equal(dbus_quick_any_item("unix:path=/tmp/%00x", "x", 100, NULL), DBUS_QUICK_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_slow_work_is_not_a_timeout),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
