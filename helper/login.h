/* login: `docker-credential-keyring login NAME`, the one command where a person hands the
 * helper an API secret (a DigitalOcean API token, a Rancher secret key).
 *
 * The secret never comes from argv. On a terminal it is asked for with a prompt and read with
 * echo off; the terminal's settings are restored on every path out, a signal (Ctrl-C, Ctrl-Z,
 * a hang-up) included. From a pipe or a file it is read to its end, as scripts expect. It is
 * then checked where the source can check it without side effects (DigitalOcean: calls that
 * mint nothing; Rancher: no check yet), and saved in the keyring only when the source did not
 * refuse it. */
#ifndef DCK_LOGIN_H
#define DCK_LOGIN_H

#include "config.h"
#include "secmem.h"
#include "store.h"

/* Read the secret for source name (what names it in messages, e.g. "DigitalOcean API token")
 * from in_fd, check it, save it in st under key, and fill out with the lines to print: what
 * was saved and, where the source says, for which account. The prompt, when in_fd is a
 * terminal, goes to stderr. 0, or an err.h code with err_msg() saying why in one line that
 * never holds the secret (and nothing saved). Prints nothing itself but the prompt. */
int login_run(struct store *st, const struct config *cfg, const char *name, const char *key,
	      const char *what, int in_fd, struct secbuf *out);

#endif
