/* source_do: the DigitalOcean credential source (constructor source_do_new in source.h).
 *
 * The API token it uses may be saved in the keyring by `docker-credential-keyring login
 * digitalocean` (login.c), under the reserved key below, once source_do_check_login has
 * checked it. */
#ifndef DCK_SOURCE_DO_H
#define DCK_SOURCE_DO_H

#include <stddef.h>

#include "config.h"

#define SOURCE_DO_TOKEN_KEY "docker-credential-keyring:digitalocean-token"

/* Check token (as creds_check_token passed it) with calls that mint nothing: GET /v2/account
 * for the account's e-mail (a token without account:read gets 403 there, which is no reason to
 * refuse it) and GET /v2/registries, as registry:read is what every get needs. The API and HTTP
 * settings come from cfg. 0 with msg filled with what `login` prints once the token is saved
 * (the account, its registries, a token that comes before it; no secret); ERR_DENIED when
 * DigitalOcean refuses the token (it must not be saved); ERR_UNAVAILABLE or ERR_TIMEOUT when it
 * could not be asked; ERR_INVALID for a broken setting. err_msg() says why, in one line without
 * the token. */
int source_do_check_login(const struct config *cfg, const char *token, char *msg, size_t size);

#endif
