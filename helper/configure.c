/* configure: see configure.h. json-c keeps object keys in insertion order and replaces an
 * existing key's value in place, so a round trip keeps the file's key order.
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "err.h"
#include "fdio.h"
#include "host.h"
#include "json_secret.h"
#include "proto.h"

#define DO_REGISTRY "registry.digitalocean.com"
#define MAX_FILE (16u << 20) /* config files are small; anything bigger is not one */
#define MAX_DEPTH 32	     /* json-c's default nesting limit, which clients' files fit */
#define P configure_outf

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

int configure_set_has(const struct secbuf *set, const char *word)
{
	CONFIGURE_SET_FOREACH(w, set)
		if (strcmp(w, word) == 0)
			return 1;
	return 0;
}

int configure_set_add(struct secbuf *set, const char *word)
{
	return !configure_set_has(set, word) && secbuf_append(set, word, strlen(word) + 1) == 0;
}

char *configure_docker_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	struct passwd *pw;
	char *p = NULL;

	if (dir && dir[0])
		return asprintf(&p, "%s/config.json", dir) < 0 ? NULL : p;
	if (!home || !home[0]) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	return home && asprintf(&p, "%s/.docker/config.json", home) >= 0 ? p : NULL;
}

/* containers/image's order (pkg/docker/config getPathToAuth): REGISTRY_AUTH_FILE, then
 * $XDG_RUNTIME_DIR/containers/auth.json, then /run/containers/UID/auth.json, which is what
 * podman uses as root over ssh without pam_systemd, under su and in containers. */
char *configure_auth_path(void)
{
	const char *file = getenv("REGISTRY_AUTH_FILE"), *rt = getenv("XDG_RUNTIME_DIR");
	char *p = NULL;
	int n;

	if (file && file[0])
		return strdup(file);
	if (rt && rt[0])
		n = asprintf(&p, "%s/containers/auth.json", rt);
	else
		n = asprintf(&p, "/run/containers/%u/auth.json", (unsigned)getuid());
	return n < 0 ? NULL : p;
}

int configure_load(const char *path, struct json_object **out)
{
	struct secbuf b = SECBUF_INIT; /* wiped when freed: auth files hold base64 passwords */
	const char *why = NULL;
	int rc = fdio_read_regular(path, 0, MAX_FILE, &b);

	*out = NULL;
	if (rc == ENOENT)
		return 0;
	if (rc == EINVAL)
		return err_set(ERR_INVALID, "%s: not a regular file", path);
	if (rc == EFBIG)
		return err_set(ERR_INVALID, "%s: larger than %u MiB: not a config file", path, MAX_FILE >> 20);
	if (rc)
		return err_set(ERR_FAILED, "%s: cannot read: %s", path, strerror(rc));
	if (strspn(b.data ? b.data : "", " \t\r\n") == b.len) { /* an empty file is an empty config */
		secbuf_free(&b);
		*out = json_object_new_object();
		return *out ? 0 : err_set(ERR_FAILED, "out of memory");
	}
	*out = json_secret_parse(b.data, b.len, MAX_DEPTH, &why);
	secbuf_free(&b);
	if (!*out)
		return err_set(ERR_INVALID, "%s: not valid JSON (%s)", path, why);
	if (!json_object_is_type(*out, json_type_object)) {
		json_secret_free(*out);
		*out = NULL;
		return err_set(ERR_INVALID, "%s: the top level is not a JSON object", path);
	}
	return 0;
}

/* ---- registry hosts: what clients look up -------------------------------------------- */

static int one_of(const char *s, const char *const *list, size_t n)
{
	while (n--)
		if (strcasecmp(s, list[n]) == 0)
			return 1;
	return 0;
}

