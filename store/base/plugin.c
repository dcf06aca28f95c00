/* plugin: see plugin.h. */
#include "plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "err.h"

/* Where plugins live relative to the binary's folder (set by CMake from the install layout). */
#ifndef DCK_PLUGIN_RELDIR
#define DCK_PLUGIN_RELDIR "../lib/docker-credential-keyring"
#endif

/* The running binary's path, links resolved: /proc/self/exe, else (no /proc mounted, as in
 * some chroots and sandboxes) the path the kernel was asked to execute. */
static int self_path(char *exe, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", exe, size - 1);
	const char *execfn;

	if (n > 0) {
		exe[n] = '\0';
		return 0;
	}
	execfn = (const char *)getauxval(AT_EXECFN);
	return execfn && strlen(execfn) < size && realpath(execfn, exe) ? 0 : -1;
}

const void *plugin_load(const char *file, const char *symbol)
{
	char exe[PATH_MAX], path[PATH_MAX + 256];
	char *slash;
	void *lib, *sym;

	if (self_path(exe, sizeof(exe)) != 0) {
		err_set(ERR_UNAVAILABLE, "cannot find the running binary to load %s", file);
		return NULL;
	}
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/" DCK_PLUGIN_RELDIR "/%s", exe, file);
	/* RTLD_NOW: a library with a missing symbol fails here, with our one-line error, not with
	 * a dead process at its first call. */
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();

		err_set(ERR_UNAVAILABLE, "cannot load %s: %s", path, why ? why : "no reason given");
		return NULL;
	}
	sym = dlsym(lib, symbol);
	if (!sym) {
		err_set(ERR_UNAVAILABLE, "%s is not a plugin of this version (no %s)", path, symbol);
		dlclose(lib);
		return NULL;
	}
	return sym;
}
