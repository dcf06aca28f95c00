/* kubelet: the helper as a kubelet image credential provider (docs/kubernetes.md).
 *
 * `docker-credential-keyring kubelet [NAME=VALUE…]`, or the binary installed under the name
 * KUBELET_PROG_NAME: the kubelet writes a CredentialProviderRequest on stdin and reads a
 * CredentialProviderResponse on stdout:
 *
 *   request   {"apiVersion":"credentialprovider.kubelet.k8s.io/v1",
 *              "kind":"CredentialProviderRequest","image":"registry.digitalocean.com/team/app:1"
 *              [,"serviceAccountToken":…,"serviceAccountAnnotations":{…}]}
 *   answer    {"apiVersion":<the request's>,"kind":"CredentialProviderResponse",
 *              "cacheKeyType":"Registry","cacheDuration":"11h59m58s",
 *              "auth":{"registry.digitalocean.com":{"username":…,"password":…}}}
 *
 * by outcome:
 *   credentials found (creds_get: a login, or a source's copy or fetch)   the answer, exit 0;
 *       cacheDuration: the time until the copy's refresh point ("0s" when it is past it and
 *       was answered only because the source failed), none for credentials without expiry
 *       (the provider config's defaultCacheDuration applies)
 *   no source serves the host and the store has nothing, or the source   no auth, "0s", exit 0
 *       serving it has nothing for it (no API token set: the reason on stderr)
 *   a source serves it and cannot answer (token refused, API down), or   nothing, exit 1
 *       the keyring cannot answer
 *   a malformed request or argument, a broken setting                     nothing, exit 1
 *   no answer within the deadline (kubelet.deadline, 20 s)                nothing, exit 1
 * and whenever it exits 1, one line on stderr says why (the kubelet logs it with the error).
 *
 * The kubelet decodes the answer strictly (an unknown field fails the whole pull), so the
 * answer holds exactly these fields. */
#ifndef DCK_KUBELET_H
#define DCK_KUBELET_H

#include <stddef.h>
#include <stdint.h>

#include "creds.h"
#include "secmem.h"
#include "verbs.h"

/* Installed (linked) under this name in the kubelet's plugin directory, the binary is the
 * provider without the `kubelet` word: every argument is a setting. */
#define KUBELET_PROG_NAME "keyring-credential-provider"

/* The most the kubelet's request may be: an image name and a service account token are a few
 * KiB. */
#define KUBELET_MAX_REQUEST (1024u * 1024)

/* The settings the kubelet passes in `args`: each NAME=VALUE sets the environment variable
 * NAME, as if it were in the provider config's `env` (args win). NAME must be one of the
 * helper's settings (DOCKER_CREDENTIAL_KEYRING_*, DIGITALOCEAN_*, RANCHER_*, CATTLE_*,
 * SSL_CERT_FILE, CURL_CA_BUNDLE), and not one that holds a secret (a token or secret key in
 * argv is readable by every process on the node): those are refused, and their value is wiped
 * from argv. 0, or ERR_INVALID naming the argument (never its value). */
int kubelet_apply_args(int argc, char **argv);

/* Credentials a cluster gets are for pulls: kubelet and pull-secret make DigitalOcean's
 * read-only setting default to true (DOCKER_CREDENTIAL_KEYRING_DO_READ_ONLY, or read-only in the
 * config file's [digitalocean] section, still decide). Call before the sources are opened.
 * 0 or ERR_FAILED. */
int kubelet_pull_only(const struct config *cfg);

struct kubelet_request {
	const char *api_version; /* one of the three versions (static), echoed in the answer */
	char host[260];          /* the registry host of the image, as the kubelet keys it */
};

/* Parse the request (json_secret.h: a service account token in it is wiped). Unknown fields
 * are ignored (a newer kubelet may send more). 0 with *out filled, or ERR_INVALID with one
 * line saying what is wrong (never a secret). */
int kubelet_parse_request(const char *buf, size_t len, struct kubelet_request *out);

/* The registry host of an image reference, by the rules the kubelet and docker share: the
 * part before the first "/" when it looks like a host (has a "." or ":", is "localhost", or
 * has upper case letters), else Docker Hub, "docker.io" (index.docker.io is made that too);
 * tag and digest do not matter. 0 with host filled, or ERR_INVALID. */
int kubelet_image_host(const char *image, size_t len, char *host, size_t size);

/* Go's time.Duration.String() for whole seconds s >= 0: "0s", "45s", "1m5s", "12h0m0s". */
void kubelet_go_duration(int64_t s, char *buf, size_t size);

/* The answer for host: with c's credentials (NULL: no auth), and cacheDuration cache_s seconds
 * (negative: no cacheDuration). Appended to out with a newline. 0 or ERR_FAILED. */
int kubelet_format_response(const char *api_version, const char *host, const struct cred *c,
			    int64_t cache_s, struct secbuf *out);

/* The whole run: arguments, the deadline, the request on stdin, the stores and sources, the
 * answer in r (out: stdout exactly; diag: the stderr line; status). argv: the words after
 * `kubelet` (or after the program name, installed as KUBELET_PROG_NAME). Opens and closes what
 * it uses; prints nothing (but see kubelet.c on the deadline). */
void kubelet_run(struct app *a, int argc, char **argv, struct reply *r);

#endif
