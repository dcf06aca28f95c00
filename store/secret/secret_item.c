/* secret_item: see secret_item.h. */
#include "secret_item.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secmem.h"

static int set(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return err_set(ERR_FAILED, "out of memory");
	secmem_free_str(*field);
	*field = copy;
	return 0;
}

int secret_item_attr(struct secret_item *it, const char *key, const char *value)
{
	if (strcmp(key, "xdg:schema") == 0)
		it->kind = strcmp(value, SCHEMA_OURS) == 0 ? ITEM_OURS
			 : strcmp(value, SCHEMA_LEGACY) == 0 ? ITEM_LEGACY : ITEM_OTHER;
	else if (strcmp(key, "server") == 0)
		return set(&it->c.server, value);
	else if (strcmp(key, "username") == 0)
		return set(&it->c.username, value);
	else if (strcmp(key, "origin") == 0 && value[0])
		return set(&it->c.origin, value);
	else if (strcmp(key, "expires") == 0)
		it->c.expires = strtoll(value, NULL, 10);
	else if (strcmp(key, "username-is-secret") == 0)
		it->username_is_secret = strcmp(value, "1") == 0;
	return 0;
}

int secret_item_finish(struct secret_item *it)
{
	if (!it->c.server && set(&it->c.server, ""))
		return ERR_FAILED;
	if (!it->c.username && set(&it->c.username, ""))
		return ERR_FAILED;
	/* A legacy item's origin is always a login; so is one of ours without the attribute. */
	if ((it->kind == ITEM_LEGACY || !it->c.origin) && set(&it->c.origin, CRED_ORIGIN_LOGIN))
		return ERR_FAILED;
	if (it->kind == ITEM_LEGACY)
		it->c.expires = 0;
	return 0;
}

static int by_server_then_best(const void *pa, const void *pb)
{
	const struct secret_item *a = pa, *b = pb;
	int d = strcmp(a->c.server ? a->c.server : "", b->c.server ? b->c.server : "");

	return d ? d : secret_item_better(a, b) ? -1 : secret_item_better(b, a) ? 1 : 0;
}

int secret_item_list(struct secret_item *items, size_t n, struct cred_list *out, size_t *locked)
{
	struct cred_list l = {0};
	size_t i;
	int rc = 0;

	if (n)
		qsort(items, n, sizeof(items[0]), by_server_then_best);
	for (i = 0; !rc && i < n; i++) {
		struct secret_item *it = &items[i];

		if (locked)
			*locked += it->locked != 0;
		/* After sorting, the first item of each server is the one get would answer from. */
		if (it->kind == ITEM_OTHER || it->locked || !it->c.server || !it->c.server[0] ||
		    (l.len && strcmp(l.items[l.len - 1].server, it->c.server) == 0))
			continue;
		rc = cred_list_add(&l, &it->c);
	}
	if (rc) {
		cred_list_clear(&l);
		return rc;
	}
	*out = l;
	return 0;
}

/* Object paths of one collection end in a number that grows with each new item. */
static int path_later(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la != lb ? la > lb : strcmp(a, b) > 0;
}

int secret_item_better(const struct secret_item *a, const struct secret_item *b)
{
	int a_ok = a->kind != ITEM_OTHER && !a->locked, b_ok = b->kind != ITEM_OTHER && !b->locked;

	if (a_ok != b_ok)
		return a_ok;
	if (a->modified != b->modified)
		return a->modified > b->modified;
	if (a->created != b->created)
		return a->created > b->created;
	return path_later(a->path ? a->path : "", b->path ? b->path : "");
}

int secret_item_take(struct secret_item *it, const void *secret, size_t n, struct cred *out)
{
	struct cred c = it->c;

	c.secret = secmem_dup(secret, n);
	c.secret_len = n;
	if (!c.secret)
		return err_set(ERR_FAILED, "out of memory");
	/* See secret_item.h: the username was the secret itself. */
	if (it->username_is_secret) {
		char *u = secmem_dup(secret, n);

		if (!u) {
			secmem_free(c.secret, n);
			return err_set(ERR_FAILED, "out of memory");
		}
		secmem_free_str(c.username);
		c.username = u;
	}
	memset(&it->c, 0, sizeof(it->c));
	*out = c;
	return 0;
}

void secret_item_clear(struct secret_item *it)
{
	if (!it)
		return;
	free(it->path);
	cred_clear(&it->c);
	memset(it, 0, sizeof(*it));
}
