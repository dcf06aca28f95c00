/* store_secret_internal: what the files of the Secret Service store share (store_secret.c:
 * connecting, get, put, del; store_secret_list.c: list). Not part of the store interface. */
#ifndef DCK_STORE_SECRET_INTERNAL_H
#define DCK_STORE_SECRET_INTERNAL_H

#include <libsecret/secret.h>

#include "deadline.h"
#include "store.h"
#include "store_secret.h"

#define SCHEMA_OURS "io.github.docker-credential-keyring"
#define SCHEMA_LEGACY "io.docker.Credentials"

struct secret_store {
	struct store base;
	struct store_secret_opts opts;
	SecretService *service;
	GCancellable *cancel;
	struct deadline *deadline;
};

/* Every public operation is wrapped in begin/end: connect, and run under the deadline. */
int store_secret_op_begin(struct secret_store *s);
void store_secret_op_end(struct secret_store *s);

/* Turn a GError into our code and a one-line message starting with what. */
int store_secret_gerror(struct secret_store *s, GError *e, const char *what);

/* Did a call fail because its item was deleted in between (a concurrent replacement)? */
gboolean store_secret_vanished(GError *e);

/* The store interface's list (store_secret_list.c). */
int store_secret_list(struct store *base, struct cred_list *out);

#endif
