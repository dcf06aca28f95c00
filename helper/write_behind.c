/* write_behind: the parent's spawn and the copy's format (see write_behind.h). */
#include "write_behind.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fdio.h"
#include "json_secret.h"
#include "log.h"
#include "proto.h"
#include "secmem.h"

extern char **environ;

/* The running binary itself, whatever name or path it was started by, even if the file has
 * been replaced since (an upgrade): the child is the same program as its parent. */
#define SELF_EXE "/proc/self/exe"

/* The descriptors the spawn hands over, each kept above the ones it lands on (0..3), so that
 * no dup2 of the spawn overwrites a source it still needs. */
struct fds {
	int in_r, in_w, null, lock;
	int lock_dup; /* our copy of the caller's lock when it sat too low; -1 when none */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* *fd moved (or, for a descriptor we do not own, copied into *copy) to one at or above
 * WRITE_BEHIND_LOCK_FD + 1, close-on-exec. */
static int raise_fd(int *fd, int owned, int *copy)
{
	int high;

	if (*fd > WRITE_BEHIND_LOCK_FD)
		return 0;
	high = fcntl(*fd, F_DUPFD_CLOEXEC, WRITE_BEHIND_LOCK_FD + 1);
	if (high < 0)
		return err_set(ERR_FAILED, "cannot move a descriptor: %s", strerror(errno));
	if (owned)
		close(*fd);
	else
		*copy = high;
	*fd = high;
	return 0;
}

static int open_fds(struct fds *f, int lock_fd)
{
	int p[2], rc;

	f->in_r = f->in_w = f->null = f->lock_dup = -1;
	f->lock = lock_fd;
	if (pipe2(p, O_CLOEXEC) != 0)
		return err_set(ERR_FAILED, "no pipe: %s", strerror(errno));
	f->in_r = p[0];
	f->in_w = p[1];
	f->null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (f->null < 0)
		return err_set(ERR_FAILED, "cannot open /dev/null: %s", strerror(errno));
	rc = raise_fd(&f->in_r, 1, NULL);
	if (!rc)
		rc = raise_fd(&f->null, 1, NULL);
	if (!rc && f->lock >= 0)
		rc = raise_fd(&f->lock, 0, &f->lock_dup);
	return rc;
}

static void close_fds(struct fds *f)
{
	close_fd(&f->in_r);
	close_fd(&f->in_w);
	close_fd(&f->null);
	close_fd(&f->lock_dup);
}

#ifndef POSIX_SPAWN_SETSID
static int spawn_child(const struct fds *f, pid_t *pid)
{
	(void)f;
	(void)pid;
	return err_set(ERR_UNAVAILABLE, "this C library cannot start a session (POSIX_SPAWN_SETSID)");
}
#else
static int spawn_child(const struct fds *f, pid_t *pid)
{
	char *argv[] = {"docker-credential-keyring", WRITE_BEHIND_VERB, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int e;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return err_set(ERR_FAILED, "out of memory");
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err_set(ERR_FAILED, "out of memory");
	}
	sigemptyset(&none);
	e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	if (!e)
		e = posix_spawnattr_setsigmask(&attr, &none);
	/* dup2 onto a different descriptor clears close-on-exec on the copy the child keeps. */
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, f->in_r, STDIN_FILENO);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, f->null, STDOUT_FILENO);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, f->null, STDERR_FILENO);
	if (!e && f->lock >= 0)
		e = posix_spawn_file_actions_adddup2(&fa, f->lock, WRITE_BEHIND_LOCK_FD);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* Nothing else of ours, even a descriptor a library left inheritable. */
	if (!e)
		e = posix_spawn_file_actions_addclosefrom_np(&fa, f->lock >= 0 ? WRITE_BEHIND_LOCK_FD + 1
									   : WRITE_BEHIND_LOCK_FD);
#endif
	if (!e)
		e = posix_spawn(pid, SELF_EXE, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		return err_set(ERR_UNAVAILABLE, "cannot start %s: %s", SELF_EXE, strerror(e));
	return 0;
}
#endif

