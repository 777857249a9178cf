/*
 * first-calls: the functions of one executable in the order they first run, across
 * every process of a command (scripts/link-order.sh; docs/performance.md, "Peak RSS").
 *
 *   first-calls SYMBOLS BINARY OUT -- COMMAND [ARG]...
 *
 * SYMBOLS has one function a line, "HEXADDR NAME", addresses as in BINARY's symbol
 * table (BINARY is a position-independent executable). COMMAND runs under ptrace with
 * every process it forks, clones or execs followed. Whenever a process execs BINARY
 * (the same device and inode, so also through another mount of the same file), an int3
 * is written over the first byte of each function that has not run yet; the first trap
 * of a function appends its names to OUT and puts the byte back in that process. Code
 * after the first call runs untraced, so a whole create, start, run and delete take
 * seconds. The exit status is COMMAND's.
 *
 * A tool of the build, not of kapsel: plain C on the tracer's side, no kapsel code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct func {
	uint64_t addr;
	char *names; /* one or more names (aliases), each followed by '\n' */
	int seen;
};

static struct func *funcs;
static size_t nfuncs;
static dev_t bin_dev;
static ino_t bin_ino;
static unsigned char *image; /* BINARY's bytes at each function's address (file offsets) */
static FILE *out;

/* Per traced process: its load base when it runs BINARY, 0 otherwise. */
struct proc {
	pid_t pid;
	uint64_t base;
	int started;
};
static struct proc *procs;
static size_t nprocs, capprocs;

static void die(const char *what)
{
	fprintf(stderr, "first-calls: %s: %s\n", what, strerror(errno));
	exit(127);
}

static struct proc *proc_of(pid_t pid, int create)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	if (!create)
		return NULL;
	if (nprocs == capprocs) {
		capprocs = capprocs ? 2 * capprocs : 64;
		procs = realloc(procs, capprocs * sizeof *procs);
		if (!procs)
			die("realloc");
	}
	procs[nprocs] = (struct proc){.pid = pid};
	return &procs[nprocs++];
}

static void forget(pid_t pid)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i].pid == pid) {
			procs[i] = procs[--nprocs];
			return;
		}
}

static int cmp_addr(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct func *func_at(uint64_t addr)
{
	size_t lo = 0, hi = nfuncs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (funcs[mid].addr == addr)
			return &funcs[mid];
		if (funcs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void read_symbols(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	size_t capf = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *name;
		uint64_t addr = strtoull(line, &name, 16);
		if (*name != ' ')
			continue;
		name++;
		if (nfuncs == capf) {
			capf = capf ? 2 * capf : 4096;
			funcs = realloc(funcs, capf * sizeof *funcs);
			if (!funcs)
				die("realloc");
		}
		funcs[nfuncs++] = (struct func){.addr = addr, .names = strdup(name)};
	}
	fclose(f);
	free(line);
	qsort(funcs, nfuncs, sizeof *funcs, cmp_addr);
	/* Aliases (one address, several names): one entry with all the names. */
	size_t w = 0;
	for (size_t r = 0; r < nfuncs; r++) {
		if (w > 0 && funcs[w - 1].addr == funcs[r].addr) {
			char *both;
			if (asprintf(&both, "%s%s", funcs[w - 1].names, funcs[r].names) < 0)
				die("asprintf");
			free(funcs[w - 1].names);
			free(funcs[r].names);
			funcs[w - 1].names = both;
		} else {
			funcs[w++] = funcs[r];
		}
	}
	nfuncs = w;
}

/* BINARY's bytes, indexed by virtual address: the loadable segments of its file. */
static void read_image(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(path);
	bin_dev = st.st_dev;
	bin_ino = st.st_ino;
	unsigned char *file = malloc(st.st_size);
	if (!file || pread(fd, file, st.st_size, 0) != st.st_size)
		die("read the binary");
	close(fd);
	/* Program headers of a 64-bit ELF (x86_64 only). */
	uint64_t phoff = *(uint64_t *)(file + 32);
	uint16_t phentsize = *(uint16_t *)(file + 54), phnum = *(uint16_t *)(file + 56);
	uint64_t top = 0;
	for (int i = 0; i < phnum; i++) {
		unsigned char *ph = file + phoff + (uint64_t)i * phentsize;
		if (*(uint32_t *)ph != 1 /* PT_LOAD */)
			continue;
		uint64_t vaddr = *(uint64_t *)(ph + 16), memsz = *(uint64_t *)(ph + 40);
		if (vaddr + memsz > top)
			top = vaddr + memsz;
	}
	image = calloc(1, top);
	if (!image)
		die("calloc");
	for (int i = 0; i < phnum; i++) {
		unsigned char *ph = file + phoff + (uint64_t)i * phentsize;
		if (*(uint32_t *)ph != 1)
			continue;
		uint64_t off = *(uint64_t *)(ph + 8), vaddr = *(uint64_t *)(ph + 16);
		uint64_t filesz = *(uint64_t *)(ph + 32);
		memcpy(image + vaddr, file + off, filesz);
	}
	free(file);
	for (size_t i = 0; i < nfuncs; i++)
		if (funcs[i].addr >= top) {
			fprintf(stderr, "first-calls: %s: address %llx is outside the binary\n",
				funcs[i].names, (unsigned long long)funcs[i].addr);
			exit(127);
		}
}

/* Whether pid now runs BINARY; its load base if so (0: not BINARY). */
static uint64_t load_base(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	if (stat(path, &st) < 0 || st.st_dev != bin_dev || st.st_ino != bin_ino)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[4096];
	uint64_t base = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, off, ino;
		unsigned maj, min;
		if (sscanf(line, "%llx-%*x %*s %llx %x:%x %llu", &lo, &off, &maj, &min, &ino) == 5 &&
		    ino == bin_ino && off == 0) {
			base = lo;
			break;
		}
	}
	fclose(f);
	return base;
}

static void poke(pid_t pid, uint64_t addr, unsigned char byte)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, &byte, 1, addr) != 1)
		die("write /proc/PID/mem");
	close(fd);
}

