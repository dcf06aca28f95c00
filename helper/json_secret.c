/* json_secret: parse and free JSON without leaving secrets in freed memory (see json_secret.h). */
#include "json_secret.h"

#include <stdint.h>
#include <string.h>

static void wipe(struct json_object *v, int depth)
{
	size_t i, n;

	if (!v || depth > 64)
		return;
	switch (json_object_get_type(v)) {
	case json_type_string:
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			wipe(val, depth + 1);
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			wipe(json_object_array_get_idx(v, i), depth + 1);
		break;
	default:
		break;
	}
}

void json_secret_free(struct json_object *v)
{
	if (v) {
		wipe(v, 0);
		json_object_put(v);
	}
}

struct json_object *json_secret_parse(const char *buf, size_t len, int max_depth, const char **why)
{
	struct json_tokener *tok;
	struct json_object *obj = NULL;
	size_t rest;

	if (!buf || len == 0) {
		*why = "the body is empty";
		return NULL;
	}
	if (len >= INT32_MAX) {
		*why = "the body is too large";
		return NULL;
	}
	tok = json_tokener_new_ex(max_depth);
	*why = "out of memory";
	if (!tok)
		return NULL;
	/* Room for every string at once: the buffer is never reallocated (leaving a copy). */
	if (printbuf_memset(tok->pb, 0, 0, (int)len + 1) < 0) {
		json_tokener_free(tok);
		return NULL;
	}
	printbuf_reset(tok->pb);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		*why = je == json_tokener_continue ? "the JSON ends too early" : json_tokener_error_desc(je);
	} else {
		for (rest = json_tokener_get_parse_end(tok); rest < len; rest++) {
			if (buf[rest] != ' ' && buf[rest] != '\t' && buf[rest] != '\n' && buf[rest] != '\r') {
				*why = "data follows the JSON value";
				json_secret_free(obj);
				obj = NULL;
				break;
			}
		}
	}
	explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return obj;
}
