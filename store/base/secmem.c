/* secmem: wiped-on-free buffers for secrets (see secmem.h). */
#include "secmem.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

static int secbuf_reserve(struct secbuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > (size_t)-1 / 2 - b->len)
		return err_set(ERR_FAILED, "out of memory");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = malloc(cap);
	if (!p)
		return err_set(ERR_FAILED, "out of memory");
	if (b->data)
		memcpy(p, b->data, b->len);
	p[b->len] = '\0';
	secmem_free(b->data, b->cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int secbuf_append(struct secbuf *b, const void *p, size_t n)
{
	int rc = secbuf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int secbuf_append_str(struct secbuf *b, const char *s)
{
	return secbuf_append(b, s, strlen(s));
}

int secbuf_read_fd(struct secbuf *b, int fd, size_t max)
{
	char chunk[16384];
	ssize_t n;
	int rc = 0;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(ERR_FAILED, "cannot read: %s", strerror(errno)); /* callers name what */
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n > max - b->len) {
			rc = err_set(ERR_INVALID, "input is larger than the limit of %zu bytes", max);
			break;
		}
		rc = secbuf_append(b, chunk, (size_t)n);
		if (rc)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	if (rc)
		secbuf_free(b);
	return rc;
}

void secbuf_free(struct secbuf *b)
{
	secmem_free(b->data, b->cap);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void secmem_free(void *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	free(p);
}

void secmem_free_str(char *s)
{
	if (s)
		secmem_free(s, strlen(s));
}

#define REMEMBER_MAX 16
#define REMEMBER_MIN 6

static struct {
	char *p;
	size_t n;
} remembered[REMEMBER_MAX];
static size_t nremembered;

void secmem_forget_all(void)
{
	size_t i;

	for (i = 0; i < nremembered; i++)
		secmem_free(remembered[i].p, remembered[i].n);
	nremembered = 0;
}

void secmem_remember(const char *p, size_t n)
{
	size_t i;

	if (!p || n < REMEMBER_MIN || nremembered == REMEMBER_MAX)
		return;
	for (i = 0; i < nremembered; i++)
		if (remembered[i].n == n && memcmp(remembered[i].p, p, n) == 0)
			return;
	if (nremembered == 0)
		atexit(secmem_forget_all);
	remembered[nremembered].p = secmem_dup(p, n);
	if (remembered[nremembered].p)
		remembered[nremembered++].n = n;
}

void secmem_redact(char *s)
{
	size_t i, len, with_len;
	const char *with;
	char *hit;

	for (i = 0; s && i < nremembered; i++) {
		char *from = s;

		with = remembered[i].n >= 10 ? "[redacted]" : "***";
		with_len = strlen(with);
		/* Search on after each replacement, never in it: a secret that is itself
		 * "[redacted]" (or part of it) must not make this loop forever. */
		while ((hit = memmem(from, strlen(from), remembered[i].p, remembered[i].n))) {
			len = strlen(hit + remembered[i].n);
			memcpy(hit, with, with_len);
			memmove(hit + with_len, hit + remembered[i].n, len + 1);
			from = hit + with_len;
		}
	}
}

void secmem_format_line(char *out, size_t size, const char *fmt, va_list ap)
{
	va_list copy;
	char *full, *p;
	size_t n, left, step;
	int len;

	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	full = len >= 0 ? malloc((size_t)len + 1) : NULL;
	if (!full) {
		snprintf(out, size, "%s", "(a message that could not be formatted: out of memory)");
		return;
	}
	vsnprintf(full, (size_t)len + 1, fmt, ap);
	secmem_redact(full);
	/* One line of UTF-8, whatever it quotes: a control character becomes a space, a byte that
	 * starts no valid character (a %.*s cut in one, a hostile server's text) becomes '?'. */
	for (p = full, left = strlen(full); left; p += step, left -= step) {
		step = utf8_seq_len((const unsigned char *)p, left);
		if (!step)
			*p = '?';
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
		step = step ? step : 1;
	}
	n = strlen(full) < size ? strlen(full) : size - 1;
	while (n && full[n] && ((unsigned char)full[n] & 0xc0) == 0x80)
		n--; /* a cut inside a character drops all of it: the line stays UTF-8 */
	memcpy(out, full, n);
	out[n] = '\0';
	secmem_free(full, (size_t)len + 1);
}

char *secmem_dup(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}
