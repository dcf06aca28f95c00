/* token: see token.h. */
#include "token.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'; /* a NUL is no white space */
}

enum token_fault token_trim(const char **p, size_t *n, size_t max)
{
	const char *s = *p;
	size_t len = *n, i;

	while (len && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (len == 0)
		return TOKEN_EMPTY;
	if (len > max)
		return TOKEN_LONG;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return TOKEN_CHARS;
	*p = s;
	*n = len;
	return TOKEN_OK;
}
