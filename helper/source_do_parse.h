/* source_do_parse: the checks source_do.c applies to DigitalOcean's answers, on a body alone,
 * with no request made. Internal: source_do.c calls these on every answer, and
 * tests/fuzz/fuzz_do_body.c feeds them random bodies. */
#ifndef DCK_SOURCE_DO_PARSE_H
#define DCK_SOURCE_DO_PARSE_H

#include <stddef.h>

#include "store.h"

/* A 200 answer of …/docker-credentials ({"auths":{host:{"auth":base64(user:password)}}}): the
 * credential for server (the matching auths key, or the only one) into out->username, secret
 * and secret_len (wiped on free). On failure an err.h code with one line that never holds the
 * credential, and out is not written. */
int do_parse_config_body(const char *body, size_t len, const char *server, struct cred *out);

/* A 200 answer of GET /v2/registries: how many registries the account has, and the first
 * DO_MAX_NAMES names (each checked: ^[a-z0-9-]{1,63}$, as they go into URL paths). On failure
 * an err.h code with one line, and out is not written. */
#define DO_MAX_NAMES 16 /* an account has at most 10 */

struct do_registries {
	size_t n;
	char names[DO_MAX_NAMES][64];
};

int do_parse_registries_body(const char *body, size_t len, struct do_registries *out);

/* A 200 answer of GET /v2/account: "email (team name)" (or the e-mail alone) into who, with
 * no control character. On failure an err.h code with one line, and who is not written. */
int do_parse_account_body(const char *body, size_t len, char *who, size_t size);

/* One line for an answer other than 200: "HTTP <status>[: id: message (request …)]". */
void do_describe_error_body(long status, const char *body, size_t len, char *buf, size_t size);

#endif
