/* fdio: whole reads and writes: a descriptor may take or give a buffer in pieces. */
#ifndef DCK_FDIO_H
#define DCK_FDIO_H

#include <stddef.h>

#include "secmem.h"

/* Write all n bytes of p to fd, going on after short writes and EINTR. 0, or -1 with errno set
 * (0 for a write that took nothing). */
int fdio_write_all(int fd, const void *p, size_t n);

/* Read the regular file at path, at most max bytes, into b (wiped when freed: the files we
 * read may hold secrets). Opened non-blocking with flags added (O_NOFOLLOW, say), so a FIFO or
 * a device put where a file should be is refused at once instead of hanging the verb. 0, or
 * an errno value for the caller's message: open's, EINVAL (not a regular file), EFBIG (larger
 * than max), EIO. */
int fdio_read_regular(const char *path, int flags, size_t max, struct secbuf *b);

#endif
