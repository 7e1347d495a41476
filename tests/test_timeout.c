/* test_timeout.c - the runner's per-test time limit and NEED_SHARED (tests/runner.c),
 * checked in a second runner process with a limit of a fraction of a second, so the suite
 * pays well under a second for it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

/* This test binary (the running test is a forked copy of the runner). */
static int runner_exe(char *out, size_t cap) {
    const ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0) return -1;
    out[n] = 0;
    return 0;
}

/* 1 when pid has ended: gone, or a zombie its new parent has not reaped yet. */
static int process_ended(long pid) {
    if (kill((pid_t)pid, 0) != 0) return errno == ESRCH;
    char path[64], *stat;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (!(stat = read_file(path, NULL))) return 1;
    const char *state = strrchr(stat, ')'); /* "pid (comm) S ..." */
    const int zombie = state && state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
    free(stat);
    return zombie;
}

TEST(runner_kills_a_hung_test_and_goes_on) {
    char exe[1024], cmd[2600], *out = NULL, *err = NULL;
    if (runner_exe(exe, sizeof exe)) SKIP("no /proc/self/exe to start a second runner");
    snprintf(cmd, sizeof cmd, "SCARCE_TEST_TIMEOUT=0.3 SCARCE_TEST_SELFTEST='%s' '%s'",
             test_tmpdir(), exe);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 1); /* one test failed */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    REQUIRE(out);
    CHECK_MSG(strstr(out, "FAIL selftest_hangs") && strstr(out, "(timed out after 0.3 s)"),
              "no timeout line:\n%s", out);
    CHECK_MSG(strstr(out, "ok   selftest_passes"), "the suite did not go on:\n%s", out);
    CHECK_MSG(strstr(out, "skip selftest_needs_missing_file") && strstr(out, "(needs ") &&
                  strstr(out, "no/such/file.gguf, not found)"),
              "NEED_SHARED did not skip naming the file:\n%s", out);
    CHECK_MSG(strstr(out, "1 passed, 1 failed, 1 skipped\n"), "wrong tally:\n%s", out);
    /* the hung test's sleep 60 was killed with it, not waited for */
    const double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK_MSG(dt < 30, "the runner took %.1f s", dt);
    char pid_path[1100];
    snprintf(pid_path, sizeof pid_path, "%s/sleep.pid", test_tmpdir());
    char *pid_text = read_file(pid_path, NULL);
    CHECK_MSG(pid_text, "the hung test did not start its sleep");
    if (pid_text) {
        const long pid = strtol(pid_text, NULL, 10);
        int ended = 0;
        for (int i = 0; i < 100 && !(ended = process_ended(pid)); i++) usleep(10000);
        CHECK_MSG(ended, "sleep (pid %ld) outlived its killed test", pid);
        if (!ended) kill((pid_t)pid, SIGKILL);
    }
    free(pid_text), free(out), free(err);
}

TEST(runner_rejects_a_bad_time_limit) {
    char exe[1024], cmd[1200], *err = NULL;
    if (runner_exe(exe, sizeof exe)) SKIP("no /proc/self/exe to start a second runner");
    snprintf(cmd, sizeof cmd, "SCARCE_TEST_TIMEOUT=soon '%s' no_such_test", exe);
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 2);
    CHECK_MSG(err && strstr(err, "SCARCE_TEST_TIMEOUT") && strstr(err, "'soon'"),
              "no error line naming the variable: %s", err ? err : "(none)");
    free(err);
}
