/* proto: parse and format the protocol's stdin and stdout (see proto.h). */
#include "proto.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "utf8.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

int proto_parse_server(const char *buf, size_t len, char **out)
{
	char *s;

	while (len && is_space(buf[0])) {
		buf++;
		len--;
	}
	while (len && is_space(buf[len - 1]))
		len--;
	if (len == 0)
		return err_set(ERR_INVALID, PROTO_NO_SERVER);
	if (has_control(buf, len))
		return err_set(ERR_INVALID, "invalid server URL: it contains control characters");
	if (!utf8_valid(buf, len))
		return err_set(ERR_INVALID, "invalid server URL: it is not valid UTF-8");
	s = secmem_dup(buf, len);
	if (!s)
		return err_set(ERR_FAILED, "out of memory");
	*out = s;
	return 0;
}

/* json-c keeps string bytes in its objects and its tokener buffer and frees them without
 * wiping; we wipe them ourselves before letting go. */
static void wipe_json_string(struct json_object *v)
{
	if (v && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static void wipe_tokener(struct json_tokener *tok)
{
	if (tok->pb && tok->pb->buf)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
}

/* A string field: a JSON string, or null meaning "", as Go's decoder treats it. */
static int take_string(struct json_object *v, const char *name, char **out, size_t *out_len)
{
	const char *s = "";
	size_t len = 0;
	char *copy;

	if (v && !json_object_is_type(v, json_type_string))
		return err_set(ERR_INVALID, "invalid credentials JSON: %s must be a string", name);
	if (v) {
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
	}
	copy = secmem_dup(s, len);
	if (!copy)
		return err_set(ERR_FAILED, "out of memory");
	secmem_free(*out, *out_len);
	*out = copy;
	*out_len = len;
	return 0;
}

int proto_parse_store(const char *buf, size_t len, struct cred *out)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL;
	struct cred c = {0};
	size_t server_len = 0, user_len = 0, rest = 0;
	int rc = 0;

	if (!tok)
		return err_set(ERR_FAILED, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	if (len >= INT32_MAX) {
		rc = err_set(ERR_INVALID, "invalid credentials JSON: input too large");
		goto out;
	}
	/* Size json-c's buffer for the whole input first, so it is never reallocated: a realloc
	 * would leave part of the secret in freed memory (json_secret.h does the same). */
	if (printbuf_memset(tok->pb, 0, 0, (int)len + 1) < 0) {
		rc = err_set(ERR_FAILED, "out of memory");
		goto out;
	}
	printbuf_reset(tok->pb);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	/* A number or literal at the very end waits for more input: a NUL says there is none. */
	if (!obj && json_tokener_get_error(tok) == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, "", 1);
		rest = len; /* all of buf was read */
		if (!obj && json_tokener_get_error(tok) != json_tokener_success) {
			rc = err_set(ERR_INVALID, "invalid credentials JSON: unexpected end of input");
			goto out;
		}
	} else {
		rest = json_tokener_get_parse_end(tok);
	}
	/* `null` parses to no object and no error. */
	if (!obj && json_tokener_get_error(tok) == json_tokener_success) {
		rc = err_set(ERR_INVALID, "invalid credentials JSON: expected an object, got null");
		goto out;
	}
	if (!obj) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		rc = err_set(ERR_INVALID, "invalid credentials JSON: %s",
			     json_tokener_error_desc(je));
		goto out;
	}
	for (; rest < len; rest++) {
		if (!is_space(buf[rest])) {
			rc = err_set(ERR_INVALID, "invalid credentials JSON: unexpected data after the object");
			goto out;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		rc = err_set(ERR_INVALID, "invalid credentials JSON: expected an object, got %s",
			     json_type_to_name(json_object_get_type(obj)));
		goto out;
	}
	{
		json_object_object_foreach(obj, key, val) {
			if (strcasecmp(key, "ServerURL") == 0)
				rc = take_string(val, "ServerURL", &c.server, &server_len);
			else if (strcasecmp(key, "Username") == 0)
				rc = take_string(val, "Username", &c.username, &user_len);
			else if (strcasecmp(key, "Secret") == 0)
				rc = take_string(val, "Secret", &c.secret, &c.secret_len);
			wipe_json_string(val);
			if (rc)
				goto out;
		}
	}
	if (!c.server || server_len == 0 || has_control(c.server, server_len)) {
		rc = err_set(ERR_INVALID, c.server && server_len ? "invalid server URL: it contains control characters"
								 : PROTO_NO_SERVER);
		goto out;
	}
	if (!c.username || user_len == 0) {
		rc = err_set(ERR_INVALID, PROTO_NO_USERNAME);
		goto out;
	}
	if (memchr(c.username, '\0', user_len)) {
		rc = err_set(ERR_INVALID, "invalid username: it contains a NUL character");
		goto out;
	}
	/* json-c lets overlong and out-of-range sequences through; the keyring refuses them. */
	if (!utf8_valid(c.server, server_len) || !utf8_valid(c.username, user_len)) {
		rc = err_set(ERR_INVALID, "invalid %s: it is not valid UTF-8",
			     utf8_valid(c.server, server_len) ? "username" : "server URL");
		goto out;
	}
	if (!c.secret) {
		c.secret = secmem_dup("", 0);
		if (!c.secret) {
			rc = err_set(ERR_FAILED, "out of memory");
			goto out;
		}
	}
	c.origin = strdup(CRED_ORIGIN_LOGIN);
	if (!c.origin) {
		rc = err_set(ERR_FAILED, "out of memory");
		goto out;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	cred_clear(&c);
	wipe_tokener(tok);
	json_tokener_free(tok);
	json_object_put(obj);
	return rc;
}

#define COPY_MAGIC "dck-copy 1\n"
#define COPY_FIELD_MAX (16u * 1024 * 1024) /* above any input cap: a bigger length is garbage */

static int append_netstring(struct secbuf *out, const char *p, size_t n)
{
	char len[24];
	int rc;

	snprintf(len, sizeof(len), "%zu:", n);
	rc = secbuf_append_str(out, len);
	if (!rc)
		rc = secbuf_append(out, p, n);
	return rc ? rc : secbuf_append(out, ",", 1);
}

int proto_format_copy(const struct cred *c, struct secbuf *out)
{
	char expires[24];
	int rc;

	snprintf(expires, sizeof(expires), "%lld", (long long)c->expires);
	rc = secbuf_append_str(out, COPY_MAGIC);
	if (!rc)
		rc = append_netstring(out, c->server, strlen(c->server));
	if (!rc)
		rc = append_netstring(out, c->username, strlen(c->username));
	if (!rc)
		rc = append_netstring(out, c->origin ? c->origin : CRED_ORIGIN_LOGIN,
				      strlen(c->origin ? c->origin : CRED_ORIGIN_LOGIN));
	if (!rc)
		rc = append_netstring(out, c->secret ? c->secret : "", c->secret ? c->secret_len : 0);
	if (!rc)
		rc = append_netstring(out, expires, strlen(expires));
	return rc ? rc : secbuf_append(out, "\n", 1);
}

/* The netstring at *p (n bytes left): its bytes and length; -1 when there is none. */
static int take_netstring(const char **p, size_t *n, const char **field, size_t *flen)
{
	size_t i = 0, len = 0;

	while (i < *n && (*p)[i] >= '0' && (*p)[i] <= '9' && i < 9)
		len = len * 10 + (size_t)((*p)[i++] - '0');
	/* Digits, no leading zero, then ':'; the bytes, then ','. */
	if (i == 0 || (i > 1 && (*p)[0] == '0') || len > COPY_FIELD_MAX || i >= *n || (*p)[i] != ':' ||
	    *n - i - 1 < len + 1 || (*p)[i + 1 + len] != ',')
		return -1;
	*field = *p + i + 1;
	*flen = len;
	*p += i + 1 + len + 1;
	*n -= i + 1 + len + 1;
	return 0;
}

/* Unix time: 1 to 18 digits (no sign, no leading zero), so it fits an int64_t. */
static int parse_expires(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 18 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int proto_parse_copy(const char *buf, size_t len, struct cred *out)
{
	const char *f[5];
	size_t fl[5], i, magic = sizeof(COPY_MAGIC) - 1;
	struct cred c = {0};

	if (len < magic || memcmp(buf, COPY_MAGIC, magic) != 0)
		return err_set(ERR_INVALID, "invalid copy: not the dck-copy 1 format");
	buf += magic;
	len -= magic;
	for (i = 0; i < 5; i++)
		if (take_netstring(&buf, &len, &f[i], &fl[i]))
			return err_set(ERR_INVALID, "invalid copy: field %zu is not a netstring", i + 1);
	if (len != 1 || buf[0] != '\n')
		return err_set(ERR_INVALID, "invalid copy: unexpected data after the fields");
	/* server, username and origin become C strings: no NUL inside; a server is one line. */
	if (fl[0] == 0 || has_control(f[0], fl[0]) || memchr(f[1], '\0', fl[1]) || fl[2] == 0 ||
	    has_control(f[2], fl[2]) || !utf8_valid(f[0], fl[0]) || !utf8_valid(f[1], fl[1]) ||
	    !utf8_valid(f[2], fl[2]))
		return err_set(ERR_INVALID, "invalid copy: a bad server, username or origin");
	if (parse_expires(f[4], fl[4], &c.expires))
		return err_set(ERR_INVALID, "invalid copy: expires is not a Unix time");
	c.server = secmem_dup(f[0], fl[0]);
	c.username = secmem_dup(f[1], fl[1]);
	c.origin = secmem_dup(f[2], fl[2]);
	c.secret = secmem_dup(f[3], fl[3]);
	c.secret_len = fl[3];
	if (!c.server || !c.username || !c.origin || !c.secret) {
		cred_clear(&c);
		return err_set(ERR_FAILED, "out of memory");
	}
	*out = c;
	return 0;
}

int proto_json_string(struct secbuf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t i = 0, run, n;
	int rc = secbuf_append(out, "\"", 1);

	while (!rc && i < len) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i; run < len && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\' &&
			      p[run] < 0x80;
		     run++)
			;
		if (run > i) {
			rc = secbuf_append(out, s + i, run - i);
			i = run;
			continue;
		}
		if (p[i] >= 0x80) {
			n = utf8_seq_len(p + i, len - i);
			rc = n ? secbuf_append(out, s + i, n) : secbuf_append_str(out, "\\ufffd");
			i += n ? n : 1;
			continue;
		}
		switch (p[i]) {
		case '"': rc = secbuf_append_str(out, "\\\""); break;
		case '\\': rc = secbuf_append_str(out, "\\\\"); break;
		case '\n': rc = secbuf_append_str(out, "\\n"); break;
		case '\r': rc = secbuf_append_str(out, "\\r"); break;
		case '\t': rc = secbuf_append_str(out, "\\t"); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			rc = secbuf_append_str(out, esc);
		}
		i++;
	}
	explicit_bzero(esc, sizeof(esc));
	return rc ? rc : secbuf_append(out, "\"", 1);
}

int proto_format_get(const struct cred *c, struct secbuf *out)
{
	int rc = secbuf_append_str(out, "{\"ServerURL\":");

	if (!rc)
		rc = proto_json_string(out, c->server, strlen(c->server));
	if (!rc)
		rc = secbuf_append_str(out, ",\"Username\":");
	if (!rc)
		rc = proto_json_string(out, c->username, strlen(c->username));
	if (!rc)
		rc = secbuf_append_str(out, ",\"Secret\":");
	if (!rc)
		rc = proto_json_string(out, c->secret ? c->secret : "", c->secret_len);
	if (!rc)
		rc = secbuf_append_str(out, "}\n");
	return rc;
}

static int by_server(const void *a, const void *b)
{
	return strcmp(((const struct cred *)a)->server, ((const struct cred *)b)->server);
}

int proto_format_list(const struct cred_list *l, struct secbuf *out)
{
	size_t i;
	int rc;

	if (l->len > 1)
		qsort(l->items, l->len, sizeof(l->items[0]), by_server);
	rc = secbuf_append_str(out, "{");
	for (i = 0; !rc && i < l->len; i++) {
		if (i)
			rc = secbuf_append_str(out, ",");
		if (!rc)
			rc = proto_json_string(out, l->items[i].server, strlen(l->items[i].server));
		if (!rc)
			rc = secbuf_append_str(out, ":");
		if (!rc)
			rc = proto_json_string(out, l->items[i].username, strlen(l->items[i].username));
	}
	return rc ? rc : secbuf_append_str(out, "}\n");
}
