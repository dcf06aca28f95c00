/* bench-spawn: runs one command the way the benchmark times it, and says what it cost.
 *
 *     bench-spawn STDIN_FILE STDERR_FILE PROGRAM [ARG...]
 *
 * PROGRAM runs with stdin from STDIN_FILE, stdout to /dev/null, stderr to STDERR_FILE and this
 * process's environment. One line goes to our stdout: "<nanoseconds> <peak RSS KiB> <status>",
 * the time from just before posix_spawn to wait4's return, the peak RSS from wait4's rusage,
 * status the exit code (or 128 + signal).
 *
 * Why a C launcher and not Python's own posix_spawn: the kernel folds the peak RSS of the
 * address space that exec replaces into the child's ru_maxrss, and glibc's posix_spawn is a
 * vfork, so that address space is the parent's. From Python every call would be charged the
 * interpreter's 10 MB or more; from this small static program it is charged a few hundred KiB,
 * well under what a helper uses (the bench prints /bin/true's figure as that floor). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	struct rusage ru;
	pid_t pid;
	int st, code;

	if (argc < 4) {
		fprintf(stderr, "usage: bench-spawn STDIN_FILE STDERR_FILE PROGRAM [ARG...]\n");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, argv[1], O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, environ) != 0) {
		perror(argv[3]);
		return 2;
	}
	if (wait4(pid, &st, 0, &ru) != pid) {
		perror("wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("%lld %ld %d\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
	       ru.ru_maxrss, code);
	return 0;
}
