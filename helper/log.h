/* log: debug lines that say why the helper did what it did, for people reading stderr.
 *
 * Off unless DOCKER_CREDENTIAL_KEYRING_DEBUG=1 (or `debug = true` in the config file's top
 * section, which main applies with log_set_level). Each event is one line on stderr,
 * "docker-credential-keyring: debug: …", and, when DOCKER_CREDENTIAL_KEYRING_LOG_FILE names a
 * file, the same line appended there: only to a regular file of this user's that no one else
 * can read (created so when missing), never through a link, never blocking on a FIFO.
 *
 * The contract of every caller: names, hosts, URL paths, statuses, durations and cache
 * decisions only. Never a secret, an Authorization header, a request or response body, a
 * token or a password; tests/integration/test_secrets_sources.py checks it. */
#ifndef DCK_LOG_H
#define DCK_LOG_H

enum { LOG_OFF = 0, LOG_DEBUG = 1 };

/* Read DOCKER_CREDENTIAL_KEYRING_DEBUG (a boolean) once; later calls are no-ops. */
void log_init(void);

/* Force a level (main: `debug = true` in the config file). */
void log_set_level(int level);

int log_enabled(void);

/* One line; a trailing newline is added, control characters are made spaces. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
