/* fuzz_server: libFuzzer harness for what `get` and `erase` read on stdin.
 *
 * proto_parse_server must either fail with a one-line message or give a non-empty, trimmed
 * server without control characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *server = NULL;
	size_t i, n;

	if (proto_parse_server((const char *)data, size, &server)) {
		if (!err_msg()[0] || strchr(err_msg(), '\n'))
			abort();
		return 0;
	}
	n = strlen(server);
	if (n == 0 || n > size || server[0] == ' ' || server[n - 1] == ' ' ||
	    !memmem(data, size, server, n))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)server[i] < 0x20 || server[i] == 0x7f)
			abort();
	free(server);
	return 0;
}
