/* json_secret: parse and free JSON without leaving secrets in freed memory (see json_secret.h).
 *
 * json-c gathers each string in its tokener's buffer before copying it into its object, grows
 * that buffer with realloc and frees it without wiping. Only its public calls are used here,
 * so the buffer is managed from outside, by what it is fed:
 *  - before the input, the tokener parses a throwaway string as long as the input, so its
 *    buffer is already big enough and never moves (a move would leave a copy behind);
 *  - after it, the same throwaway string again, which overwrites every byte the input put
 *    there before the tokener is freed.
 * Every string of the tree it returns is wiped by json_secret_free before json-c frees it. */
#include "json_secret.h"

#include <stdint.h>
#include <string.h>

#include "err.h"
#include "secmem.h"
#include "utf8.h"

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

/* Parse the string literal "xxx…" of len+1 characters: the tokener's buffer grows to (or is
 * overwritten over) len+1 bytes. */
static int throwaway(struct json_tokener *tok, const struct secbuf *filler)
{
	struct json_object *o;

	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, filler->data, (int)filler->len);
	json_object_put(o);
	json_tokener_reset(tok);
	return o ? 0 : -1;
}

static int make_filler(struct secbuf *f, size_t len)
{
	size_t i;
	int rc = secbuf_append(f, "\"", 1);

	for (i = 0; !rc && i <= len; i += 64)
		rc = secbuf_append(f, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				   len + 1 - i < 64 ? len + 1 - i : 64);
	return rc ? rc : secbuf_append(f, "\"", 1);
}

/* A \uXXXX escape at p (past the backslash, len bytes left): its value, or -1. */
static long escape_at(const char *p, size_t len)
{
	long v = 0;
	size_t i;

	if (len < 5 || p[0] != 'u')
		return -1;
	for (i = 1; i < 5; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* What is wrong with the strings of buf that json-c would let through, or NULL:
 *  - a raw control character: RFC 8259 wants them escaped, and json-c takes them as they are
 *    (Go's encoder, which docker and podman use, never writes one);
 *  - an escaped surrogate that is not half of a pair (\ud800 alone): json-c makes it U+FFFD,
 *    so a secret would be stored as something else than what was sent. */
static const char *string_problem(const char *buf, size_t len)
{
	size_t i;
	int in = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		long v, low;

		if (in && c == '\\') {
			v = escape_at(buf + i + 1, len - i - 1);
			if (v >= 0xd800 && v <= 0xdbff && i + 12 <= len && buf[i + 6] == '\\' &&
			    (low = escape_at(buf + i + 7, len - i - 7)) >= 0xdc00 && low <= 0xdfff)
				i += 11; /* a pair: one character */
			else if (v >= 0xd800 && v <= 0xdfff)
				return "an escaped surrogate (\\ud800 to \\udfff) that is not half of a pair";
			else
				i++;
		} else if (c == '"') {
			in = !in;
		} else if (in && c < 0x20) {
			return "a control character in a string is not escaped";
		}
	}
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct json_object *json_secret_parse(const char *buf, size_t len, int max_depth, const char **why)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	struct secbuf filler = SECBUF_INIT;
	enum json_tokener_error je;
	size_t rest;

	if (!buf || len == 0)
		*why = "the input is empty";
	else if (len >= INT32_MAX / 2)
		*why = "the input is too large";
	/* json-c's own check lets overlong forms and surrogates through; D-Bus and the keyring
	 * do not (utf8.h). */
	else if (!utf8_valid(buf, len))
		*why = "it is not valid UTF-8";
	else
		*why = string_problem(buf, len);
	if (*why)
		return NULL;
	*why = "out of memory";
	if (make_filler(&filler, len) != 0 || !(tok = json_tokener_new_ex(max_depth)) ||
	    throwaway(tok, &filler) != 0)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	rest = json_tokener_get_parse_end(tok);
	/* A number or literal at the very end waits for more: a NUL byte says there is none. */
	if (!obj && json_tokener_get_error(tok) == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, "", 1);
		rest = len;
		if (!obj && json_tokener_get_error(tok) != json_tokener_success) {
			*why = "unexpected end of input";
			goto out;
		}
	}
	je = json_tokener_get_error(tok);
	if (!obj) {
		/* `null` is a value too, with no object: the caller says what it expected. */
		*why = je == json_tokener_success ? "null" : json_tokener_error_desc(je);
		goto out;
	}
	while (rest < len && is_space(buf[rest]))
		rest++;
	if (rest < len) {
		*why = "data follows the JSON value";
		json_secret_free(obj);
		obj = NULL;
	}
out:
	if (tok && throwaway(tok, &filler) != 0 && obj) {
		/* The filler did not parse over the input's bytes: refuse rather than leave them. */
		json_secret_free(obj);
		obj = NULL;
		*why = "out of memory";
	}
	if (tok)
		json_tokener_free(tok);
	secbuf_free(&filler);
	return obj;
}

struct json_object *json_secret_object(const char *buf, size_t len, int max_depth, const char *what)
{
	const char *why;
	struct json_object *obj = json_secret_parse(buf, len, max_depth, &why);

	if (!obj) {
		err_set(ERR_INVALID, "%s: %s%s", what,
			strcmp(why, "null") == 0 ? "expected an object, got " : "", why);
	} else if (!json_object_is_type(obj, json_type_object)) {
		err_set(ERR_INVALID, "%s: expected an object, got %s", what,
			json_type_to_name(json_object_get_type(obj)));
		json_secret_free(obj);
		obj = NULL;
	}
	return obj;
}

int json_secret_string(struct json_object *obj, const char *key, const char **s, size_t *len)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		*s = NULL;
		*len = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
}
