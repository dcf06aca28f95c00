/* source_do: the DigitalOcean credential source (constructor source_do_new in source.h).
 *
 * The API token it uses may be saved in the keyring by `docker-credential-keyring login
 * digitalocean` (login.c), under the reserved key below, once source_do_check_login has
 * checked it. */
#ifndef DCK_SOURCE_DO_H
#define DCK_SOURCE_DO_H

#include "config.h"

#define SOURCE_DO_TOKEN_KEY "docker-credential-keyring:digitalocean-token"

/* What `login digitalocean` learns about a token before saving it. No secret in it. */
struct source_do_login {
	char account[320];     /* "me@example.com (team Ops)"; "" when the token may not read it */
	char registries[256];  /* the account's registries, "alpha, beta"; "" when none */
	char shadowed_by[512]; /* a token found before the keyring's (the environment, a token
				* file, the config file): where; else "" */
};

/* Check token (as typed: surrounding white space is dropped) with calls that mint nothing:
 * GET /v2/account for the account's e-mail (a token without account:read gets 403 there, which
 * is no reason to refuse it) and GET /v2/registries, as registry:read is what every get needs.
 * The API and HTTP settings come from cfg. 0 with *out filled; ERR_DENIED when DigitalOcean
 * refuses the token (it must not be saved); ERR_UNAVAILABLE or ERR_TIMEOUT when it could not
 * be asked; ERR_INVALID for a malformed token or a broken setting. err_msg() says why, in one
 * line without the token. */
int source_do_check_login(const struct config *cfg, const char *token, struct source_do_login *out);

#endif
