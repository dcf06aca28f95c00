/* lockfile: flock(2) on files in a private runtime directory (see lockfile.h). */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

int lockfile_runtime_dir(char *buf, unsigned size)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	/* $XDG_RUNTIME_DIR when it exists (it is private by definition), else our own in /tmp. */
	if (rt && rt[0] == '/' && stat(rt, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(buf, size, "%s/docker-credential-keyring", rt);
	else
		n = snprintf(buf, size, "/tmp/docker-credential-keyring-%u", (unsigned)getuid());
	if (n < 0 || (unsigned)n >= size)
		return err_set(ERR_FAILED, "runtime directory path is too long");
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return err_set(ERR_FAILED, "cannot create %s: %s", buf, strerror(errno));
	/* In /tmp somebody else may have made it first: use it only if it is ours and private. */
	if (lstat(buf, &st) != 0)
		return err_set(ERR_FAILED, "cannot stat %s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return err_set(ERR_FAILED, "%s is not a private directory owned by this user", buf);
	return 0;
}

int lockfile_acquire(const char *name, unsigned timeout_ms)
{
	char dir[4096], path[4200];
	struct timespec start, now, pause = {0, 5 * 1000000L};
	long waited_ms;
	int fd, rc;

	rc = lockfile_runtime_dir(dir, sizeof(dir));
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(ERR_FAILED, "cannot open %s: %s", path, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = err_set(ERR_FAILED, "cannot lock %s: %s", path, strerror(errno));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited_ms >= (long)timeout_ms) {
			rc = err_set(ERR_TIMEOUT, "another docker-credential-keyring held %s for %ld ms",
				     path, waited_ms);
			break;
		}
		nanosleep(&pause, NULL);
	}
	close(fd);
	return rc;
}

void lockfile_release(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor drops the flock */
}
