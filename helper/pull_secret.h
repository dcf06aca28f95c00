/* pull_secret: a Kubernetes image pull secret on demand (docs/kubernetes.md has the whole
 * story): `pull-secret [--lifetime DURATION] HOST...` prints
 * {"auths":{"HOST":{"username":…,"password":…,"auth":base64(username:password)},…}} and a
 * newline, the .dockerconfigjson the kubelet reads. A host DigitalOcean serves gets new
 * credentials minted for the secret, never this machine's cached copy: the secret leaves the
 * machine and lives on its own. Any other host gets what `get` would answer.
 *
 * stdout carries the secret only: every error goes to stderr (a pipe into kubectl must not
 * turn an error text into a secret), with nothing on stdout and exit status 1. */
#ifndef DCK_PULL_SECRET_H
#define DCK_PULL_SECRET_H

#include "creds.h"
#include "verbs.h"

/* argv: the words after `pull-secret`. Opens the settings, stores and sources, and closes
 * them; fills r (out: the JSON; diag: one stderr line, the error or when each credential
 * expires; status). Prints nothing itself. */
void pull_secret_run(struct app *a, int argc, char **argv, struct reply *r);

#endif
