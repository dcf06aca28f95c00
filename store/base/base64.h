/* base64: standard base64 (RFC 4648 §4), the one copy for the parts that need it: the
 * "auth" of a pull secret, DigitalOcean's answer, HTTP basic authentication. */
#ifndef DCK_BASE64_H
#define DCK_BASE64_H

#include <stddef.h>

#include "secmem.h"

/* Append the base64 of n bytes at p to out, padded. 0 or ERR_FAILED (out of memory). */
int base64_encode(struct secbuf *out, const void *p, size_t n);

/* Append the bytes that the n characters at in stand for to out. The padding may be left out;
 * anything else that is not base64, whitespace included, is refused with ERR_INVALID (no
 * message: the caller says whose text it was). */
int base64_decode(struct secbuf *out, const char *in, size_t n);

#endif
