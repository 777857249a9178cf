/* memhold MB [DIRTY_KB]: one process (no children) holding MB MiB of anonymous memory,
 * every page written once, then printing a counter every 0.3 s and writing again the
 * first DIRTY_KB KiB before each line. A workload whose dumped pages are known: the
 * VM's checkpoint checks and benchmark (tests/vm/guest-tests) run it in a container.
 * Built static by tests/vm/run.sh (the guest has no compiler). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	size_t len = (size_t)strtoul(argc > 1 ? argv[1] : "32", NULL, 10) << 20;
	size_t dirty = (size_t)strtoul(argc > 2 ? argv[2] : "0", NULL, 10) << 10;
	struct timespec tick = { 0, 300000000 };
	unsigned char *p;
	unsigned long n;
	size_t i;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("memhold: mmap");
		return 1;
	}
	for (i = 0; i < len; i += 4096)
		p[i] = (unsigned char)((i >> 12) | 1);
	if (dirty > len)
		dirty = len;
	for (n = 1;; n++) {
		for (i = 0; i < dirty; i += 4096)
			p[i] = (unsigned char)(n | 1);
		printf("%lu\n", n);
		fflush(stdout);
		nanosleep(&tick, NULL);
	}
}
