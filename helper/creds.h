/* creds: the credentials the verbs work with — the stores and the credential sources —
 * combined in the order of the table in source.h. verbs.c calls only these. */
#ifndef DCK_CREDS_H
#define DCK_CREDS_H

#include <stddef.h>

#include "app.h"

/* A secret read from a person or a file, (secret, len), trimmed and checked as an API token
 * (token.h, at most 4096 bytes); what names it in messages. 0 or ERR_INVALID. */
int creds_check_token(const char **secret, size_t *len, const char *what);

/* `login NAME`: keep a source's API secret (creds_check_token's rules) under the reserved
 * key. */
int creds_save_secret(struct store *st, const char *key, const char *what, const char *secret,
		      size_t len);

/* `logout NAME`: forget it. 0 also when none was saved. */
int creds_forget_secret(struct store *st, const char *key);

/* The source that owns server, or NULL. */
struct source *creds_route(struct app *a, const char *server);

int creds_get(struct app *a, const char *server, struct cred *out);
/* store and erase return SOURCE_NOTE (source.h) when a source adds a line for stderr. */
int creds_store(struct app *a, const struct cred *c);
int creds_erase(struct app *a, const char *server);
/* 0, STORE_PARTIAL (see store.h) with *out filled, or the store's error. */
int creds_list(struct app *a, struct cred_list *out);

/* Keep a source's fresh copy: in the store, else in the copies store. 0 or the error of the
 * last place tried. (The write-behind child calls this too.) */
int creds_keep_copy(struct app *a, const struct cred *c);

#endif
