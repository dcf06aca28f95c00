/* pull_secret: `pull-secret [--lifetime DURATION] HOST...` (see pull_secret.h). */
#include "pull_secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "base64.h"
#include "err.h"
#include "kubelet.h"
#include "proto.h"

#define PS_DO "digitalocean"
#define PS_DO_EXPIRY "DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY"
#define PS_MAX_HOSTS 32
#define PS_MAX_HOST 1024
#define PS_MAX_LIFETIME 1576800000LL /* DigitalOcean's largest expiry_seconds */

struct ps_args {
	const char *lifetime; /* as typed, or NULL */
	const char *hosts[PS_MAX_HOSTS];
	size_t nhosts;
};

static int ps_host_ok(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > PS_MAX_HOST)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f)
			return 0;
	return 1;
}

static int ps_parse_args(int argc, char **argv, struct ps_args *out)
{
	size_t j;
	int i;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--lifetime") == 0) {
			if (++i == argc)
				return err_set(ERR_INVALID, "--lifetime needs a DURATION");
			out->lifetime = argv[i];
			continue;
		}
		if (strncmp(arg, "--lifetime=", 11) == 0) {
			out->lifetime = arg + 11;
			continue;
		}
		if (arg[0] == '-')
			return err_set(ERR_INVALID, "%.100s: unknown option (usage: pull-secret "
				       "[--lifetime DURATION] HOST...)", arg);
		if (!ps_host_ok(arg))
			return err_set(ERR_INVALID, "\"%.100s\" is not a registry host", arg);
		for (j = 0; j < out->nhosts && strcmp(out->hosts[j], arg) != 0; j++)
			;
		if (j < out->nhosts)
			continue; /* named twice: one entry */
		if (out->nhosts == PS_MAX_HOSTS)
			return err_set(ERR_INVALID, "more than %d hosts", PS_MAX_HOSTS);
		out->hosts[out->nhosts++] = arg;
	}
	if (out->nhosts == 0)
		return err_set(ERR_INVALID, "no host (usage: pull-secret [--lifetime DURATION] HOST...)");
	return 0;
}

/* --lifetime becomes DigitalOcean's expiry setting (in the environment, where the source reads
 * it first), and the credentials are read-only by default (kubelet_pull_only). */
static int ps_do_settings(const struct config *cfg, const char *lifetime)
{
	int64_t ms;
	int rc = kubelet_pull_only(cfg);

	if (rc || !lifetime)
		return rc;
	if (strcmp(lifetime, "never") != 0 &&
	    (config_parse_ms(lifetime, &ms) != 0 || ms % 1000 || ms < 1000 || ms / 1000 > PS_MAX_LIFETIME))
		return err_set(ERR_INVALID, "--lifetime: \"%.64s\" is not a duration of whole seconds "
			       "from 1s to %llds (such as 3600, 90m, 720h), or never", lifetime,
			       PS_MAX_LIFETIME);
	if (setenv(PS_DO_EXPIRY, lifetime, 1) != 0)
		return err_set(ERR_FAILED, "out of memory");
	return 0;
}

/* Does DigitalOcean serve host (and so mint new credentials for the secret)? */
static int ps_mints(struct app *a, const char *host)
{
	struct source *src = creds_route(a, host);

	return src && src->fetch && strcmp(src->name, PS_DO) == 0;
}

/* The credentials for host: DigitalOcean mints new ones for the secret, anything else is
 * what get answers. */
static int ps_credentials(struct app *a, const char *host, int lifetime, int mint, struct cred *out)
{
	struct source *src = creds_route(a, host);
	int rc;

	if (lifetime && !mint)
		return err_set(ERR_INVALID, "--lifetime is for the hosts DigitalOcean serves");
	if (!mint)
		return creds_get(a, host, out);
	rc = src->fetch(src, host, out);
	if (!rc)
		secmem_remember(out->secret, out->secret_len);
	return rc;
}

