/* runner.c - runs every registered test in its own child process.
 * usage: test_runner [substring ...]   (only tests whose name contains one of them)
 *
 * Time limit: SCARCE_TEST_TIMEOUT=SECONDS per test (default 600; 0 = no limit; fractions
 * allowed). The slowest test, sweep under SANITIZE=1, took 150 s on a busy 2-core Zen1
 * machine: the default leaves it 4x. A test still running at its limit is killed together with every process it
 * started (each test runs in its own process group) and fails as
 * "FAIL name (timed out after N s)"; the suite goes on with the next test. So one hung
 * test costs its limit, not the whole run.
 *
 * SCARCE_TEST_SELFTEST=DIR runs, instead of the registered tests, the fixed ones of
 * selftest_cases below (one hangs, one passes, one lacks its shared file), so that
 * tests/test_timeout.c can check the limit in a separate runner with a small limit. */
#include <errno.h>
#include <signal.h>
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

int test_need_file(const char *path) {
    if (file_exists(path)) return 1;
    test_skip_reason("needs %s, not found", path);
    return 0;
}

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

/* ---- the time limit ------------------------------------------------------------------ */

static volatile sig_atomic_t running_pid; /* the test's process group, 0 between tests */

/* Ctrl-C / kill of the runner: the test's process group is not the terminal's, so take it
 * down too rather than leave it running. */
static void on_stop(int sig) {
    if (running_pid > 0) kill(-(pid_t)running_pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* SIGCHLD only has to stay pending (an ignored signal would be discarded) */
static void on_child(int sig) {
    (void)sig;
}

/* SCARCE_TEST_TIMEOUT in seconds (0 = none); -1 when it is not a number >= 0. */
static double time_limit(void) {
    const char *text = getenv("SCARCE_TEST_TIMEOUT");
    if (!text || !*text) return 600;
    char *end;
    const double v = strtod(text, &end);
    return *end || !(v >= 0 && v < 1e9) ? -1 : v;
}

/* Waits for the test's process; when limit > 0 and it has not ended within limit seconds
 * of t0, kills its process group. Returns 1 when it was killed for time, else 0; *status
 * is waitpid's. SIGCHLD is blocked, so an exit between waitpid and sigtimedwait stays
 * pending and ends the wait at once. */
static int wait_limited(pid_t pid, double t0, double limit, int *status) {
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    for (;;) {
        const pid_t r = waitpid(pid, status, limit > 0 ? WNOHANG : 0);
        if (r == pid) return 0;
        if (r < 0 && errno != EINTR) {
            *status = 1 << 8; /* cannot wait for it: report the test as failed (exit 1) */
            return 0;
        }
        if (r != 0) continue; /* EINTR */
        const double left = t0 + limit - seconds();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
            }
            return 1;
        }
        const struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
        sigtimedwait(&child, NULL, &ts);
    }
}

/* ---- self-test of the limit (SCARCE_TEST_SELFTEST=DIR) -------------------------------- */

/* Hangs in a grandchild, as a hung `scarce` started by run_cmd would; the sleep's pid goes
 * to DIR/sleep.pid so the caller can check that it was killed with the test. */
static void selftest_hangs(void) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sleep 60 & echo $! > '%s/sleep.pid'; wait",
             getenv("SCARCE_TEST_SELFTEST"));
    if (system(cmd) != 0) test_fail_at(__FILE__, __LINE__, "sleep did not run");
}

static void selftest_passes(void) {}

static void selftest_needs_missing_file(void) {
    NEED_SHARED("no/such/file.gguf");
    test_fail_at(__FILE__, __LINE__, "NEED_SHARED did not return");
}

static const test_case selftest_cases[] = {
    {"selftest_hangs", __FILE__, selftest_hangs},
    {"selftest_passes", __FILE__, selftest_passes},
    {"selftest_needs_missing_file", __FILE__, selftest_needs_missing_file},
};

/* ---- the run --------------------------------------------------------------------------- */

typedef struct {
    int passed, failed, skipped;
} tally;

/* Runs one test in a child process (its own process group) and prints its line. */
static void run_one(const test_case *t, const char *base, double limit, tally *n) {
    snprintf(skip_path, sizeof skip_path, "%s/%s.skip", base, t->name);
    snprintf(tmpdir_path, sizeof tmpdir_path, "%s/%s", base, t->name);
    mkdir(tmpdir_path, 0700);
    fflush(stdout);
    const double t0 = seconds();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        failed_here = 0;
        t->fn();
        fflush(stdout);
        fflush(stderr);
        _exit(failed_here ? 1 : 0);
    }
    int st = 0, timed_out = 0;
    if (pid > 0) {
        setpgid(pid, pid); /* also here: no window in which a kill misses the group */
        running_pid = pid;
        timed_out = wait_limited(pid, t0, limit, &st);
        running_pid = 0;
    }
    const double dt = seconds() - t0;
    char *why = read_file(skip_path, NULL);
    if (pid < 0) {
        n->failed++;
        printf("FAIL %-40s (fork: %s)\n", t->name, strerror(errno));
    } else if (timed_out) {
        n->failed++;
        printf("FAIL %-40s (timed out after %g s)\n", t->name, limit);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && why) {
        n->skipped++;
        printf("skip %-40s (%s)\n", t->name, why);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        n->passed++;
        printf("ok   %-40s %7.2fs\n", t->name, dt);
    } else {
        n->failed++;
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

int main(int argc, char **argv) {
    const double limit = time_limit();
    if (limit < 0) {
        fprintf(stderr,
                "test_runner: SCARCE_TEST_TIMEOUT must be a number of seconds >= 0, "
                "got '%s'\n",
                getenv("SCARCE_TEST_TIMEOUT"));
        return 2;
    }
    const test_case *list = tests;
    int n_list = n_tests;
    if (getenv("SCARCE_TEST_SELFTEST")) {
        list = selftest_cases;
        n_list = (int)(sizeof selftest_cases / sizeof selftest_cases[0]);
    }
    char base[] = "/tmp/scarce-test-XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGCHLD, on_child);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child, NULL);
    tally n = {0};
    for (int i = 0; i < n_list; i++)
        if (selected(list[i].name, argc, argv)) run_one(&list[i], base, limit, &n);
    rmdir(base);
    if (n.skipped)
        printf("%d passed, %d failed, %d skipped\n", n.passed, n.failed, n.skipped);
    else
        printf("%d passed, %d failed\n", n.passed, n.failed);
    return n.failed ? 1 : 0;
}
