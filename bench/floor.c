/* The bare-kernel floor for `run true`: the least a runtime must do for the same
 * isolation. clone() into new mount, pid, uts, ipc and network namespaces; in the
 * child: make the mount tree private, bind the rootfs onto itself, pivot_root into
 * it, detach the old root, exec the program. The parent waits and returns its
 * status. No cgroups, no seccomp, no capabilities, no /dev, no /proc.
 *
 *   gcc -O2 -o floor bench/floor.c && ./floor ROOTFS /bin/true
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char **child_argv;
static const char *rootfs;
static char stack[64 * 1024];

static int fail(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    return 127;
}

static int child(void *unused)
{
    (void)unused;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
        return fail("make / private");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL))
        return fail("bind rootfs");
    if (chdir(rootfs))
        return fail("chdir rootfs");
    if (syscall(SYS_pivot_root, ".", "."))
        return fail("pivot_root");
    if (umount2(".", MNT_DETACH))
        return fail("detach old root");
    if (chdir("/"))
        return fail("chdir /");
    execv(child_argv[0], child_argv);
    return fail("execv");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: floor ROOTFS PROGRAM [ARGS...]\n");
        return 2;
    }
    rootfs = argv[1];
    child_argv = argv + 2;
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
    pid_t pid = clone(child, stack + sizeof stack, flags, NULL);
    if (pid < 0)
        return fail("clone");
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
