/* test.h - the test framework: TEST(name) { CHECK(...); } in any tests/test_*.c.
 *
 * Tests register themselves; tests/runner.c runs each in a child process (a crash is a
 * failure, not the end of the run) and ends with the line "N passed, N failed". */
#ifndef SCARCE_TEST_H
#define SCARCE_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);

#define TEST(name)                                                                       \
    static void test_##name(void);                                                       \
    __attribute__((constructor)) static void register_##name(void) {                     \
        test_register(#name, __FILE__, test_##name);                                     \
    }                                                                                    \
    static void test_##name(void)

/* Failing checks print where and keep going; the test fails at its end. */
void test_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks the running test skipped (it is reported as skipped, never as passed) and
 * returns from the test body. */
void test_skip_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define SKIP(...)                                                                        \
    do {                                                                                 \
        test_skip_reason(__VA_ARGS__);                                                   \
        return;                                                                          \
    } while (0)

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) test_fail_at(__FILE__, __LINE__, "CHECK(%s)", #cond);              \
    } while (0)
#define CHECK_MSG(cond, ...)                                                             \
    do {                                                                                 \
        if (!(cond)) test_fail_at(__FILE__, __LINE__, __VA_ARGS__);                      \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        if (a_ != b_) test_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double a_ = (a), b_ = (b);                                                       \
        if (!(fabs(a_ - b_) <= (tol)))                                                   \
            test_fail_at(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, \
                         (double)(tol));                                                 \
    } while (0)
/* Stops the test when a check fails (use before dereferencing what the check guards). */
#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            test_fail_at(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                      \
            return;                                                                      \
        }                                                                                \
    } while (0)

/* Path of a file in ../shared ($SCARCE_SHARED overrides); static buffer per call slot. */
const char *shared_path(const char *relative);
/* 1 when the file exists and is readable. */
int file_exists(const char *path);
/* For tests that need data they cannot make (models, vocabularies, texts in ../shared):
 * NEED_FILE(path) skips the running test, returning from it, with a reason naming the
 * missing file when path is not readable; NEED_SHARED("models/x.gguf") does so for a
 * file in ../shared. test_need_file returns 1 when present, else records the skip. */
int test_need_file(const char *path);
#define NEED_FILE(path)                                                                  \
    do {                                                                                 \
        if (!test_need_file(path)) return;                                               \
    } while (0)
#define NEED_SHARED(relative) NEED_FILE(shared_path(relative))
/* A fresh temporary directory for this test (removed by the runner afterwards). */
const char *test_tmpdir(void);
/* Runs a shell command, captures stdout into *out (malloc'd, NUL-terminated; may be NULL)
 * and returns the exit status (or 128+signal). stderr goes to *err_out likewise. */
int run_cmd(const char *cmd, char **out, char **err_out);
/* The scarce binary under test ($SCARCE_BIN, default ./scarce). */
const char *scarce_bin(void);
/* Whole file into memory (NUL added); NULL when unreadable. */
char *read_file(const char *path, size_t *len);

#endif
