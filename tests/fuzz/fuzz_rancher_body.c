/* fuzz_rancher_body: libFuzzer harness for Rancher's answers (helper/rancher_api_parse.h).
 *
 * The input is a response body, read as a collection page and as a single resource of each
 * kind, as the projects list an account key's environment is chosen from, and as an error
 * answer. Each either succeeds with checked fields (ids of [0-9a-z], one-line states and
 * messages, a pagination query without spaces or '#', environment ids 1a<digits> and one-line
 * names) or fails with one line; the error reader always gives one line and remembers the
 * status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rancher_api.h"
#include "rancher_api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void check_obj(const struct rancher_obj *o)
{
	size_t i;

	if (!o->id[0])
		abort();
	for (i = 0; o->id[i]; i++)
		if (!((o->id[i] >= '0' && o->id[i] <= '9') || (o->id[i] >= 'a' && o->id[i] <= 'z')))
			abort();
	if (!one_line(o->state) || !one_line(o->message) || !one_line(o->registry_id))
		abort();
	if (o->secret_value && strlen(o->secret_value) > o->secret_len)
		abort();
}

static void check_envs(const struct rancher_api_envs *e)
{
	size_t i;

	if (e->len > RANCHER_API_MAX_ENVS || (e->more && e->len != RANCHER_API_MAX_ENVS))
		abort();
	for (i = 0; i < e->len; i++)
		if (strncmp(e->items[i].id, "1a", 2) != 0 ||
		    strspn(e->items[i].id + 2, "0123456789") != strlen(e->items[i].id + 2) ||
		    !e->items[i].id[2] || !one_line(e->items[i].name))
			abort();
}

static void check_err(void)
{
	if (!err_msg()[0] || strchr(err_msg(), '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum rancher_api_kind kinds[] = {RANCHER_API_REGISTRY, RANCHER_API_CREDENTIAL};
	static const long statuses[] = {401, 403, 404, 409, 422, 500, 502};
	struct rancher_api a = {0};
	const char *body = (const char *)data;
	size_t k, i;

	strcpy(a.host, "rancher.example.test:8443");
	strcpy(a.ver, "v2-beta");
	a.key_names = "RANCHER_ACCESS_KEY and RANCHER_SECRET_KEY";
	for (k = 0; k < 2; k++) {
		struct rancher_objs l = {0};
		struct rancher_obj o = {0};
		char next[512];

		err_clear();
		if (rancher_api_parse_collection(&a, kinds[k], "list", body, size, &l, next,
						 sizeof(next)) == 0) {
			for (i = 0; i < l.len; i++)
				check_obj(&l.items[i]);
			for (i = 0; next[i]; i++)
				if ((unsigned char)next[i] <= 0x20 || next[i] == 0x7f || next[i] == '#')
					abort();
			rancher_api_objs_clear(&l);
		} else {
			check_err();
			if (l.items || l.len)
				abort();
		}
		err_clear();
		if (rancher_api_parse_resource(&a, kinds[k], "change", body, size, &o) == 0)
			check_obj(&o);
		else
			check_err();
		rancher_api_obj_clear(&o);
	}
	{
		struct rancher_api_envs e;

		err_clear();
		if (rancher_api_parse_environments(&a, body, size, &e) == 0)
			check_envs(&e);
		else
			check_err();
	}
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		err_clear();
		if (rancher_api_parse_error(&a, "list registries", statuses[i], body, size) == 0)
			abort();
		check_err();
		if (a.last_status != statuses[i] || !one_line(a.last_code))
			abort();
	}
	return 0;
}
