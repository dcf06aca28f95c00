/* json_secret: the one way this program parses JSON that may hold a secret — the store input,
 * API answers, the docker and containers config files, the write-behind copy, the kubelet's
 * request — with json-c's public API only.
 *
 * json-c copies strings into its tokener's buffer and into its objects, and frees both without
 * wiping; json_secret.c says how neither keeps a secret after these functions. Input is checked
 * to be strictly UTF-8 first (utf8.h), which json-c's own check is not. */
#ifndef DCK_JSON_SECRET_H
#define DCK_JSON_SECRET_H

#include <json-c/json.h>
#include <stddef.h>

/* Parse buf as one JSON value: strict, UTF-8, nesting at most max_depth, nothing but white
 * space after it. NULL with *why (a short phrase for a message; "null" for the literal null)
 * when it is not that. Free the result with json_secret_free. */
struct json_object *json_secret_parse(const char *buf, size_t len, int max_depth, const char **why);

/* Wipe every string in v, then release it. NULL-safe. */
void json_secret_free(struct json_object *v);

/* json_secret_parse for input that must be a JSON object: NULL with ERR_INVALID set to
 * "WHAT: why" ("WHAT: expected an object, got array") when it is not one. */
struct json_object *json_secret_object(const char *buf, size_t len, int max_depth, const char *what);

/* obj[key] as a string: *s (inside obj, NUL-terminated, may hold NUL bytes) and *len, or NULL
 * and 0 when absent or null (as Go's decoder reads it). -1 when it is another type. */
int json_secret_string(struct json_object *obj, const char *key, const char **s, size_t *len);

#endif
