/* kubelet: the kubelet image credential provider (see kubelet.h, docs/kubernetes.md).
 *
 * Only the kubelet's JSON in and out, the image's host and the deadline are here: which
 * credentials answer, from which store or source, with single flight and stale-while-error,
 * is creds_get's, exactly as for `get`. */
#include "kubelet.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "err.h"
#include "host.h"
#include "json_secret.h"
#include "log.h"
#include "monotonic.h"
#include "proto.h"

#define KUBELET_GROUP "credentialprovider.kubelet.k8s.io/"
#define KUBELET_KIND_REQUEST "CredentialProviderRequest"
#define KUBELET_HUB "docker.io"
#define KUBELET_MAX_IMAGE 4096
#define KUBELET_MAX_REQUEST (1024u * 1024) /* an image and a service account token: a few KiB */
#define KUBELET_DEADLINE_ENV "DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE"

enum {
	KUBELET_DEADLINE_MS = 20000,     /* the kubelet kills a plugin after 60 s */
	KUBELET_DEADLINE_MIN_MS = 1000,
	KUBELET_DEADLINE_MAX_MS = 50000, /* well under the kubelet's 60 s, whatever is set */
};

static const char *const versions[] = {
	KUBELET_GROUP "v1",
	KUBELET_GROUP "v1beta1",
	KUBELET_GROUP "v1alpha1",
};

/* ---- the deadline -------------------------------------------------------------------------
 *
 * The one place outside main.c that prints and exits, because it must: when the whole run
 * (keyring calls, lock waits, requests and their retries, each bounded on its own) has not
 * answered within the deadline, SIGALRM ends the process from wherever it is, with one line on
 * stderr and nothing on stdout, before the kubelet's own 60 s kill says nothing useful. Only
 * async-signal-safe calls here. libcurl runs with CURLOPT_NOSIGNAL (http_curl.c) and nothing else
 * uses SIGALRM. Locks are flock(2)s, which the kernel drops at exit; no answer was written. */

static char deadline_line[160];
static size_t deadline_line_len;

static void on_deadline(int sig)
{
	ssize_t w;

	(void)sig;
	w = write(STDERR_FILENO, deadline_line, deadline_line_len);
	(void)w;
	_exit(1);
}

/* The whole run may take total ms, of which left are left. */
static void start_deadline(const char *prog, int64_t total, int64_t left)
{
	struct itimerval t = {{0, 0}, {0, 0}};
	struct sigaction sa;
	sigset_t alrm, old;
	int n;

	/* The line the handler writes is rewritten only while it cannot run; a long program
	 * name cuts the line, never its newline. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, &old);
	n = snprintf(deadline_line, sizeof(deadline_line), "%s: kubelet: no answer within %lld ms "
		     "(" KUBELET_DEADLINE_ENV "): gave up\n", prog, (long long)total);
	deadline_line_len = n < 0 ? 0 : (size_t)n < sizeof(deadline_line) ? (size_t)n
									    : sizeof(deadline_line) - 1;
	if (deadline_line_len)
		deadline_line[deadline_line_len - 1] = '\n';
	sigprocmask(SIG_SETMASK, &old, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_deadline;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	left = left > 0 ? left : 1; /* already past it: at once (a negative time would be refused) */
	t.it_value.tv_sec = (time_t)(left / 1000);
	t.it_value.tv_usec = (suseconds_t)(left % 1000) * 1000;
	setitimer(ITIMER_REAL, &t, NULL);
}

static void stop_deadline(void)
{
	struct itimerval t = {{0, 0}, {0, 0}};

	setitimer(ITIMER_REAL, &t, NULL);
}

/* ---- arguments ----------------------------------------------------------------------------- */

/* The settings `args` may set: a name ending in "_" is a prefix, which a longer name starts
 * with. */
static const char *const setting_names[] = {
	"DOCKER_CREDENTIAL_KEYRING_", "DIGITALOCEAN_", "RANCHER_", "CATTLE_",
	"SSL_CERT_FILE", "CURL_CA_BUNDLE",
};

/* Settings whose value is a secret: not in argv, where `ps` shows it to everyone. */
static const char *const secret_names[] = {
	"DIGITALOCEAN_ACCESS_TOKEN",
	"DIGITALOCEAN_TOKEN",
	"RANCHER_SECRET_KEY",
	"CATTLE_SECRET_KEY",
};

#define COUNT(list) (sizeof(list) / sizeof((list)[0]))

/* Is name (len bytes) one of list's names, or longer than one of its prefixes and starting
 * with it? */
