/* config: environment + INI file settings (see config.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	struct entry *items = realloc(c->items, (c->len + 1) * sizeof(*items)), *e;

	if (!items)
		return err_set(ERR_FAILED, "out of memory");
	c->items = items;
	e = &items[c->len++];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	return e->section && e->key && e->value ? 0 : err_set(ERR_FAILED, "out of memory");
}

int config_parse(const char *text, size_t len, const char *path, struct config **out)
{
	struct config *c = calloc(1, sizeof(*c));
	char *copy = secmem_dup(text, len);
	char section[128] = "";
	char *line, *next, *eq, *key;
	unsigned lineno = 0;
	int rc = 0;

	if (!c || !copy)
		rc = err_set(ERR_FAILED, "out of memory");
	else if (memchr(text, '\0', len))
		rc = err_set(ERR_INVALID, "%s: not a text file (it holds a NUL byte)", path);
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
		if (!key[0])
			rc = err_set(ERR_INVALID, "%s:%u: the key before `=` is empty", path, lineno);
		else
			rc = add_entry(c, section, key, trim(eq + 1));
	}
	secmem_free(copy, len + 1);
	if (rc)
		config_free(c);
	else
		*out = c;
	return rc;
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
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1}, {"", 1000}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}};
	char *end;
	double v;
	size_t i;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || isnan(v))
		return ERR_INVALID;
	while (*end == ' ')
		end++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && strcmp(end, units[i].unit) != 0; i++)
		;
	if (i == sizeof(units) / sizeof(units[0]) || (v *= units[i].ms) > 1e15)
		return ERR_INVALID;
	*out = (int64_t)v;
	return 0;
}

const char *config_setting_name(const char *section, const char *key, const char *env, char *buf,
				size_t size)
{
	if (env && getenv(env) && getenv(env)[0])
		snprintf(buf, size, "%s", env);
	else
		snprintf(buf, size, "%s%s%s", section, section[0] ? "." : "", key);
	return buf;
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
	const char *v = config_str(c, section, key, env);
	char lo[32], hi[32], name[256];
	int64_t ms = def;

	if (v && v[0] && config_parse_ms(v, &ms))
		return err_set(ERR_INVALID, "%s: \"%s\" is not a duration (examples: 3, 2.5s, 500ms, 5m)",
			       config_setting_name(section, key, env, name, sizeof(name)), v);
	if (ms < min || ms > max) {
		format_ms(lo, sizeof(lo), min);
		format_ms(hi, sizeof(hi), max);
		return err_set(ERR_INVALID, "%s: \"%s\" is out of range (%s to %s; a bare number is "
			       "seconds)", config_setting_name(section, key, env, name, sizeof(name)), v, lo, hi);
	}
	*out = ms;
	return 0;
}

int config_parse_bool(const char *v)
{
	static const char *const words[] = {"0", "false", "no", "off", "1", "true", "yes", "on"};
	size_t i;

	for (i = 0; v && i < 8; i++)
		if (strcasecmp(v, words[i]) == 0)
			return i >= 4;
	return -1;
}

int config_bool(const struct config *c, const char *section, const char *key, const char *env,
		int def, int *out)
{
	const char *v = config_str(c, section, key, env);
	char name[256];

	*out = v && v[0] ? config_parse_bool(v) : def;
	if (*out >= 0)
		return 0;
	*out = def;
	return err_set(ERR_INVALID, "%s: \"%s\" is not true or false",
		       config_setting_name(section, key, env, name, sizeof(name)), v);
}
