/* doctor: see doctor.h. Read-only: it lists the keyring (no secrets are loaded) and reads the
 * config files; it never writes anything. */
#include "doctor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "configure.h"
#include "err.h"

#ifndef DCK_VERSION
#define DCK_VERSION "0.0.0"
#endif

#define P configure_outf

struct report {
	struct secbuf *out;
	int problems;
};

static void problem(struct report *r, const char *fix)
{
	P(r->out, "  fix: %s\n", fix);
	r->problems++;
}

/* ---- keyring ------------------------------------------------------------------------- */

static void check_settings(struct report *r)
{
	struct config *cfg = NULL;

	if (config_load(&cfg) == 0) {
		P(r->out, "settings: ok\n");
		config_free(cfg);
		return;
	}
	P(r->out, "settings: %s\n", err_msg());
	problem(r, "correct that line of the config file (see man docker-credential-keyring)");
}

static void check_keyring(struct report *r, struct app *a)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	struct cred_list l = {0};
	char *bus = NULL;
	struct stat st;
	int rc;

	if (addr && addr[0]) {
		P(r->out, "session bus: %s (DBUS_SESSION_BUS_ADDRESS)\n", addr);
	} else if (rt && rt[0] && asprintf(&bus, "%s/bus", rt) >= 0 && stat(bus, &st) == 0 &&
		   S_ISSOCK(st.st_mode)) {
		P(r->out, "session bus: unix:path=%s ($XDG_RUNTIME_DIR/bus)\n", bus);
	} else {
		P(r->out, "session bus: none (DBUS_SESSION_BUS_ADDRESS is not set and "
			  "$XDG_RUNTIME_DIR/bus does not exist)\n");
	}
	free(bus);

	if (!a->store) {
		P(r->out, "keyring: not checked (the settings above could not be loaded)\n");
		return;
	}
	rc = a->store->list(a->store, &l);
	if (!rc) {
		P(r->out, "keyring: the Secret Service answers (%zu entr%s)\n", l.len,
		  l.len == 1 ? "y" : "ies");
		cred_list_clear(&l);
		return;
	}
	P(r->out, "keyring: %s\n", err_msg());
	if (strstr(err_msg(), "no D-Bus session bus"))
		problem(r, "run inside a desktop login session, or start a session bus and a keyring "
			   "for this login: `dbus-run-session -- sh`, then "
			   "`echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets`");
	else if (strstr(err_msg(), "no Secret Service"))
		problem(r, "start a Secret Service on this bus: `gnome-keyring-daemon --start "
			   "--components=secrets` (package gnome-keyring), or KeePassXC with its "
			   "Secret Service integration");
	else if (strstr(err_msg(), "locked"))
		problem(r, "unlock the keyring: log in to the desktop session, or "
			   "`echo -n PASSWORD | gnome-keyring-daemon --replace --unlock`");
	else if (rc == ERR_TIMEOUT)
		problem(r, "the keyring did not answer in time: check that it is not waiting for a "
			   "prompt, or raise DOCKER_CREDENTIAL_KEYRING_TIMEOUT");
	else
		problem(r, "check that the keyring daemon runs and answers on the session bus");
}

/* ---- credential sources -------------------------------------------------------------- */

static int is_our_name(const char *prog, const char *name);


