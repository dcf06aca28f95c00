/* docker-credential-keyring: argv → verb → exit status. Everything else lives in verbs.c
 * (what each verb does), proto.c (the wire formats) and store/ (where credentials live).
 * This file prints the answers and chooses the exit status; the few other lines a user sees
 * (kubelet's deadline, http.c's plain-http warning, login's prompt) say where they are. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "configure.h"
#include "creds.h"
#include "dck_commit.h" /* generated: DCK_COMMIT, the git commit of a build from git, else "" */
#include "doctor.h"
#include "err.h"
#include "fdio.h"
#include "kubelet.h"
#include "log.h"
#include "login.h"
#include "proto.h"
#include "pull_secret.h"
#include "secmem.h"
#include "source_do.h"
#include "source_rancher.h"
#include "verbs.h"
#include "write_behind.h"

#ifndef DCK_VERSION
#define DCK_VERSION "0.0.0"
#endif

struct verb {
	const char *name;
	void (*run)(struct app *a, const char *in, size_t len, struct reply *r);
	int reads_stdin; /* list takes no input: reading would block on a terminal */
	int changes;     /* store and erase change something: a broken setup must stop them */
};

static const struct verb verbs[] = {
	{"store", verb_store, 1, 1},
	{"get", verb_get, 1, 0},
	{"erase", verb_erase, 1, 1},
	{"list", verb_list, 0, 0},
};

static void print_help(const char *prog)
{
	printf("Usage: %s <store|get|erase|list|version>\n"
	       "       %s configure [--dry-run] [--name NAME] [--store] [--digitalocean] [--rancher]\n"
	       "                    [HOST...]\n"
	       "       %s doctor\n"
	       "       %s login|logout digitalocean|rancher   (the API secret on stdin)\n"
	       "       %s kubelet [NAME=VALUE...]   (a CredentialProviderRequest on stdin)\n"
	       "       %s pull-secret [--lifetime DURATION] HOST...\n\n"
	       "A docker credential helper that keeps registry logins in the OS keyring\n"
	       "(Secret Service). Docker, podman, buildah and skopeo run it; it reads its\n"
	       "input on stdin:\n"
	       "  store    {\"ServerURL\":…,\"Username\":…,\"Secret\":…}\n"
	       "  get      a server, answers its credentials as JSON\n"
	       "  erase    a server\n"
	       "  list     every stored server and its username, as JSON\n"
	       "  version  the version\n"
	       "For people:\n"
	       "  configure  add credHelpers entries for HOSTs (or credsStore with --store) to\n"
	       "             ~/.docker/config.json and the containers auth file\n"
	       "  doctor     check the keyring, the sources and the config files; say what to fix\n"
	       "  login      save a DigitalOcean API token or a Rancher secret key in the keyring\n"
	       "For Kubernetes:\n"
	       "  kubelet      the kubelet's image credential provider (args: settings as\n"
	       "               NAME=VALUE); also as " KUBELET_PROG_NAME "\n"
	       "  pull-secret  print a .dockerconfigjson for HOSTs on stdout (errors on stderr):\n"
	       "               | kubectl create secret generic NAME\n"
	       "                   --type=kubernetes.io/dockerconfigjson\n"
	       "                   --from-file=.dockerconfigjson=/dev/stdin\n\n"
	       "Settings (environment, or ~/.config/docker-credential-keyring/config):\n"
	       "  DOCKER_CREDENTIAL_KEYRING_TIMEOUT  deadline for keyring calls (default 3s)\n"
	       "  DOCKER_CREDENTIAL_KEYRING_PROMPT   unlock a locked keyring with a prompt when\n"
	       "                                     a display is set (default true)\n"
	       "  DOCKER_CREDENTIAL_KEYRING_CONFIG   path of the config file\n"
	       "See man docker-credential-keyring for everything else.\n",
	       prog, prog, prog, prog, prog, prog);
}

/* The name clients and people see, and for a build from git the commit, so a report says
 * exactly which code ran. */
static void print_version(const char *prog)
{
	if (DCK_COMMIT[0])
		printf("%s (docker-credential-keyring) v%s (commit %s)\n", prog, DCK_VERSION, DCK_COMMIT);
	else
		printf("%s (docker-credential-keyring) v%s\n", prog, DCK_VERSION);
}

/* `login NAME` / `logout NAME`: save or forget a source's API secret in the keyring. The
 * secret comes on stdin, never in argv. */
static const struct {
	const char *name; /* as in `login NAME` */
	const char *key;  /* the reserved store key the source reads it from */
	const char *what; /* for messages */
} logins[] = {
	{"digitalocean", SOURCE_DO_TOKEN_KEY, "DigitalOcean API token"},
	{"rancher", SOURCE_RANCHER_SECRET_KEY, "Rancher API secret key"},
};

