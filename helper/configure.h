/* configure: wire the helper into docker's and the containers tools' config files.
 *
 * `docker-credential-keyring configure [--dry-run] [--name N] [--store] [--digitalocean]
 *  [--rancher] HOST…`
 * adds credHelpers entries (--rancher: for the registries the configured Rancher knows), or sets
 * credsStore, in ~/.docker/config.json ($DOCKER_CONFIG) and
 * in the containers auth file ($REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json).
 * Every file is rewritten atomically, keeps its other keys (in order), unknown fields and mode,
 * and is refused untouched when it cannot be parsed. A run that changes nothing says so. */
#ifndef DCK_CONFIGURE_H
#define DCK_CONFIGURE_H

#include "creds.h"
#include "secmem.h"

/* argv: the words after `configure`. a: the app, whose sources --rancher asks for the
 * registries Rancher knows (a->sources may be empty: every other option works without them).
 * Fills out with what to print; returns the exit status (0, or 1 when nothing could be done
 * or a file was refused). Prints nothing itself. */
int configure_run(struct app *a, int argc, char **argv, struct secbuf *out);

/* Paths of the two files (malloc'd, caller frees). docker's is always found (NULL only when
 * out of memory or no home directory is known); the auth file is NULL when neither
 * REGISTRY_AUTH_FILE nor XDG_RUNTIME_DIR is set. */
char *configure_docker_path(void);
char *configure_auth_path(void);

/* Parse a whole file as a JSON object. 0 with *out (NULL when the file does not exist: the
 * caller starts from {}), or ERR_INVALID / ERR_FAILED with err_msg() naming the file and why.
 * The file may hold passwords: the bytes read are wiped, and *out must be released with
 * json_secret_free. */
struct json_object;
int configure_load(const char *path, struct json_object **out, int *exists);

/* Append printf-formatted text to out (no secrets: it is not wiped specially). */
void configure_outf(struct secbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
