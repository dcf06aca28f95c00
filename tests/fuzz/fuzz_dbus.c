/* fuzz_dbus: libFuzzer harness for the bytes store/secret/dbus.c reads from the session bus
 * (any program on the bus can send us messages). Parsing must refuse or accept without reading
 * outside the input; an accepted body is then walked by its own signature, as the reads walk
 * the replies they get, and that must stay inside the body too. */
#include <stdint.h>
#include <stdlib.h>

#include "dbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbus_reply m;
	struct dbus_iter it;
	const char *sig;

	if (size >= 16)
		(void)dbus_message_size(data);
	if (dbus_parse(data, size, &m) != 0)
		return 0;
	if (m.body < data || m.body + m.len > data + size)
		abort();
	dbus_iter_init(&it, &m);
	for (sig = m.sig; *sig;)
		if (dbus_skip(&it, &sig) != 0)
			break;
	if (it.pos > it.end)
		abort();
	return 0;
}
