/* rancher_api: the requests the Rancher source makes to one Rancher 1.x (Cattle) API endpoint,
 * and the checks every answer goes through before source_rancher.c sees it.
 *
 * Why a layer of its own: Rancher's answers are the hostile part of this program. Collections
 * come in pages (followed to the end, at most RANCHER_API_MAX_PAGES of them and
 * RANCHER_API_MAX_ITEMS items), resources carry fields of any JSON type, errors have their own
 * shape, links point wherever the server likes, and the create response and environmentAdmin
 * reads carry secretValue in clear. Here every answer is parsed into small C structs with
 * checked fields, every JSON string is wiped before json-c frees it, every error becomes one
 * line, and every request is cut to what is left of the operation's deadline. URLs are always
 * built from the configured base (never from the server's links), so the API key goes nowhere
 * else. */
#ifndef DCK_RANCHER_API_H
#define DCK_RANCHER_API_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "secmem.h"

/* A server that keeps sending pagination.next past this many pages is broken or hostile. */
#define RANCHER_API_MAX_PAGES 100
/* Nor does a Rancher environment hold more registries or credentials than this: a collection
 * that does is refused, whatever its pages (each may be 1 MiB of small items). */
#define RANCHER_API_MAX_ITEMS 10000

struct rancher_api {
	char *base;              /* scheme://authority[/prefix], no trailing slash; owned */
	char host[256];          /* the authority, for messages */
	char ver[8];             /* "v1" or "v2-beta" */
	char project[32];        /* "1a5"; "" until known (then resolved, see rancher_api_list) */
	int project_only;        /* it is the only environment Rancher lists for an account key */
	char kind[32];           /* the key's account kind, as Rancher said ("project", "user"), or "" */
	char account_id[32];     /* X-Api-Account-Id of the last answer, "" when it had none */
	const char *url_setting; /* the setting the URL came from ("RANCHER_URL"), for messages */
	char *access;            /* access key (not secret); owned */
	char *secret;            /* secret key; secmem, owned; NULL until loaded */
	const char *key_names;   /* the settings that hold the key pair, for messages */
	const struct http_opts *http; /* not owned */
	int64_t deadline;        /* CLOCK_MONOTONIC ms at which the current operation must end */
	int64_t budget_ms;       /* what rancher_api_begin allows one operation */
	long last_status;        /* of the last failed call: HTTP status, 0 when none arrived */
	char last_code[48];      /* Rancher's error code of that call ("ServerAddressUsed"), or "" */
};

/* Fill a from a URL setting (`setting`, a string that outlives a, names it in messages):
 * https://host[:port][/prefix][/v1|/v2-beta[/projects/<id>][/schemas]]. No version in the path
 * means v2-beta. ERR_INVALID for anything else. a->access, secret, key_names and http are left
 * to the caller. */
int rancher_api_parse_url(struct rancher_api *a, const char *setting, const char *url);

void rancher_api_clear(struct rancher_api *a);

/* Is url a Rancher 2.x URL (a path segment "v3" before any v1 or v2-beta)? */
int rancher_api_url_is_v3(const char *url);

/* Is p (n bytes) an environment id: "1a" and digits, at most 20 characters? */
int rancher_api_valid_project(const char *p, size_t n);

/* Start the clock of one operation (a->budget_ms from now). */
void rancher_api_begin(struct rancher_api *a);

/* Milliseconds left before a->deadline (<= 0: none). */
int64_t rancher_api_remaining(const struct rancher_api *a);

/* Sleep ms, but never past the deadline. ERR_TIMEOUT when no time is left afterwards. */
int rancher_api_pause(struct rancher_api *a, int64_t ms);

/* Was the last failure one that may go away by itself (no answer, 5xx, 409, a state that
 * changed under us)? 401 and 403 never do. */
int rancher_api_retryable(const struct rancher_api *a);

enum rancher_api_kind { RANCHER_API_REGISTRY, RANCHER_API_CREDENTIAL };

/* One registry or registryCredential, its fields checked. */
struct rancher_obj {
	char id[48];             /* [0-9a-z]+, safe in a URL */
	char state[32];          /* "active", "registering", …; "" when absent */
	int transitioning;       /* transitioning == "yes" */
	char message[128];       /* transitioningMessage, made printable; "" when none */
	char *address;           /* registry: serverAddress, NULL when absent or null */
	char registry_id[48];    /* credential: registryId, "" when absent */
	char *public_value;      /* credential: publicValue (the username), NULL when null */
	char *description;       /* description, NULL when null */
	char *secret_value;      /* credential: secretValue (secmem), NULL when null */
	size_t secret_len;
};

void rancher_api_obj_clear(struct rancher_obj *o);

struct rancher_objs {
	struct rancher_obj *items;
	size_t len;
	size_t cap;              /* items allocated (len <= cap) */
};

void rancher_api_objs_clear(struct rancher_objs *l);

/* Is o in a state that ends by itself (registering, deactivating, updating-active, …)? */
int rancher_api_obj_busy(const struct rancher_obj *o);

/* Every item of a collection, all pages, in the server's order (id ascending), at most
 * RANCHER_API_MAX_ITEMS. query: extra filters such as "registryId=1sp1&state=active", or NULL.
 * The filters, and leaving out removed items, are the server's doing (Rancher lists removed
 * ones only when asked): nothing here checks them, so callers check what they rely on
 * (rancher_gone, the state, the registryId).
 *
 * This and every call below work in a->project. When it is not known (neither the URL nor the
 * setting names one), the first answer's X-Api-Account-Kind says whose key this is: an
 * environment key's project is its X-Api-Account-Id. Another key (an account key) gets the one
 * environment Rancher lists for it (GET …/projects), or, with several, ERR_INVALID listing
 * them and naming the setting to choose with; with none, ERR_DENIED. */
int rancher_api_list(struct rancher_api *a, enum rancher_api_kind k, const char *query,
		     struct rancher_objs *out);

/* One GET of the registries collection (one page of at most 100, pagination not followed),
 * for doctor: proves the key is accepted. *count: the registries on that page; *more: the
 * server has further pages. a->project is learnt from the answer when it was unknown. */
int rancher_api_probe(struct rancher_api *a, size_t *count, int *more);

/* Has Rancher said (X-Api-Account-Kind) that a's key is not an environment's own (an account
 * key: "user", "admin")? 0 also while it has not said. */
int rancher_api_account_key(const struct rancher_api *a);

/* One change, and *out the resource Rancher answers with. verb: "create" (POST body, id NULL),
 * "update" (PUT the changed fields in body to id), "delete" (Rancher refuses it on an active
 * resource: deactivate first) or an action on id ("activate", "deactivate"; body NULL). */
int rancher_api_change(struct rancher_api *a, enum rancher_api_kind k, const char *verb,
		       const char *id, const struct secbuf *body, struct rancher_obj *out);

#endif
