/* runner.c - runs every registered test in its own child process.
 * usage: test_runner [substring ...]   (only tests whose name contains one of them) */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

typedef struct {
    const char *name, *file;
    test_fn fn;
} test_case;

static test_case tests[1024];
static int n_tests;
static int failed_here;       /* in the child: a check failed */
static char skip_path[256];   /* in the child: where to leave the skip reason */
static char tmpdir_path[256]; /* in the child */

void test_register(const char *name, const char *file, test_fn fn) {
    if (n_tests < (int)(sizeof tests / sizeof tests[0]))
        tests[n_tests++] = (test_case){name, file, fn};
}

void test_fail_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failed_here = 1;
}

void test_skip_reason(const char *fmt, ...) {
    FILE *f = fopen(skip_path, "w");
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

const char *shared_path(const char *relative) {
    static char buf[8][1024];
    static int slot;
    const char *root = getenv("SCARCE_SHARED");
    char *p = buf[slot++ % 8];
    snprintf(p, 1024, "%s/%s", root && *root ? root : "../shared", relative);
    return p;
}

int file_exists(const char *path) { return access(path, R_OK) == 0; }

const char *test_tmpdir(void) { return tmpdir_path; }

const char *scarce_bin(void) {
    const char *b = getenv("SCARCE_BIN");
    return b && *b ? b : "./scarce";
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int run_cmd(const char *cmd, char **out, char **err_out) {
    char out_path[300], err_path[300], full[8192];
    snprintf(out_path, sizeof out_path, "%s/.cmd_out", tmpdir_path);
    snprintf(err_path, sizeof err_path, "%s/.cmd_err", tmpdir_path);
    snprintf(full, sizeof full, "%s >%s 2>%s </dev/null", cmd, out_path, err_path);
    int st = system(full);
    if (out) *out = read_file(out_path, NULL);
    if (err_out) *err_out = read_file(err_path, NULL);
    if (st == -1) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int selected(const char *name, int argc, char **argv) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int passed = 0, failed = 0, skipped = 0;
    char base[] = "/tmp/scarce-test-XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    for (int i = 0; i < n_tests; i++) {
        const test_case *t = &tests[i];
        if (!selected(t->name, argc, argv)) continue;
        snprintf(skip_path, sizeof skip_path, "%s/%s.skip", base, t->name);
        snprintf(tmpdir_path, sizeof tmpdir_path, "%s/%s", base, t->name);
        mkdir(tmpdir_path, 0700);
        fflush(stdout);
        double t0 = seconds();
        pid_t pid = fork();
        if (pid == 0) {
            failed_here = 0;
            t->fn();
            fflush(stdout);
            fflush(stderr);
            _exit(failed_here ? 1 : 0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        double dt = seconds() - t0;
        char *why = read_file(skip_path, NULL);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && why) {
            skipped++;
            printf("skip %-40s (%s)\n", t->name, why);
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            passed++;
            printf("ok   %-40s %7.2fs\n", t->name, dt);
        } else {
            failed++;
            if (WIFSIGNALED(st))
                printf("FAIL %-40s (killed by signal %d)\n", t->name, WTERMSIG(st));
            else
                printf("FAIL %-40s %7.2fs\n", t->name, dt);
        }
        free(why);
        unlink(skip_path);
        char rm[600];
        snprintf(rm, sizeof rm, "rm -rf '%s'", tmpdir_path);
        if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", tmpdir_path);
    }
    rmdir(base);
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
