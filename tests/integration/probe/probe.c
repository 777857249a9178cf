/* The conformance probe: run as a container's process, it prints one JSON object describing
 * what the process sees (ids, capabilities, limits, namespaces, mounts, ...), so tests can
 * compare it with config.json from the host side. Arguments add optional items:
 *   sysctl:NAME     value of /proc/sys/NAME (dots become slashes), under "sysctl"
 *   stat:PATH       "type uid gid mode rdev-major rdev-minor" of PATH, under "stat"
 *   sleep:SECONDS   sleep before printing (for tests that look at a running probe)
 *   read:PATH       the first line of PATH (at most 64 bytes) or "errno N", under "read"
 *   try:SYSCALL     call SYSCALL with harmless arguments in a child and report "ret R errno E"
 *                   or "signal S" (a seccomp filter's answer), under "try"
 *   fds             every open descriptor and what it points to, under "fds"
 *   dev             every entry below /dev (two levels): "type uid gid mode major minor" or
 *                   "-> target", under "dev"
 *   net             each interface of /proc/net/dev with its flags (SIOCGIFFLAGS), under "net"
 *   linger:SECONDS  leave a child behind that sleeps SECONDS in its own session
 *   wait:term       after printing, wait for SIGTERM and exit 0 (SIGALRM ends it after 60 s)
 * Built static (gcc -static) so it runs in any rootfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void str(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        /* Control bytes and bytes above ASCII (a binary file's first bytes) as escapes, so
         * the line is valid JSON whatever it quotes. */
        else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void key(const char *k) { str(k); putchar(':'); }

/* The whole file, trailing newline removed, or NULL. */
static char *slurp(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    if (len && buf[len - 1] == '\n') buf[len - 1] = 0;
    return buf;
}

static void file_value(const char *k, const char *path) {
    char *v = slurp(path);
    key(k);
    if (v) str(v); else printf("null");
    free(v);
}

/* A file as a JSON array of its lines. */
static void lines(const char *k, const char *path) {
    char *text = slurp(path), *save = NULL;
    key(k);
    putchar('[');
    int first = 1;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        if (!first) putchar(',');
        first = 0;
        str(l);
    }
    putchar(']');
    free(text);
}

/* "Key:\tvalue" lines of /proc/self/status as a JSON object. */
static void status(void) {
    static const char *keys[] = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd",
                                 "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters", "SigBlk",
                                 "SigIgn", "Cpus_allowed_list", "Mems_allowed_list", NULL};
    char *text = slurp("/proc/self/status"), *save = NULL;
    key("status");
    putchar('{');
    int first = 1;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon) continue;
        *colon = 0;
        for (int i = 0; keys[i]; i++) {
            if (strcmp(l, keys[i])) continue;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            for (char *p = v; *p; p++) if (*p == '\t') *p = ' ';
            size_t n = strlen(v);
            while (n && v[n - 1] == ' ') v[--n] = 0;
            if (!first) putchar(',');
            first = 0;
            key(l);
            str(v);
        }
    }
    putchar('}');
    free(text);
}

static void rlimits(void) {
    static const struct { const char *name; int res; } all[] = {
        {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK}};
    key("rlimits");
    putchar('{');
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        struct rlimit r;
        if (i) putchar(',');
        key(all[i].name);
        if (getrlimit(all[i].res, &r)) { printf("null"); continue; }
        /* RLIM_INFINITY is 2^64-1, which is what the config says for "unlimited". */
        printf("[%llu,%llu]", (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
    }
    putchar('}');
}

static void namespaces(void) {
    static const char *kinds[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts", NULL};
    key("ns");
    putchar('{');
    for (int i = 0; kinds[i]; i++) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
        if (i) putchar(',');
        key(kinds[i]);
        if (stat(path, &st)) printf("null");
        else printf("%llu", (unsigned long long)st.st_ino);
    }
    putchar('}');
}

static void args_and_env(int argc, char **argv) {
    key("args");
    putchar('[');
    for (int i = 0; i < argc; i++) { if (i) putchar(','); str(argv[i]); }
    printf("],");
    key("env");
    putchar('[');
    for (char **e = environ; *e; e++) { if (e != environ) putchar(','); str(*e); }
    putchar(']');
}

static void optional_items(int argc, char **argv) {
    key("sysctl");
    putchar('{');
    int first = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "sysctl:", 7)) continue;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "/proc/sys/%s", argv[i] + 7);
        for (int j = 10; j < n; j++) if (path[j] == '.') path[j] = '/';
        if (!first) putchar(',');
        first = 0;
        file_value(argv[i] + 7, path);
    }
    printf("},");
    key("stat");
    putchar('{');
    first = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "stat:", 5)) continue;
        struct stat st;
        char buf[128];
        if (!first) putchar(',');
        first = 0;
        key(argv[i] + 5);
        if (lstat(argv[i] + 5, &st)) { printf("null"); continue; }
        char type = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p'
                  : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : '?';
        snprintf(buf, sizeof(buf), "%c %u %u %o %u %u", type, st.st_uid, st.st_gid,
                 st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev));
        str(buf);
    }
    putchar('}');
}


