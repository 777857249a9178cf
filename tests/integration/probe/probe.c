/* The conformance probe: run as a container's process, it prints one JSON object describing
 * what the process sees (ids, capabilities, limits, namespaces, mounts, ...), so tests can
 * compare it with config.json from the host side. Arguments add optional items:
 *   sysctl:NAME     value of /proc/sys/NAME (dots become slashes), under "sysctl"
 *   stat:PATH       "type uid gid mode rdev-major rdev-minor" of PATH, under "stat"
 *   sleep:SECONDS   sleep before printing (for tests that look at a running probe)
 * Built static (gcc -static) so it runs in any rootfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static void str(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
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
                                 "CapAmb", "NoNewPrivs", "Seccomp", NULL};
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

int main(int argc, char **argv) {
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
    printf("}\n");
    return 0;
}
