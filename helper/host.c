/* host: see host.h. */
#include "host.h"

#include <string.h>
#include <strings.h>

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int host_of(const char *server, char *out, size_t size)
{
	const char *p = server, *sep = strstr(server, "://"), *at;
	size_t n, i;

	if (sep && (size_t)(sep - server) ==
		       strspn(server, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+.-"))
		p = sep + 3;
	n = strcspn(p, "/?#");
	at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n == 0 || n >= size)
		return -1;
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
			return -1;
		out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
	}
	out[n] = '\0';
	return 0;
}

int host_is_hub(const char *host)
{
	static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
					  "registry.hub.docker.com"};
	size_t i;

	for (i = 0; i < sizeof(hub) / sizeof(hub[0]); i++)
		if (strcasecmp(host, hub[i]) == 0)
			return 1;
	return 0;
}

int host_is_valid(const char *h, size_t n)
{
	size_t i = 0, label = 0, port = 0;

	if (n && h[0] == '[') {
		for (i = 1; i < n && h[i] != ']'; i++)
			if (!strchr("0123456789abcdefABCDEF:.", h[i]) || !h[i]) /* '.': ::ffff:1.2.3.4 */
				return 0;
		if (i == n || i == 1)
			return 0;
		i++;
	} else {
		for (; i < n && h[i] != ':'; i++) {
			if (h[i] == '.') {
				if (label == 0 || h[i - 1] == '-')
					return 0;
				label = 0;
			} else if (is_alnum(h[i]) || (h[i] == '-' && label > 0)) {
				label++;
			} else {
				return 0;
			}
		}
		if (label == 0 || h[i - 1] == '-')
			return 0;
	}
	if (i == n)
		return 1;
	if (h[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return 0;
	for (i++; i < n; i++) {
		if (h[i] < '0' || h[i] > '9')
			return 0;
		port = port * 10 + (size_t)(h[i] - '0');
	}
	return port >= 1 && port <= 65535;
}
