/* configure: see configure.h. Plan every file first, write only when every plan succeeded, so a
 * file we cannot parse leaves all files as they were. json-c keeps object keys in insertion order
 * and replaces an existing key's value in place, so a round trip keeps the file's key order.
 *
 * Both files may hold passwords (base64 in `auths`): they are read only through
 * json_secret_parse/json_secret_free, and written back by our own serialiser into a secbuf,
 * because json-c's serialiser grows its buffer with realloc and leaves copies behind. */
#include "configure.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "err.h"
#include "fdio.h"
#include "json_secret.h"

#define DO_REGISTRY "registry.digitalocean.com"
#define MAX_FILE (16u << 20) /* config files are small; anything bigger is not one */
#define MAX_DEPTH 32	     /* json-c's default nesting limit, which clients' files fit */

void configure_outf(struct secbuf *out, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n >= 0) {
		secbuf_append(out, s, (size_t)n);
		free(s);
	}
}

static char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && h[0])
		return strdup(h);
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? strdup(pw->pw_dir) : NULL;
}

char *configure_docker_path(void)
{
	const char *d = getenv("DOCKER_CONFIG");
	char *home, *p = NULL;

	if (d && d[0]) {
		if (asprintf(&p, "%s/config.json", d) < 0)
			p = NULL;
		return p;
	}
	home = home_dir();
	if (home && asprintf(&p, "%s/.docker/config.json", home) < 0)
		p = NULL;
	free(home);
	return p;
}

/* containers/image's order (pkg/docker/config getPathToAuth): REGISTRY_AUTH_FILE, then
 * $XDG_RUNTIME_DIR/containers/auth.json, then /run/containers/UID/auth.json, which is what
 * podman uses as root over ssh without pam_systemd, under su and in containers. */
char *configure_auth_path(void)
{
	const char *f = getenv("REGISTRY_AUTH_FILE");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *p = NULL;

	if (f && f[0])
		return strdup(f);
	if (rt && rt[0]) {
		if (asprintf(&p, "%s/containers/auth.json", rt) < 0)
			p = NULL;
	} else if (asprintf(&p, "/run/containers/%u/auth.json", (unsigned)getuid()) < 0) {
		p = NULL;
	}
	return p;
}

static int all_space(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* The whole of fd into b, which is wiped when freed: auth files hold base64 passwords. */
static int read_file(const char *path, int fd, struct secbuf *b)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int rc = 0;

	if (fstat(fd, &st) != 0)
		return err_set(ERR_FAILED, "%s: cannot read: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(ERR_INVALID, "%s: not a regular file", path);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(ERR_FAILED, "%s: cannot read: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n > MAX_FILE - b->len) {
			rc = err_set(ERR_INVALID, "%s: larger than %u MiB: not a config file", path,
				     MAX_FILE >> 20);
			break;
		}
		if ((rc = secbuf_append(b, chunk, (size_t)n)) != 0)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	return rc;
}

int configure_load(const char *path, struct json_object **out, int *exists)
{
	struct secbuf b = SECBUF_INIT;
	struct json_object *o = NULL;
	const char *why = NULL;
	int fd, rc;

	*exists = 0;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(ERR_FAILED, "%s: cannot read: %s", path, strerror(errno));
	}
	*exists = 1;
	rc = read_file(path, fd, &b);
	close(fd);
	if (rc) {
		secbuf_free(&b);
		return rc;
	}
	if (all_space(b.data ? b.data : "", b.len)) { /* an empty file is an empty config */
		secbuf_free(&b);
		*out = json_object_new_object();
		return *out ? 0 : err_set(ERR_FAILED, "out of memory");
	}
	o = json_secret_parse(b.data, b.len, MAX_DEPTH, &why);
	secbuf_free(&b);
	if (!o)
		return err_set(ERR_INVALID, "%s: not valid JSON (%s)", path, why);
	if (!json_object_is_type(o, json_type_object)) {
		json_secret_free(o);
		return err_set(ERR_INVALID, "%s: the top level is not a JSON object", path);
	}
	*out = o;
	return 0;
}

/* ---- registry hosts: what clients look up -------------------------------------------- */

static const char *const hub_names[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
					"registry.hub.docker.com"};

static int port_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 5 && strspn(s, "0123456789") == n && atol(s) >= 1 && atol(s) <= 65535;
}

/* host[:port] in lower case: a DNS name (letters, digits, '-', '_', '.'), or an IPv6
 * address in brackets. */
