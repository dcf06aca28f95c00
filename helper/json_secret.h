/* json_secret: json-c for bodies that may hold secrets (API answers with passwords).
 *
 * json-c copies strings into its objects and into the tokener's buffer, grows that buffer
 * with realloc and frees everything without wiping. These two functions leave nothing behind:
 * the buffer is sized for the whole input before parsing (so it is never reallocated) and
 * wiped after, and every string of a value is wiped before the value is released. */
#ifndef DCK_JSON_SECRET_H
#define DCK_JSON_SECRET_H

#include <json-c/json.h>
#include <stddef.h>

/* Parse buf as one JSON value: strict, UTF-8 checked, nesting at most max_depth, nothing but
 * white space after it. NULL with *why (a short phrase for a message) when it is not that. */
struct json_object *json_secret_parse(const char *buf, size_t len, int max_depth, const char **why);

/* Wipe every string in v, then release it. NULL-safe. */
void json_secret_free(struct json_object *v);

#endif
