/* doctor: see doctor.h. Read-only: it runs the stores' checks (no secret is loaded), one
 * read-only call per source, and reads the config files; it never writes anything. */
#include "doctor.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "app.h"
#include "config.h"
#include "configure.h"
#include "err.h"
#include "json_secret.h"
#include "session.h"

#ifndef DCK_VERSION
#define DCK_VERSION "0.0.0"
#endif

#define P configure_outf

struct report {
	struct secbuf *out;
	int problems;
};

/* ---- settings ---------------------------------------------------------------------- */

/* The exact fix for a setting a message names ("NAME: what is wrong"): a variable is unset or
 * set right; a line of the config file is corrected or removed. */
static void setting_problem(struct report *r, const char *indent, const char *msg)
{
	char name[128], path[4096];
	size_t n = strcspn(msg, ":");
	const char *dot;

	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : 0), msg);
	if (n > 0 && n < sizeof(name) && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n) {
		P(r->out, "%sfix: `unset %s` (its default then applies), or set %s as the line above "
		  "says\n", indent, name, name);
	} else if (n < sizeof(name) && config_file_path(path, sizeof(path)) == 0) {
		dot = strchr(name, '.');
		if (strchr(name, '/')) /* a line of the file: "FILE:LINE: …" */
			P(r->out, "%sfix: correct or remove that line of %s (the line above says what is "
			  "wrong)\n", indent, path);
		else if (dot)
			P(r->out, "%sfix: correct `%s` in the [%.*s] section of %s as the line above says, "
			  "or remove it for its default\n", indent, dot + 1, (int)(dot - name), name, path);
		else
			P(r->out, "%sfix: correct `%s` at the top of %s as the line above says, or remove it "
			  "for its default\n", indent, name, path);
	} else {
		P(r->out, "%sfix: correct the setting the line above names (man docker-credential-keyring)\n",
		  indent);
	}
	r->problems++;
}

/* The config file, then the settings of the stores. NULL when the stores cannot be opened
 * (reported); else the loaded settings, for the sources. */
static struct config *check_settings(struct report *r, struct app *a)
{
	struct config *cfg = NULL;

	if (app_load_config(&cfg) == 0 && app_open_stores(cfg, a) == 0) {
		P(r->out, "settings: ok\n");
		return cfg;
	}
	P(r->out, "settings: %s\n", err_msg());
	setting_problem(r, "  ", err_msg());
	config_free(cfg);
	return NULL;
}

/* ---- keyring ------------------------------------------------------------------------- */

/* One store's check (store.h): its line, and the fix for a failure. */
static int check_store(struct report *r, const char *label, struct store *st, int problem)
{
	char what[1024] = "";
	int rc;

	err_clear();
	rc = st->check(st, what, sizeof(what));
	P(r->out, "%s: %s\n", label, rc ? err_msg() : what);
	if (rc && what[0])
		P(r->out, "  %s: %s\n", problem ? "fix" : "to have it", what);
	r->problems += rc && problem;
	return rc;
}

static void check_keyring(struct report *r, struct app *a)
{
	char bus[4096];
	const char *origin = session_bus_origin();

	if (!a->store) {
		P(r->out, "keyring: not checked (the settings above could not be loaded)\n");
		return;
	}
	if (session_bus_address(bus, sizeof(bus)) == 0)
		P(r->out, "session bus: %s (%s)\n", bus, origin);
	else
		P(r->out, "session bus: none (DBUS_SESSION_BUS_ADDRESS is not set and "
			  "$XDG_RUNTIME_DIR/bus does not exist)\n");
	check_store(r, "keyring", a->store, 1);
	/* Only a note: sources work without it, they fetch more often. */
	if (a->copies)
		check_store(r, "copies a keyring cannot keep", a->copies, 0);
}

/* ---- credential sources -------------------------------------------------------------- */

/* The names this binary is installed under, and the name it was run as. */
static int is_our_name(const char *prog, const char *name)
{
	static const char pre[] = "docker-credential-";
	size_t n = sizeof(pre) - 1;

	return configure_is_ours(name, prog && strncmp(prog, pre, n) == 0 ? prog + n : NULL);
}

/* A config file's credHelpers when it is an object, else NULL. */
static struct json_object *helpers_in(struct json_object *root)
{
	struct json_object *helpers = NULL;

	json_object_object_get_ex(root, "credHelpers", &helpers);
	return json_object_is_type(helpers, json_type_object) ? helpers : NULL;
}

/* The helper a credHelpers entry names ("" when it is not a string). */
static const char *helper_name(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* What to do about a failed check that came without a fix of the source's own (source.h,
 * check): Rancher's, by code. DigitalOcean's check always gives one. */
