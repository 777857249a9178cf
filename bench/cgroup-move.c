/*
 * How long one move of a process into a cgroup takes, after 100 ms of quiet and after
 * 1 ms: the first move of another process (or of a whole thread group) after a quiet
 * spell waits for an RCU grace period; a single thread that moves itself by writing 0 to
 * a v1 `tasks` file does not (see docs/performance.md, "The first cgroup move after a
 * quiet spell").
 *
 *   gcc -O2 -o /tmp/cgroup-move bench/cgroup-move.c
 *   /tmp/cgroup-move /sys/fs/cgroup/pids/$(grep pids /proc/self/cgroup | cut -d: -f3)
 *
 * It moves itself into the cgroup it is already in (a no-op move that still takes any
 * lock a real move takes), so it changes nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One write of `value` to DIR/FILE after `quiet_us` of quiet; its time in ms, or -1. */
static double move(const char *dir, const char *file, const char *value, int quiet_us)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	usleep(quiet_us);
	int fd = open(path, O_WRONLY);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	size_t n = strlen(value);
	double t0 = now_ms();
	ssize_t r = write(fd, value, n);
	double t1 = now_ms();
	close(fd);
	return r == (ssize_t)n ? t1 - t0 : -1;
}

int main(int argc, char **argv)
{
	char pid[32];
	if (argc != 2) {
		fprintf(stderr, "usage: cgroup-move CGROUP_DIR\n");
		return 2;
	}
	snprintf(pid, sizeof pid, "%d", getpid());
	/* How runtimes move a container process: its pid written to cgroup.procs. */
	for (int i = 0; i < 6; i++) {
		int quiet = i % 2 ? 1000 : 100000;
		printf("cgroup.procs <- pid, after %s of quiet: %.3f ms\n",
		       i % 2 ? "1 ms" : "100 ms", move(argv[1], "cgroup.procs", pid, quiet));
	}
	/* How kapsel's container process joins (cgroup v1): its only thread moves itself. */
	for (int i = 0; i < 6; i++) {
		int quiet = i % 2 ? 1000 : 100000;
		printf("tasks <- 0 (itself), after %s of quiet: %.3f ms\n",
		       i % 2 ? "1 ms" : "100 ms", move(argv[1], "tasks", "0", quiet));
	}
	return 0;
}
