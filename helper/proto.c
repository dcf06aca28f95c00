/* proto: parse and format the protocol's stdin and stdout (see proto.h). */
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "json_secret.h"
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

/* A string field: a JSON string, or null meaning "", as Go's decoder treats it. */
static int take_string(struct json_object *obj, const char *key, const char *name, char **out,
		       size_t *out_len)
{
	const char *s;
	size_t len;
	char *copy;

	if (json_secret_string(obj, key, &s, &len) != 0)
		return err_set(ERR_INVALID, "invalid credentials JSON: %s must be a string", name);
	copy = secmem_dup(s ? s : "", len);
	if (!copy)
		return err_set(ERR_FAILED, "out of memory");
	secmem_free(*out, *out_len);
	*out = copy;
	*out_len = len;
	return 0;
}

int proto_parse_store(const char *buf, size_t len, struct cred *out)
{
	struct json_object *obj = json_secret_object(buf, len, 32, "invalid credentials JSON");
	struct cred c = {0};
	size_t server_len = 0, user_len = 0;
	const char *bad = NULL;
	int rc = 0;

	if (!obj)
		return ERR_INVALID;
	{
		/* The keys match in any letter case, as the reference's Go decoder does. */
		json_object_object_foreach(obj, key, val) {
			(void)val;
			if (strcasecmp(key, "ServerURL") == 0)
				rc = take_string(obj, key, "ServerURL", &c.server, &server_len);
			else if (strcasecmp(key, "Username") == 0)
				rc = take_string(obj, key, "Username", &c.username, &user_len);
			else if (strcasecmp(key, "Secret") == 0)
				rc = take_string(obj, key, "Secret", &c.secret, &c.secret_len);
			if (rc)
				goto out;
		}
	}
	if (!c.server || server_len == 0)
		bad = PROTO_NO_SERVER;
	else if (has_control(c.server, server_len))
		bad = "invalid server URL: it contains control characters";
	/* get trims what it reads: a key that begins or ends with a space could never be read. */
	else if (is_space(c.server[0]) || is_space(c.server[server_len - 1]))
		bad = "invalid server URL: it begins or ends with a space";
	else if (!c.username || user_len == 0)
		bad = PROTO_NO_USERNAME;
	else if (memchr(c.username, '\0', user_len))
		bad = "invalid username: it contains a NUL character";
	/* Checked again after json-c's unescaping, which the raw text's check came before. */
	else if (!utf8_valid(c.server, server_len))
		bad = "invalid server URL: it is not valid UTF-8";
	else if (!utf8_valid(c.username, user_len))
		bad = "invalid username: it is not valid UTF-8";
	if (bad)
		rc = err_set(ERR_INVALID, "%s", bad);
	else if ((!c.secret && !(c.secret = secmem_dup("", 0))) ||
		 !(c.origin = strdup(CRED_ORIGIN_LOGIN)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc) {
		*out = c;
		memset(&c, 0, sizeof(c));
	}
out:
	cred_clear(&c);
	json_secret_free(obj);
	return rc;
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
	int rc = proto_json_field(out, "{\"ServerURL\":", c->server, strlen(c->server));

	if (!rc)
		rc = proto_json_field(out, ",\"Username\":", c->username, strlen(c->username));
	if (!rc)
		rc = proto_json_field(out, ",\"Secret\":", c->secret ? c->secret : "", c->secret_len);
	return rc ? rc : secbuf_append_str(out, "}\n");
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
		const struct cred *c = &l->items[i];

		rc = proto_json_field(out, i ? "," : "", c->server, strlen(c->server));
		if (!rc)
			rc = proto_json_field(out, ":", c->username, strlen(c->username));
	}
	return rc ? rc : secbuf_append_str(out, "}\n");
}
