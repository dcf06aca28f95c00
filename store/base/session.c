/* session: see session.h. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

/* Ours, and not writable by anyone else (a 1777 /tmp is not). */
static int private_to_us(const struct stat *st)
{
	return st->st_uid == getuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

const char *session_runtime_dir(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (!rt || rt[0] != '/' || stat(rt, &st) != 0 || !S_ISDIR(st.st_mode) || !private_to_us(&st))
		return NULL;
	return rt;
}

/* The D-Bus address escaping of a path: bytes outside [-_/.\*0-9A-Za-z] become %XX. */
static int escape_path(const char *path, char *out, size_t size)
{
	static const char plain[] = "-_/.\\*";
	size_t n = 0;

	for (; *path; path++) {
		unsigned char c = (unsigned char)*path;
		int w = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			strchr(plain, c) ? snprintf(out + n, size - n, "%c", c)
					 : snprintf(out + n, size - n, "%%%02x", c);

		if (w < 0 || (size_t)w >= size - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

const char *session_bus_origin(void)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS"), *rt;
	char path[4096];
	struct stat st;

	if (addr && addr[0])
		return "DBUS_SESSION_BUS_ADDRESS";
	rt = session_runtime_dir();
	if (!rt || (size_t)snprintf(path, sizeof(path), "%s/bus", rt) >= sizeof(path) ||
	    lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != getuid())
		return NULL;
	return "$XDG_RUNTIME_DIR/bus";
}

int session_bus_address(char *buf, size_t size)
{
	const char *origin = session_bus_origin(), *rt;
	char path[4096];
	int n;

	buf[0] = '\0';
	if (!origin)
		return -1;
	if (strcmp(origin, "DBUS_SESSION_BUS_ADDRESS") == 0) {
		n = snprintf(buf, size, "%s", getenv("DBUS_SESSION_BUS_ADDRESS"));
		if (n < 0 || (size_t)n >= size)
			return buf[0] = '\0', -1;
		return 0;
	}
	rt = session_runtime_dir();
	if (!rt)
		return -1;
	snprintf(path, sizeof(path), "%s/bus", rt);
	n = snprintf(buf, size, "unix:path=");
	if (n < 0 || (size_t)n >= size || escape_path(path, buf + n, size - (size_t)n) != 0)
		return buf[0] = '\0', -1;
	return 0;
}

/* Make dir (0700) or accept it when it exists, is a directory (not a link), ours and private. */
static int usable_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return 0;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
	       !(st.st_mode & 077);
}

int session_lock_dir(char *buf, size_t size)
{
	const char *rt = session_runtime_dir(), *tmp;
	unsigned uid = (unsigned)getuid(), i;
	int n;

	if (rt) {
		n = snprintf(buf, size, "%s/docker-credential-keyring-%u", rt, uid);
		if (n > 0 && (size_t)n < size && usable_dir(buf))
			return 0;
	}
	/* /tmp is shared: a name someone else took first is skipped, the same way by every one of
	 * our processes, so they still meet in one directory. */
	tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	for (i = 0; i < 16; i++) {
		n = i ? snprintf(buf, size, "%s/docker-credential-keyring-%u.%u", tmp, uid, i)
		      : snprintf(buf, size, "%s/docker-credential-keyring-%u", tmp, uid);
		if (n > 0 && (size_t)n < size && usable_dir(buf))
			return 0;
	}
	return err_set(ERR_FAILED, "no private directory for lock files: %s/docker-credential-"
		       "keyring-%u and the next 15 names are taken by someone else", tmp, uid);
}