/* Items named by an argument `NAME:VALUE`, as an object keyed by VALUE. */
static int has_arg(int argc, char **argv, const char *want) {
    for (int i = 1; i < argc; i++) if (!strcmp(argv[i], want)) return 1;
    return 0;
}

static void reads(int argc, char **argv) {
    key("read");
    putchar('{');
    int first = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "read:", 5)) continue;
        char buf[65] = {0}, out[80];
        int fd = open(argv[i] + 5, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) snprintf(out, sizeof(out), "errno %d", errno);
        else {
            ssize_t n = read(fd, buf, 64);
            if (n < 0) snprintf(out, sizeof(out), "errno %d", errno);
            else { buf[n] = 0; buf[strcspn(buf, "\n")] = 0; snprintf(out, sizeof(out), "= %s", buf); }
            close(fd);
        }
        if (!first) putchar(',');
        first = 0;
        key(argv[i] + 5);
        str(out);
    }
    putchar('}');
}

/* System calls a seccomp profile may deny without breaking the probe itself, each called
 * with arguments that change nothing. */
static long try_call(const char *name) {
    static char empty[1];
    if (!strcmp(name, "getpriority")) return syscall(SYS_getpriority, 0, 0);
    if (!strcmp(name, "sched_yield")) return syscall(SYS_sched_yield);
    if (!strcmp(name, "personality")) return syscall(SYS_personality, 0xffffffffUL);
    if (!strcmp(name, "flock")) return syscall(SYS_flock, -1, 1);
    if (!strcmp(name, "sysinfo")) return syscall(SYS_sysinfo, NULL);
    if (!strcmp(name, "times")) return syscall(SYS_times, NULL) < 0 ? -1 : 0;
    if (!strcmp(name, "getitimer")) return syscall(SYS_getitimer, 0, NULL);
    if (!strcmp(name, "syncfs")) return syscall(SYS_syncfs, -1);
    if (!strcmp(name, "close_range")) return syscall(436, ~0U, ~0U, 0);
    if (!strcmp(name, "setns")) return syscall(SYS_setns, -1, 0);
    if (!strcmp(name, "unshare")) return syscall(SYS_unshare, 0);
    if (!strcmp(name, "getcpu")) return syscall(SYS_getcpu, NULL, NULL, NULL);
    if (!strcmp(name, "ioprio_get")) return syscall(SYS_ioprio_get, 1, 0);
    if (!strcmp(name, "process_mrelease")) return syscall(448, -1, 0);
    if (!strcmp(name, "fchmodat2")) return syscall(452, -1, empty, 0, 0);
    if (!strcmp(name, "mincore")) return syscall(SYS_mincore, NULL, 0, NULL);
    if (!strcmp(name, "getsid")) return syscall(SYS_getsid, 0) < 0 ? -1 : 0;
    errno = EINVAL;
    return -2;
}

static void tries(int argc, char **argv) {
    key("try");
    putchar('{');
    int first = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "try:", 4)) continue;
        char out[64];
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            errno = 0;
            long r = try_call(argv[i] + 4);
            /* 255 marks an unknown name; otherwise the exit code carries the errno. */
            _exit(r == -2 ? 255 : r < 0 ? (errno & 0x7f) | 0x80 : 0);
        }
        int st = 0;
        if (child < 0) snprintf(out, sizeof(out), "fork errno %d", errno);
        else if (waitpid(child, &st, 0) < 0) snprintf(out, sizeof(out), "wait errno %d", errno);
        else if (WIFSIGNALED(st)) snprintf(out, sizeof(out), "signal %d", WTERMSIG(st));
        else if (WEXITSTATUS(st) == 255) snprintf(out, sizeof(out), "unknown");
        else if (WEXITSTATUS(st) & 0x80) snprintf(out, sizeof(out), "errno %d", WEXITSTATUS(st) & 0x7f);
        else snprintf(out, sizeof(out), "ok");
        if (!first) putchar(',');
        first = 0;
        key(argv[i] + 4);
        str(out);
    }
    putchar('}');
}

