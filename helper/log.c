/* log: the debug log (see log.h). */
#include "log.h"
#include "config.h"
#include "fdio.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "docker-credential-keyring: debug: "

static int level = -1; /* -1: not read from the environment yet */

void log_init(void)
{
	if (level < 0)
		level = config_parse_bool(getenv("DOCKER_CREDENTIAL_KEYRING_DEBUG")) == 1 ? LOG_DEBUG : LOG_OFF;
}

void log_set_level(int l)
{
	level = l;
}

int log_enabled(void)
{
	log_init();
	return level >= LOG_DEBUG;
}

/* The log file, when it is ours to write: a regular file owned by this user that only this
 * user can read (or one made so now). Never through a link (O_NOFOLLOW), never waiting on a
 * FIFO someone put there (O_NONBLOCK), never appending to another user's file. One write per
 * line with O_APPEND: parallel helpers do not interleave inside a line. -1 when not usable. */
static int open_log_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
		close(fd);
		return -1;
	}
	return fd;
}

void log_debug(const char *fmt, ...)
{
	char line[1024];
	const char *path;
	va_list ap;
	size_t pre = sizeof(LOG_PREFIX) - 1, n;
	int fd;

	if (!log_enabled())
		return;
	memcpy(line, LOG_PREFIX, pre);
	va_start(ap, fmt); /* redacted: a quoted server message may echo what we sent */
	secmem_format_line(line + pre, sizeof(line) - pre - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	(void)fdio_write_all(STDERR_FILENO, line, n); /* a log line is best effort */
	path = getenv("DOCKER_CREDENTIAL_KEYRING_LOG_FILE");
	if (path && path[0] && (fd = open_log_file(path)) >= 0) {
		(void)fdio_write_all(fd, line, n);
		close(fd);
	}
}
