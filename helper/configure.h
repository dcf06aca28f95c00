/* configure: wire the helper into docker's and the containers tools' config files (options:
 * usage in configure.c). It adds (--remove: takes out) credHelpers entries, or sets credsStore,
 * in the docker config and the containers auth file (the paths below), under the keys each
 * file's clients look the host up by. Every file is rewritten atomically, keeps its other keys
 * (in order), unknown fields and mode, and is refused untouched when it cannot be parsed. A run
 * that changes nothing says so. doctor reads the same files through the functions below. */
#ifndef DCK_CONFIGURE_H
#define DCK_CONFIGURE_H

#include <string.h>

#include "app.h"
#include "secmem.h"

/* argv: the words after `configure`. a: the app, whose sources --rancher asks for the
 * registries Rancher knows (a->sources may be empty: every other option works without them).
 * Fills out with what to print; returns the exit status (0, or 1 when nothing could be done
 * or a file was refused). Prints nothing itself. */
int configure_run(struct app *a, int argc, char **argv, struct secbuf *out);

/* Paths of the two files (malloc'd, caller frees), as the clients find them: $DOCKER_CONFIG/
 * config.json, else ~/.docker/config.json; the containers auth file in containers/image's order
 * (configure.c). NULL only when out of memory, or for docker's when no home directory is known. */
char *configure_docker_path(void);
char *configure_auth_path(void);

/* Parse a whole file as a JSON object. 0 with *out (NULL when the file does not exist: the
 * caller starts from {}), or ERR_INVALID / ERR_FAILED with err_msg() naming the file and why.
 * The file may hold passwords: the bytes read are wiped, and *out must be released with
 * json_secret_free. */
struct json_object;
int configure_load(const char *path, struct json_object **out);

/* The registry host clients send for what a person typed (`docker login` takes the same):
 * https:// or http:// and an API path (/, /v1/, /v2/) dropped, lower case, Docker Hub's
 * spellings made "docker.io". any_path: drop any path (Rancher's addresses); else a path is
 * refused, since clients look helpers up by host alone. 0 with *host (malloc'd), or
 * ERR_INVALID with err_msg() saying why, or ERR_FAILED (out of memory). */
int configure_normalize(const char *typed, int any_path, char **host);

/* The credHelpers keys for a normalised host in the docker config (is_docker) or the
 * containers auth file: Docker Hub is "https://index.docker.io/v1/" (docker) and "docker.io"
 * (the containers tools, which also read the docker config) there, "docker.io" in the auth
 * file, which docker never reads; any other host is its own key. Returns how many. */
size_t configure_keys(const char *host, int is_docker, const char *keys[2]);

/* Is name one this binary is installed under (keyring, digitalocean, rancher), or own (may be
 * NULL: --name, or the name it runs as)? */
int configure_is_ours(const char *name, const char *own);

/* Append printf-formatted text to out (no secrets: it is not wiped specially). */
void configure_outf(struct secbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Small sets of words (hosts, keys, helper names) in a secbuf: each word and its NUL, in the
 * order added. add returns 1 when the word is new, 0 when it was there (or out of memory). */
int configure_set_add(struct secbuf *set, const char *word);
int configure_set_has(const struct secbuf *set, const char *word);
#define CONFIGURE_SET_FOREACH(w, set)                                                              \
	for (const char *w = (set)->data; w && w < (set)->data + (set)->len; w += strlen(w) + 1)

#endif
