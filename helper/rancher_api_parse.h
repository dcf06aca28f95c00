/* rancher_api_parse: the checks rancher_api.c applies to Rancher's answers, on a body alone,
 * with no request made. Internal: for tests/fuzz/fuzz_rancher_body.c and unit tests; the
 * source uses rancher_api_list / rancher_api_create / … (rancher_api.h), which call the same
 * code.
 *
 * a supplies only what messages name (a->host, a->access, a->key_names, a->project); no field
 * of it is used for I/O. Every function either succeeds or returns an err.h code with one line
 * that never holds a secretValue. */
#ifndef DCK_RANCHER_API_PARSE_H
#define DCK_RANCHER_API_PARSE_H

#include <stddef.h>

#include "rancher_api.h"

/* A 2xx collection page: its items into *out (owned by the caller), the query of
 * pagination.next into next ("" on the last page). */
int rancher_api_parse_collection(const struct rancher_api *a, enum rancher_api_kind k,
				 const char *body, size_t len, struct rancher_objs *out, char *next,
				 size_t next_size);

/* A 2xx single resource (create, update, action, delete answers). */
int rancher_api_parse_resource(const struct rancher_api *a, enum rancher_api_kind k,
			       const char *body, size_t len, struct rancher_obj *out);

/* A 2xx collection of projects (environments), as the account-key resolution reads it. */
int rancher_api_parse_environments(const struct rancher_api *a, const char *body, size_t len,
				   struct rancher_api_envs *out);

/* A non-2xx answer with status: always returns its err.h code; a->last_status and last_code
 * are set as after a real call. */
int rancher_api_parse_error(struct rancher_api *a, const char *what, long status, const char *body,
			    size_t len);

#endif