static void fds(void) {
    key("fds");
    putchar('{');
    DIR *d = opendir("/proc/self/fd");
    int first = 1;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
        char path[300], target[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = 0;
        if (!first) putchar(',');
        first = 0;
        key(e->d_name);
        str(target);
    }
    if (d) closedir(d);
    putchar('}');
}

static void dev_entry(const char *path, int *first) {
    struct stat st;
    char buf[PATH_MAX + 64];
    if (lstat(path, &st)) return;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = 0;
        snprintf(buf, sizeof(buf), "-> %s", target);
    } else {
        char type = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p'
                  : S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISSOCK(st.st_mode) ? 's' : '?';
        snprintf(buf, sizeof(buf), "%c %u %u %o %u %u", type, st.st_uid, st.st_gid,
                 st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev));
    }
    if (!*first) putchar(',');
    *first = 0;
    key(path);
    str(buf);
}

static void dev_dir(const char *dir, int depth, int *first) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        dev_entry(path, first);
        if (depth < 2 && e->d_type == DT_DIR) dev_dir(path, depth + 1, first);
    }
    closedir(d);
}

static void devs(void) {
    int first = 1;
    key("dev");
    putchar('{');
    dev_dir("/dev", 1, &first);
    putchar('}');
}

static void interfaces(void) {
    key("net");
    putchar('{');
    char *text = slurp("/proc/net/dev"), *save = NULL;
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), first = 1, line = 0;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        if (line++ < 2) continue; /* two header lines */
        char *colon = strchr(l, ':');
        if (!colon) continue;
        *colon = 0;
        while (*l == ' ') l++;
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", l);
        if (!first) putchar(',');
        first = 0;
        key(l);
        if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr)) printf("null");
        else printf("%u", (unsigned)(unsigned short)ifr.ifr_flags);
    }
    if (sock >= 0) close(sock);
    free(text);
    putchar('}');
}

static void linger(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "linger:", 7)) continue;
        fflush(stdout);
        if (fork() == 0) {
            setsid();
            int null = open("/dev/null", O_RDWR);
            if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
            sleep((unsigned)atoi(argv[i] + 7));
            _exit(0);
        }
    }
}

static volatile sig_atomic_t terminated;
static void on_term(int sig) { (void)sig; terminated = 1; }

int main(int argc, char **argv) {
    int wait_term = has_arg(argc, argv, "wait:term");
    if (wait_term) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
    }
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "sleep:", 6)) sleep((unsigned)atoi(argv[i] + 6));
    char cwd[PATH_MAX];
    struct utsname uts;
    mode_t mask = umask(0);
    umask(mask);
    uname(&uts);
    putchar('{');
    key("pid"); printf("%d,", getpid());
    key("ppid"); printf("%d,", getppid());
    key("umask"); printf("%u,", (unsigned)mask);
    key("cwd"); str(getcwd(cwd, sizeof(cwd)) ? cwd : NULL); putchar(',');
    key("hostname"); str(uts.nodename); putchar(',');
    key("domainname"); str(uts.domainname); putchar(',');
    key("isatty"); printf("[%d,%d,%d],", isatty(0), isatty(1), isatty(2));
    file_value("oom_score_adj", "/proc/self/oom_score_adj"); putchar(',');
    lines("cgroup", "/proc/self/cgroup"); putchar(',');
    lines("mountinfo", "/proc/self/mountinfo"); putchar(',');
    status(); putchar(',');
    rlimits(); putchar(',');
    namespaces(); putchar(',');
    args_and_env(argc, argv); putchar(',');
    optional_items(argc, argv);
    putchar(',');
    reads(argc, argv);
    putchar(',');
    tries(argc, argv);
    if (has_arg(argc, argv, "fds")) { putchar(','); fds(); }
    if (has_arg(argc, argv, "dev")) { putchar(','); devs(); }
    if (has_arg(argc, argv, "net")) { putchar(','); interfaces(); }
    printf("}\n");
    fflush(stdout);
    linger(argc, argv);
    if (wait_term) {
        alarm(60);
        while (!terminated) pause();
    }
    return 0;
}
