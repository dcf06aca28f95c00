/* fdio: see fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int fdio_write_all(int fd, const void *p, size_t n)
{
	const char *at = p;

	while (n) {
		ssize_t w = write(fd, at, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = 0;
			return -1;
		}
		at += w;
		n -= (size_t)w;
	}
	return 0;
}

int fdio_read_regular(const char *path, int flags, size_t max, struct secbuf *b)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags), rc = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = EINVAL;
	else if (st.st_size > (off_t)max)
		rc = EFBIG;
	else if ((rc = secbuf_read_fd(b, fd, max)) != 0)
		rc = rc == ERR_INVALID ? EFBIG : EIO; /* a file that grew while it was read: too big */
	close(fd);
	return rc;
}