static const char *source_fix(const struct source *s, int rc, const char *msg)
{
	if (strcmp(s->name, "rancher") != 0)
		return "correct the setting the line above names";
	switch (rc) {
	case ERR_NOTFOUND:
		return "set RANCHER_SECRET_KEY or run `docker-credential-keyring login rancher`";
	case ERR_DENIED:
		/* ": 403 " as rancher_api.c writes it; a bare "403" would match a port. */
		if (strstr(msg, ": 403 "))
			return "use an API key of that environment, or name the environment: RANCHER_URL "
			       "ending in /projects/1a<n>, or DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT";
		return "the key pair named above is wrong or was deleted in Rancher (API, Keys): make "
		       "a new environment API key and set it, or save its secret with "
		       "`docker-credential-keyring login rancher`";
	case ERR_UNAVAILABLE:
	case ERR_TIMEOUT:
		return "check that RANCHER_URL (or CATTLE_URL) is right and reachable from here: "
		       "network, proxy, DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE";
	default:
		return "correct the setting the line above names";
	}
}

/* Does a config file send a registry s serves (or name s's alias) to this helper? A source
 * nobody routes to is not in use: its missing token is not a problem. */
static int source_routed(struct app *a, struct source *s)
{
	char *paths[2] = {configure_docker_path(), configure_auth_path()};
	struct json_object *root, *helpers;
	int i, routed = 0;

	for (i = 0; i < 2; i++) {
		root = NULL;
		if (paths[i] && configure_load(paths[i], &root) == 0 && (helpers = helpers_in(root))) {
			json_object_object_foreach(helpers, host, v) {
				const char *name = helper_name(v);

				if (is_our_name(a->prog, name) && (strcmp(name, s->name) == 0 || s->serves(s, host)))
					routed = 1;
			}
		}
		json_secret_free(root); /* auths may hold passwords */
		free(paths[i]);
	}
	err_clear();
	return routed;
}

/* One line per source: the result of its check (one API call), and a fix for a failure. */
static void check_source(struct report *r, struct app *a, struct source *s)
{
	char what[512] = "", msg[1024];
	int rc;

	if (!s->check) {
		P(r->out, "  %s: configured\n", s->name);
		return;
	}
	err_clear();
	rc = s->check(s, what, sizeof(what));
	snprintf(msg, sizeof(msg), "%s", err_msg()); /* source_routed clears it */
	if (!rc) {
		P(r->out, "  %s: %s\n", s->name, what);
	} else if (rc == ERR_NOTFOUND && !source_routed(a, s)) {
		P(r->out, "  %s: not in use: %s\n", s->name, msg);
	} else {
		P(r->out, "  %s: %s\n", s->name, msg);
		/* The source's own fix when it gave one (source.h, check): it knows the setting. */
		P(r->out, "    fix: %s\n", what[0] ? what : source_fix(s, rc, msg));
		r->problems++;
	}
}

/* Each source on its own: a broken setting of one hides neither the others nor the keyring. */
static void check_sources(struct report *r, struct app *a, const struct config *cfg)
{
	static struct source *opened[8];
	size_t i;

	a->sources = opened;
	a->nsources = 0;
	if (!cfg) {
		P(r->out, "credential sources: not checked (the settings could not be loaded)\n");
		return;
	}
	P(r->out, "credential sources:\n");
	for (i = 0; i < app_source_kinds_len && a->nsources < 8; i++) {
		struct source *s = NULL;

		if (app_source_kinds[i].open(cfg, a->store, &s) != 0) {
			P(r->out, "  %s: %s\n", app_source_kinds[i].name, err_msg());
			setting_problem(r, "    ", err_msg());
		} else if (s) {
			opened[a->nsources++] = s;
			check_source(r, a, s);
		}
	}
	if (!a->nsources && !r->problems)
		P(r->out, "  none configured (logins come only from `docker login`)\n");
}

/* ---- routing: which config files send which registries here -------------------------- */

/* What the routing checks gather from both files (sets: configure.h). */
struct routing {
	struct secbuf docker_sends; /* hosts the docker config routes here, as podman sends them */
	struct secbuf auth_sends;   /* hosts the auth file routes here (under any spelling) */
	struct secbuf logins;	    /* hosts with an `auths` entry (a login) in either file */
	struct secbuf looked_up;    /* helper names already looked for on PATH */
	int store_ours;		    /* the docker config's credsStore is this helper */
};

static void print_words(struct secbuf *out, const struct secbuf *set)
{
	CONFIGURE_SET_FOREACH(w, set)
		P(out, " %s", w);
}

