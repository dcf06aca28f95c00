/* err: one per-thread message slot for the last error (see err.h). */
#include "err.h"
#include "secmem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[1024];


int err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	secmem_format_line(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return code;
}

int err_wrap(int code, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(last_msg)];
	size_t len, n;
	va_list ap;

	/* Both parts are one clean line already (the old message was made by err_set). */
	va_start(ap, fmt);
	secmem_format_line(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, last_msg, sizeof(old));
	/* Build "prefix: old" by hand: a longer message is cut, which snprintf would warn of. */
	len = strlen(prefix);
	memcpy(last_msg, prefix, len + 1);
	if (old[0] && len + 2 < sizeof(last_msg)) {
		memcpy(last_msg + len, ": ", 3);
		len += 2;
		n = strlen(old);
		if (n > sizeof(last_msg) - 1 - len)
			n = sizeof(last_msg) - 1 - len;
		while (n && old[n] && ((unsigned char)old[n] & 0xc0) == 0x80)
			n--; /* cut between characters, as secmem_format_line does */
		memcpy(last_msg + len, old, n);
		last_msg[len + n] = '\0';
	}
	return code;
}

const char *err_msg(void)
{
	return last_msg;
}

void err_clear(void)
{
	last_msg[0] = '\0';
}
