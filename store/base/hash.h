/* hash: FNV-1a (64 bit), the one hash of the project: lock names and kernel key names. Not
 * cryptographic: a collision only makes two keys share a lock, or a name, whose content is
 * checked again. */
#ifndef DCK_HASH_H
#define DCK_HASH_H

#include <stdint.h>

static inline uint64_t hash_fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

#endif
