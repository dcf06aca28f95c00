/* fuzz_kubelet_request: libFuzzer harness for the CredentialProviderRequest the kubelet writes
 * on stdin in kubelet mode.
 *
 * kubelet_parse_request must either fail with a one-line message or give one of the three API
 * versions and a non-empty registry host without control characters, "/" or "@" (the host is
 * a key of the answer's `auth` map and of the keyring). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kubelet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubelet_request req;
	size_t i, n;

	if (kubelet_parse_request((const char *)data, size, &req)) {
		if (!err_msg()[0] || strchr(err_msg(), '\n'))
			abort();
		return 0;
	}
	if (!req.api_version || strncmp(req.api_version, "credentialprovider.kubelet.k8s.io/", 34) != 0)
		abort();
	n = strnlen(req.host, sizeof(req.host));
	if (n == 0 || n == sizeof(req.host))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)req.host[i] <= 0x20 || req.host[i] == 0x7f || req.host[i] == '/' ||
		    req.host[i] == '@')
			abort();
	return 0;
}
