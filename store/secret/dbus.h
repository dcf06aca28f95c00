/* dbus: a minimal D-Bus client on the session bus socket — just enough for the Secret Service
 * reads (search, attributes, a plain session, secrets), without GLib.
 *
 * Why it exists: a `get` through libsecret costs loading GLib, GIO and libsecret, GIO's
 * connection set-up and libsecret's encrypted-session key exchange, several times what the
 * same questions cost asked here (docs/performance.md). Writes and prompts still go
 * through libsecret (secret_plugin.h).
 *
 * What it supports: unix:path= and unix:abstract= addresses, SASL EXTERNAL, little-endian
 * messages out, either byte order in, calls pipelined and their replies collected in any order.
 * Another address kind (tcp:, unixexec:, …) is DBUS_UNSUPPORTED, and the caller asks
 * libsecret instead; a socket that refuses us, or the handshake, is ERR_UNAVAILABLE with a
 * reason.
 *
 * Wire format (D-Bus specification, "Message Protocol"): a 16-byte fixed header (endianness,
 * type, flags, version, body length, serial, header-field array length), the header fields
 * (code, variant), padding to 8, the body; every value aligned to its own size. */
#ifndef DCK_DBUS_H
#define DCK_DBUS_H

#include <stddef.h>
#include <stdint.h>

#include "secmem.h"

#define DBUS_MAX_MESSAGE (64u << 20) /* the specification's limit is 128 MiB; ours are small */

/* ---- writing a call's body ------------------------------------------------------------ */

/* A body being marshalled (little-endian, aligned from its start). A failure to grow the
 * buffer is remembered and reported by dbus_call. Wiped on free: a body may hold a secret. */
struct dbus_body {
	struct secbuf b;
	int failed;
};

void dbus_put_u32(struct dbus_body *w, uint32_t v);
void dbus_put_string(struct dbus_body *w, const char *s); /* also an object path */
/* A variant holding a string: signature "s", then the string. */
void dbus_put_variant_string(struct dbus_body *w, const char *s);
/* a{ss} of n pairs keys[i] => values[i]. */
void dbus_put_dict_ss(struct dbus_body *w, size_t n, const char *const *keys,
		      const char *const *values);
/* ao of n object paths. */
void dbus_put_paths(struct dbus_body *w, size_t n, const char *const *paths);
void dbus_body_free(struct dbus_body *w);

/* ---- reading a reply ------------------------------------------------------------------- */

struct dbus_reply {
	int type;              /* 2 method return, 3 error */
	uint32_t reply_serial;
	char error[256];       /* the error name of an error reply, else "" */
	char sig[256];         /* the body's signature, "" when absent */
	const unsigned char *body;
	size_t len;
	int big_endian;
};

/* A cursor over a reply's body. Every read checks bounds and alignment: a malformed or hostile
 * reply makes it fail (-1), never read outside the body. */
struct dbus_iter {
	const unsigned char *p;
	size_t pos, end;
	int be;
};

void dbus_iter_init(struct dbus_iter *it, const struct dbus_reply *r);
int dbus_get_u32(struct dbus_iter *it, uint32_t *out);
int dbus_get_u64(struct dbus_iter *it, uint64_t *out);
/* s, o: a pointer into the body (NUL-terminated there) and its length. */
int dbus_get_string(struct dbus_iter *it, const char **s, size_t *len);
/* ay: bytes pointing into the body. */
int dbus_get_bytes(struct dbus_iter *it, const unsigned char **p, size_t *len);
/* An array: reads its length and aligns to its elements (align: 8 for structs and dict
 * entries, else the element's own); *end is where it stops. Loop while it->pos < *end. */
int dbus_get_array(struct dbus_iter *it, size_t align, size_t *end);
/* Align to 8 before a struct or dict entry. */
int dbus_get_struct(struct dbus_iter *it);
/* A variant's signature; the value follows. */
int dbus_get_variant(struct dbus_iter *it, const char **sig);
/* Skip one value of the complete type that starts at *sig (advanced past it). */
int dbus_skip(struct dbus_iter *it, const char **sig);

/* ---- the connection --------------------------------------------------------------------- */

struct dbus_conn {
	int fd;
	uint32_t serial;       /* the last serial used */
	struct secbuf out;     /* marshalled, not yet sent */
	unsigned char *in;     /* received, not yet taken; wiped (secrets arrive here) */
	size_t len, cap;
	unsigned char *msg;    /* the message the last reply points into; wiped when replaced */
	size_t msg_len;
	int64_t deadline;      /* CLOCK_MONOTONIC ms */
	int64_t idle_ms;       /* when set, each read that brings bytes moves the deadline to now
				* + idle_ms: a peer that keeps answering is not cut off, a silent one is */
};

/* Not an error: an address this client does not speak (tcp:, unixexec:, …), for libsecret. */
#define DBUS_UNSUPPORTED 1

/* Connect to address, authenticate (EXTERNAL) and queue Hello. 0, DBUS_UNSUPPORTED,
 * ERR_UNAVAILABLE (no such socket, refused) or ERR_TIMEOUT, with a message. */
int dbus_open(struct dbus_conn *c, const char *address, int64_t deadline);

/* Close and wipe. Safe on a zeroed or failed conn. */
void dbus_close(struct dbus_conn *c);

/* Queue a method call (sig: the body's signature, NULL for none). Returns its serial, or 0 when
 * the message could not be built. */
uint32_t dbus_call(struct dbus_conn *c, const char *dest, const char *path, const char *iface,
		   const char *member, const char *sig, const struct dbus_body *body);

/* Send what is queued, then read until the replies to the n calls starting at serial first
 * have all arrived, calling on_reply(ctx, serial - first, reply) for each (in any order;
 * the reply is valid during the call only). Signals and other messages are skipped.
 * 0; ERR_TIMEOUT at the deadline; ERR_UNAVAILABLE when the connection fails or carries
 * garbage; or the first non-zero value on_reply returned. */
typedef int dbus_reply_fn(void *ctx, uint32_t i, const struct dbus_reply *r);
int dbus_collect(struct dbus_conn *c, uint32_t first, uint32_t n, dbus_reply_fn *on_reply, void *ctx);

/* For tests and the fuzzer: parse the whole message in buf. 0 with *out filled (pointing into
 * buf) when it is well formed, -1 otherwise. */
int dbus_parse(const unsigned char *buf, size_t len, struct dbus_reply *out);

/* How many bytes the message starting in buf (at least 16 bytes) occupies, or 0 when its header
 * is invalid or it is larger than DBUS_MAX_MESSAGE. */
size_t dbus_message_size(const unsigned char *buf);

#endif