int configure_normalize(const char *typed, int any_path, char **host)
{
	/* the paths of the registry API itself, which `docker login https://host/v2/` drops too */
	static const char *const api_paths[] = {"", "/", "/v1", "/v1/", "/v2", "/v2/"};
	const char *p = typed;
	char *h;
	size_t n, i;
	int rc = 0;

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
	if (!host_is_valid(h, n))
		rc = err_set(ERR_INVALID, "\"%s\" is not a registry host[:port]", typed);
	else if (!any_path && !one_of(p + n, api_paths, sizeof(api_paths) / sizeof(api_paths[0])))
		rc = err_set(ERR_INVALID, "\"%s\": clients look credential helpers up by registry host, "
					  "never by path: name the host, %s", typed, h);
	else if (host_is_hub(h))
		strcpy(h, "docker.io"); /* no longer than any of the names */
	if (rc)
		free(h);
	else
		*host = h;
	return rc;
}

size_t configure_keys(const char *host, int is_docker, const char *keys[2])
{
	keys[0] = host;
	if (!is_docker || strcmp(host, "docker.io") != 0)
		return 1;
	keys[0] = HOST_HUB_KEY;
	keys[1] = "docker.io";
	return 2;
}

/* ---- options ------------------------------------------------------------------------- */

enum origin { BY_LOGIN, BY_DIGITALOCEAN, BY_RANCHER };

struct host {
	char *key;	    /* the host clients send (docker.io for Docker Hub); NULL: only typed */
	const char *typed;  /* as typed, when that differs from key: --remove takes it out too */
	enum origin origin; /* where the credentials come from: the next step differs */
};

struct opts {
	const char *name;
	int store_mode, dry_run, rancher, remove;
	struct host *hosts;
	size_t nhosts;
	struct cred_list from_rancher; /* what --rancher found: its hosts' typed point into it */
};

/* Nothing that could break a JSON key, a line of output or a shell word in a printed command. */
static int printable_word(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || strchr("\"\\'", s[i]))
			return 0;
	return i > 0;
}

int configure_is_ours(const char *name, const char *own)
{
	return (own && !strcmp(name, own)) || !strcmp(name, "keyring") || !strcmp(name, "digitalocean") ||
	       !strcmp(name, "rancher");
}

/* Add the host typed names. 0, or 1 with the reason in out. With --remove, a key no client
 * looks up (an old `configure https://host/v2/`) is still taken, literally, so it can go.
 * Rancher's addresses may have a path; one that is no registry host is skipped. */
static int add_host(struct opts *o, const char *typed, enum origin origin, struct secbuf *out)
{
	struct host h = {NULL, NULL, origin}, *more;
	int printable = printable_word(typed), rc;
	size_t i;

	if (printable)
		rc = configure_normalize(typed, origin == BY_RANCHER, &h.key);
	else
		rc = err_set(ERR_INVALID, "not a registry host: an argument holds a space, a quote, a "
					  "backslash or a control character");
	if (rc && origin == BY_RANCHER) {
		P(out, "rancher: skipped a serverAddress that is not a registry host\n");
		return 0;
	}
	if (rc && (rc == ERR_FAILED || !printable || !o->remove)) {
		P(out, "configure: %s\n", err_msg());
		return 1;
	}
	if (h.key && strcmp(h.key, DO_REGISTRY) == 0)
		h.origin = BY_DIGITALOCEAN;
	if (!h.key || strcmp(h.key, typed) != 0)
		h.typed = typed;
	for (i = 0; h.key && i < o->nhosts; i++) {
		if (o->hosts[i].key && strcmp(o->hosts[i].key, h.key) == 0) {
			if (!o->hosts[i].typed) /* keep the other spelling for --remove */
				o->hosts[i].typed = h.typed;
			free(h.key);
			return 0;
		}
	}
	more = realloc(o->hosts, (o->nhosts + 1) * sizeof(*more));
	if (!more) {
		free(h.key);
		P(out, "configure: out of memory\n");
		return 1;
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
		o->remove |= strcmp(argv[i], "--remove") == 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (hosts_only || a[0] != '-') {
			if (add_host(o, a, BY_LOGIN, out))
				return 1;
		} else if (strcmp(a, "--") == 0) {
			hosts_only = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = 1;
			return 0;
		} else if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0) {
			o->dry_run = 1;
		} else if (strcmp(a, "--store") == 0) {
			o->store_mode = 1;
		} else if (strcmp(a, "--rancher") == 0) {
			o->rancher = 1;
		} else if (strcmp(a, "--digitalocean") == 0) {
			if (add_host(o, DO_REGISTRY, BY_DIGITALOCEAN, out))
				return 1;
		} else if (strcmp(a, "--name") == 0 || strncmp(a, "--name=", 7) == 0) {
			const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v || !v[0] || v[strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						   "0123456789-_.")]) {
				P(out, "configure: --name needs a helper name (letters, digits, '.', '_', "
				       "'-'), as in docker-credential-NAME\n");
				return 1;
			}
			o->name = v;
		} else if (strcmp(a, "--remove") != 0) { /* (--remove was taken above) */
			P(out, "configure: unknown option: %s\n%s", a, usage);
			return 1;
		}
	}
	if (!o->nhosts && !o->store_mode && !o->rancher) {
		P(out, "configure: nothing to do: name registry hosts, --digitalocean, --rancher or "
		       "--store\n%s", usage);
		return 1;
	}
	return 0;
}

