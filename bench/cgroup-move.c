/*
 * How long one move of a process into a cgroup takes, after 100 ms of quiet and after
 * 1 ms: the first move after a quiet spell waits for an RCU grace period (see
 * docs/performance.md, "The first cgroup move after a quiet spell").
 *
 *   gcc -O2 -o /tmp/cgroup-move bench/cgroup-move.c
 *   /tmp/cgroup-move /sys/fs/cgroup/pids/$(grep pids /proc/self/cgroup | cut -d: -f3)
 *
 * It moves itself into the cgroup it is already in (a no-op move that still takes the
 * lock), so it changes nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char path[512], pid[32];
	if (argc != 2) {
		fprintf(stderr, "usage: cgroup-move CGROUP_DIR\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/cgroup.procs", argv[1]);
	int n = snprintf(pid, sizeof pid, "%d", getpid());
	for (int i = 0; i < 8; i++) {
		usleep(i % 2 ? 1000 : 100000);
		int fd = open(path, O_WRONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		double t0 = now_ms();
		ssize_t r = write(fd, pid, n);
		double t1 = now_ms();
		close(fd);
		printf("after %s of quiet: move %s, %.3f ms\n", i % 2 ? "1 ms" : "100 ms",
		       r == n ? "ok" : "failed", t1 - t0);
	}
	return 0;
}
