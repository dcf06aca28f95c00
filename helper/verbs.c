/* verbs: the four credential verbs over a store (see verbs.h).
 *
 * The answers a client sees, by outcome, are the README's table ("What each verb answers"). For
 * servers a credential source owns, "nothing stored" and "keyring unusable" include the
 * source's answers (no token, refused, unreachable): get still answers not-found, with the
 * reason on stderr.
 *
 * get and list answer "nothing here" when the keyring cannot be used, because for every
 * client that means "go on without credentials": a public pull keeps working on a server
 * without a keyring. store and erase must not pretend: the user asked for a change. */
#include "verbs.h"

#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "proto.h"

void reply_clear(struct reply *r)
{
	secbuf_free(&r->out);
	r->diag[0] = '\0';
	r->status = 0;
}

/* A source's SOURCE_NOTE: the verb succeeded, and err_msg() is a line for stderr. */
static int take_note(struct reply *r, int rc)
{
	if (rc != SOURCE_NOTE)
		return rc;
	snprintf(r->diag, sizeof(r->diag), "%s", err_msg());
	return 0;
}

void reply_fail(struct reply *r, const char *stdout_text, int with_diag)
{
	secbuf_free(&r->out);
	secbuf_append_str(&r->out, stdout_text);
	secbuf_append_str(&r->out, "\n");
	if (with_diag)
		snprintf(r->diag, sizeof(r->diag), "%s", err_msg());
	r->status = 1;
}

void verb_store(struct app *a, const char *in, size_t len, struct reply *r)
{
	struct cred c = {0};
	int rc = proto_parse_store(in, len, &c);

	if (!rc)
		rc = take_note(r, creds_store(a, &c));
	cred_clear(&c);
	if (rc)
		reply_fail(r, err_msg(), 0);
}

void verb_get(struct app *a, const char *in, size_t len, struct reply *r)
{
	struct cred c = {0};
	char *server = NULL;
	int rc = proto_parse_server(in, len, &server);

	if (rc) {
		reply_fail(r, err_msg(), 0);
		return;
	}
	rc = creds_get(a, server, &c);
	if (!rc)
		rc = proto_format_get(&c, &r->out);
	cred_clear(&c);
	/* A plain keyring miss is the everyday answer for public images: say nothing on stderr.
	 * A source's miss has a reason worth telling (no token, no registry on the account). */
	if (rc)
		reply_fail(r, PROTO_NOT_FOUND, rc != ERR_NOTFOUND || creds_route(a, server));
	free(server);
}

void verb_erase(struct app *a, const char *in, size_t len, struct reply *r)
{
	char *server = NULL;
	int rc = proto_parse_server(in, len, &server);

	if (!rc)
		rc = take_note(r, creds_erase(a, server));
	free(server);
	if (rc && rc != ERR_NOTFOUND)
		reply_fail(r, err_msg(), 0);
}

void verb_list(struct app *a, const char *in, size_t len, struct reply *r)
{
	struct cred_list l = {0};
	int rc = creds_list(a, &l);

	(void)in;
	(void)len;
	/* Nothing, or not everything, could be read: say why on stderr, answer what could be. */
	if (rc == ERR_UNAVAILABLE || rc == ERR_TIMEOUT || rc == STORE_PARTIAL) {
		snprintf(r->diag, sizeof(r->diag), "%s", err_msg());
		rc = 0;
	}
	if (!rc)
		rc = proto_format_list(&l, &r->out);
	cred_list_clear(&l);
	if (rc)
		reply_fail(r, err_msg(), 0);
}