/* Add the registries the configured Rancher source lists ({serverAddress: username}, those
 * with an active credential, within its hosts setting). Rancher keeps a bare host[:port] in
 * any case, Docker Hub as index.docker.io or another of its spellings: each becomes the host
 * clients send. 0, or 1 with the reason in out. */
static int rancher_hosts(struct app *a, struct opts *o, struct secbuf *out)
{
	struct cred_list *l = &o->from_rancher;
	struct source *src = NULL;
	size_t i;

	for (i = 0; i < a->nsources; i++)
		if (strcmp(a->sources[i]->name, "rancher") == 0)
			src = a->sources[i];
	if (!src || !src->list) {
		P(out, "configure: --rancher: no Rancher is configured: set RANCHER_URL and "
		       "RANCHER_ACCESS_KEY (and RANCHER_SECRET_KEY, or save it with "
		       "`docker-credential-keyring login rancher`), or url and access-key in the "
		       "[rancher] section of the config file\n");
		return 1;
	}
	if (src->list(src, l)) {
		P(out, "configure: --rancher: cannot get the registries from Rancher: %s\n", err_msg());
		return 1;
	}
	if (!l->len)
		P(out, "rancher: no registry with an active credential%s\n",
		  o->nhosts || o->store_mode ? "" : ": nothing to do");
	else
		P(out, "rancher: %zu registr%s with an active credential:", l->len, l->len == 1 ? "y" : "ies");
	/* What Rancher holds goes to a terminal: a control character there could rewrite it. */
	for (i = 0; i < l->len; i++) {
		const char *s = l->items[i].server;
		size_t n;

		for (n = 0; s[n] && (unsigned char)s[n] >= 0x20 && s[n] != 0x7f; n++)
			;
		P(out, " %s%s", s[n] ? "(a name with control characters)" : s,
		  i + 1 == l->len ? "\n" : "");
	}
	for (i = 0; i < l->len; i++)
		if (add_host(o, l->items[i].server, BY_RANCHER, out))
			return 1;
	return !o->nhosts && !o->store_mode;
}

/* ---- planning a file ----------------------------------------------------------------- */

struct plan {
	char *path;
	char *target; /* where the bytes go: path, or what its symbolic link points to */
	struct json_object *root;
	int exists, is_docker, nchanges;
	int keep_owner;		/* the file exists: the new one gets its owner, group and mode */
	struct stat st;		/* with keep_owner: the existing file's */
	struct secbuf changes;	/* one line per change */
	struct secbuf notes;	/* warnings to show whatever happens */
	struct secbuf *removed; /* --remove: the credHelpers keys taken out of either file (a set) */
};

/* A plaintext auths entry for host (NULL: any) stays where it is, with the command of the
 * client writing this file that moves it into the keyring. */
