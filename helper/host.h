/* host: what registry host a server key names, one rule for every part that asks (the
 * sources' routing, configure, doctor, the kubelet provider). */
#ifndef DCK_HOST_H
#define DCK_HOST_H

#include <stddef.h>

/* The host[:port] of a server key in lower case: a scheme ("https://", any "name://"), user
 * information ("user@") and anything from the first '/', '?' or '#' on are dropped. 0, or -1
 * when nothing is left, it holds a space, a control character, '"' or '\\', or it does not fit
 * in size bytes. */
int host_of(const char *server, char *out, size_t size);

/* Where `docker login` keeps Docker Hub: its v1 URL, not a host. */
#define HOST_HUB_KEY "https://index.docker.io/v1/"

/* Is host one of Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io,
 * registry.hub.docker.com; any case)? */
int host_is_hub(const char *host);

/* Is h (n bytes) a registry host[:port] as docker's reference grammar has it: DNS labels of
 * letters, digits and inner hyphens, or an IPv6 address in brackets (an IPv4-mapped one too); a
 * port from 1 to 65535. */
int host_is_valid(const char *h, size_t n);

#endif