static int host_ok(const char *h)
{
	const char *port, *end;
	size_t i, n;

	if (h[0] == '[') {
		end = strchr(h, ']');
		if (!end || end == h + 1)
			return 0;
		for (i = 1; h + i < end; i++)
			if (!strchr("0123456789abcdef:.", h[i]))
				return 0;
		if (end[1] == ':')
			return port_ok(end + 2);
		return end[1] == 0;
	}
	port = strchr(h, ':');
	n = port ? (size_t)(port - h) : strlen(h);
	if (n == 0 || strchr(".-", h[0]) || strchr(".-", h[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
		      h[i] == '_' || (h[i] == '.' && h[i + 1] != '.')))
			return 0;
	return !port || port_ok(port + 1);
}

/* The paths of the registry API itself, which `docker login https://host/v2/` also drops. */
static int api_path(const char *p)
{
	static const char *const ok[] = {"", "/", "/v1", "/v1/", "/v2", "/v2/"};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(p, ok[i]) == 0)
			return 1;
	return 0;
}

int configure_normalize(const char *typed, int any_path, char **host)
{
	const char *p = typed;
	char *h;
	size_t n, i;

	*host = NULL;
	if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (strstr(p, "://"))
		return err_set(ERR_INVALID, "\"%s\" is not a registry host (a URL names one only "
					    "with https:// or http://)", typed);
	n = strcspn(p, "/?#");
	h = strndup(p, n);
	if (!h)
		return err_set(ERR_FAILED, "out of memory");
	for (i = 0; i < n; i++)
		h[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] - 'A' + 'a' : h[i]);
	if (!host_ok(h)) {
		free(h);
		return err_set(ERR_INVALID, "\"%s\" is not a registry host[:port]", typed);
	}
	if (!any_path && !api_path(p + n)) {
		err_set(ERR_INVALID, "\"%s\": clients look credential helpers up by registry host, "
				     "never by path: name the host, %s", typed, h);
		free(h);
		return ERR_INVALID;
	}
	for (i = 0; i < sizeof(hub_names) / sizeof(hub_names[0]); i++)
		if (strcmp(h, hub_names[i]) == 0) {
			free(h);
			h = strdup("docker.io");
			if (!h)
				return err_set(ERR_FAILED, "out of memory");
			break;
		}
	*host = h;
	return 0;
}

size_t configure_keys(const char *host, int is_docker, const char *keys[2])
{
	if (strcmp(host, "docker.io") == 0 && is_docker) {
		keys[0] = CONFIGURE_HUB_KEY;
		keys[1] = "docker.io";
		return 2;
	}
	keys[0] = host;
	return 1;
}

/* ---- options ------------------------------------------------------------------------- */

enum origin { BY_LOGIN, BY_DIGITALOCEAN, BY_RANCHER };

struct host {
	char *key;	    /* the host clients send (docker.io for Docker Hub); NULL: only typed */
	char *typed;	    /* as typed, when that differs from key: --remove takes it out too */
	enum origin origin; /* where the credentials come from: the next step differs */
};

struct opts {
	const char *name;
	int store_mode, dry_run, rancher, remove;
	struct host *hosts;
	size_t nhosts;
};

static int valid_name(const char *s)
{
	if (!s[0])
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* Nothing that could break a JSON key, a line of output or a shell word in a printed command. */
static int printable_word(const char *s)
{
	if (!s[0])
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '\\' || *s == '\'' || *s == 0x7f)
			return 0;
	return 1;
}

/* The names this binary is installed under, and --name: --remove takes out only those. */
static int is_ours(const struct opts *o, const char *name)
{
	return !strcmp(name, o->name) || !strcmp(name, "keyring") || !strcmp(name, "digitalocean") ||
	       !strcmp(name, "rancher");
}

static int oom(struct secbuf *out)
{
	configure_outf(out, "configure: out of memory\n");
	return 1;
}

/* Add the host typed names. 0, or 1 with the reason in out. With --remove, a key no client
 * looks up (an old `configure https://host/v2/`) is still taken, literally, so it can go. */
static int add_host(struct opts *o, const char *typed, int any_path, enum origin origin,
		    struct secbuf *out)
{
	struct host h = {NULL, NULL, origin}, *more;
	size_t i;
	int rc;

