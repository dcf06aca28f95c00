/* fuzz_do_body: libFuzzer harness for the DigitalOcean API answers (helper/source_do_parse.h).
 *
 * The input is a response body. The docker-config parser must either give a username and a
 * non-empty password with no control characters, or fail with one line that never quotes the
 * decoded password; the registry-list parser must give only names fit for a URL path
 * ([a-z0-9-]{1,63}) or fail leaving its output alone; the account parser must give one
 * printable line or fail leaving it alone, and fail for an e-mail with a NUL inside (which it
 * would show cut at the NUL); the error describer must always give one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "source_do_parse.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *msg)
{
	if (!msg[0] || strchr(msg, '\n') || strchr(msg, '\r'))
		abort();
}

static void check_registries(const uint8_t *data, size_t size)
{
	struct do_registries r;
	size_t i, j;

	memset(&r, 0x5a, sizeof(r));
	err_clear();
	if (do_parse_registries_body((const char *)data, size, &r) != 0) {
		one_line(err_msg());
		for (i = 0; i < sizeof(r); i++)
			if (((const unsigned char *)&r)[i] != 0x5a)
				abort(); /* written on failure */
		return;
	}
	for (i = 0; i < r.n && i < DO_MAX_NAMES; i++) {
		size_t len = strnlen(r.names[i], sizeof(r.names[i]));

		if (len == 0 || len > 63)
			abort();
		for (j = 0; j < len; j++)
			if (!((r.names[i][j] >= 'a' && r.names[i][j] <= 'z') ||
			      (r.names[i][j] >= '0' && r.names[i][j] <= '9') || r.names[i][j] == '-'))
				abort();
	}
}

/* Does the body, read by json-c alone, have an account.email string with a NUL inside? */
static int email_has_nul(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *v, *account = NULL, *email = NULL;
	int nul = 0;

	if (!tok || size > INT32_MAX)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	v = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_object_object_get_ex(v, "account", &account) &&
	    json_object_object_get_ex(account, "email", &email) &&
	    json_object_is_type(email, json_type_string))
		nul = memchr(json_object_get_string(email), '\0',
			     (size_t)json_object_get_string_len(email)) != NULL;
	json_object_put(v);
	json_tokener_free(tok);
	return nul;
}

static void check_account(const uint8_t *data, size_t size)
{
	char who[64], *p;

	memset(who, 'Z', sizeof(who) - 1);
	who[sizeof(who) - 1] = '\0';
	err_clear();
	if (do_parse_account_body((const char *)data, size, who, sizeof(who)) != 0) {
		one_line(err_msg());
		for (p = who; *p; p++)
			if (*p != 'Z')
				abort(); /* written on failure */
		return;
	}
	if (!who[0] || email_has_nul(data, size))
		abort();
	for (p = who; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *servers[] = {"registry.digitalocean.com", "https://docr.example.test/v2/",
					"", "REGISTRY.DIGITALOCEAN.COM"};
	static const long statuses[] = {401, 429, 500, 502};
	char line[512];
	size_t s, i;

	for (s = 0; s < sizeof(servers) / sizeof(servers[0]); s++) {
		struct cred c = {0};

		err_clear();
		if (do_parse_config_body((const char *)data, size, servers[s], &c) == 0) {
			if (!c.username || !c.secret || !c.secret_len || !c.username[0])
				abort();
			for (i = 0; i < c.secret_len; i++)
				if ((unsigned char)c.secret[i] < 0x20 || c.secret[i] == 0x7f)
					abort();
			if (strchr(c.username, ':'))
				abort(); /* split at the first colon */
		} else {
			if (!err_msg()[0] || strchr(err_msg(), '\n') || c.username || c.secret)
				abort();
		}
		cred_clear(&c);
	}
	check_registries(data, size);
	check_account(data, size);
	for (s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
		do_describe_error_body(statuses[s], (const char *)data, size, line, sizeof(line));
		if (strncmp(line, "HTTP ", 5) != 0 || strchr(line, '\n') || strchr(line, '\r'))
			abort();
	}
	return 0;
}