static void warn_plaintext(struct plan *p, const char *host)
{
	struct json_object *auths = NULL;

	if (!json_object_object_get_ex(p->root, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object))
		return;
	json_object_object_foreach(auths, key, entry) {
		const char *auth, *who = host ? host : key;
		size_t len;
		char *h = NULL;
		int hub = p->is_docker && strcmp(who, "docker.io") == 0, same = 1;

		if (json_secret_string(entry, "auth", &auth, &len) != 0 || len == 0)
			continue;
		if (host) {
			/* docker writes Docker Hub as https://index.docker.io/v1/, others as typed */
			same = configure_normalize(key, 1, &h) == 0 && strcmp(h, host) == 0;
			free(h);
		}
		if (same)
			P(&p->notes, "  warning: auths[\"%s\"] still holds a plaintext password; it is left in "
				     "place: run `%s login%s%s` again to move it into the keyring, then remove "
				     "the entry\n", key, p->is_docker ? "docker" : "podman", hub ? "" : " ",
			  hub ? "" : who);
	}
	err_clear();
}

/* obj[key] (credsStore, or an entry of credHelpers) names the helper, or with --remove no
 * longer names it; an entry that names another helper stays, with a note. */
static int set_entry(struct plan *p, struct json_object *obj, const char *key, const struct opts *o)
{
	struct json_object *cur = NULL, *v;
	const char *now = NULL;
	char *label = NULL;
	int rc = 0;

	if (json_object_object_get_ex(obj, key, &cur) && json_object_is_type(cur, json_type_string))
		now = json_object_get_string(cur);
	if (o->remove ? !cur : now && strcmp(now, o->name) == 0)
		return 0;
	if (asprintf(&label, obj == p->root ? "%s" : "credHelpers[\"%s\"]", key) < 0)
		return err_set(ERR_FAILED, "out of memory");
	if (o->remove && !configure_is_ours(now ? now : "", o->name)) {
		P(&p->notes, "  %s names another helper (\"%s\"): left in place\n", label, now ? now : "");
	} else if (o->remove) {
		P(&p->changes, "  %s (\"%s\") removed\n", label, now);
		if (obj != p->root)
			configure_set_add(p->removed, key);
		json_object_object_del(obj, key);
		p->nchanges++;
	} else {
		if (now)
			P(&p->changes, "  %s: \"%s\" -> \"%s\"\n", label, now, o->name);
		else
			P(&p->changes, "  %s = \"%s\"\n", label, o->name);
		v = json_object_new_string(o->name);
		if (!v || json_object_object_add(obj, key, v))
			rc = err_set(ERR_FAILED, "out of memory");
		p->nchanges++;
	}
	free(label);
	return rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* Where to write. An existing file: its real path (a symlinked config, as in a dotfiles
 * repository, stays a link). A link to nothing: the file it names, followed link by link (a
 * relative one from its own directory) and created as docker does, when that file's directory
 * exists; a link is never replaced by a file. */
static int plan_target(struct plan *p)
{
	char buf[PATH_MAX], *next, *slash, *dir;
	struct stat st;
	ssize_t n;
	int hops, ok;

	p->target = strdup(p->exists && realpath(p->path, buf) ? buf : p->path);
	for (hops = 0; !p->exists && p->target && lstat(p->target, &st) == 0 && S_ISLNK(st.st_mode);
	     hops++) {
		errno = ELOOP; /* the error of a 41st link */
		n = hops < 40 ? readlink(p->target, buf, sizeof(buf) - 1) : -1;
		if (n < 0)
			return err_set(ERR_FAILED, "%s: cannot follow the symbolic link: %s", p->path,
				       strerror(errno));
		buf[n] = 0;
		slash = strrchr(p->target, '/');
		if (buf[0] == '/' || !slash)
			next = strdup(buf);
		else if (asprintf(&next, "%.*s/%s", (int)(slash - p->target), p->target, buf) < 0)
			next = NULL;
		free(p->target);
		p->target = next;
	}
	if (!p->target)
		return err_set(ERR_FAILED, "out of memory");
	if (!hops)
		return 0;
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
	struct json_object *helpers = NULL;
	size_t i, k, n;
	int rc = configure_load(p->path, &p->root);

	p->exists = p->root != NULL;
	if (!rc)
		rc = plan_target(p);
	if (rc)
		return rc;
	p->keep_owner = p->exists && stat(p->path, &p->st) == 0;
	if (!p->exists && !(p->root = json_object_new_object()))
		return err_set(ERR_FAILED, "out of memory");
	if (o->store_mode && p->is_docker) {
		rc = set_entry(p, p->root, "credsStore", o);
		if (!rc && !o->remove && p->nchanges) /* credsStore is new: every login goes there */
			warn_plaintext(p, NULL);
	}
	if (rc || !o->nhosts)
		return rc;
	json_object_object_get_ex(p->root, "credHelpers", &helpers);
	if (helpers && !json_object_is_type(helpers, json_type_object))
		return err_set(ERR_INVALID, "%s: \"credHelpers\" is not a JSON object", p->path);
	if (!helpers && !o->remove) {
		helpers = json_object_new_object();
		if (!helpers || json_object_object_add(p->root, "credHelpers", helpers))
			return err_set(ERR_FAILED, "out of memory");
	}
	for (i = 0; !rc && helpers && i < o->nhosts; i++) { /* the keys its clients look it up by */
		const struct host *h = &o->hosts[i];
		const char *keys[3];

		n = h->key ? configure_keys(h->key, p->is_docker, keys) : 0;
		/* --remove: the spelling typed too: an old key, or Docker Hub's other key in the
		 * other file */
		if (o->remove && h->typed)
			keys[n++] = h->typed;
		for (k = 0; !rc && k < n; k++)
			rc = set_entry(p, helpers, keys[k], o);
		if (!rc && !o->remove)
			warn_plaintext(p, h->key);
	}
	return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

/* A new line indented to level, after a comma unless it starts the container. The writers
 * below fail only for want of memory, all with ERR_FAILED: they OR their results together. */
static int emit_line(struct secbuf *b, int first, int level)
{
	int rc = first ? 0 : secbuf_append_str(b, ",");

	rc |= secbuf_append_str(b, "\n");
	while (level-- > 0)
		rc |= secbuf_append_str(b, "  ");
	return rc;
}

/* v as JSON text into b (which wipes what it outgrows), pretty-printed with a two-space indent
 * (see the top of the file for why not json-c's serialiser). */
static int emit(struct secbuf *b, struct json_object *v, int level)
{
	size_t i, n = 0;
	int rc = 0;

	switch (json_object_get_type(v)) {
	case json_type_object:
		rc = secbuf_append_str(b, "{");
		json_object_object_foreach(v, key, val) {
			rc |= emit_line(b, n++ == 0, level + 1);
			rc |= proto_json_string(b, key, strlen(key));
			rc |= secbuf_append_str(b, ": ");
			rc |= emit(b, val, level + 1);
		}
		if (n)
			rc |= emit_line(b, 1, level);
		return rc | secbuf_append_str(b, "}");
	case json_type_array:
		n = json_object_array_length(v);
		rc = secbuf_append_str(b, "[");
		for (i = 0; i < n; i++) {
			rc |= emit_line(b, i == 0, level + 1);
			rc |= emit(b, json_object_array_get_idx(v, i), level + 1);
		}
		if (n)
			rc |= emit_line(b, 1, level);
		return rc | secbuf_append_str(b, "]");
	case json_type_string:
		return proto_json_string(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	case json_type_null:
		return secbuf_append_str(b, "null");
	default: /* numbers and booleans: json-c keeps a parsed number's own text; no secrets */
		return secbuf_append_str(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

/* Create dir and the directories above it that are missing, each 0700. dir is cut at each '/'
 * in turn to do so, and whole again on return. */
static int mkdirs(char *dir)
{
	char *s = dir;
	int rc = 0;

	do {
		s = strchr(s + 1, '/');
		if (s)
			*s = 0;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = err_set(ERR_FAILED, "cannot create %s: %s", dir, strerror(errno));
		if (s)
			*s = '/';
	} while (!rc && s);
	return rc;
}

/* Write the file next to its target and rename it over: readers see the old or the new file. */
static int write_plan(struct plan *p)
{
	struct secbuf text = SECBUF_INIT; /* the file's text, auths included */
	char *dir = dir_of(p->target), *tmp = NULL;
	const char *base = strrchr(p->target, '/') ? strrchr(p->target, '/') + 1 : p->target;
	int fd = -1, rc;

	if (!dir || asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		free(dir);
		return err_set(ERR_FAILED, "out of memory");
	}
	rc = emit(&text, p->root, 0);
	if (!rc)
		rc = secbuf_append_str(&text, "\n");
	if (!rc && !p->exists && strcmp(p->target, p->path) == 0)
		rc = mkdirs(dir);
	if (!rc && (fd = mkstemp(tmp)) < 0)
		rc = err_set(ERR_FAILED, "%s: cannot create a temporary file in %s: %s", p->path, dir,
			     strerror(errno));
	/* The new file is the old one's: root running configure on a user's file must not leave
	 * it root's. Before fchmod, since a change of owner may clear set-id bits. EPERM (not
	 * root, the file another user's) leaves the file to whoever runs configure, as before. */
	if (!rc && p->keep_owner && fchown(fd, p->st.st_uid, p->st.st_gid) != 0 && errno != EPERM)
		rc = err_set(ERR_FAILED, "%s: cannot give %s the file's owner: %s", p->path, tmp,
			     strerror(errno));
	if (!rc && (fchmod(fd, p->keep_owner ? p->st.st_mode & 07777 : 0600) != 0 ||
		    fdio_write_all(fd, text.data, text.len) != 0 || fsync(fd) != 0))
		rc = err_set(ERR_FAILED, "%s: cannot write %s: %s", p->path, tmp, strerror(errno));
	if (fd >= 0 && close(fd) != 0 && !rc)
		rc = err_set(ERR_FAILED, "%s: cannot write %s: %s", p->path, tmp, strerror(errno));
	if (!rc && rename(tmp, p->target) != 0)
		rc = err_set(ERR_FAILED, "%s: cannot replace the file: %s", p->path, strerror(errno));
	if (rc && fd >= 0)
		unlink(tmp);
	if (!rc && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd); /* the rename itself survives a crash */
		close(fd);
	}
	secbuf_free(&text);
	free(tmp);
	free(dir);
	return rc;
}

/* ---- the run ------------------------------------------------------------------------- */

/* The files to plan: the docker config always, the containers auth file unless it is the
 * same file or only credsStore (which the containers tools ignore) is asked for. 0 when there
 * is none (said in out). */
static size_t choose_files(struct plan *plans, const struct opts *o, struct secbuf *out)
{
	char *auth = configure_auth_path();

	plans[0].is_docker = 1;
	plans[0].path = configure_docker_path();
	if (!plans[0].path || !auth) {
		P(out, plans[0].path ? "configure: out of memory\n"
				     : "configure: cannot tell where the docker config is: set HOME or "
				       "DOCKER_CONFIG\n");
		free(auth);
		return 0;
	}
	if (strcmp(auth, plans[0].path) == 0) {
		P(out, "containers auth file: %s is the docker config\n", auth);
	} else if (o->store_mode && !o->nhosts) {
		P(out, "%s: skipped: podman, buildah and skopeo ignore credsStore; name the registry "
		       "hosts to wire them too\n", auth);
	} else {
		plans[1].path = auth;
		return 2;
	}
	free(auth);
	return 1;
}

/* A host typed otherwise than clients send it: say what is written instead. */
static void say_normalised(const struct opts *o, struct secbuf *out)
{
	const struct host *h;

	for (h = o->hosts; !o->remove && h < o->hosts + o->nhosts; h++) {
		if (!h->typed || h->origin == BY_RANCHER)
			continue;
		if (strcmp(h->key, "docker.io") == 0)
			P(out, "%s: Docker Hub: docker looks it up as %s, podman, buildah and skopeo as "
			       "docker.io\n", h->typed, HOST_HUB_KEY);
		else
			P(out, "%s: clients send it as %s: that is what is written\n", h->typed, h->key);
	}
}

/* What to do once the files route to the helper: log in through it. */
static void say_next(const struct opts *o, struct secbuf *out)
{
	int logins = 0, hub = 0, digitalocean = 0, rancher = 0;
	const struct host *h;

	for (h = o->hosts; h < o->hosts + o->nhosts; h++) {
		digitalocean |= h->origin == BY_DIGITALOCEAN;
		rancher |= h->origin == BY_RANCHER;
		if (h->origin != BY_LOGIN)
			continue;
		if (!logins++)
			P(out, "next: log in once; the password then goes to the keyring, not into these "
			       "files:\n");
		if (strcmp(h->key, "docker.io") == 0) {
			hub = 1;
			P(out, "  docker login\n  podman login docker.io\n");
		} else {
			P(out, "  docker login %s\n", h->key);
		}
	}
	if (hub)
		P(out, "  (Docker Hub has one keyring entry per client: `docker login` for docker, "
		       "`podman login docker.io` for podman, buildah and skopeo; for other registries "
		       "`podman login HOST` stores the same entry as docker)\n");
	if (o->store_mode && !o->nhosts)
		P(out, "next: `docker login REGISTRY` for each registry you use; the password then goes "
		       "to the keyring\n");
	if (digitalocean) /* the one host with that origin */
		P(out, "%s: no login needed: credentials come from the DigitalOcean API (set "
		       "DIGITALOCEAN_ACCESS_TOKEN or run `docker-credential-keyring login digitalocean`)\n",
		  DO_REGISTRY);
	if (rancher)
		P(out, "rancher's registries: no login needed: credentials come from Rancher\n");
}

int configure_run(struct app *a, int argc, char **argv, struct secbuf *out)
{
	struct opts o = {0};
	struct plan plans[2] = {{0}};
	struct secbuf removed = SECBUF_INIT;
	size_t n = 0, i;
	int help = 0, changed = 0, status;

	status = parse_args(argc, argv, &o, out, &help);
	if (!status && help)
		P(out, "%s", usage);
	else if (!status && o.rancher)
		status = rancher_hosts(a, &o, out);
	if (!status && !help && (n = choose_files(plans, &o, out)) == 0)
		status = 1;
	if (status || help)
		goto done;
	say_normalised(&o, out);

	/* Plan everything before writing anything: one broken file leaves every file alone. */
	for (i = 0; i < n; i++) {
		plans[i].removed = &removed;
		if (plan_file(&plans[i], &o)) {
			P(out, "%s: refusing to change it: %s\n", plans[i].path, err_msg());
			status = 1;
		}
	}
	if (status) {
		P(out, "nothing was changed\n");
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct plan *p = &plans[i];

		if (!p->nchanges) {
			P(out, "%s: %s, nothing to change\n", p->path,
			  o.remove ? "not routed to this helper" : "already configured");
		} else if (!o.dry_run && write_plan(p)) {
			P(out, "%s: %s\n", p->path, err_msg());
			status = 1;
		} else { /* "would change", "created", ... */
			P(out, "%s: %s%s%s", p->path, o.dry_run ? "would " : "",
			  p->exists ? "change" : "create", o.dry_run ? "" : "d");
			if (!p->exists && strcmp(p->target, p->path) != 0)
				P(out, " %s, where its symbolic link points", p->target);
			P(out, ":\n");
			secbuf_append(out, p->changes.data, p->changes.len);
			changed |= !o.dry_run;
		}
		secbuf_append(out, p->notes.data, p->notes.len);
	}
	if (o.dry_run) {
		P(out, "dry run: no file was changed\n");
	} else if (!changed && !status) {
		P(out, "nothing changed\n");
	} else if (changed && !status && o.remove && removed.len) {
		/* The logins stay in the keyring (a key no client sends has none, but docker may
		 * have stored one under it): the command that erases each. */
		P(out, "the logins stay in the keyring; to erase them too:\n");
		CONFIGURE_SET_FOREACH(key, &removed)
			P(out, "  printf %%s '%s' | docker-credential-keyring erase\n", key);
	} else if (changed && !status && !o.remove) {
		say_next(&o, out);
	}
done:
	for (i = 0; i < 2; i++) {
		json_secret_free(plans[i].root);
		secbuf_free(&plans[i].changes);
		secbuf_free(&plans[i].notes);
		free(plans[i].path);
		free(plans[i].target);
	}
	for (i = 0; i < o.nhosts; i++)
		free(o.hosts[i].key);
	free(o.hosts);
	cred_list_clear(&o.from_rancher);
	secbuf_free(&removed);
	return status;
}