	if (!printable_word(typed)) {
		configure_outf(out, "configure: not a registry host: an argument holds a space, a quote, "
				    "a backslash or a control character\n");
		return 1;
	}
	rc = configure_normalize(typed, any_path, &h.key);
	if (rc == ERR_FAILED)
		return oom(out);
	if (rc && !o->remove) {
		configure_outf(out, "configure: %s\n", err_msg());
		return 1;
	}
	if (h.key && strcmp(h.key, DO_REGISTRY) == 0)
		h.origin = BY_DIGITALOCEAN;
	if (!h.key || strcmp(h.key, typed) != 0)
		if (!(h.typed = strdup(typed))) {
			free(h.key);
			return oom(out);
		}
	for (i = 0; h.key && i < o->nhosts; i++) {
		struct host *e = &o->hosts[i];

		if (e->key && strcmp(e->key, h.key) == 0) {
			if (!e->typed) { /* keep the other spelling for --remove */
				e->typed = h.typed;
				h.typed = NULL;
			}
			free(h.key);
			free(h.typed);
			return 0;
		}
	}
	more = realloc(o->hosts, (o->nhosts + 1) * sizeof(*more));
	if (!more) {
		free(h.key);
		free(h.typed);
		return oom(out);
	}
	o->hosts = more;
	o->hosts[o->nhosts++] = h;
	return 0;
}

static const char usage[] =
	"Usage: docker-credential-keyring configure [--dry-run] [--remove] [--name NAME] [--store]\n"
	"                                           [--digitalocean] [--rancher] [HOST...]\n"
	"Adds credHelpers entries for each HOST (--digitalocean: " DO_REGISTRY ";\n"
	"--rancher: every registry the configured Rancher holds a credential for) to\n"
	"~/.docker/config.json and the containers auth file; --store sets credsStore instead\n"
	"(docker sends every registry to the helper; podman, buildah and skopeo ignore it).\n"
	"--remove takes those entries out again. HOST is what `docker login HOST` takes: a URL\n"
	"or upper case is written as the host clients send; docker.io (Docker Hub) gets the keys\n"
	"docker and podman look up. NAME is the helper's name, the part after docker-credential-\n"
	"(default keyring).\n";

/* 0, or 1 with the message in out. */
static int parse_args(int argc, char **argv, struct opts *o, struct secbuf *out, int *help)
{
	int i, hosts_only = 0;

	o->name = "keyring";
	/* --remove changes how hosts are taken: find it first */
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--remove") == 0)
			o->remove = 1;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (hosts_only || a[0] != '-') {
			if (add_host(o, a, 0, BY_LOGIN, out))
				return 1;
		} else if (strcmp(a, "--") == 0) {
			hosts_only = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = 1;
			return 0;
		} else if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0) {
			o->dry_run = 1;
		} else if (strcmp(a, "--remove") == 0) {
			continue;
		} else if (strcmp(a, "--store") == 0) {
			o->store_mode = 1;
		} else if (strcmp(a, "--digitalocean") == 0) {
			if (add_host(o, DO_REGISTRY, 0, BY_DIGITALOCEAN, out))
				return 1;
		} else if (strcmp(a, "--rancher") == 0) {
			o->rancher = 1;
		} else if (strcmp(a, "--name") == 0 || strncmp(a, "--name=", 7) == 0) {
			const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v || !valid_name(v)) {
				configure_outf(out, "configure: --name needs a helper name (letters, digits, "
						    "'.', '_', '-'), as in docker-credential-NAME\n");
				return 1;
			}
			o->name = v;
		} else {
			configure_outf(out, "configure: unknown option: %s\n%s", a, usage);
			return 1;
		}
	}
	if (!o->nhosts && !o->store_mode && !o->rancher) {
		configure_outf(out, "configure: nothing to do: name registry hosts, --digitalocean, "
				    "--rancher or --store\n%s", usage);
		return 1;
	}
	return 0;
}

/* ---- --rancher ------------------------------------------------------------------------ */

/* Add the registries the configured Rancher source lists ({serverAddress: username}, those
 * with an active credential, within its hosts setting). Rancher keeps a bare host[:port] in
 * any case, Docker Hub as index.docker.io or another of its spellings: each becomes the host
 * clients send. 0, or 1 with the reason in out. */