/* ,"HOST":{"username":…,"password":…,"auth":…} (the comma after the first) */
static int ps_append_entry(struct secbuf *out, const char *host, const struct cred *c, int first)
{
	struct secbuf pair = SECBUF_INIT;
	const char *secret = c->secret ? c->secret : "";
	int rc = proto_json_field(out, first ? "" : ",", host, strlen(host));

	if (!rc)
		rc = proto_json_field(out, ":{\"username\":", c->username, strlen(c->username));
	if (!rc)
		rc = proto_json_field(out, ",\"password\":", secret, c->secret_len);
	if (!rc)
		rc = secbuf_append_str(out, ",\"auth\":\"");
	if (!rc)
		rc = secbuf_append_str(&pair, c->username) || secbuf_append(&pair, ":", 1) ||
		     secbuf_append(&pair, secret, c->secret_len);
	if (!rc)
		rc = base64_encode(out, pair.data, pair.len);
	if (!rc)
		rc = secbuf_append_str(out, "\"}");
	secbuf_free(&pair);
	return rc ? err_set(ERR_FAILED, "out of memory") : 0;
}

/* "; HOST: new DigitalOcean credentials, valid for 720h0m0s" into notes (for stderr). */
static void ps_note(char *notes, size_t size, const char *host, const struct cred *c, int minted)
{
	char d[48];
	size_t n = strlen(notes);

	if (!minted && !c->expires)
		return; /* a login: it lasts until it is changed */
	if (c->expires)
		kubelet_go_duration(c->expires - (int64_t)time(NULL), d, sizeof(d));
	snprintf(notes + n, size - n, "%s%s: %s%s%s", n ? "; " : "", host,
		 minted ? "new DigitalOcean credentials" : "credentials", c->expires ? ", valid for " : "",
		 c->expires ? d : minted ? " that do not expire" : "");
}

/* Every host's credentials, then the JSON. The logins and other sources' answers are read
 * before DigitalOcean mints anything: a host without credentials must not leave a new token
 * behind on the account, valid and in nobody's hands. */
static int ps_build(struct app *a, const struct ps_args *args, struct secbuf *out, char *notes,
		    size_t notes_size)
{
	struct cred c[PS_MAX_HOSTS] = {{0}};
	int minted[PS_MAX_HOSTS], pass, rc = 0;
	size_t i;

	for (i = 0; i < args->nhosts; i++)
		minted[i] = ps_mints(a, args->hosts[i]);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; !rc && i < args->nhosts; i++) {
			if (minted[i] == pass)
				rc = ps_credentials(a, args->hosts[i], args->lifetime != NULL, minted[i],
						    &c[i]);
			if (rc)
				rc = err_wrap(rc, "%s", args->hosts[i]);
		}
	}
	if (!rc)
		rc = secbuf_append_str(out, "{\"auths\":{");
	for (i = 0; !rc && i < args->nhosts; i++) {
		rc = ps_append_entry(out, args->hosts[i], &c[i], i == 0);
		if (!rc)
			ps_note(notes, notes_size, args->hosts[i], &c[i], minted[i]);
	}
	for (i = 0; i < args->nhosts; i++)
		cred_clear(&c[i]);
	return rc ? rc : secbuf_append_str(out, "}}\n");
}

void pull_secret_run(struct app *a, int argc, char **argv, struct reply *r)
{
	struct ps_args args = {0};
	struct config *cfg = NULL;
	char notes[sizeof(r->diag) - 16] = "";
	int rc = ps_parse_args(argc, argv, &args);

	if (!rc)
		rc = app_load_config(&cfg);
	if (!rc)
		rc = ps_do_settings(cfg, args.lifetime);
	if (!rc)
		rc = app_open_stores(cfg, a);
	/* A secret for a cluster is made on purpose: a broken setting stops it (as store). */
	if (!rc)
		rc = app_open_sources(cfg, a);
	if (!rc)
		rc = ps_build(a, &args, &r->out, notes, sizeof(notes));
	if (rc) {
		secbuf_free(&r->out);
		snprintf(r->diag, sizeof(r->diag), "pull-secret: %s", err_msg());
		r->status = 1;
	} else if (notes[0]) {
		snprintf(r->diag, sizeof(r->diag), "pull-secret: %s", notes);
	}
	app_close(a, cfg);
}
