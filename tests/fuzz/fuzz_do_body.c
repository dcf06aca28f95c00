/* fuzz_do_body: libFuzzer harness for the DigitalOcean API answers (helper/source_do_parse.h).
 *
 * The input is a response body. The docker-config parser must either give a username and a
 * non-empty password with no control characters, or fail with one line that never quotes the
 * decoded password; the error describer must always give one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "source_do_parse.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	for (s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
		do_describe_error_body(statuses[s], (const char *)data, size, line, sizeof(line));
		if (strncmp(line, "HTTP ", 5) != 0 || strchr(line, '\n') || strchr(line, '\r'))
			abort();
	}
	return 0;
}