/* What to do about a failed check, by source and code (the codes source.h gives check). */
static const char *source_fix(const struct source *s, int rc, const char *msg)
{
	int is_do = strcmp(s->name, "digitalocean") == 0;

	switch (rc) {
	case ERR_NOTFOUND:
		return is_do ? "set DIGITALOCEAN_ACCESS_TOKEN or run "
			       "`docker-credential-keyring login digitalocean`"
			     : "set RANCHER_SECRET_KEY or run `docker-credential-keyring login rancher`";
	case ERR_DENIED:
		if (is_do && strstr(msg, "HTTP 403"))
			return "the token needs the registry:read scope (and registry:update, which getting "
			       "registry credentials needs): make a token with both, then set "
			       "DIGITALOCEAN_ACCESS_TOKEN or run `docker-credential-keyring login digitalocean`";
		if (is_do)
			return "the token is wrong, expired or revoked: make a new one (control panel, API, "
			       "Tokens), then set DIGITALOCEAN_ACCESS_TOKEN or run "
			       "`docker-credential-keyring login digitalocean`";
		/* ": 403 " as rancher_api.c writes it; a bare "403" would match a port. */
		if (strstr(msg, ": 403 "))
			return "use an API key of that environment, or name the environment: RANCHER_URL "
			       "ending in /projects/1a<n>, or DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT";
		return "the key pair named above is wrong or was deleted in Rancher (API, Keys): make "
		       "a new environment API key and set it, or save its secret with "
		       "`docker-credential-keyring login rancher`";
	case ERR_UNAVAILABLE:
	case ERR_TIMEOUT:
		return is_do ? "check that the API (DIGITALOCEAN_API_URL, default https://api.digitalocean.com) "
			       "is reachable from here: network, proxy, DOCKER_CREDENTIAL_KEYRING_DO_CA_FILE"
			     : "check that RANCHER_URL (or CATTLE_URL) is right and reachable from here: "
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
	int i, routed = 0, exists;

	for (i = 0; i < 2 && !routed; i++) {
		struct json_object *root = NULL, *helpers = NULL;

		if (!paths[i] || configure_load(paths[i], &root, &exists) || !root)
			continue;
		if (json_object_object_get_ex(root, "credHelpers", &helpers) &&
		    json_object_is_type(helpers, json_type_object)) {
			json_object_object_foreach(helpers, host, v) {
				const char *name = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

				if (is_our_name(a->prog, name) && (strcmp(name, s->name) == 0 || s->serves(s, host)))
					routed = 1;
			}
		}
		json_object_put(root);
	}
	free(paths[0]);
	free(paths[1]);
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

static void check_sources(struct report *r, struct app *a)
{
	size_t i;

	if (!a->store) {
		P(r->out, "credential sources: not checked (the settings could not be loaded)\n");
		return;
	}
	if (!a->nsources) {
		P(r->out, "credential sources: none configured (logins come only from `docker login`)\n");
		return;
	}
	P(r->out, "credential sources:\n");
	for (i = 0; i < a->nsources; i++)
		check_source(r, a, a->sources[i]);
}

/* ---- routing: which config files send which registries here -------------------------- */

/* The names under which this binary is installed: keyring, its aliases, and the name it was
 * run as. */
static int is_our_name(const char *prog, const char *name)
{
	static const char pre[] = "docker-credential-";

	if (!strcmp(name, "keyring") || !strcmp(name, "digitalocean") || !strcmp(name, "rancher"))
		return 1;
	return prog && strncmp(prog, pre, sizeof(pre) - 1) == 0 && strcmp(prog + sizeof(pre) - 1, name) == 0;
}

static int on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *f = NULL;
	int found = 0;

	if (!path || !(copy = strdup(path)))
		return 0;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&f, "%s/docker-credential-%s", dir[0] ? dir : ".", name) < 0)
			break;
		found = access(f, X_OK) == 0;
		free(f);
	}
	free(copy);
	return found;
}

static void check_name_on_path(struct report *r, const char *name, char *seen, size_t seen_len)
{
	char key[300];

	snprintf(key, sizeof(key), "|%s|", name);
	if (strstr(seen, key))
		return;
	if (strlen(seen) + strlen(key) < seen_len)
		strcat(seen, key);
	if (!on_path(name)) {
		P(r->out, "  docker-credential-%s is not on PATH: clients fail on these registries\n", name);
		problem(r, "install the package, or put docker-credential-keyring (or a link to it "
			   "with that name) in a directory on PATH");
	}
}

/* Report one file; *routed counts the hosts it sends to us. hosts collects them (for the
 * comparison between the two files) as "|host|". */
