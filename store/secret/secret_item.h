/* secret_item: how our logins look in the Secret Service, shared by the short reads
 * (secret_read.c) and libsecret (secret_libsecret.c), so both read the same way and always pick
 * the same item.
 *
 * Our items: schema SCHEMA_OURS, attributes server, username, origin, expires and, when the
 * username is the secret itself, username-is-secret = 1 (the username is then kept only as the
 * secret). docker-credential-secretservice's items (SCHEMA_LEGACY: server, username) are read
 * too, so people who switch helpers keep their logins; we never write them.
 *
 * One server, one answer: when several items hold a server (a store interrupted between
 * creating the new item and removing the old one, or a newer login by the reference helper),
 * get and list both take the newest (Modified, then Created, then the later path), and the
 * next store or erase leaves one. */
#ifndef DCK_SECRET_ITEM_H
#define DCK_SECRET_ITEM_H

#include <stdint.h>

#include "store.h"

#define SCHEMA_OURS "io.github.docker-credential-keyring"
#define SCHEMA_LEGACY "io.docker.Credentials"

enum secret_item_kind { ITEM_OTHER = 0, ITEM_OURS, ITEM_LEGACY };

struct secret_item {
	char *path;
	int locked;
	enum secret_item_kind kind;
	int username_is_secret;
	uint64_t created, modified;
	struct cred c; /* server, username, origin, expires; the secret is not loaded here */
};

/* Take one attribute of the item (xdg:schema, server, username, …); others are ignored.
 * 0, or ERR_FAILED when out of memory. */
int secret_item_attr(struct secret_item *it, const char *key, const char *value);

/* Fill the defaults of what the attributes did not say (origin "login"). 0 or ERR_FAILED. */
int secret_item_finish(struct secret_item *it);

/* Should get and list prefer a over b? Only our and the reference's unlocked items count. */
int secret_item_better(const struct secret_item *a, const struct secret_item *b);

/* The list of n items (sorted here): per server the one get would answer from, our and the
 * reference's unlocked items only; *locked counts the locked ones (NULL: not counted). 0 with
 * *out filled, or ERR_FAILED with nothing kept. */
int secret_item_list(struct secret_item *items, size_t n, struct cred_list *out, size_t *locked);

/* Move it's credential into *out with the secret (n bytes) it holds. 0 or ERR_FAILED. */
int secret_item_take(struct secret_item *it, const void *secret, size_t n, struct cred *out);

void secret_item_clear(struct secret_item *it);

#endif