/* The fix that is one configure command for the hosts of set, and what follows them. */
static void fix_configure(struct report *r, const struct secbuf *hosts, const char *after)
{
	P(r->out, "  fix: `docker-credential-keyring configure");
	print_words(r->out, hosts);
	P(r->out, "%s\n", after);
	r->problems++;
}

/* Is docker-credential-<name> on PATH? If not, the fix is a link to this binary in a directory
 * on PATH we may write to: ~/.local/bin, ~/bin or /usr/local/bin when one of them is on PATH,
 * else the first one; else (as root) /usr/local/bin. Each name is looked for once. */
static void check_on_path(struct report *r, const char *name, struct secbuf *looked_up)
{
	const char *home = getenv("HOME") ? getenv("HOME") : "/nonexistent";
	char *path = strdup(getenv("PATH") ? getenv("PATH") : ""), *dir, *save = NULL, *f = NULL;
	char pref[3][PATH_MAX], self[PATH_MAX], *to = NULL;
	int i, rank = 3, found = 0;
	ssize_t n;

	if (!configure_set_add(looked_up, name) || !path) {
		free(path);
		return;
	}
	snprintf(pref[0], sizeof(pref[0]), "%s/.local/bin", home);
	snprintf(pref[1], sizeof(pref[1]), "%s/bin", home);
	snprintf(pref[2], sizeof(pref[2]), "/usr/local/bin");
	for (dir = strtok_r(path, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		/* strtok_r skips empty entries, as it should: Go's LookPath (docker, podman) no
		 * longer runs a helper found through the current directory. */
		if (asprintf(&f, "%s/docker-credential-%s", dir, name) < 0)
			break;
		found = access(f, X_OK) == 0;
		free(f);
		if (dir[0] != '/' || access(dir, W_OK) != 0)
			continue;
		if (!to)
			to = dir;
		for (i = 0; i < rank; i++)
			if (strcmp(dir, pref[i]) == 0) {
				to = dir;
				rank = i;
			}
	}
	if (!found) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0)
			self[n] = 0;
		else
			snprintf(self, sizeof(self), "/usr/bin/docker-credential-keyring");
		P(r->out, "  docker-credential-%s is not on PATH: clients fail on these registries\n", name);
		P(r->out, "  fix: %s`ln -s %s %s/docker-credential-%s`\n", to ? "" : "as root: ", self,
		  to ? to : "/usr/local/bin", name);
		r->problems++;
	}
	free(path);
}

/* The hosts of a file's `auths` entries: registries someone logged in to. */
static void gather_logins(struct json_object *root, struct secbuf *logins)
{
	struct json_object *auths = NULL;

	if (!json_object_object_get_ex(root, "auths", &auths) || !json_object_is_type(auths, json_type_object))
		return;
	json_object_object_foreach(auths, key, v) {
		char *h = NULL;

		(void)v;
		if (configure_normalize(key, 1, &h) == 0)
			configure_set_add(logins, h);
		free(h);
	}
	err_clear();
}

/* Each host a file routes here (mine: its keys) must be routed under the key the client that
 * writes the file looks it up by (configure_keys; docker.io in the docker config is podman's,
 * which check_routing compares with the auth file): with docker.io but not
 * https://index.docker.io/v1/, or with REG.Example but not reg.example, `docker login` writes
 * that login into the file in plaintext. */
static void check_keys(struct report *r, const struct secbuf *mine, int is_docker, struct routing *rt)
{
	struct secbuf missing = SECBUF_INIT, hosts = SECBUF_INIT;
	const char *tool = is_docker ? "docker" : "podman", *keys[2];
	size_t i, n;

	CONFIGURE_SET_FOREACH(key, mine) {
		char *h = NULL;

		if (configure_normalize(key, 1, &h) != 0)
			continue;
		configure_set_add(is_docker ? &rt->docker_sends : &rt->auth_sends, h);
		n = is_docker && rt->store_ours ? 0 : configure_keys(h, is_docker, keys);
		for (i = 0; i < n; i++)
			if (!(is_docker && strcmp(keys[i], "docker.io") == 0) &&
			    !configure_set_has(mine, keys[i]) && configure_set_add(&missing, keys[i])) {
				P(r->out, "  %s is not routed here, though %s looks %s up by that key: "
					  "%s login writes it here in plaintext\n", keys[i], tool, h, tool);
				configure_set_add(&hosts, h);
			}
		free(h);
	}
	err_clear();
	if (hosts.len)
		fix_configure(r, &hosts, "`");
	secbuf_free(&missing);
	secbuf_free(&hosts);
}

