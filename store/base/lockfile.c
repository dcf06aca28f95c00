/* lockfile: flock(2) on files in the private lock directory (see lockfile.h). */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"
#include "monotonic.h"
#include "session.h"

void lockfile_name(char *buf, unsigned size, const char *prefix, const char *key)
{
	snprintf(buf, size, "%s-%016llx", prefix, (unsigned long long)hash_fnv1a(key));
}

int lockfile_acquire(const char *name, unsigned wait_ms, const char *bound)
{
	char dir[4096], path[4200];
	int64_t start = monotonic_ms(), waited;
	long pause_us = 500;
	int fd, rc;

	rc = session_lock_dir(dir, sizeof(dir));
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	/* O_NOFOLLOW: the directory is ours, but a link inside would send the lock elsewhere. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(ERR_FAILED, "cannot open the lock %s: %s", path, strerror(errno));
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = err_set(ERR_FAILED, "cannot take the lock %s: %s", path, strerror(errno));
			break;
		}
		waited = monotonic_ms() - start;
		if (waited >= (int64_t)wait_ms) {
			rc = err_set(ERR_TIMEOUT, "waited %.1f s for another docker-credential-keyring "
				     "to release %s%s%s%s", (double)waited / 1000, path, bound ? " (" : "",
				     bound ? bound : "", bound ? ")" : "");
			break;
		}
		/* Polling, short at first: most holders finish within milliseconds. */
		usleep((useconds_t)pause_us);
		pause_us = pause_us < 20000 ? pause_us * 2 : 20000;
	}
	close(fd);
	return rc;
}

void lockfile_release(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor drops the flock */
}
