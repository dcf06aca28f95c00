/* fdio: write a whole buffer to a descriptor (pipes and files may take it in pieces). */
#ifndef DCK_FDIO_H
#define DCK_FDIO_H

#include <stddef.h>

/* Write all n bytes of p to fd, going on after short writes and EINTR. 0, or -1 with errno set
 * (0 for a write that took nothing). */
int fdio_write_all(int fd, const void *p, size_t n);

#endif
