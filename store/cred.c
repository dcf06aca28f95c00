/* cred: the value type the store and the sources pass around, and its list. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secmem.h"
#include "store.h"

void cred_clear(struct cred *c)
{
	if (!c)
		return;
	free(c->server);
	secmem_free_str(c->username); /* sometimes a token too (secret_item.h: username-is-secret) */
	secmem_free(c->secret, c->secret_len);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

int cred_username_is_secret(const struct cred *c)
{
	return c->secret && c->username && strlen(c->username) == c->secret_len &&
	       memcmp(c->username, c->secret, c->secret_len) == 0;
}

void cred_list_clear(struct cred_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		cred_clear(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

int cred_list_add(struct cred_list *l, const struct cred *c)
{
	struct cred *items, *n;

	items = realloc(l->items, (l->len + 1) * sizeof(*items));
	if (!items)
		return err_set(ERR_FAILED, "out of memory");
	l->items = items;
	n = &items[l->len];
	memset(n, 0, sizeof(*n));
	n->server = strdup(c->server);
	n->username = strdup(c->username ? c->username : "");
	n->origin = strdup(c->origin ? c->origin : CRED_ORIGIN_LOGIN);
	n->expires = c->expires;
	if (!n->server || !n->username || !n->origin) {
		cred_clear(n);
		return err_set(ERR_FAILED, "out of memory");
	}
	l->len++;
	return 0;
}

long cred_list_find(const struct cred_list *l, const char *server)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->items[i].server, server) == 0)
			return (long)i;
	return -1;
}
