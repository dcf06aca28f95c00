/* http_plugin: one HTTP request through libcurl, as a plugin (plugin.h says why libcurl is
 * one). http.c loads it on a source's first request; it carries its own copy of the base
 * code, so its error messages are read back through last_error. */
#ifndef DCK_HTTP_PLUGIN_H
#define DCK_HTTP_PLUGIN_H

#include <stddef.h>

#include "http.h"

#define HTTP_PLUGIN_FILE "http-curl.so"
#define HTTP_PLUGIN_SYMBOL "dck_http_plugin_v1"

struct http_plugin {
	/* http_do's work (http.h): check the URL against o's rules, send req, fill *out. When the
	 * request goes over plain http to a host that is not loopback (allowed by name),
	 * plain_remote gets "host:port" so the caller can warn. */
	int (*perform)(const struct http_opts *o, const struct http_request *req,
		       struct http_response *out, char *plain_remote, size_t plain_size);
	const char *(*last_error)(void);
};

#endif
