/* fuzz_store_input: libFuzzer harness for what `store` reads on stdin.
 *
 * proto_parse_store must either fail with a one-line message or give a credential that
 * proto_format_get can print, and our own answer must be valid store input. After one round
 * (print, parse) the bytes are stable: the first print replaces invalid UTF-8 with \ufffd, which
 * json-c then decodes to U+FFFD, printed raw from then on; nothing else may change. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto.h"

static void check_one_line_error(void)
{
	const char *m = err_msg();

	if (!m[0] || strchr(m, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred c = {0}, again = {0}, third = {0};
	struct secbuf first = SECBUF_INIT, second = SECBUF_INIT, last = SECBUF_INIT;

	if (proto_parse_store((const char *)data, size, &c)) {
		check_one_line_error();
		return 0;
	}
	if (!c.server || !c.username || !c.secret || !c.origin || !c.server[0] || !c.username[0])
		abort();
	if (proto_format_get(&c, &first) || first.data[first.len - 1] != '\n')
		abort();
	if (proto_parse_store(first.data, first.len, &again) || proto_format_get(&again, &second))
		abort(); /* our own answer must be valid store input */
	if (proto_parse_store(second.data, second.len, &third) || proto_format_get(&third, &last))
		abort();
	if (second.len != last.len || memcmp(second.data, last.data, second.len))
		abort();
	if (third.secret_len != again.secret_len || memcmp(third.secret, again.secret, again.secret_len))
		abort();
	cred_clear(&c);
	cred_clear(&again);
	cred_clear(&third);
	secbuf_free(&first);
	secbuf_free(&second);
	secbuf_free(&last);
	return 0;
}
