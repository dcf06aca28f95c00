/* secmem: memory that may hold a secret, and the rule that it is wiped before it is freed.
 *
 * Every buffer that ever held a password, token or the JSON carrying one goes through these
 * functions, so a freed block never keeps a secret for the next malloc or a core dump to find.
 * A secbuf grows by copying into a new block and wiping the old one, never by realloc (which
 * may leave the old bytes behind). */
#ifndef DCK_SECMEM_H
#define DCK_SECMEM_H

#include <stdarg.h>
#include <stddef.h>

struct secbuf {
	char *data; /* always NUL-terminated when non-NULL; may hold NUL bytes before len */
	size_t len;
	size_t cap;
};

#define SECBUF_INIT {NULL, 0, 0}

/* Append n bytes. Returns 0, or ERR_FAILED when memory runs out (b is left as it was). */
int secbuf_append(struct secbuf *b, const void *p, size_t n);
int secbuf_append_str(struct secbuf *b, const char *s);

/* Read fd to end of file into b. More than max bytes: ERR_INVALID with a message naming the
 * limit, and nothing kept. */
int secbuf_read_fd(struct secbuf *b, int fd, size_t max);

/* Wipe the whole capacity and free; b is empty afterwards. NULL-safe. */
void secbuf_free(struct secbuf *b);

/* Wipe n bytes at p and free p. NULL-safe. */
void secmem_free(void *p, size_t n);

/* Wipe a NUL-terminated string and free it. NULL-safe. */
void secmem_free_str(char *s);

/* malloc'd copy of n bytes plus a terminating NUL; NULL when memory runs out. */
char *secmem_dup(const void *p, size_t n);

/* Remember a secret this process handles (an API token, a password sent or received), so that
 * no message can carry it out: err_set and the debug log pass every line through
 * secmem_redact. A remote server's error text is quoted in messages, and a hostile or broken
 * one could echo what we sent. Secrets shorter than 6 bytes are not remembered (they would
 * match ordinary words); copies are wiped at exit (or earlier: secmem_forget_all). */
void secmem_remember(const char *p, size_t n);

/* Wipe and forget every remembered secret now. For a process about to leave by _exit, which
 * runs no exit handlers; exit() calls it anyway. */
void secmem_forget_all(void);

/* Replace every remembered secret in the NUL-terminated line s by "[redacted]" when that is
 * no longer than the secret, else by "***": in place, the line never grows. */
void secmem_redact(char *s);

/* Format a message line into out (size bytes): the whole text is redacted first (a secret is
 * matched before anything can cut or change it), then control characters become spaces (a
 * message is one line, whatever it quotes), then it is cut to fit. err_set and the debug log
 * use it. */
void secmem_format_line(char *out, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
