/* token: the one rule for an API token or key, whether a person typed it, a file holds it or
 * the keyring kept it: surrounding white space (the newline an editor or echo adds) dropped,
 * then 1 to max printable ASCII characters without spaces. Every token we know is such, and
 * the rule keeps a token from smuggling a line into an HTTP header. */
#ifndef DCK_TOKEN_H
#define DCK_TOKEN_H

#include <stddef.h>

enum token_fault { TOKEN_OK, TOKEN_EMPTY, TOKEN_LONG, TOKEN_CHARS };

/* Trim (*p, *n) to the token and check it. On TOKEN_OK *p and *n describe the trimmed part;
 * otherwise the fault, for the caller's message (which never quotes the token). */
enum token_fault token_trim(const char **p, size_t *n, size_t max);

#endif