static int rancher_hosts(struct app *a, struct opts *o, struct secbuf *out)
{
	struct source *src = NULL;
	struct cred_list l = {0};
	size_t i, found;
	int rc;

	for (i = 0; a && i < a->nsources; i++)
		if (strcmp(a->sources[i]->name, "rancher") == 0)
			src = a->sources[i];
	if (!src || !src->list) {
		configure_outf(out, "configure: --rancher: no Rancher is configured: set RANCHER_URL and "
				    "RANCHER_ACCESS_KEY (and RANCHER_SECRET_KEY, or save it with "
				    "`docker-credential-keyring login rancher`), or url and access-key in "
				    "the [rancher] section of the config file\n");
		return 1;
	}
	rc = src->list(src, &l);
	if (rc) {
		configure_outf(out, "configure: --rancher: cannot get the registries from Rancher: %s\n",
			       err_msg());
		return 1;
	}
	if (l.len) {
		configure_outf(out, "rancher: %zu registr%s with an active credential:", l.len,
			       l.len == 1 ? "y" : "ies");
		for (i = 0; i < l.len; i++)
			configure_outf(out, " %s", l.items[i].server);
		configure_outf(out, "\n");
	}
	for (i = 0; !rc && i < l.len; i++) {
		char *h = NULL;
		const char *s = l.items[i].server;

		if (!printable_word(s) || configure_normalize(s, 1, &h)) {
			configure_outf(out, "rancher: skipped a serverAddress that is not a registry host\n");
			continue;
		}
		free(h);
		rc = add_host(o, s, 1, BY_RANCHER, out);
	}
	found = l.len;
	cred_list_clear(&l);
	if (rc)
		return 1;
	if (!found)
		configure_outf(out, "rancher: no registry with an active credential%s\n",
			       o->nhosts || o->store_mode ? "" : ": nothing to do");
	return !o->nhosts && !o->store_mode;
}

/* ---- planning a file ----------------------------------------------------------------- */

struct plan {
	char *path;
	char *target; /* where the bytes go: path, or what its symbolic link points to */
	struct json_object *root;
	int exists, is_docker;
	mode_t mode;
	struct secbuf changes; /* one line per change */
	struct secbuf notes;   /* warnings to show whatever happens */
	struct secbuf removed; /* --remove: the keys taken out, as "|key|" */
	int nchanges;
};

/* The client's command that stores a login for host in this file. */
static void login_command(char *buf, size_t size, const char *host, int is_docker)
{
	if (is_docker && strcmp(host, "docker.io") == 0)
		snprintf(buf, size, "docker login");
	else
		snprintf(buf, size, "%s login %s", is_docker ? "docker" : "podman", host);
}

/* A plaintext auths entry for host stays where it is, with the command that moves it. */
static void warn_plaintext(struct plan *p, const char *host)
{
	struct json_object *auths = NULL, *auth;
	char cmd[300];

	if (!json_object_object_get_ex(p->root, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object))
		return;
	json_object_object_foreach(auths, key, entry) {
		char *h = NULL;

		if (!json_object_is_type(entry, json_type_object) ||
		    !json_object_object_get_ex(entry, "auth", &auth) ||
		    !json_object_is_type(auth, json_type_string) || json_object_get_string_len(auth) == 0)
			continue;
		if (host) {
			/* docker writes Docker Hub as https://index.docker.io/v1/, others as typed */
			int same = configure_normalize(key, 1, &h) == 0 && strcmp(h, host) == 0;

			free(h);
			if (!same)
				continue;
		}
		login_command(cmd, sizeof(cmd), host ? host : key, p->is_docker);
		configure_outf(&p->notes,
			       "  warning: auths[\"%s\"] still holds a plaintext password; it is left in "
			       "place: run `%s` again to move it into the keyring, then remove the "
			       "entry\n",
			       key, cmd);
	}
	err_clear();
}

static int helpers_of(struct plan *p, int create, struct json_object **helpers)
{
	*helpers = NULL;
	if (!json_object_object_get_ex(p->root, "credHelpers", helpers) ||
	    json_object_is_type(*helpers, json_type_null)) {
		*helpers = NULL;
		if (!create)
			return 0;
		*helpers = json_object_new_object();
		if (!*helpers || json_object_object_add(p->root, "credHelpers", *helpers))
			return err_set(ERR_FAILED, "out of memory");
	} else if (!json_object_is_type(*helpers, json_type_object)) {
		return err_set(ERR_INVALID, "%s: \"credHelpers\" is not a JSON object", p->path);
	}
	return 0;
}

static int set_helper(struct plan *p, const char *key, const char *name)
{
	struct json_object *helpers, *cur = NULL, *v;
	int rc = helpers_of(p, 1, &helpers);

	if (rc)
		return rc;
	if (json_object_object_get_ex(helpers, key, &cur) && json_object_is_type(cur, json_type_string) &&
	    strcmp(json_object_get_string(cur), name) == 0)
		return 0;
	if (cur && json_object_is_type(cur, json_type_string))
		configure_outf(&p->changes, "  credHelpers[\"%s\"]: \"%s\" -> \"%s\"\n", key,
			       json_object_get_string(cur), name);
	else
		configure_outf(&p->changes, "  credHelpers[\"%s\"] = \"%s\"\n", key, name);
	v = json_object_new_string(name);
	if (!v || json_object_object_add(helpers, key, v))
		return err_set(ERR_FAILED, "out of memory");
	p->nchanges++;
	return 0;
}

