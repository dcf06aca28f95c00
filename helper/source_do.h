/* source_do: the DigitalOcean credential source (constructor source_do_new in source.h).
 *
 * The API token it uses may be saved in the keyring by `docker-credential-keyring login
 * digitalocean` (creds_save_secret), under the reserved key below. */
#ifndef DCK_SOURCE_DO_H
#define DCK_SOURCE_DO_H

#define SOURCE_DO_TOKEN_KEY "docker-credential-keyring:digitalocean-token"

#endif
