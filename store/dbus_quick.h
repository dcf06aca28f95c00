/* dbus_quick: one read-only Secret Service question asked without GLib: "does any item have
 * this server attribute?" (see dbus_quick.c for why and for what it does not try). */
#ifndef DCK_DBUS_QUICK_H
#define DCK_DBUS_QUICK_H

#include <stddef.h>

enum dbus_quick_answer {
	DBUS_QUICK_NONE = 0,    /* definitely no item: SearchItems answered two empty lists */
	DBUS_QUICK_SOME = 1,    /* at least one item (unlocked or locked) */
	DBUS_QUICK_UNKNOWN = 2, /* anything else: ask the ordinary way (libsecret) */
	DBUS_QUICK_TIMEOUT = 3, /* the bus or the service did not answer within the timeout */
};

/* SearchItems({"server": server}) on the session bus at address (a D-Bus address string, e.g.
 * "unix:path=/run/user/1000/bus"), within timeout_ms. Never fails loudly: every error,
 * unsupported address or odd answer is DBUS_QUICK_UNKNOWN; no answer in time is
 * DBUS_QUICK_TIMEOUT (asking again the slow way would only wait as long again).
 * while_waiting (may be NULL) is called each time a question has been sent, before its answer
 * is read (once or twice: the search, the search that confirms "none"): the service searches
 * while the caller works (store_overlap in store.h). The time it takes does not count against
 * timeout_ms. */
enum dbus_quick_answer dbus_quick_any_item(const char *address, const char *server,
					   unsigned timeout_ms, void (*while_waiting)(void));

/* For tests and the fuzzer: the verdict on a reply body to SearchItems with signature sig. */
enum dbus_quick_answer dbus_quick_verdict(const unsigned char *body, size_t len, int big_endian,
					  const char *sig);

/* For tests and the fuzzer: parse one whole message (header and body) in buf. 0 and the fields
 * filled when it is well formed, -1 otherwise. */
struct dbus_quick_msg {
	int type;              /* 1 call, 2 return, 3 error, 4 signal */
	int big_endian;
	unsigned reply_serial; /* 0 when absent */
	char sig[256];         /* the body's signature, "" when absent */
	const unsigned char *body;
	size_t body_len;
};
int dbus_quick_parse(const unsigned char *buf, size_t len, struct dbus_quick_msg *out);

/* How many bytes the message starting in buf (at least 16 bytes) occupies, or 0 when its
 * header is invalid or it is larger than we accept. */
size_t dbus_quick_message_size(const unsigned char *buf);

#endif