static void log_sources(const struct app *a)
{
	char names[128] = "";
	size_t i, n = 0;

	for (i = 0; i < a->nsources; i++)
		n += (size_t)snprintf(names + n, n < sizeof(names) ? sizeof(names) - n : 0, "%s%s",
				      i ? ", " : "", a->sources[i]->name);
	log_debug("sources configured: %s%s%s", a->nsources ? names : "none",
		  a->pinned ? "; pinned to " : "", a->pinned ? a->pinned->name : "");
}

/* Write r's answer on stdout and its line on stderr, and clear it: its exit status. */
static int print_reply(struct app *a, struct reply *r)
{
	int status = r->status;

	(void)fdio_write_all(STDOUT_FILENO, r->out.data ? r->out.data : "", r->out.len);
	if (r->diag[0])
		fprintf(stderr, "%s: %s\n", a->prog, r->diag);
	reply_clear(r);
	return status;
}

/* The end of a command that loaded cfg: print r, close what was opened. */
static int print_and_close(struct app *a, struct config *cfg, struct reply *r)
{
	int status = print_reply(a, r);

	app_close(a, cfg);
	return status;
}

static int run_verb(const struct verb *v, struct app *a)
{
	struct secbuf in = SECBUF_INIT;
	struct reply r = {SECBUF_INIT, "", 0};
	struct config *cfg = NULL;
	int rc = 0;

	if (v->reads_stdin && (rc = secbuf_read_fd(&in, STDIN_FILENO, PROTO_MAX_INPUT)) == ERR_FAILED)
		err_wrap(rc, "standard input");
	if (!rc)
		rc = app_load_config(&cfg);
	log_debug("%s (as %s)", v->name, a->prog);
	if (!rc)
		rc = config_bool(cfg, "", "write-behind", "DOCKER_CREDENTIAL_KEYRING_WRITE_BEHIND", 1,
				 &a->write_behind);
	if (!rc)
		rc = app_open_stores(cfg, a);
	if (!rc && app_open_sources(cfg, a) != 0) {
		log_debug("a source's setting is broken: %s", err_msg());
		/* A source with a broken setting must not take every other registry down with it:
		 * reads go on without it (and say why), changes stop. */
		if (v->changes)
			rc = ERR_INVALID;
		else
			fprintf(stderr, "%s: %s (going on without it)\n", a->prog, err_msg());
	}
	if (rc) {
		/* Even a broken setup must not break anonymous pulls: get answers not-found. */
		int quiet_miss = strcmp(v->name, "get") == 0;

		reply_fail(&r, quiet_miss ? PROTO_NOT_FOUND : err_msg(), quiet_miss);
	} else {
		log_sources(a);
		v->run(a, in.data ? in.data : "", in.len, &r);
	}
	log_debug("%s: exit status %d", v->name, r.status);
	secbuf_free(&in);
	return print_and_close(a, cfg, &r);
}

static int run_login(struct app *a, const char *verb, const char *name)
{
	struct reply r = {SECBUF_INIT, "", 0};
	struct config *cfg = NULL;
	size_t i;
	int rc = 0, login = strcmp(verb, "login") == 0;

	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++)
		if (strcmp(name, logins[i].name) == 0)
			break;
	if (i == sizeof(logins) / sizeof(logins[0])) {
		printf("%s: %s takes digitalocean or rancher, not %s\n", a->prog, verb, name);
		return 1;
	}
	rc = app_load_config(&cfg);
	log_debug("%s %s", verb, name);
	if (!rc)
		rc = app_open_stores(cfg, a);
	if (!rc)
		rc = login ? login_run(a->store, cfg, name, logins[i].key, logins[i].what, STDIN_FILENO,
				       &r.out)
			   : creds_forget_secret(a->store, logins[i].key);
	log_debug("%s %s: %s", verb, name, rc ? "failed" : "done");
	if (rc)
		reply_fail(&r, err_msg(), 0);
	return print_and_close(a, cfg, &r);
}

/* The write-behind child (write_behind.h): keep the copy on stdin (creds_keep_copy); print
 * nothing (stdout and stderr are /dev/null), say why in the debug log. */