int write_behind_spawn(const struct cred *c, int lock_fd)
{
	struct secbuf copy = SECBUF_INIT;
	struct fds f;
	pid_t pid;
	int rc;

	rc = open_fds(&f, lock_fd);
	if (!rc)
		rc = write_behind_format(c, &copy);
	if (!rc)
		rc = spawn_child(&f, &pid);
	if (!rc) {
		close_fd(&f.in_r); /* the child's end: a child that dies makes our write fail */
		/* Room for the whole copy when the pipe can grow that far, so the parent need not
		 * wait for the child to start reading; else the write waits for it. */
		if (copy.len > 65536)
			fcntl(f.in_w, F_SETPIPE_SZ, (int)(copy.len < (1u << 20) ? copy.len : (1u << 20)));
		if (fdio_write_all(f.in_w, copy.data, copy.len) != 0)
			rc = err_set(ERR_FAILED, "the child did not take the copy: %s",
				     errno ? strerror(errno) : "short write");
		if (!rc) {
			log_debug("%s: write-behind child %ld stores the copy", c->server, (long)pid);
			/* Left open: the child reads to end of file, which comes when this process
			 * exits. So its loading and D-Bus work start once the client has its answer,
			 * instead of competing with our last milliseconds for the CPU. */
			f.in_w = -1;
		}
	}
	secbuf_free(&copy);
	close_fds(&f);
	return rc;
}

/* ---- the copy's format --------------------------------------------------------------------- */

int write_behind_format(const struct cred *c, struct secbuf *out)
{
	const char *origin = c->origin ? c->origin : CRED_ORIGIN_LOGIN;
	char expires[32];
	int rc;

	snprintf(expires, sizeof(expires), ",\"Expires\":%lld}\n", (long long)c->expires);
	rc = proto_json_field(out, "{\"ServerURL\":", c->server, strlen(c->server));
	if (!rc)
		rc = proto_json_field(out, ",\"Username\":", c->username, strlen(c->username));
	if (!rc)
		rc = proto_json_field(out, ",\"Secret\":", c->secret ? c->secret : "",
				      c->secret ? c->secret_len : 0);
	if (!rc)
		rc = proto_json_field(out, ",\"Origin\":", origin, strlen(origin));
	return rc ? rc : secbuf_append_str(out, expires);
}

enum { MAY_BE_EMPTY = 1, MAY_HOLD_NUL = 2 };

/* obj[key], a string (as flags allow), copied into *out (wiped on free). */
static int text(struct json_object *obj, const char *key, int flags, char **out, size_t *n)
{
	const char *s;
	size_t len;

	if (json_secret_string(obj, key, &s, &len) != 0 || !s || (!len && !(flags & MAY_BE_EMPTY)) ||
	    (!(flags & MAY_HOLD_NUL) && memchr(s, '\0', len)))
		return err_set(ERR_INVALID, "invalid copy: no usable %s", key);
	*out = secmem_dup(s, len);
	if (n)
		*n = len;
	return *out ? 0 : err_set(ERR_FAILED, "out of memory");
}

int write_behind_parse(const char *in, size_t len, struct cred *out)
{
	const char *why;
	struct json_object *obj = json_secret_parse(in, len, 4, &why), *v = NULL;
	struct cred c = {0};
	int rc;

	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_secret_free(obj);
		return err_set(ERR_INVALID, "invalid copy: not a JSON object");
	}
	rc = text(obj, "ServerURL", 0, &c.server, NULL);
	if (!rc)
		rc = text(obj, "Username", MAY_BE_EMPTY, &c.username, NULL);
	if (!rc)
		rc = text(obj, "Secret", MAY_BE_EMPTY | MAY_HOLD_NUL, &c.secret, &c.secret_len);
	if (!rc)
		rc = text(obj, "Origin", 0, &c.origin, NULL);
	if (!rc && (!json_object_object_get_ex(obj, "Expires", &v) ||
		    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0))
		rc = err_set(ERR_INVALID, "invalid copy: no usable Expires");
	if (!rc) {
		c.expires = json_object_get_int64(v);
		*out = c;
		memset(&c, 0, sizeof(c));
	}
	cred_clear(&c);
	json_secret_free(obj);
	return rc;
}
