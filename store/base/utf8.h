/* utf8: the one strict UTF-8 rule, checked wherever text enters (stdin, API answers, the
 * write-behind copy, settings that become keyring attributes).
 *
 * Strict means what D-Bus and GLib accept: no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF. libsecret refuses anything else, and some of its calls then fail
 * without saying why, so text is checked before it gets that far. */
#ifndef DCK_UTF8_H
#define DCK_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes, n >= 1), or 0 when it is not one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Are the n bytes at s valid UTF-8 (NUL bytes included, as the caller sees fit)? */
int utf8_valid(const char *s, size_t n);

#endif