static int run_cache_copy(struct app *a)
{
	struct secbuf in = SECBUF_INIT;
	struct config *cfg = NULL;
	struct cred c = {0};
	int rc;

	/* The inherited fetch lock is held until we exit; nothing we might start may keep it. */
	fcntl(WRITE_BEHIND_LOCK_FD, F_SETFD, FD_CLOEXEC);
	rc = secbuf_read_fd(&in, STDIN_FILENO, PROTO_MAX_INPUT);
	if (!rc)
		rc = app_load_config(&cfg);
	if (!rc)
		rc = app_open_stores(cfg, a);
	if (!rc)
		rc = write_behind_parse(in.data ? in.data : "", in.len, &c);
	if (!rc) {
		secmem_remember(c.secret, c.secret_len);
		rc = creds_keep_copy(a, &c);
	}
	log_debug(WRITE_BEHIND_VERB ": %s%s%s", c.server ? c.server : "", c.server ? ": " : "",
		  rc ? err_msg() : "copy kept");
	cred_clear(&c);
	secbuf_free(&in);
	app_close(a, cfg);
	return rc ? 1 : 0;
}

/* configure and doctor: commands for people, not for clients. They fill a buffer; we print it. */
static int run_configure(struct app *a, int argc, char **argv)
{
	struct reply r = {SECBUF_INIT, "", 0};
	struct config *cfg = NULL;
	int i, rancher = 0, rc;

	/* The sources are needed for --rancher only (opening them does no I/O): wiring named
	 * hosts must work even when a setting is broken. A broken setting stops --rancher only
	 * when it kept the Rancher source from opening, and then it is the one line said. */
	for (i = 0; i < argc; i++)
		rancher |= strcmp(argv[i], "--rancher") == 0;
	rc = app_load_config(&cfg);
	if (!rc)
		rc = app_open_stores(cfg, a);
	if (!rc)
		rc = app_open_sources(cfg, a); /* the sources that did open stay usable */
	for (i = 0; rc && rancher && (size_t)i < a->nsources; i++)
		rancher = strcmp(a->sources[i]->name, "rancher") != 0;
	if (rc && rancher) {
		printf("configure: --rancher: %s\n", err_msg());
		r.status = 1;
	} else {
		r.status = configure_run(a, argc, argv, &r.out);
	}
	return print_and_close(a, cfg, &r);
}

static int run_doctor(struct app *a)
{
	struct reply r = {SECBUF_INIT, "", 0};

	r.status = doctor_run(a, &r.out); /* it opens (and closes) what it checks */
	return print_and_close(a, NULL, &r);
}

/* The end of a verb: its answer is written and its buffers wiped and freed. Of what exit()
 * would still do, ours is the wipe of the secrets kept for redaction (done here); the rest is
 * the exit handlers of the libraries a fetch loaded (OpenSSL, GnuTLS and Kerberos, via
 * libcurl), which free memory the kernel frees anyway, at a cost docs/performance.md measures.
 * Sanitizer builds keep exit(): LeakSanitizer's check is one of those handlers. */
static __attribute__((noreturn)) void leave(int status)
{
	secmem_forget_all();
	fflush(NULL);
#ifdef DCK_SANITIZED
	exit(status);
#else
	_exit(status);
#endif
}

int main(int argc, char **argv)
{
	const char *slash = argv[0] ? strrchr(argv[0], '/') : NULL;
	const char *prog = slash ? slash + 1 : (argv[0] ? argv[0] : "docker-credential-keyring");
	const struct rlimit no_core = {0, 0};
	struct app a = {prog, NULL, NULL, NULL, 0, NULL, 0};
	struct reply r = {SECBUF_INIT, "", 0};
	size_t i;

	/* Secrets pass through this process: no core dumps, no ptrace by other users' tools. */
	prctl(PR_SET_DUMPABLE, 0);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGPIPE, SIG_IGN);
	log_init();

	if (strcmp(prog, KUBELET_PROG_NAME) == 0 || (argc >= 2 && strcmp(argv[1], "kubelet") == 0)) {
		int skip = strcmp(prog, KUBELET_PROG_NAME) == 0 ? 1 : 2;

		kubelet_run(&a, argc - skip, argv + skip, &r);
		leave(print_reply(&a, &r));
	}
	if (argc >= 2 && strcmp(argv[1], "pull-secret") == 0) {
		pull_secret_run(&a, argc - 2, argv + 2, &r);
		leave(print_reply(&a, &r));
	}
	if (argc >= 2 && strcmp(argv[1], "configure") == 0)
		return run_configure(&a, argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "doctor") == 0)
		return run_doctor(&a);
	if (argc == 2 && strcmp(argv[1], WRITE_BEHIND_VERB) == 0)
		return run_cache_copy(&a);
	if (argc == 3 && (strcmp(argv[1], "login") == 0 || strcmp(argv[1], "logout") == 0))
		return run_login(&a, argv[1], argv[2]);
	if (argc != 2) {
		printf("Usage: %s <store|get|erase|list|version>\n", prog);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(prog);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-v") == 0) {
		print_version(prog);
		return 0;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			leave(run_verb(&verbs[i], &a));
	printf("%s: unknown action: %s\n", prog, argv[1]);
	return 1;
}
