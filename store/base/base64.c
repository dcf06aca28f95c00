/* base64: see base64.h. Secrets pass through here: the scratch values are wiped. */
#include "base64.h"

#include <stdint.h>
#include <string.h>

#include "err.h"

static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(struct secbuf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t v = 0;
	char q[4];
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
		    (i + 2 < n ? s[i + 2] : 0);
		q[0] = digits[v >> 18 & 63];
		q[1] = digits[v >> 12 & 63];
		q[2] = i + 1 < n ? digits[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? digits[v & 63] : '=';
		rc = secbuf_append(out, q, 4);
	}
	explicit_bzero(&v, sizeof(v));
	explicit_bzero(q, sizeof(q));
	return rc;
}

int base64_decode(struct secbuf *out, const char *in, size_t n)
{
	const char *d;
	uint32_t acc = 0;
	unsigned bits = 0;
	unsigned char byte = 0;
	size_t i;
	int rc = 0;

	if (n >= 4 && n % 4 == 0 && in[n - 1] == '=')
		n -= in[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return ERR_INVALID;
	for (i = 0; !rc && i < n; i++) {
		if (!in[i] || !(d = strchr(digits, in[i]))) {
			rc = ERR_INVALID;
			break;
		}
		acc = (acc << 6) | (uint32_t)(d - digits);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
			rc = secbuf_append(out, &byte, 1);
		}
	}
	explicit_bzero(&acc, sizeof(acc));
	explicit_bzero(&byte, sizeof(byte));
	return rc;
}
