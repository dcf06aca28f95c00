/* fuzz_config: libFuzzer harness for the config file parser and the lookups main makes.
 *
 * config_parse must either fail with a one-line message or give a config every lookup can
 * read; durations and booleans either parse or fail with a one-line message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"

static void check_one_line_error(void)
{
	if (!err_msg()[0] || strchr(err_msg(), '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *sections[] = {"", "digitalocean", "rancher", "x"};
	static const char *keys[] = {"timeout", "prompt", "prompt-timeout", "token", "url", "a"};
	struct config *c = NULL;
	char *text;
	int64_t ms;
	int b;
	size_t s, k;

	/* The duration parser alone, on the whole input as a string. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_parse_ms(text, &ms) == 0 && ms < 0)
		abort();
	free(text);

	if (config_parse((const char *)data, size, "fuzz.conf", &c)) {
		check_one_line_error();
		return 0;
	}
	for (s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *v = config_file_value(c, sections[s], keys[k]);

			if (v != config_str(c, sections[s], keys[k], NULL))
				abort();
			if (config_ms_range(c, sections[s], keys[k], NULL, 3000, INT64_MIN, INT64_MAX, &ms))
				check_one_line_error();
			else if (ms < 0 || (!v && ms != 3000))
				abort();
			if (config_bool(c, sections[s], keys[k], NULL, 1, &b))
				check_one_line_error();
			else if (b != 0 && b != 1)
				abort();
		}
	}
	config_free(c);
	return 0;
}
