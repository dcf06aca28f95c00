/* rancher_api_parse: the checks rancher_api.c applies to Rancher's answers, on a body alone,
 * with no request made. Internal: only tests/fuzz/fuzz_rancher_body.c includes it (and
 * rancher_api.c, which defines it); the source uses rancher_api_list / rancher_api_change / …
 * (rancher_api.h), which call the same code.
 *
 * a supplies only what messages name (a->host, a->access, a->key_names, a->project) and takes
 * a->last_status and last_code as after a real call; no field of it is used for I/O. Every
 * function either succeeds or returns an err.h code with one line that never holds a
 * secretValue. */
#ifndef DCK_RANCHER_API_PARSE_H
#define DCK_RANCHER_API_PARSE_H

#include <stddef.h>

#include "rancher_api.h"

/* The environments Rancher lists for an account key (the first RANCHER_API_MAX_ENVS). */
#define RANCHER_API_MAX_ENVS 8
struct rancher_api_envs {
	struct {
		char id[24];     /* "1a5" */
		char name[41];   /* its name, printable, cut; "" when none */
	} items[RANCHER_API_MAX_ENVS];
	size_t len;
	size_t more;             /* listed beyond items */
};

/* what names the request in messages ("list registries"), as in rancher_api_parse_error. */

/* A 2xx collection page: its items appended to *out (owned by the caller; more than
 * RANCHER_API_MAX_ITEMS in it is an error, and on any error it is cleared), the query of
 * pagination.next into next ("" on the last page). */
int rancher_api_parse_collection(struct rancher_api *a, enum rancher_api_kind k, const char *what,
				 const char *body, size_t len, struct rancher_objs *out, char *next,
				 size_t next_size);

/* A 2xx single resource (the answer to a change). */
int rancher_api_parse_resource(struct rancher_api *a, enum rancher_api_kind k, const char *what,
			       const char *body, size_t len, struct rancher_obj *out);

/* A 2xx collection of projects (environments), as the account-key resolution reads it. */
int rancher_api_parse_environments(struct rancher_api *a, const char *body, size_t len,
				   struct rancher_api_envs *out);

/* A non-2xx answer with status: always returns its err.h code. */
int rancher_api_parse_error(struct rancher_api *a, const char *what, long status, const char *body,
			    size_t len);

#endif
