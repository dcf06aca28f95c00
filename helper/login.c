/* login: read, check and save a source's API secret (see login.h).
 *
 * Why the terminal path is shaped this way:
 *  - Echo is turned off, and nothing else: the line discipline still edits the line
 *    (backspace, Ctrl-U) and still turns Ctrl-C into SIGINT, so a person can correct a paste
 *    or give up.
 *  - A signal would end the process with echo still off, leaving the person's shell typing
 *    blind. So while echo is off, the signals that end or stop a process from the terminal are
 *    caught: the handler restores the terminal, then lets the signal do what it would have done
 *    (end the process; or stop it, and hide the input again when it is continued).
 *  - The typed line is read into wiped memory and the newline the person typed, which the
 *    terminal did not echo, is written for them. */
#include "login.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "log.h"
#include "source_do.h"

enum {
	LOGIN_MAX_INPUT = 64 * 1024, /* piped input: as much as a careless paste, no more */
	LOGIN_MAX_LINE = 8192,       /* a typed line: longer than any token, shorter than a tty's */
	LOGIN_MAX_SECRET = 4096,     /* as creds_check_token: longer than any token we know */
};

/* --- the terminal ------------------------------------------------------------------------- */

/* What a signal handler needs to put the terminal back. Set before echo goes off. */
static struct {
	volatile sig_atomic_t hidden; /* echo is off now */
	int fd;
	struct termios saved;         /* as the person had it */
	struct termios quiet;         /* echo off */
} login_tty;

static const int login_signals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU};
#define LOGIN_NSIGNALS (sizeof(login_signals) / sizeof(login_signals[0]))

static struct sigaction login_old_actions[LOGIN_NSIGNALS];

static void login_handle(int sig, void (*handler)(int), struct sigaction *old)
{
	/* SA_RESTART: a stop and continue goes on reading the same line. */
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, old);
}

/* Async-signal-safe only: tcsetattr, sigaction, sigprocmask, raise. */
static void login_on_signal(int sig)
{
	int saved_errno = errno;
	sigset_t set;

	if (login_tty.hidden)
		tcsetattr(login_tty.fd, TCSANOW, &login_tty.saved);
	login_handle(sig, SIG_DFL, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig); /* ends the process, or stops it until it is continued */
	/* Continued (SIGTSTP, SIGTTIN, SIGTTOU): catch it again and hide the input again. */
	login_handle(sig, login_on_signal, NULL);
	if (login_tty.hidden)
		tcsetattr(login_tty.fd, TCSANOW, &login_tty.quiet);
	errno = saved_errno;
}

static void login_restore(void)
{
	size_t i;

	if (login_tty.hidden) {
		tcsetattr(login_tty.fd, TCSAFLUSH, &login_tty.saved);
		login_tty.hidden = 0;
	}
	for (i = 0; i < LOGIN_NSIGNALS; i++)
		sigaction(login_signals[i], &login_old_actions[i], NULL);
}

/* One line typed on the terminal fd, after a prompt on stderr, with echo off. */
static int login_read_hidden(int fd, const char *what, struct secbuf *in)
{
	char buf[LOGIN_MAX_LINE];
	ssize_t n;
	size_t i;
	int rc = 0;

	if (tcgetattr(fd, &login_tty.saved) != 0)
		return err_set(ERR_FAILED, "cannot read the terminal's settings: %s", strerror(errno));
	login_tty.fd = fd;
	login_tty.quiet = login_tty.saved;
	login_tty.quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	login_tty.quiet.c_lflag |= ICANON | ISIG; /* line editing and Ctrl-C, even from raw mode */
	for (i = 0; i < LOGIN_NSIGNALS; i++)
		login_handle(login_signals[i], login_on_signal, &login_old_actions[i]);
	/* Echo off first, then the prompt: what is typed once the prompt shows is never shown. */
	login_tty.hidden = 1;
	if (tcsetattr(fd, TCSAFLUSH, &login_tty.quiet) != 0) {
		login_tty.hidden = 0;
		rc = err_set(ERR_FAILED, "cannot turn the terminal's echo off: %s", strerror(errno));
		login_restore();
		return rc;
	}
	fprintf(stderr, "%s (input hidden): ", what);
	fflush(stderr);
	/* Canonical mode hands over a line at a time: one with its newline (Enter), or without
	 * one when Ctrl-D ended it; nothing at all for Ctrl-D on an empty line. */
	while ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
		;
	if (n < 0)
		rc = err_set(ERR_FAILED, "cannot read the terminal: %s", strerror(errno));
	login_restore();
	fputc('\n', stderr); /* the newline the person typed, which the terminal did not show */
	if (!rc && (size_t)n == sizeof(buf))
		rc = err_set(ERR_INVALID, "that is not a %s: longer than %d bytes", what,
			     LOGIN_MAX_SECRET);
	if (!rc && secbuf_append(in, buf, (size_t)n))
		rc = err_set(ERR_FAILED, "out of memory");
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* --- login ----------------------------------------------------------------------------------- */

int login_run(struct store *st, const struct config *cfg, const char *name, const char *key,
	      const char *what, int in_fd, struct secbuf *out)
{
	struct secbuf in = SECBUF_INIT;
	const char *start;
	char *secret = NULL, msg[2048];
	size_t len;
	int rc;

	if (isatty(in_fd))
		rc = login_read_hidden(in_fd, what, &in);
	else
		rc = secbuf_read_fd(&in, in_fd, LOGIN_MAX_INPUT);
	start = in.data ? in.data : "";
	len = in.len;
	if (!rc)
		rc = creds_check_token(&start, &len, what);
	if (!rc && !(secret = secmem_dup(start, len)))
		rc = err_set(ERR_FAILED, "out of memory");
	if (!rc && strcmp(name, "digitalocean") == 0) {
		rc = source_do_check_login(cfg, secret, msg, sizeof(msg));
		/* A refusal stops the login; an API that cannot be asked does not: the token is
		 * saved, said to be unchecked. */
		if (rc && rc != ERR_DENIED && rc != ERR_INVALID) {
			snprintf(msg, sizeof(msg), "saved the %s in the keyring, unchecked: %s\n"
				 "  `docker-credential-keyring doctor` checks it once the API can be "
				 "reached\n", what, err_msg());
			err_clear();
			rc = 0;
		}
	} else if (!rc) {
		snprintf(msg, sizeof(msg), "saved the %s in the keyring\n"
			 "  not checked here: `docker-credential-keyring doctor` checks it\n", what);
	}
	if (!rc)
		rc = creds_save_secret(st, key, what, secret, len);
	log_debug("login %s: %s", name, rc ? "not saved" : "saved");
	if (!rc && secbuf_append_str(out, msg))
		rc = err_set(ERR_FAILED, "out of memory");
	secmem_free(secret, len);
	secbuf_free(&in);
	return rc;
}