/* Report one file: what it routes to this helper, and keys its clients miss. */
static void check_file(struct report *r, struct app *a, const char *what, const char *path,
		       int is_docker, struct routing *rt)
{
	struct json_object *root = NULL, *helpers, *cs = NULL;
	struct secbuf mine = SECBUF_INIT;

	if (!path) {
		P(r->out, "%s: unknown (out of memory)\n", what);
		return;
	}
	if (configure_load(path, &root)) {
		P(r->out, "%s: %s\n", what, err_msg());
		P(r->out, "  fix: correct %s so that it is one JSON object (the line above says what is "
			  "wrong), then run `docker-credential-keyring doctor` again\n", path);
		r->problems++;
		return;
	}
	if (!root) {
		P(r->out, "%s: %s does not exist\n", what, path);
		return;
	}
	P(r->out, "%s: %s\n", what, path);
	gather_logins(root, &rt->logins);
	if (json_object_object_get_ex(root, "credsStore", &cs) && json_object_is_type(cs, json_type_string)) {
		const char *v = json_object_get_string(cs);

		if (is_our_name(a->prog, v)) {
			rt->store_ours |= is_docker;
			P(r->out, "  credsStore: %s%s\n", v,
			  is_docker ? " (docker sends every registry here)"
				    : " (ignored: podman, buildah and skopeo read only credHelpers)");
			check_on_path(r, v, &rt->looked_up);
		} else {
			P(r->out, "  credsStore: %s (another helper)\n", v);
		}
	}
	if ((helpers = helpers_in(root))) {
		json_object_object_foreach(helpers, key, v) {
			if (!is_our_name(a->prog, helper_name(v)))
				continue;
			P(r->out, "  credHelpers: %s -> %s\n", key, helper_name(v));
			configure_set_add(&mine, key);
			check_on_path(r, helper_name(v), &rt->looked_up);
		}
		check_keys(r, &mine, is_docker, rt);
	}
	if (!mine.len && !(is_docker && rt->store_ours))
		P(r->out, "  routes nothing to this helper\n");
	secbuf_free(&mine);
	json_secret_free(root);
}

static void check_routing(struct report *r, struct app *a)
{
	char *docker = configure_docker_path(), *auth = configure_auth_path();
	struct routing rt = {SECBUF_INIT, SECBUF_INIT, SECBUF_INIT, SECBUF_INIT, 0};
	struct secbuf missing = SECBUF_INIT;
	int same = auth && docker && strcmp(auth, docker) == 0;

	check_file(r, a, "docker config", docker, 1, &rt);
	if (same)
		P(r->out, "containers auth file: the docker config\n");
	else
		check_file(r, a, "containers auth file", auth, 0, &rt);

	if (!rt.docker_sends.len && !rt.auth_sends.len && !rt.store_ours) {
		P(r->out, "routing: no config file sends any registry to this helper\n");
		fix_configure(r, &rt.logins, rt.logins.len ? "` (the registries these files hold logins for)"
			      : " REGISTRY...` with the registries you use (`docker-credential-keyring "
				"configure --store` routes every registry docker uses, but podman, buildah "
				"and skopeo ignore it)");
	} else if (!same) {
		/* Hosts docker routes here but podman would not: its login writes plaintext. */
		CONFIGURE_SET_FOREACH(host, &rt.docker_sends)
			if (!configure_set_has(&rt.auth_sends, host))
				configure_set_add(&missing, host);
		if (missing.len) {
			P(r->out, "routing: in the docker config only (podman login would write these in "
				  "plaintext):");
			print_words(r->out, &missing);
			P(r->out, "\n");
			fix_configure(r, &missing, "`");
		}
	}
	secbuf_free(&missing);
	secbuf_free(&rt.docker_sends);
	secbuf_free(&rt.auth_sends);
	secbuf_free(&rt.logins);
	secbuf_free(&rt.looked_up);
	free(docker);
	free(auth);
}

int doctor_run(struct app *a, struct secbuf *out)
{
	struct report r = {out, 0};
	struct config *cfg;

	P(out, "%s doctor (docker-credential-keyring v%s)\n", a->prog ? a->prog : "docker-credential-keyring",
	  DCK_VERSION);
	cfg = check_settings(&r, a);
	check_keyring(&r, a);
	check_sources(&r, a, cfg);
	check_routing(&r, a);
	app_close_sources(a);
	app_close_stores(a);
	config_free(cfg);
	if (r.problems)
		P(out, "%d problem%s found\n", r.problems, r.problems == 1 ? "" : "s");
	else
		P(out, "no problems found\n");
	return r.problems ? 1 : 0;
}
