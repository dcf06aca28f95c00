/* source_rancher: the Rancher 1.x credential source (constructor source_rancher_new in
 * source.h; docs/rancher.md has the settings and the behaviour).
 *
 * The API secret key it uses, when RANCHER_SECRET_KEY (or secret-key in the [rancher] section)
 * is not set, may be saved in the keyring by `docker-credential-keyring login rancher`
 * (creds_save_secret), under the reserved key below. */
#ifndef DCK_SOURCE_RANCHER_H
#define DCK_SOURCE_RANCHER_H

#define SOURCE_RANCHER_SECRET_KEY "docker-credential-keyring:rancher-secret-key"

#endif