static int listed(const char *const *list, size_t count, const char *name, size_t len)
{
	size_t i, n;

	for (i = 0; i < count; i++) {
		n = strlen(list[i]);
		if ((list[i][n - 1] == '_' ? len > n : len == n) && strncmp(name, list[i], n) == 0)
			return 1;
	}
	return 0;
}

/* The settings the kubelet passes in `args`: each NAME=VALUE sets the environment variable
 * NAME, as if it were in the provider config's `env` (args win). NAME must be one of
 * setting_names and not one of secret_names: a secret is refused, and its value wiped from
 * argv. 0, or ERR_INVALID naming the argument (never its value). */
static int apply_args(int argc, char **argv)
{
	int i;

	/* First wipe every secret's value, whatever else is wrong: a mistake in an earlier
	 * argument must not leave a later one's token in argv. */
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq && listed(secret_names, COUNT(secret_names), argv[i], (size_t)(eq - argv[i])))
			explicit_bzero(eq + 1, strlen(eq + 1));
	}
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t len = eq ? (size_t)(eq - argv[i]) : 0;

		if (!eq || strspn(argv[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len ||
		    !listed(setting_names, COUNT(setting_names), argv[i], len))
			return err_set(ERR_INVALID, "argument %d is not NAME=VALUE with NAME one of "
				       "the helper's settings (DOCKER_CREDENTIAL_KEYRING_…, "
				       "DIGITALOCEAN_…, RANCHER_…, CATTLE_…, SSL_CERT_FILE, "
				       "CURL_CA_BUNDLE)", i + 1);
		if (listed(secret_names, COUNT(secret_names), argv[i], len)) /* wiped above */
			return err_set(ERR_INVALID, "%.*s in args puts a secret where every "
				       "process on the node can read it: name a file instead "
				       "(DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE, or the config file "
				       "DOCKER_CREDENTIAL_KEYRING_CONFIG)", (int)len, argv[i]);
		*eq = '\0';
		if (setenv(argv[i], eq + 1, 1) != 0) {
			*eq = '=';
			return err_set(ERR_FAILED, "out of memory");
		}
		*eq = '=';
	}
	return 0;
}

int kubelet_pull_only(const struct config *cfg)
{
	static const char env[] = "DOCKER_CREDENTIAL_KEYRING_DO_READ_ONLY";
	const char *v = getenv(env);

	/* The source reads the variable first: set it only where nothing says otherwise. */
	if ((v && v[0]) || config_file_value(cfg, "digitalocean", "read-only"))
		return 0;
	return setenv(env, "true", 1) == 0 ? 0 : err_set(ERR_FAILED, "out of memory");
}

/* ---- the image's host ----------------------------------------------------------------------- */

/* The registry host of an image reference, by the rules the kubelet and docker share
 * (docs/kubernetes.md); tag and digest do not matter. 0 with host filled, or ERR_INVALID. */
static int image_host(const char *image, size_t len, char *host, size_t size)
{
	const char *slash;
	size_t i, n;

	if (len == 0)
		return err_set(ERR_INVALID, "the request's image is empty");
	if (len > KUBELET_MAX_IMAGE)
		return err_set(ERR_INVALID, "the request's image is longer than %d bytes",
			       KUBELET_MAX_IMAGE);
	for (i = 0; i < len; i++)
		if ((unsigned char)image[i] <= 0x20 || image[i] == 0x7f)
			return err_set(ERR_INVALID, "the request's image holds a space or a control "
				       "character");
	slash = memchr(image, '/', len);
	n = slash ? (size_t)(slash - image) : 0;
	/* docker's splitDockerDomain: a first component that cannot be a Docker Hub namespace
	 * (those are lower case, without "." or ":") is the registry. image ends with a NUL. */
	if (slash && (strcspn(image, ".:ABCDEFGHIJKLMNOPQRSTUVWXYZ") < n ||
		      (n == 9 && strncmp(image, "localhost", 9) == 0))) {
		if (!host_is_valid(image, n) || n >= size)
			return err_set(ERR_INVALID, "the request's image \"%.*s\" does not start with a "
				       "registry host", (int)(len < 200 ? len : 200), image);
		if (n == 15 && strncmp(image, "index.docker.io", 15) == 0)
			snprintf(host, size, KUBELET_HUB);
		else
			snprintf(host, size, "%.*s", (int)n, image);
		return 0;
	}
	if (image[0] == '/' || (slash && n == 0))
		return err_set(ERR_INVALID, "the request's image \"%.*s\" starts with a /",
			       (int)(len < 200 ? len : 200), image);
	snprintf(host, size, KUBELET_HUB);
	return 0;
}