/* An int3 over every function of BINARY that has not run yet, in pid's image. */
static void arm(pid_t pid, uint64_t base)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /proc/PID/mem");
	unsigned char cc = 0xcc;
	for (size_t i = 0; i < nfuncs; i++)
		if (!funcs[i].seen && pwrite(fd, &cc, 1, base + funcs[i].addr) != 1)
			die("write /proc/PID/mem");
	close(fd);
}

/* A trap in pid: one of our int3s (handled: returns 1) or not ours (returns 0). */
static int breakpoint(pid_t pid, struct proc *p)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) < 0 || si.si_code != SI_KERNEL)
		return 0;
	/* A new child can trap before its parent's fork event is seen. */
	if (!p->base)
		p->base = load_base(pid);
	if (!p->base)
		return 0;
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		die("PTRACE_GETREGS");
	uint64_t addr = regs.rip - 1;
	if (addr < p->base)
		return 0;
	struct func *f = func_at(addr - p->base);
	if (!f)
		return 0;
	if (!f->seen) {
		f->seen = 1;
		fputs(f->names, out);
	}
	poke(pid, addr, image[f->addr]);
	regs.rip = addr;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		die("PTRACE_SETREGS");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: first-calls SYMBOLS BINARY OUT -- COMMAND [ARG]...\n");
		return 2;
	}
	read_symbols(argv[1]);
	read_image(argv[2]);
	out = fopen(argv[3], "w");
	if (!out)
		die(argv[3]);

	pid_t top = fork();
	if (top < 0)
		die("fork");
	if (top == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			die("PTRACE_TRACEME");
		raise(SIGSTOP);
		execvp(argv[5], argv + 5);
		die(argv[5]);
	}
	int status, code = 127;
	if (waitpid(top, &status, 0) < 0)
		die("waitpid");
	if (ptrace(PTRACE_SETOPTIONS, top, 0,
		   PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
			   PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0)
		die("PTRACE_SETOPTIONS");
	proc_of(top, 1)->started = 1;
	ptrace(PTRACE_CONT, top, 0, 0);

	for (;;) {
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			die("waitpid");
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == top)
				code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			forget(pid);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		struct proc *p = proc_of(pid, 1);
		int sig = WSTOPSIG(status), event = status >> 16, inject = 0;
		if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
		    event == PTRACE_EVENT_CLONE) {
			unsigned long child;
			ptrace(PTRACE_GETEVENTMSG, pid, 0, &child);
			/* A child shares (or copies) its parent's image and int3s. */
			struct proc *c = proc_of((pid_t)child, 1);
			p = proc_of(pid, 0);
			c->base = p->base;
		} else if (event == PTRACE_EVENT_EXEC) {
			p->base = load_base(pid);
			if (p->base)
				arm(pid, p->base);
		} else if (event) {
			/* another ptrace event: nothing to do */
		} else if (sig == SIGSTOP && !p->started) {
			/* the stop a newly followed process starts with */
		} else if (sig == SIGTRAP && breakpoint(pid, p)) {
			/* ours */
		} else {
			inject = sig;
		}
		p = proc_of(pid, 0);
		if (p)
			p->started = 1;
		ptrace(PTRACE_CONT, pid, 0, inject);
	}
	if (fclose(out) != 0)
		die(argv[3]);
	return code;
}
