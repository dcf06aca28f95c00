/* mem_store: see mem_store.h. */
#include "mem_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secmem.h"

struct mem_store {
	struct store base;
	struct cred *items;
	size_t len;
};

static int cred_copy(struct cred *dst, const struct cred *src)
{
	struct cred c = {0};

	c.server = strdup(src->server);
	c.username = strdup(src->username ? src->username : "");
	c.origin = strdup(src->origin ? src->origin : CRED_ORIGIN_LOGIN);
	c.secret = secmem_dup(src->secret ? src->secret : "", src->secret_len);
	c.secret_len = src->secret_len;
	c.expires = src->expires;
	if (!c.server || !c.username || !c.origin || !c.secret) {
		cred_clear(&c);
		return err_set(ERR_FAILED, "out of memory");
	}
	*dst = c;
	return 0;
}

static long mem_find(struct mem_store *m, const char *server)
{
	size_t i;

	for (i = 0; i < m->len; i++)
		if (strcmp(m->items[i].server, server) == 0)
			return (long)i;
	return -1;
}

static int mem_get(struct store *s, const char *server, struct cred *out)
{
	struct mem_store *m = (struct mem_store *)s;
	long i = mem_find(m, server);

	if (i < 0)
		return err_set(ERR_NOTFOUND, "no entry for %s", server);
	return cred_copy(out, &m->items[i]);
}

static int mem_put(struct store *s, const struct cred *c)
{
	struct mem_store *m = (struct mem_store *)s;
	struct cred copy;
	struct cred *items;
	long i = mem_find(m, c->server);
	int rc = cred_copy(&copy, c);

	if (rc)
		return rc;
	if (i >= 0) {
		cred_clear(&m->items[i]);
		m->items[i] = copy;
		return 0;
	}
	items = realloc(m->items, (m->len + 1) * sizeof(*items));
	if (!items) {
		cred_clear(&copy);
		return err_set(ERR_FAILED, "out of memory");
	}
	m->items = items;
	m->items[m->len++] = copy;
	return 0;
}

static int mem_del(struct store *s, const char *server)
{
	struct mem_store *m = (struct mem_store *)s;
	long i = mem_find(m, server);

	if (i < 0)
		return err_set(ERR_NOTFOUND, "no entry for %s", server);
	cred_clear(&m->items[i]);
	m->items[i] = m->items[--m->len];
	return 0;
}

static int mem_list(struct store *s, struct cred_list *out)
{
	struct mem_store *m = (struct mem_store *)s;
	struct cred_list l = {0};
	size_t i;
	int rc;

	for (i = 0; i < m->len; i++) {
		rc = cred_list_add(&l, &m->items[i]);
		if (rc) {
			cred_list_clear(&l);
			return rc;
		}
	}
	*out = l;
	return 0;
}

static void mem_free(struct store *s)
{
	struct mem_store *m = (struct mem_store *)s;
	size_t i;

	for (i = 0; i < m->len; i++)
		cred_clear(&m->items[i]);
	free(m->items);
	free(m);
}

static int mem_check(struct store *s, char *what, size_t size)
{
	(void)s;
	snprintf(what, size, "memory (a test's store)");
	return 0;
}

struct store *mem_store_new(void)
{
	struct mem_store *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base.get = mem_get;
	m->base.put = mem_put;
	m->base.del = mem_del;
	m->base.list = mem_list;
	m->base.free = mem_free;
	m->base.check = mem_check;
	return &m->base;
}
