/* verbs: what store, get, erase and list do, and which answer each outcome gets.
 *
 * A verb never prints: it fills a reply (the exact stdout text, one diagnostic line for
 * stderr, the exit status) and main writes it. That keeps every protocol answer testable
 * against the in-memory store. */
#ifndef DCK_VERBS_H
#define DCK_VERBS_H

#include "creds.h"
#include "secmem.h"

struct reply {
	struct secbuf out; /* stdout, exactly */
	char diag[1024];   /* stderr line, "" for none; never holds a secret */
	int status;        /* exit status */
};

void reply_clear(struct reply *r);

/* A failure: stdout_text and a newline replace the answer, err_msg() is the stderr line when
 * with_diag, exit status 1. */
void reply_fail(struct reply *r, const char *stdout_text, int with_diag);

/* Each takes the verb's whole stdin. */
void verb_store(struct app *a, const char *in, size_t len, struct reply *r);
void verb_get(struct app *a, const char *in, size_t len, struct reply *r);
void verb_erase(struct app *a, const char *in, size_t len, struct reply *r);
void verb_list(struct app *a, const char *in, size_t len, struct reply *r);

#endif