static void check_file(struct report *r, struct app *a, const char *what, const char *path,
		       int is_docker, struct secbuf *hosts, int *store_ours, char *seen, size_t seen_len)
{
	struct json_object *root = NULL, *helpers = NULL, *cs = NULL;
	int exists = 0, n = 0;

	*store_ours = 0;
	if (!path) {
		P(r->out, "%s: none (neither REGISTRY_AUTH_FILE nor XDG_RUNTIME_DIR is set)\n", what);
		return;
	}
	if (configure_load(path, &root, &exists)) {
		P(r->out, "%s: %s\n", what, err_msg());
		problem(r, "repair the file (clients cannot read it either), then run "
			   "`docker-credential-keyring configure HOST...`");
		return;
	}
	if (!root) {
		P(r->out, "%s: %s does not exist\n", what, path);
		return;
	}
	P(r->out, "%s: %s\n", what, path);
	if (json_object_object_get_ex(root, "credsStore", &cs) && json_object_is_type(cs, json_type_string)) {
		const char *v = json_object_get_string(cs);

		if (is_our_name(a->prog, v)) {
			*store_ours = is_docker;
			P(r->out, "  credsStore: %s%s\n", v,
			  is_docker ? " (docker sends every registry here)"
				    : " (ignored: podman, buildah and skopeo read only credHelpers)");
		} else {
			P(r->out, "  credsStore: %s (another helper)\n", v);
		}
		if (is_our_name(a->prog, v))
			check_name_on_path(r, v, seen, seen_len);
	}
	if (json_object_object_get_ex(root, "credHelpers", &helpers) &&
	    json_object_is_type(helpers, json_type_object)) {
		json_object_object_foreach(helpers, host, v) {
			const char *name = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

			if (!is_our_name(a->prog, name))
				continue;
			P(r->out, "  credHelpers: %s -> %s\n", host, name);
			configure_outf(hosts, "|%s|", host);
			check_name_on_path(r, name, seen, seen_len);
			n++;
		}
	}
	if (!n && !*store_ours)
		P(r->out, "  routes nothing to this helper\n");
	json_object_put(root);
}

static void check_routing(struct report *r, struct app *a)
{
	char *docker = configure_docker_path(), *auth = configure_auth_path();
	struct secbuf dh = SECBUF_INIT, ah = SECBUF_INIT;
	int store_ours = 0, unused = 0;
	char seen[1024] = "";

	check_file(r, a, "docker config", docker, 1, &dh, &store_ours, seen, sizeof(seen));
	if (auth && docker && strcmp(auth, docker) == 0)
		P(r->out, "containers auth file: the docker config\n");
	else
		check_file(r, a, "containers auth file", auth, 0, &ah, &unused, seen, sizeof(seen));

	if (!dh.len && !ah.len && !store_ours) {
		P(r->out, "routing: no config file sends any registry to this helper\n");
		problem(r, "`docker-credential-keyring configure HOST...` (or `configure --store` for "
			   "every registry docker uses)");
	} else if (auth && docker && strcmp(auth, docker) != 0 && dh.len) {
		/* Hosts docker routes here but podman would not: its login writes plaintext. */
		const char *s = dh.data;
		int missing = 0;

		while ((s = strchr(s, '|')) && s[1]) {
			const char *e = strchr(s + 1, '|');
			char key[512];

			if (!e)
				break;
			snprintf(key, sizeof(key), "%.*s", (int)(e - s + 1), s);
			if (!ah.data || !strstr(ah.data, key)) {
				if (!missing++)
					P(r->out, "routing: in the docker config only (podman login would "
						  "write these in plaintext):");
				P(r->out, " %.*s", (int)(e - s - 1), s + 1);
			}
			s = e + 1;
		}
		if (missing) {
			P(r->out, "\n");
			problem(r, "`docker-credential-keyring configure` with those hosts wires both files");
		}
	}
	secbuf_free(&dh);
	secbuf_free(&ah);
	free(docker);
	free(auth);
}

int doctor_run(struct app *a, struct secbuf *out)
{
	struct report r = {out, 0};

	P(out, "%s doctor (docker-credential-keyring v%s)\n", a->prog ? a->prog : "docker-credential-keyring",
	  DCK_VERSION);
	check_settings(&r);
	check_keyring(&r, a);
	check_sources(&r, a);
	check_routing(&r, a);
	if (r.problems)
		P(out, "%d problem%s found\n", r.problems, r.problems == 1 ? "" : "s");
	else
		P(out, "no problems found\n");
	return r.problems ? 1 : 0;
}
