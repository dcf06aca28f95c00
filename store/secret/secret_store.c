/* secret_store: see secret_store.h.
 *
 * Writers (put, del) hold one lock for the whole change (lockfile.h), so two helpers never
 * interleave "create the new item, remove the old ones" for one server, and the keyring sees
 * one of our writers at a time. The wait for it has its own budget (lock-timeout); the
 * keyring's deadline starts once the lock is held. */
#include "secret_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "lockfile.h"
#include "monotonic.h"
#include "plugin.h"
#include "secret_plugin.h"
#include "secret_read.h"
#include "session.h"

#define WRITERS_LOCK "keyring-writers"

struct secret_store {
	struct store base;
	struct secret_store_opts opts;
	char bus[4096];             /* "" when there is no session bus */
	const struct secret_plugin *plugin;
	struct store *lib;          /* libsecret's store, once loaded */
};

static int no_bus(void)
{
	return err_set(ERR_UNAVAILABLE, "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set "
		       "and $XDG_RUNTIME_DIR/bus does not exist");
}

/* libsecret's store, loaded on first need. */
static int lib(struct secret_store *s)
{
	struct secret_plugin_opts o = {s->bus, s->opts.timeout_ms, s->opts.allow_prompt,
				       s->opts.prompt_timeout_ms};

	if (s->lib)
		return 0;
	if (!s->plugin && !(s->plugin = plugin_load(SECRET_PLUGIN_FILE, SECRET_PLUGIN_SYMBOL)))
		return err_wrap(ERR_UNAVAILABLE, "the Secret Service library is not available (install "
				"libsecret-1-0)");
	s->lib = s->plugin->open(&o);
	return s->lib ? 0 : err_set(ERR_FAILED, "out of memory");
}

/* A read that ran out of time says so in the words libsecret's would. */
static int timed_out(struct secret_store *s, int rc, const char *what)
{
	if (rc != ERR_TIMEOUT)
		return rc;
	return err_set(ERR_TIMEOUT, "%s: the Secret Service did not answer within %u ms", what,
		       s->opts.timeout_ms);
}

/* The plugin keeps its own error message: bring it over. */
static int from_lib(struct secret_store *s, int rc)
{
	return rc ? err_set(rc, "%s", s->plugin->last_error()) : 0;
}

static int ss_get(struct store *base, const char *server, struct cred *out)
{
	struct secret_store *s = (struct secret_store *)base;
	int rc;

	if (!s->bus[0])
		return no_bus();
	rc = secret_read_get(s->bus, server, monotonic_ms() + s->opts.timeout_ms, out);
	if (rc != SECRET_READ_FALLBACK)
		return timed_out(s, rc, "cannot read the keyring");
	/* Locked (libsecret prompts where it may), or something the short way cannot read. */
	rc = lib(s);
	return rc ? rc : from_lib(s, s->lib->get(s->lib, server, out));
}

static int ss_list(struct store *base, struct cred_list *out)
{
	struct secret_store *s = (struct secret_store *)base;
	size_t locked = 0;
	int rc;

	if (!s->bus[0])
		return no_bus();
	rc = secret_read_list(s->bus, s->opts.timeout_ms, out, &locked);
	if (rc == SECRET_READ_FALLBACK)
		return (rc = lib(s)) ? rc : from_lib(s, s->lib->list(s->lib, out));
	if (rc)
		return timed_out(s, rc, "cannot list the keyring");
	if (locked)
		return err_set(STORE_PARTIAL, "%zu locked keyring%s not listed: unlock %s (see "
			       "`docker-credential-keyring doctor`)", locked, locked == 1 ? "" : "s",
			       locked == 1 ? "it" : "them");
	return rc;
}

/* put and del: libsecret, under the writers' lock. */
static int write_locked(struct secret_store *s, const struct cred *c, const char *server)
{
	int lock, rc;

	if (!s->bus[0])
		return no_bus();
	rc = lib(s);
	if (rc)
		return rc;
	lock = lockfile_acquire(WRITERS_LOCK, s->opts.lock_timeout_ms, "the lock-timeout setting");
	if (lock < 0)
		return err_wrap(lock, "cannot change the keyring");
	rc = from_lib(s, c ? s->lib->put(s->lib, c) : s->lib->del(s->lib, server));
	lockfile_release(lock);
	return rc;
}

static int ss_put(struct store *base, const struct cred *c)
{
	return write_locked((struct secret_store *)base, c, NULL);
}

static int ss_del(struct store *base, const char *server)
{
	return write_locked((struct secret_store *)base, NULL, server);
}

/* The command that starts (or restarts) gnome-keyring with an unlocked login keyring, verified
 * to work on a headless machine; PASSWORD is the keyring's (a new one's, when there is none). */
#define START_KEYRING "`printf PASSWORD | gnome-keyring-daemon --replace --unlock " \
		      "--components=secrets --daemonize` (package gnome-keyring)"

static int ss_check(struct store *base, char *what, size_t size)
{
	struct secret_store *s = (struct secret_store *)base;
	struct secret_health h;
	int rc;

	if (!s->bus[0]) {
		snprintf(what, size, "start a session bus and a keyring for this login (`dbus-run-session "
			 "-- sh`, then " START_KEYRING "), or set the store setting to auto "
			 "(DOCKER_CREDENTIAL_KEYRING_STORE, or store in the config file): without a "
			 "bus the kernel keyring keeps logins (not across a reboot)");
		return no_bus();
	}
	rc = secret_read_health(s->bus, s->opts.timeout_ms, &h);
	if (rc == ERR_TIMEOUT) {
		snprintf(what, size, "the keyring may be waiting for a prompt on the desktop; or raise "
			 "DOCKER_CREDENTIAL_KEYRING_TIMEOUT (now %u ms)", s->opts.timeout_ms);
		return timed_out(s, rc, "the Secret Service");
	}
	if (rc == SECRET_READ_FALLBACK) {
		snprintf(what, size, "check that the keyring daemon on this bus is a Secret Service");
		return ERR_UNAVAILABLE;
	}
	if (rc) {
		snprintf(what, size, "start one: " START_KEYRING);
		return rc;
	}
	if (!h.collection[0]) {
		snprintf(what, size, "make one (it is what writes go to): " START_KEYRING);
		return err_set(ERR_UNAVAILABLE, "the Secret Service has no default keyring: every store "
			       "would fail");
	}
	if (h.locked) {
		snprintf(what, size, "unlock it: log in to the desktop session, or " START_KEYRING
			 " with the keyring's password");
		return err_set(ERR_UNAVAILABLE, "the default keyring (%s) is locked: get cannot read "
			       "it and store cannot write it", h.collection);
	}
	snprintf(what, size, "the Secret Service answers: default keyring %s, unlocked, %zu entr%s%s",
		 h.collection, h.entries, h.entries == 1 ? "y" : "ies",
		 h.locked_collections ? "; another keyring is locked" : "");
	return 0;
}

static void ss_free(struct store *base)
{
	struct secret_store *s = (struct secret_store *)base;

	store_free(s->lib);
	free(s);
}

struct store *secret_store_new(const struct secret_store_opts *o)
{
	struct secret_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->opts = *o;
	(void)session_bus_address(s->bus, sizeof(s->bus));
	s->base = (struct store){ss_get, ss_put, ss_del, ss_list, ss_check, ss_free};
	return &s->base;
}