/* ---- the request ---------------------------------------------------------------------------- */

static int check_string(struct json_object *obj, const char *key, const char **s, size_t *len)
{
	if (json_secret_string(obj, key, s, len) != 0)
		return err_set(ERR_INVALID, "invalid request: %s must be a string", key);
	return 0;
}

/* serviceAccountAnnotations: a map of strings. Read by no source yet: only checked. */
static int check_annotations(struct json_object *obj)
{
	struct json_object *v = NULL;
	int ok;

	if (!json_object_object_get_ex(obj, "serviceAccountAnnotations", &v) || !v)
		return 0;
	ok = json_object_is_type(v, json_type_object);
	if (ok) {
		json_object_object_foreach(v, key, val) {
			(void)key;
			ok &= !val || json_object_is_type(val, json_type_string);
		}
	}
	return ok ? 0 : err_set(ERR_INVALID, "invalid request: serviceAccountAnnotations must be "
				"an object of strings");
}

static int check_version(const char *v, size_t len, struct kubelet_request *out)
{
	size_t i;

	if (!v || len == 0)
		return err_set(ERR_INVALID, "invalid request: no apiVersion");
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (len == strlen(versions[i]) && memcmp(v, versions[i], len) == 0) {
			out->api_version = versions[i];
			return 0;
		}
	}
	/* Quoted only when it is plain text: a request is input like any other. */
	for (i = 0; i < len && i < 100; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	return err_set(ERR_INVALID, "invalid request: apiVersion \"%.*s\" is not one this provider "
		       "speaks (" KUBELET_GROUP "v1, v1beta1 or v1alpha1)", (int)i, v);
}

int kubelet_parse_request(const char *buf, size_t len, struct kubelet_request *out)
{
	struct kubelet_request req = {NULL, ""};
	struct json_object *obj = json_secret_object(buf, len, 16, "invalid request");
	const char *s;
	size_t n;
	int rc;

	if (!obj)
		return ERR_INVALID;
	rc = check_string(obj, "apiVersion", &s, &n);
	if (!rc)
		rc = check_version(s, n, &req);
	if (!rc)
		rc = check_string(obj, "kind", &s, &n);
	if (!rc && (!s || n != strlen(KUBELET_KIND_REQUEST) ||
		    memcmp(s, KUBELET_KIND_REQUEST, n) != 0))
		rc = err_set(ERR_INVALID, "invalid request: kind is not " KUBELET_KIND_REQUEST);
	/* Kubernetes 1.33+: a token for the pod's service account. No source uses one yet; it is
	 * checked, kept out of every message, and wiped with the rest of the request. */
	if (!rc)
		rc = check_string(obj, "serviceAccountToken", &s, &n);
	if (!rc && s)
		secmem_remember(s, n);
	if (!rc)
		rc = check_annotations(obj);
	if (!rc)
		rc = check_string(obj, "image", &s, &n);
	if (!rc && !s)
		rc = err_set(ERR_INVALID, "invalid request: no image");
	if (!rc)
		rc = image_host(s, n, req.host, sizeof(req.host));
	if (!rc)
		*out = req;
	json_secret_free(obj);
	return rc;
}

/* ---- the answer ------------------------------------------------------------------------------ */

void kubelet_go_duration(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, size, "%lldh%lldm%llds", (long long)(s / 3600), (long long)(s % 3600 / 60),
			 (long long)(s % 60));
}

/* The answer for host: with c's credentials (NULL: no auth), and cacheDuration cache_s seconds
 * (negative: none). Appended to out with a newline. 0 or ERR_FAILED. */
static int format_response(const char *api_version, const char *host, const struct cred *c,
			   int64_t cache_s, struct secbuf *out)
{
	char d[48];
	int rc = proto_json_field(out, "{\"apiVersion\":", api_version, strlen(api_version));

	if (!rc)
		rc = secbuf_append_str(out, ",\"kind\":\"CredentialProviderResponse\","
				       "\"cacheKeyType\":\"Registry\"");
	if (!rc && cache_s >= 0) {
		kubelet_go_duration(cache_s, d, sizeof(d));
		rc = proto_json_field(out, ",\"cacheDuration\":", d, strlen(d));
	}
	if (!rc && c)
		rc = proto_json_field(out, ",\"auth\":{", host, strlen(host));
	if (!rc && c)
		rc = proto_json_field(out, ":{\"username\":", c->username, strlen(c->username));
	if (!rc && c)
		rc = proto_json_field(out, ",\"password\":", c->secret ? c->secret : "", c->secret_len);
	if (!rc)
		rc = secbuf_append_str(out, c ? "}}}\n" : "}\n");
	return rc ? err_set(ERR_FAILED, "out of memory") : 0;
}

