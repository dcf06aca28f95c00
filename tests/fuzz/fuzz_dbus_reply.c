/* fuzz_dbus_reply: libFuzzer harness for the bytes dbus_quick.c reads from the session bus
 * (any program on the bus can send us messages). Parsing must refuse or accept without reading
 * outside the input, and a verdict on an accepted body must stay inside it too. */
#include <stdint.h>
#include <stdlib.h>

#include "dbus_quick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbus_quick_msg m;

	if (size >= 16)
		(void)dbus_quick_message_size(data);
	if (dbus_quick_parse(data, size, &m) == 0) {
		if (m.body < data || m.body + m.body_len > data + size)
			abort();
		(void)dbus_quick_verdict(m.body, m.body_len, m.big_endian, m.sig);
	}
	return 0;
}
