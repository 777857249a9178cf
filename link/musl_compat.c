/*
 * Link-time compatibility for building kapsel against musl's libc.a.
 *
 * kapsel is compiled for x86_64-unknown-linux-gnu (the one Rust target this
 * toolchain has) and linked statically with musl instead of glibc (see
 * .cargo/cc-static-kapsel). Rust's std for that target and GCC's libgcc_eh name
 * a few glibc-only functions; this file provides them, and replaces two musl
 * functions whose behaviour differs in a way kapsel can reach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <link.h>
#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * std reads the glibc version to decide whether posix_spawn reports exec errors
 * (glibc >= 2.24). A string that is not a glibc version makes std take its
 * fork+exec path, which is correct with any libc.
 */
const char *gnu_get_libc_version(void)
{
	return "musl";
}

/* glibc 2.35's struct dl_find_object on x86_64 (dlfcn.h). */
struct dl_find_object {
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	void *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long dlfo_reserved[7];
};

struct find_pc {
	uintptr_t pc;
	struct dl_find_object *out;
	int found;
};

static int find_pc_in_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_pc *q = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	void *eh = NULL;
	int hit = 0;
	(void)size;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + p->p_vaddr;
		if (p->p_type == PT_GNU_EH_FRAME)
			eh = (void *)start;
		if (p->p_type != PT_LOAD)
			continue;
		if (start < lo)
			lo = start;
		if (start + p->p_memsz > hi)
			hi = start + p->p_memsz;
		if (q->pc >= start && q->pc < start + p->p_memsz)
			hit = 1;
	}
	if (!hit)
		return 0;
	memset(q->out, 0, sizeof *q->out);
	q->out->dlfo_map_start = (void *)lo;
	q->out->dlfo_map_end = (void *)hi;
	q->out->dlfo_eh_frame = eh;
	q->found = 1;
	return 1;
}

/*
 * libgcc_eh (built against glibc >= 2.35) finds unwind tables with this glibc
 * function; musl has dl_iterate_phdr, which answers the same question. Only
 * panic backtraces unwind: kapsel is built with panic=abort.
 */
int _dl_find_object(void *pc, struct dl_find_object *out)
{
	struct find_pc q = { (uintptr_t)pc, out, 0 };
	dl_iterate_phdr(find_pc_in_object, &q);
	return q.found ? 0 : -1;
}

/*
 * musl's open() follows every O_CLOEXEC open with fcntl(F_SETFD, FD_CLOEXEC), for
 * kernels older than 2.6.23 that ignored the flag; std opens every file with
 * O_CLOEXEC, so a create made ~55 redundant system calls. kapsel needs Linux 5.x
 * (clone3, openat2), where the flag always works: this open() is openat() alone.
 */
int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return syscall(SYS_openat, AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

/* std names open64; musl's headers make that a macro for open. */
#undef open64
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

/*
 * musl's raise() and abort() signal the thread id cached in the thread
 * descriptor. kapsel makes container processes with a raw clone3 (for
 * CLONE_INTO_CGROUP), after which that cache still holds the parent's id: a
 * panic in such a child (panic=abort calls abort) would signal the runtime, or
 * with a shared pid namespace any process with that number. These versions ask
 * the kernel for the caller's id, as glibc's do.
 */
int raise(int sig)
{
	return syscall(SYS_tkill, syscall(SYS_gettid), sig);
}

_Noreturn void abort(void)
{
	struct sigaction dfl;
	sigset_t abrt;

	raise(SIGABRT);
	/* A handler returned, or SIGABRT is blocked or ignored: force the default. */
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGABRT, &dfl, NULL);
	sigemptyset(&abrt);
	sigaddset(&abrt, SIGABRT);
	sigprocmask(SIG_UNBLOCK, &abrt, NULL);
	raise(SIGABRT);
	/* The init of a pid namespace ignores its own SIGABRT. */
	syscall(SYS_exit_group, 127);
	for (;;)
		;
}

/*
 * std (gnu target) asks pthread_getattr_np for the main thread's stack at start-up,
 * to name a stack overflow in its SIGSEGV handler. musl answers for the main thread
 * by probing the stack downwards with one failing mremap(2) per mapped page (about
 * 32 system calls in every kapsel process image, 64 in a create), and the answer is
 * the stack's current size, not where the kernel's guard will be: std built for
 * musl skips the query for that reason (install_main_guard_linux_musl). The link
 * wraps the function (-Wl,--wrap=pthread_getattr_np): for the main thread the
 * answer is "not available", as on the musl target, so a stack overflow ends in a
 * plain SIGSEGV; any other thread gets musl's own answer.
 */
int __real_pthread_getattr_np(pthread_t thread, pthread_attr_t *attr);

int __wrap_pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
	if (pthread_equal(thread, pthread_self()) && syscall(SYS_gettid) == getpid())
		return ENOSYS;
	return __real_pthread_getattr_np(thread, attr);
}
