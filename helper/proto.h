/* proto: the docker-credential protocol's wire formats, as pure functions over buffers.
 *
 * Parsing what each verb reads on stdin and formatting what it prints, with the exact texts
 * clients match. No I/O and no store here, so the unit tests feed it bytes
 * (../shared/docs/protocol.md is the contract). */
#ifndef DCK_PROTO_H
#define DCK_PROTO_H

#include <stddef.h>

#include "secmem.h"
#include "store.h"

/* Texts clients compare byte for byte. */
#define PROTO_NOT_FOUND "credentials not found in native keychain"
#define PROTO_NO_SERVER "no credentials server URL"
#define PROTO_NO_USERNAME "no credentials username"

/* The most a verb reads from stdin: room for a 1 MiB secret even when every byte of it is
 * JSON-escaped as \u00XX, and small enough that a runaway writer is stopped early. */
#define PROTO_MAX_INPUT (8u * 1024 * 1024)

/* `store` input: one JSON object whose keys ServerURL, Username and Secret match in any
 * letter case; unknown keys are ignored. Fills server, username, secret (origin "login").
 * ERR_INVALID with the exact protocol text for an empty server or username, or one line
 * saying what is wrong with the JSON. */
int proto_parse_store(const char *buf, size_t len, struct cred *out);

/* `get`/`erase` input: the bare server string, white space trimmed. ERR_INVALID with
 * PROTO_NO_SERVER when empty, or a message when it holds NUL or control characters. */
int proto_parse_server(const char *buf, size_t len, char **out);

/* `get` answer: {"ServerURL":…,"Username":…,"Secret":…} and a newline, appended to out. */
int proto_format_get(const struct cred *c, struct secbuf *out);

/* `list` answer: {server: username, …} sorted by server, {} when empty, and a newline. */
int proto_format_list(const struct cred_list *l, struct secbuf *out);

/* Append s (len bytes, may hold NUL) as a JSON string literal. Invalid UTF-8 becomes U+FFFD,
 * as Go's encoder does. */
int proto_json_string(struct secbuf *out, const char *s, size_t len);

/* Append text as it is (JSON punctuation and a key, `,"Username":`), then s as a JSON string.
 * Inline: get's answer makes the same calls as when it spelt them out. */
static inline int proto_json_field(struct secbuf *out, const char *text, const char *s, size_t len)
{
	int rc = secbuf_append_str(out, text);

	return rc ? rc : proto_json_string(out, s, len);
}

#endif