/* Take key out when it names this helper; another helper's entry stays, with a note. */
static int remove_helper(struct plan *p, const char *key, const struct opts *o)
{
	struct json_object *helpers, *cur = NULL;
	int rc = helpers_of(p, 0, &helpers);
	const char *v;

	if (rc || !helpers || !json_object_object_get_ex(helpers, key, &cur))
		return rc;
	v = json_object_is_type(cur, json_type_string) ? json_object_get_string(cur) : "";
	if (!is_ours(o, v)) {
		configure_outf(&p->notes, "  credHelpers[\"%s\"] names another helper (\"%s\"): left "
					  "in place\n", key, v);
		return 0;
	}
	configure_outf(&p->changes, "  credHelpers[\"%s\"] (\"%s\") removed\n", key, v);
	configure_outf(&p->removed, "|%s|", key);
	json_object_object_del(helpers, key);
	p->nchanges++;
	return 0;
}

static int set_store(struct plan *p, const struct opts *o)
{
	struct json_object *cur = NULL, *v;
	const char *now;

	json_object_object_get_ex(p->root, "credsStore", &cur);
	now = cur && json_object_is_type(cur, json_type_string) ? json_object_get_string(cur) : NULL;
	if (o->remove) {
		if (now && is_ours(o, now)) {
			configure_outf(&p->changes, "  credsStore (\"%s\") removed\n", now);
			json_object_object_del(p->root, "credsStore");
			p->nchanges++;
		} else if (now) {
			configure_outf(&p->notes, "  credsStore names another helper (\"%s\"): left in "
						  "place\n", now);
		}
		return 0;
	}
	if (now && strcmp(now, o->name) == 0)
		return 0;
	if (now)
		configure_outf(&p->changes, "  credsStore: \"%s\" -> \"%s\"\n", now, o->name);
	else
		configure_outf(&p->changes, "  credsStore = \"%s\"\n", o->name);
	v = json_object_new_string(o->name);
	if (!v || json_object_object_add(p->root, "credsStore", v))
		return err_set(ERR_FAILED, "out of memory");
	p->nchanges++;
	warn_plaintext(p, NULL);
	return 0;
}

/* One host in one file: the keys this file's clients look it up under. */
static int plan_host(struct plan *p, const struct host *h, const struct opts *o)
{
	const char *keys[2];
	size_t n = h->key ? configure_keys(h->key, p->is_docker, keys) : 0, i;
	int rc = 0;

	if (o->remove) {
		for (i = 0; !rc && i < n; i++)
			rc = remove_helper(p, keys[i], o);
		/* the spelling typed: an old key, or Docker Hub's other key in the other file */
		if (!rc && h->typed)
			rc = remove_helper(p, h->typed, o);
		return rc;
	}
	for (i = 0; !rc && i < n; i++)
		rc = set_helper(p, keys[i], o->name);
	if (!rc)
		warn_plaintext(p, h->key);
	return rc;
}

/* Where a symbolic link ends: followed link by link (a relative one from its own directory),
 * also when the last one points to nothing yet. NULL with errno on a loop or an error. */
