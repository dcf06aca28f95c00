/* config: the helper's settings, from the environment and an optional config file.
 *
 * Precedence for every setting: environment variable, then the config file, then the
 * built-in default. The file is INI-like (sections, `key = value`, `#` comments) at
 * $DOCKER_CREDENTIAL_KEYRING_CONFIG, else ${XDG_CONFIG_HOME:-~/.config}/docker-credential-keyring/config.
 * A missing file is fine; a broken one is an error that names the file and the line. */
#ifndef DCK_CONFIG_H
#define DCK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config;

/* Load the file (if any). 0 with *out set, or ERR_INVALID naming file:line. */
int config_load(struct config **out);

/* The config file's path (whether or not it exists). 0, or -1 when no path can be made (no
 * HOME, no XDG_CONFIG_HOME). */
int config_file_path(char *buf, size_t size);

/* Parse text as a config file (path is only used in messages). For tests and fuzzing. */
int config_parse(const char *text, size_t len, const char *path, struct config **out);

void config_free(struct config *c);

/* The value of section.key (section "" is the top, before any [section]), or NULL. */
const char *config_file_value(const struct config *c, const char *section, const char *key);

/* env (may be NULL) wins over section.key; NULL when neither is set. */
const char *config_str(const struct config *c, const char *section, const char *key, const char *env);

/* A duration in milliseconds within [min, max]: "3", "2.5" (seconds), "500ms", "3s", "5m",
 * "1h"; def when unset. Not a duration, or one outside the range: ERR_INVALID naming the setting
 * (and the range: a bare number is seconds, "30000" means 30000 s, not 30 s). */
int config_ms_range(const struct config *c, const char *section, const char *key, const char *env,
		    int64_t def, int64_t min, int64_t max, int64_t *out);

/* 1 for true, yes, on, 1; 0 for false, no, off, 0 (any case); -1 for anything else. */
int config_parse_bool(const char *v);

/* true/false, yes/no, on/off, 1/0. */
int config_bool(const struct config *c, const char *section, const char *key, const char *env,
		int def, int *out);

/* The name a setting is known by in messages: env when that variable is set, else
 * section.key (key alone for the top section), written into buf; buf is returned. */
const char *config_setting_name(const char *section, const char *key, const char *env, char *buf,
				size_t size);

/* Parse a duration as config_ms_range does; for use on values from elsewhere. */
int config_parse_ms(const char *s, int64_t *out);

#endif