/* How long the kubelet may keep c: until the helper itself would stop answering it without
 * asking its source (the copy's refresh point), so that a kubelet never holds a credential the
 * helper has given up; past that point (an answer from a copy only because its source
 * failed), 0: ask again next time. -1 for credentials that do not expire (a login). */
static int64_t cache_seconds(struct app *a, const char *host, const struct cred *c)
{
	struct source *src = creds_route(a, host);
	int64_t left;

	if (c->expires == 0)
		return -1;
	left = c->expires - (int64_t)time(NULL);
	if (src && c->origin && strcmp(c->origin, src->name) == 0)
		left -= src->refresh_before(src, c);
	return left > 0 ? left : 0;
}

/* ---- the run ------------------------------------------------------------------------------- */

/* What creds_get found (rc, c) as the answer in r. */
static void answer(struct app *a, const struct kubelet_request *req, const struct cred *c, int rc,
		   struct reply *r)
{
	int64_t cache = rc ? 0 : cache_seconds(a, req->host, c);

	if (rc == 0 || rc == ERR_NOTFOUND) {
		/* Nothing for this host (no source serves it, or its source has nothing): the pull
		 * goes on without credentials, and the kubelet asks again next time ("0s"). */
		if (rc && creds_route(a, req->host))
			snprintf(r->diag, sizeof(r->diag), "kubelet: %s: no credentials: %s", req->host,
				 err_msg());
		if (format_response(req->api_version, req->host, rc ? NULL : c, cache, &r->out) == 0) {
			log_debug("kubelet: %s: %s, cacheDuration %llds", req->host,
				  rc ? "no credentials" : "answered", (long long)cache);
			return;
		}
	}
	secbuf_free(&r->out);
	snprintf(r->diag, sizeof(r->diag), "kubelet: %s: %s", req->host, err_msg());
	r->status = 1;
}

void kubelet_run(struct app *a, int argc, char **argv, struct reply *r)
{
	struct kubelet_request req;
	struct config *cfg = NULL;
	struct secbuf in = SECBUF_INIT;
	struct cred c = {0};
	char broken[512] = "";
	int64_t started = monotonic_ms(), deadline = KUBELET_DEADLINE_MS;
	int rc;

	/* Bounded from the first moment, by the default until the setting is read. */
	start_deadline(a->prog, KUBELET_DEADLINE_MS, KUBELET_DEADLINE_MS);
	rc = apply_args(argc, argv);
	if (!rc)
		rc = app_load_config(&cfg);
	if (!rc)
		rc = config_ms_range(cfg, "kubelet", "deadline", KUBELET_DEADLINE_ENV, KUBELET_DEADLINE_MS,
				     KUBELET_DEADLINE_MIN_MS, KUBELET_DEADLINE_MAX_MS, &deadline);
	if (!rc)
		start_deadline(a->prog, deadline, deadline - (monotonic_ms() - started));
	if (!rc)
		rc = kubelet_pull_only(cfg);
	log_debug("kubelet (as %s), deadline %lld ms", a->prog, (long long)deadline);
	if (!rc)
		rc = secbuf_read_fd(&in, STDIN_FILENO, KUBELET_MAX_REQUEST);
	if (!rc)
		rc = kubelet_parse_request(in.data ? in.data : "", in.len, &req);
	if (!rc)
		rc = app_open_stores(cfg, a);
	if (!rc && app_open_sources(cfg, a) != 0) {
		/* A broken setting of one source must not stop the others' hosts; for a host none of
		 * the open sources serves, the broken one might have, so it is the answer. */
		snprintf(broken, sizeof(broken), "%s", err_msg());
		log_debug("kubelet: a source's setting is broken: %s", broken);
	}
	if (!rc && broken[0] && !creds_route(a, req.host))
		rc = err_set(ERR_INVALID, "%s", broken);
	if (rc) {
		snprintf(r->diag, sizeof(r->diag), "kubelet: %s", err_msg());
		r->status = 1;
	} else {
		rc = creds_get(a, req.host, &c);
		if (rc == ERR_NOTFOUND && strcmp(req.host, KUBELET_HUB) == 0 && !creds_route(a, req.host))
			rc = creds_get(a, HOST_HUB_KEY, &c); /* where `docker login` keeps Docker Hub */
		answer(a, &req, &c, rc, r);
		cred_clear(&c);
	}
	stop_deadline();
	secbuf_free(&in);
	app_close(a, cfg);
}