static char *link_end(const char *path)
{
	char *cur = strdup(path), buf[PATH_MAX];
	int hops;

	for (hops = 0; cur && hops < 40; hops++) {
		struct stat st;
		ssize_t n;
		char *next = NULL, *slash;

		if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
			return cur;
		n = readlink(cur, buf, sizeof(buf) - 1);
		if (n < 0)
			break;
		buf[n] = 0;
		slash = strrchr(cur, '/');
		if (buf[0] == '/' || !slash)
			next = strdup(buf);
		else if (asprintf(&next, "%.*s/%s", (int)(slash - cur), cur, buf) < 0)
			next = NULL;
		free(cur);
		cur = next;
	}
	if (cur)
		errno = ELOOP;
	free(cur);
	return NULL;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* Where to write. An existing file: its real path (a symlinked config, as in a dotfiles
 * repository, stays a link). A link to nothing: the file it names, created as docker does,
 * when that file's directory exists; a link is never replaced by a file. */
static int plan_target(struct plan *p)
{
	char real[PATH_MAX], *dir;
	struct stat st;
	int ok;

	if (p->exists) {
		p->target = strdup(realpath(p->path, real) ? real : p->path);
		return p->target ? 0 : err_set(ERR_FAILED, "out of memory");
	}
	if (lstat(p->path, &st) != 0 || !S_ISLNK(st.st_mode)) {
		p->target = strdup(p->path);
		return p->target ? 0 : err_set(ERR_FAILED, "out of memory");
	}
	p->target = link_end(p->path);
	if (!p->target)
		return err_set(ERR_FAILED, "%s: cannot follow the symbolic link: %s", p->path,
			       strerror(errno));
	dir = dir_of(p->target);
	ok = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	free(dir);
	if (!ok)
		return err_set(ERR_INVALID, "%s is a symbolic link to %s, whose directory does not "
					    "exist: create that directory, or remove the link",
			       p->path, p->target);
	return 0;
}

/* Load path and apply the options to it in memory. */
static int plan_file(struct plan *p, const struct opts *o)
{
	struct stat st;
	size_t i;
	int rc;

	rc = configure_load(p->path, &p->root, &p->exists);
	if (!rc)
		rc = plan_target(p);
	if (rc)
		return rc;
	p->mode = 0600;
	if (p->exists && stat(p->path, &st) == 0)
		p->mode = st.st_mode & 07777;
	if (!p->root && !(p->root = json_object_new_object()))
		return err_set(ERR_FAILED, "out of memory");
	if (o->store_mode && p->is_docker)
		rc = set_store(p, o);
	for (i = 0; !rc && i < o->nhosts; i++)
		rc = plan_host(p, &o->hosts[i], o);
	return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

/* JSON text into a secbuf (which wipes what it outgrows), pretty-printed with a two-space
 * indent. Our own, because json-c's serialiser builds the text in a buffer it grows with
 * realloc, leaving copies of the auths passwords in freed memory. */
static int emit(struct secbuf *b, struct json_object *v, int level);

static int emit_indent(struct secbuf *b, int level)
{
	static const char spaces[] = "                                ";
	int rc = secbuf_append(b, "\n", 1);

	for (; !rc && level > 0; level -= 16)
		rc = secbuf_append(b, spaces, (size_t)(level > 16 ? 16 : level) * 2);
	return rc;
}

static int emit_string(struct secbuf *b, const char *s, size_t n)
{
	size_t i, run = 0;
	int rc = secbuf_append(b, "\"", 1);

	for (i = 0; !rc && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		rc = secbuf_append(b, s + run, i - run);
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f')
			snprintf(esc, sizeof(esc), "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r'
							 : c == '\b' ? 'b' : 'f');
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		if (!rc)
			rc = secbuf_append_str(b, esc);
		run = i + 1;
	}
	if (!rc)
		rc = secbuf_append(b, s + run, n - run);
	return rc ? rc : secbuf_append(b, "\"", 1);
}

static int emit_object(struct secbuf *b, struct json_object *v, int level)
{
	int rc = secbuf_append(b, "{", 1), first = 1;

	json_object_object_foreach(v, key, val) {
		if (rc)
			break;
		if (!first)
			rc = secbuf_append(b, ",", 1);
		first = 0;
		if (!rc)
			rc = emit_indent(b, level + 1);
		if (!rc)
			rc = emit_string(b, key, strlen(key));
		if (!rc)
			rc = secbuf_append(b, ": ", 2);
		if (!rc)
			rc = emit(b, val, level + 1);
	}
	if (!rc && !first)
		rc = emit_indent(b, level);
	return rc ? rc : secbuf_append(b, "}", 1);
}

static int emit_array(struct secbuf *b, struct json_object *v, int level)
{
	size_t i, n = json_object_array_length(v);
	int rc = secbuf_append(b, "[", 1);

	for (i = 0; !rc && i < n; i++) {
		if (i)
			rc = secbuf_append(b, ",", 1);
		if (!rc)
			rc = emit_indent(b, level + 1);
		if (!rc)
			rc = emit(b, json_object_array_get_idx(v, i), level + 1);
	}
	if (!rc && n)
		rc = emit_indent(b, level);
	return rc ? rc : secbuf_append(b, "]", 1);
}

static int emit(struct secbuf *b, struct json_object *v, int level)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		return emit_object(b, v, level);
	case json_type_array:
		return emit_array(b, v, level);
	case json_type_string:
		return emit_string(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	case json_type_null:
		return secbuf_append_str(b, "null");
	default: /* numbers and booleans: json-c keeps a parsed number's own text; no secrets */
		return secbuf_append_str(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

static int mkdirs(const char *dir)
{
	char *d = strdup(dir), *s;
	int rc = 0;

	if (!d)
		return err_set(ERR_FAILED, "out of memory");
	for (s = d + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = 0;
			if (mkdir(d, 0700) != 0 && errno != EEXIST) {
				rc = err_set(ERR_FAILED, "cannot create %s: %s", d, strerror(errno));
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(d);
	return rc;
}

/* Write the file next to its target and rename it over: readers see the old or the new file. */
static int write_plan(struct plan *p)
{
	struct secbuf text = SECBUF_INIT;
	char *dir = dir_of(p->target), *tmp = NULL;
	const char *base = strrchr(p->target, '/') ? strrchr(p->target, '/') + 1 : p->target;
	int fd = -1, dfd, rc = 0;

	if (!dir)
		return err_set(ERR_FAILED, "out of memory");
	if (!p->exists && strcmp(p->target, p->path) == 0 && (rc = mkdirs(dir)) != 0)
		goto done;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		rc = err_set(ERR_FAILED, "out of memory");
		goto done;
	}
	if (emit(&text, p->root, 0) || secbuf_append(&text, "\n", 1)) {
		free(tmp);
		tmp = NULL;
		rc = err_set(ERR_FAILED, "out of memory");
		goto done;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = err_set(ERR_FAILED, "%s: cannot create a temporary file in %s: %s", p->path, dir,
			     strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if (fchmod(fd, p->mode) != 0 || fdio_write_all(fd, text.data, text.len) != 0 || fsync(fd) != 0) {
		rc = err_set(ERR_FAILED, "%s: cannot write %s: %s", p->path, tmp, strerror(errno));
		goto done;
	}
	dfd = close(fd);
	fd = -1;
	if (dfd != 0) {
		rc = err_set(ERR_FAILED, "%s: cannot write %s: %s", p->path, tmp, strerror(errno));
		goto done;
	}
	if (rename(tmp, p->target) != 0) {
		rc = err_set(ERR_FAILED, "%s: cannot replace the file: %s", p->path, strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself survives a crash */
		close(dfd);
	}
done:
	secbuf_free(&text); /* the file's text, auths included */
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

static void plan_clear(struct plan *p)
{
	json_secret_free(p->root);
	secbuf_free(&p->changes);
	secbuf_free(&p->notes);
	secbuf_free(&p->removed);
	free(p->path);
	free(p->target);
	memset(p, 0, sizeof(*p));
}

static void append_buf(struct secbuf *out, const struct secbuf *b)
{
	if (b->len)
		secbuf_append(out, b->data, b->len);
}

static void opts_clear(struct opts *o)
{
	size_t i;

	for (i = 0; i < o->nhosts; i++) {
		free(o->hosts[i].key);
		free(o->hosts[i].typed);
	}
	free(o->hosts);
}

/* A host typed otherwise than clients send it: say what is written instead. */
static void say_normalised(const struct opts *o, struct secbuf *out)
{
	size_t i;

	for (i = 0; !o->remove && i < o->nhosts; i++) {
		const struct host *h = &o->hosts[i];

		if (!h->typed || h->origin == BY_RANCHER)
			continue;
		if (strcmp(h->key, "docker.io") == 0)
			configure_outf(out, "%s: Docker Hub: docker looks it up as %s, podman, buildah and "
					    "skopeo as docker.io\n", h->typed, CONFIGURE_HUB_KEY);
		else
			configure_outf(out, "%s: clients send it as %s: that is what is written\n", h->typed,
				       h->key);
	}
}

/* What to do once the files route to the helper: log in through it. */
static void say_next(const struct opts *o, struct secbuf *out)
{
	size_t i;
	int logins = 0, hub = 0;

	for (i = 0; i < o->nhosts; i++) {
		const struct host *h = &o->hosts[i];

		if (h->origin != BY_LOGIN)
			continue;
		if (!logins++)
			configure_outf(out, "next: log in once; the password then goes to the keyring, "
					    "not into these files:\n");
		if (strcmp(h->key, "docker.io") == 0) {
			hub = 1;
			configure_outf(out, "  docker login\n  podman login docker.io\n");
		} else {
			configure_outf(out, "  docker login %s\n", h->key);
		}
	}
	if (hub)
		configure_outf(out, "  (Docker Hub has one keyring entry per client: `docker login` for "
				    "docker, `podman login docker.io` for podman, buildah and skopeo; for "
				    "other registries `podman login HOST` stores the same entry as docker)\n");
	if (o->store_mode && !o->nhosts)
		configure_outf(out, "next: `docker login REGISTRY` for each registry you use; the "
				    "password then goes to the keyring\n");
	for (i = 0; i < o->nhosts; i++)
		if (o->hosts[i].origin == BY_DIGITALOCEAN)
			configure_outf(out, "%s: no login needed: credentials come from the DigitalOcean "
					    "API (set DIGITALOCEAN_ACCESS_TOKEN or run "
					    "`docker-credential-keyring login digitalocean`)\n", o->hosts[i].key);
	for (i = 0; i < o->nhosts; i++)
		if (o->hosts[i].origin == BY_RANCHER) {
			configure_outf(out, "rancher's registries: no login needed: credentials come from "
					    "Rancher\n");
			break;
		}
}

/* After --remove: the logins stay in the keyring (a key no client sends has none, but docker
 * may have stored one under it); the command that erases each. */
static void say_erase(const struct plan *plans, size_t n, struct secbuf *out)
{
	struct secbuf seen = SECBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *s = plans[i].removed.data;

		while (s && (s = strchr(s, '|')) && s[1]) {
			const char *e = strchr(s + 1, '|');
			char key[1024];

			snprintf(key, sizeof(key), "%.*s", (int)(e - s + 1), s);
			if (!seen.data || !strstr(seen.data, key)) {
				if (!seen.len)
					configure_outf(out, "the logins stay in the keyring; to erase them "
							    "too:\n");
				configure_outf(out, "  printf %%s '%.*s' | docker-credential-keyring erase\n",
					       (int)(e - s - 1), s + 1);
				secbuf_append_str(&seen, key);
			}
			s = e + 1;
		}
	}
	secbuf_free(&seen);
}

/* The files to plan: the docker config always, the containers auth file unless it is the
 * same file or only credsStore (which the containers tools ignore) is asked for. */
static size_t choose_files(struct plan *plans, const struct opts *o, struct secbuf *out)
{
	char *auth;

	plans[0].is_docker = 1;
	plans[0].path = configure_docker_path();
	if (!plans[0].path) {
		configure_outf(out, "configure: cannot tell where the docker config is: set HOME or "
				    "DOCKER_CONFIG\n");
		return 0;
	}
	auth = configure_auth_path();
	if (!auth) {
		oom(out);
		return 0;
	}
	if (strcmp(auth, plans[0].path) == 0) {
		configure_outf(out, "containers auth file: %s is the docker config\n", auth);
		free(auth);
		return 1;
	}
	if (o->store_mode && !o->nhosts) {
		configure_outf(out, "%s: skipped: podman, buildah and skopeo ignore credsStore; name "
				    "the registry hosts to wire them too\n", auth);
		free(auth);
		return 1;
	}
	plans[1].path = auth;
	return 2;
}

static const char *what_changed(const struct plan *p, const struct opts *o)
{
	if (o->dry_run)
		return p->exists ? "would change" : "would create";
	return p->exists ? "changed" : "created";
}

int configure_run(struct app *a, int argc, char **argv, struct secbuf *out)
{
	struct opts o = {0};
	struct plan plans[2];
	size_t n, i;
	int help = 0, status = 0, changed = 0;

	memset(plans, 0, sizeof(plans));
	if (parse_args(argc, argv, &o, out, &help)) {
		opts_clear(&o);
		return 1;
	}
	if (help) {
		configure_outf(out, "%s", usage);
		opts_clear(&o);
		return 0;
	}
	if (o.rancher && rancher_hosts(a, &o, out)) {
		opts_clear(&o);
		return 1;
	}
	n = choose_files(plans, &o, out);
	if (!n) {
		status = 1;
		goto done;
	}
	say_normalised(&o, out);

	/* Plan everything before writing anything: one broken file leaves every file alone. */
	for (i = 0; i < n; i++) {
		if (plan_file(&plans[i], &o)) {
			configure_outf(out, "%s: refusing to change it: %s\n", plans[i].path, err_msg());
			status = 1;
		}
	}
	if (status) {
		configure_outf(out, "nothing was changed\n");
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct plan *p = &plans[i];
		int link = strcmp(p->target, p->path) != 0 && !p->exists;

		if (!p->nchanges) {
			configure_outf(out, "%s: %s, nothing to change\n", p->path,
				       o.remove ? "not routed to this helper" : "already configured");
		} else if (!o.dry_run && write_plan(p)) {
			configure_outf(out, "%s: %s\n", p->path, err_msg());
			status = 1;
		} else {
			configure_outf(out, "%s: %s%s%s%s:\n", p->path, what_changed(p, &o),
				       link ? " " : "", link ? p->target : "",
				       link ? ", where its symbolic link points" : "");
			append_buf(out, &p->changes);
			changed |= !o.dry_run;
		}
		append_buf(out, &p->notes);
	}
	if (o.dry_run)
		configure_outf(out, "dry run: no file was changed\n");
	else if (!changed && !status)
		configure_outf(out, "nothing changed\n");
	else if (changed && !status && o.remove)
		say_erase(plans, n, out);
	else if (changed && !status)
		say_next(&o, out);
done:
	for (i = 0; i < 2; i++)
		plan_clear(&plans[i]);
	opts_clear(&o);
	return status;
}
