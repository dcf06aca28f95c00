/* host: what registry host a server key names, and whether a host is one: the rules Rancher's
 * routing, configure (and doctor through it) and the kubelet provider share. (DigitalOcean's
 * routing keeps a narrower reading of its own keys: source_do.c says why.) */
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
 * letters, digits and inner hyphens, or an IPv6 address in brackets; a port from 1 to 65535.
 * Unlike docker, '.' is taken in brackets: configure has always accepted an IPv4-mapped
 * address ([::ffff:10.0.0.1]), which `docker login` can be given. */
int host_is_valid(const char *h, size_t n);

#endif
