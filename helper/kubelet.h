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
 * What each outcome answers (credentials, none, a failure, the deadline) is the table in
 * docs/kubernetes.md; whenever it exits 1, one line on stderr says why (the kubelet logs it).
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

/* Go's time.Duration.String() for whole seconds s >= 0: "0s", "45s", "1m5s", "12h0m0s". */
void kubelet_go_duration(int64_t s, char *buf, size_t size);

/* The whole run: arguments, the deadline, the request on stdin, the stores and sources, the
 * answer in r (out: stdout exactly; diag: the stderr line; status). argv: the words after
 * `kubelet` (or after the program name, installed as KUBELET_PROG_NAME). Opens and closes what
 * it uses; prints nothing (but see kubelet.c on the deadline). */
void kubelet_run(struct app *a, int argc, char **argv, struct reply *r);

#endif
