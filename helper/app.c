/* app: opening what one run works with (app.h): the stores, by the store setting, and the
 * credential sources that are configured. */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kernel_store.h"
#include "log.h"
#include "secret_store.h"
#include "session.h"
#include "source_do.h"
#include "source_rancher.h"

const struct source_kind app_source_kinds[] = {
	{"digitalocean", source_do_new},
	{"rancher", source_rancher_new},
};
const size_t app_source_kinds_len = sizeof(app_source_kinds) / sizeof(app_source_kinds[0]);

int app_load_config(struct config **out)
{
	int on = 0, rc = config_load(out);

	if (rc)
		return rc;
	if (config_bool(*out, "", "debug", "DOCKER_CREDENTIAL_KEYRING_DEBUG", 0, &on) == 0 && on)
		log_set_level(LOG_DEBUG);
	err_clear();
	return 0;
}

/* The store for logins, and where a source's copy goes when that store cannot keep it:
 *   store = secret-service  the Secret Service; copies in the kernel keyring
 *   store = kernel          the kernel keyring for everything (kernel_store.h)
 *   store = auto (default)  the Secret Service when there is a session bus; the kernel keyring
 *                           when there is none at all (a server, a CI runner, a node). Where a
 *                           bus exists but its keyring is broken or locked, that is reported:
 *                           a desktop user's login must never silently land in memory that a
 *                           reboot erases. */
int app_open_stores(const struct config *cfg, struct app *a)
{
	struct secret_store_opts o = {0};
	const char *which = config_str(cfg, "", "store", "DOCKER_CREDENTIAL_KEYRING_STORE");
	const char *ring = config_str(cfg, "", "kernel-keyring", "DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING");
	int64_t timeout, lock_timeout, prompt_timeout;
	int kernel, rc;

	rc = config_ms_range(cfg, "", "timeout", "DOCKER_CREDENTIAL_KEYRING_TIMEOUT", 3000, 1, 600000,
			     &timeout);
	if (!rc)
		rc = config_ms_range(cfg, "", "lock-timeout", "DOCKER_CREDENTIAL_KEYRING_LOCK_TIMEOUT",
				     30000, 0, 3600000, &lock_timeout);
	if (!rc)
		rc = config_ms_range(cfg, "", "prompt-timeout", "DOCKER_CREDENTIAL_KEYRING_PROMPT_TIMEOUT",
				     60000, 1, 3600000, &prompt_timeout);
	if (!rc)
		rc = config_bool(cfg, "", "prompt", "DOCKER_CREDENTIAL_KEYRING_PROMPT", 1, &o.allow_prompt);
	if (rc)
		return rc;
	if (!which || !which[0] || strcmp(which, "auto") == 0)
		kernel = session_bus_origin() == NULL;
	else if (strcmp(which, "kernel") == 0 || strcmp(which, "secret-service") == 0)
		kernel = strcmp(which, "kernel") == 0;
	else
		return err_set(ERR_INVALID, "%s: \"%s\" is not auto, secret-service or kernel",
			       getenv("DOCKER_CREDENTIAL_KEYRING_STORE") ? "DOCKER_CREDENTIAL_KEYRING_STORE"
									 : "store", which);
	o.timeout_ms = (unsigned)timeout;
	o.lock_timeout_ms = (unsigned)lock_timeout;
	o.prompt_timeout_ms = (unsigned)prompt_timeout;
	a->store = kernel ? kernel_store_new(ring) : secret_store_new(&o);
	a->copies = kernel ? NULL : kernel_store_new(ring);
	/* A write to the kernel keyring costs a system call: nothing to put behind the answer. */
	if (kernel)
		a->write_behind = 0;
	log_debug("store: %s", kernel ? "the kernel keyring" : "the Secret Service");
	if (!a->store || (!kernel && !a->copies)) {
		app_close_stores(a);
		return err_set(ERR_FAILED, "out of memory");
	}
	return 0;
}

void app_close_stores(struct app *a)
{
	store_free(a->store);
	store_free(a->copies);
	a->store = a->copies = NULL;
}

/* Each source is created only when configured (a constructor leaves it NULL otherwise).
 * Returns the first constructor's error; the sources that did open are in a->sources. */
int app_open_sources(const struct config *cfg, struct app *a)
{
	static struct source *slots[sizeof(app_source_kinds) / sizeof(app_source_kinds[0])];
	size_t i;
	int rc = 0;

	a->sources = slots;
	a->nsources = 0;
	for (i = 0; i < app_source_kinds_len; i++) {
		struct source *s = NULL;
		int src_rc = app_source_kinds[i].open(cfg, a->store, &s);

		if (s)
			slots[a->nsources++] = s;
		rc = rc ? rc : src_rc; /* keep the first error, still open the others */
	}
	/* Installed as docker-credential-digitalocean (or -rancher), a config entry naming that
	 * helper means "this source", whatever the host: pin it. */
	for (i = 0; i < a->nsources; i++)
		if (strncmp(a->prog, "docker-credential-", 18) == 0 &&
		    strcmp(a->prog + 18, slots[i]->name) == 0)
			a->pinned = slots[i];
	return rc;
}

void app_close_sources(struct app *a)
{
	size_t i;

	for (i = 0; i < a->nsources; i++)
		a->sources[i]->free(a->sources[i]);
	a->nsources = 0;
	a->pinned = NULL;
}
