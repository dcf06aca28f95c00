/* err: the error codes every module returns, and the one message that explains the last one.
 *
 * Functions return 0 or one of the negative codes below and keep the human explanation in a
 * per-thread slot (libgit2's git_error_last, curl's CURLcode). Only main prints: it turns the
 * code into the protocol's exact stdout text and the message into one line on stderr.
 * Messages never contain a secret. */
#ifndef DCK_ERR_H
#define DCK_ERR_H

enum {
	ERR_OK = 0,
	ERR_NOTFOUND = -1,    /* nothing stored for that key: the protocol's "not found" */
	ERR_INVALID = -2,     /* the caller's input is wrong: bad JSON, empty server, too large */
	ERR_UNAVAILABLE = -3, /* a backend cannot be reached or used: no bus, locked, network */
	ERR_TIMEOUT = -4,     /* a backend did not answer within its deadline */
	ERR_DENIED = -5,      /* a backend refused us: bad token, no permission */
	ERR_FAILED = -6,      /* anything else */
};

/* Record a message (printf format) for code and return code, so callers write
 * `return err_set(ERR_INVALID, "…");`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with "what: " to add context while passing the code up. */
int err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message, or "" when none was set. Valid until the next err_set. */
const char *err_msg(void);

void err_clear(void);

#endif
