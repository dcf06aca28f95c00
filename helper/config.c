/* config: environment + INI file settings (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fdio.h"
#include "secmem.h"

/* A config file is a few lines; anything this large is not one. */
#define CONFIG_MAX_BYTES (256 * 1024)

struct entry {
	char *section;
	char *key;
	char *value;
};

struct config {
	struct entry *items;
	size_t len;
};

void config_free(struct config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->len; i++) {
		free(c->items[i].section);
		free(c->items[i].key);
		/* Values may be tokens: wipe them. */
		secmem_free_str(c->items[i].value);
	}
	free(c->items);
	free(c);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int add_entry(struct config *c, const char *section, const char *key, const char *value)
{
	struct entry *items = realloc(c->items, (c->len + 1) * sizeof(*items));

	if (!items)
		return err_set(ERR_FAILED, "out of memory");
	c->items = items;
	items[c->len].section = strdup(section);
	items[c->len].key = strdup(key);
	items[c->len].value = strdup(value);
	c->len++;
	if (!items[c->len - 1].section || !items[c->len - 1].key || !items[c->len - 1].value)
		return err_set(ERR_FAILED, "out of memory");
	return 0;
}

int config_parse(const char *text, size_t len, const char *path, struct config **out)
{
	struct config *c = calloc(1, sizeof(*c));
	char *copy = secmem_dup(text, len);
	char section[128] = "";
	char *line, *next, *eq, *key;
	unsigned lineno = 0;
	int rc = 0;

	if (!c || !copy) {
		rc = err_set(ERR_FAILED, "out of memory");
		goto out;
	}
	if (memchr(text, '\0', len)) {
		rc = err_set(ERR_INVALID, "%s: not a text file (it holds a NUL byte)", path);
		goto out;
	}
	for (line = copy; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (!line[0] || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			char *end = strchr(line, ']');

			if (!end || end[1] || end - line - 1 <= 0 || (size_t)(end - line) > sizeof(section)) {
				rc = err_set(ERR_INVALID, "%s:%u: a section is written [name]", path, lineno);
				break;
			}
			*end = '\0';
			snprintf(section, sizeof(section), "%s", trim(line + 1));
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			rc = err_set(ERR_INVALID, "%s:%u: expected `key = value`", path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(line);
		if (!key[0]) {
			rc = err_set(ERR_INVALID, "%s:%u: the key before `=` is empty", path, lineno);
			break;
		}
		rc = add_entry(c, section, key, trim(eq + 1));
	}
out:
	secmem_free(copy, len + 1);
	if (rc) {
		config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int config_file_path(char *buf, size_t size)
{
	const char *p = getenv("DOCKER_CREDENTIAL_KEYRING_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	int n = -1;

	if (p && p[0])
		n = snprintf(buf, size, "%s", p);
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/docker-credential-keyring/config", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, size, "%s/.config/docker-credential-keyring/config", home);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

int config_load(struct config **out)
{
	char path[4096];
	struct secbuf b = SECBUF_INIT;
	int rc;

	if (config_file_path(path, sizeof(path)) != 0)
		return config_parse("", 0, "(none)", out);
	rc = fdio_read_regular(path, 0, CONFIG_MAX_BYTES, &b);
	if (rc == ENOENT && !getenv("DOCKER_CREDENTIAL_KEYRING_CONFIG"))
		return config_parse("", 0, path, out);
	if (rc == EINVAL)
		return err_set(ERR_INVALID, "cannot read %s: not a regular file", path);
	if (rc == EFBIG)
		return err_set(ERR_INVALID, "%s: larger than the limit of %d bytes", path, CONFIG_MAX_BYTES);
	if (rc)
		return err_set(ERR_INVALID, "cannot read %s: %s", path, strerror(rc));
	rc = config_parse(b.data ? b.data : "", b.len, path, out);
	secbuf_free(&b);
	return rc;
}

const char *config_file_value(const struct config *c, const char *section, const char *key)
{
	size_t i;
	const char *v = NULL;

	for (i = 0; c && i < c->len; i++) /* the last one wins, as in most INI readers */
		if (strcmp(c->items[i].section, section) == 0 && strcasecmp(c->items[i].key, key) == 0)
			v = c->items[i].value;
	return v;
}

const char *config_str(const struct config *c, const char *section, const char *key, const char *env)
{
	const char *v = env ? getenv(env) : NULL;

	if (v && v[0])
		return v;
	return config_file_value(c, section, key);
}

int config_parse_ms(const char *s, int64_t *out)
{
	char *end;
	double v, scale = 1000;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || isnan(v))
		return ERR_INVALID;
	while (*end == ' ')
		end++;
	if (strcmp(end, "ms") == 0)
		scale = 1;
	else if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		scale = 1000;
	else if (strcmp(end, "m") == 0)
		scale = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		scale = 3600 * 1000;
	else
		return ERR_INVALID;
	v *= scale;
	if (v > 1e15)
		return ERR_INVALID;
	*out = (int64_t)v;
	return 0;
}

static const char *setting_name(const char *section, const char *key, const char *env)
{
	static _Thread_local char name[256];

	if (env && getenv(env) && getenv(env)[0])
		return env;
	snprintf(name, sizeof(name), "%s%s%s", section, section[0] ? "." : "", key);
	return name;
}

int config_ms(const struct config *c, const char *section, const char *key, const char *env,
	      int64_t def, int64_t *out)
{
	const char *v = config_str(c, section, key, env);

	if (!v || !v[0]) {
		*out = def;
		return 0;
	}
	if (config_parse_ms(v, out))
		return err_set(ERR_INVALID, "%s: \"%s\" is not a duration (examples: 3, 2.5s, 500ms, 5m)",
			       setting_name(section, key, env), v);
	return 0;
}

/* A duration in ms as people write it: "500ms", "3s", "10m", "1h". */
static void format_ms(char *buf, size_t size, int64_t ms)
{
	if (ms % 3600000 == 0 && ms)
		snprintf(buf, size, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms)
		snprintf(buf, size, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, size, "%lldms", (long long)ms);
}

int config_ms_range(const struct config *c, const char *section, const char *key, const char *env,
		    int64_t def, int64_t min, int64_t max, int64_t *out)
{
	char lo[32], hi[32];
	int64_t v;
	int rc = config_ms(c, section, key, env, def, &v);

	if (rc)
		return rc;
	if (v < min || v > max) {
		format_ms(lo, sizeof(lo), min);
		format_ms(hi, sizeof(hi), max);
		return err_set(ERR_INVALID, "%s: \"%s\" is out of range (%s to %s; a bare number is "
			       "seconds)", setting_name(section, key, env), config_str(c, section, key, env),
			       lo, hi);
	}
	*out = v;
	return 0;
}

int config_bool(const struct config *c, const char *section, const char *key, const char *env,
		int def, int *out)
{
	const char *v = config_str(c, section, key, env);
	static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
	size_t i;

	if (!v || !v[0]) {
		*out = def;
		return 0;
	}
	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return err_set(ERR_INVALID, "%s: \"%s\" is not true or false", setting_name(section, key, env), v);
}
