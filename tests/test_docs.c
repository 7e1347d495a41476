/* test_docs.c - docs/ stays true: every number the tools print is explained in
 * docs/numbers.md, every command marked runnable in docs/ runs and exits 0 (on stories260K),
 * and the roofline SVG of bench --svg is well-formed with one point per bench row.
 *
 * A runnable block is a fenced block whose opening line is "```sh runnable". Each runs with
 * `bash -e -o pipefail` in a fresh directory that holds ./scarce (the binary under test)
 * and models/stories260K.gguf (from ../shared), as a reader's checkout would. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/machine.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define NUMBERS "docs/numbers.md"

static const char *const docs[] = {"docs/numbers.md", "docs/moe.md", "docs/speculative.md",
                                   "docs/formats.md", "docs/bandwidth.md"};
enum { N_DOCS = sizeof docs / sizeof docs[0] };

/* Calls found(key) for every object key of a JSON text: a string followed by ':'. */
static void json_keys(const char *s, void (*found)(const char *key, const char *where),
                      const char *where) {
    while ((s = strchr(s, '"'))) {
        const char *start = ++s;
        while (*s && *s != '"') s += *s == '\\' && s[1] ? 2 : 1;
        if (!*s) return;
        const char *end = s++;
        while (*s == ' ') s++;
        if (*s != ':' || end - start >= 64) continue;
        char key[64];
        memcpy(key, start, (size_t)(end - start));
        key[end - start] = 0;
        found(key, where);
    }
}

static char *numbers_md;

/* the key must appear in docs/numbers.md as `key` */
static void documented(const char *key, const char *where) {
    char quoted[80];
    snprintf(quoted, sizeof quoted, "`%s`", key);
    CHECK_MSG(strstr(numbers_md, quoted), "%s prints %s, which " NUMBERS " does not explain", where,
              quoted);
}

static char *stdout_of(const char *fmt, const char *a, const char *b) {
    char cmd[2048], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, fmt, scarce_bin(), a, b);
    const int rc = run_cmd(cmd, &out, &err);
    CHECK_MSG(rc == 0 && out, "%s: exit %d\n%s", cmd, rc, err ? err : "");
    free(err);
    if (rc) free(out), out = NULL;
    return out;
}

TEST(docs_numbers_explains_every_json_key_and_csv_column) {
    const char *m = shared_path(STORIES), *moe = shared_moe_model();
    if (!moe) return;
    REQUIRE((numbers_md = read_file(NUMBERS, NULL)));
    const char *runs[][2] = {
        {"%s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon a time' --json%s", ""},
        {"%s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon a time' --json --lookup 2%s", ""},
        {"%s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon a time' --json --draft-quant q8_0%s", ""},
        {"%s run -m %s -t 1 --temp 0 -n 8 -p 'Once' --json --lookup-file README.md%s", ""},
        {"%s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon a time' --json --moe-stats%s", "moe"},
        {"%s bench -m %s -t 1 -p 8 -n 4 -r 1 -o json --lookup 2 --draft 2%s", ""},
        {"%s bench -m %s -t 1 -p 8 -n 4 -r 1 -o json%s", "moe"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char *out = stdout_of(runs[i][0], *runs[i][1] ? moe : m, " 2>/dev/null");
        if (out) json_keys(out, documented, runs[i][0] + 3);
        free(out);
    }
    char *csv = stdout_of("%s bench -m %s -t 1 -p 8 -n 4 -r 1 -o csv%s", m, " 2>/dev/null");
    if (csv) {
        csv[strcspn(csv, "\n")] = 0;
        int n = 0;
        for (char *col = strtok(csv, ","); col; col = strtok(NULL, ","), n++)
            documented(col, "bench -o csv");
        CHECK_MSG(n >= 10, "bench -o csv header has %d columns", n);
    }
    free(csv);
    free(numbers_md);
}

/* ---- runnable blocks ---- */

static int count_blocks_run;

/* Runs one block in dir; the failure names the file and the block's first line. */
static void run_block(const char *dir, const char *doc, int line, const char *body, size_t len) {
    char script[PATH_MAX], cmd[2 * PATH_MAX], *out = NULL, *err = NULL;
    snprintf(script, sizeof script, "%s/block.sh", dir);
    FILE *f = fopen(script, "w");
    REQUIRE(f);
    fwrite(body, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && bash -e -o pipefail block.sh", dir);
    const int rc = run_cmd(cmd, &out, &err);
    CHECK_MSG(rc == 0, "%s:%d: runnable block exits %d\n--- block ---\n%.*s--- stderr ---\n%s", doc,
              line, rc, (int)len, body, err ? err : "");
    count_blocks_run++;
    free(out), free(err);
}

static void run_doc(const char *dir, const char *doc) {
    char *text = read_file(doc, NULL);
    CHECK_MSG(text, "%s is missing", doc);
    if (!text) return;
    int line = 1;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        if (!eol) break;
        if (!strncmp(p, "```sh runnable", 14)) {
            char *body = eol + 1, *end = strstr(body, "\n```");
            CHECK_MSG(end, "%s:%d: runnable block never closes", doc, line);
            if (!end) break;
            run_block(dir, doc, line, body, (size_t)(end - body) + 1);
            for (char *c = p; c < end + 4; c++) line += *c == '\n';
            p = end + 4;
            continue;
        }
        line++;
        p = eol + 1;
    }
    free(text);
}

TEST(docs_runnable_blocks_exit_0) {
    NEED_SHARED(STORIES);
    const char *dir = test_tmpdir();
    char bin[PATH_MAX], model[PATH_MAX], cmd[4 * PATH_MAX];
    REQUIRE(realpath(scarce_bin(), bin) && realpath(shared_path(STORIES), model));
    snprintf(cmd, sizeof cmd, "mkdir -p %s/models && ln -s %s %s/scarce && ln -s %s %s/models/",
             dir, bin, dir, model, dir);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    for (int i = 0; i < N_DOCS; i++) run_doc(dir, docs[i]);
    CHECK_MSG(count_blocks_run >= N_DOCS, "only %d runnable blocks in docs/", count_blocks_run);
}

/* ---- the roofline picture ---- */

static int count(const char *s, const char *what) {
    int n = 0;
    for (; (s = strstr(s, what)); s++) n++;
    return n;
}

TEST(roofline_svg_is_xml_with_one_point_per_bench_row) {
    NEED_SHARED(STORIES);
    if (run_cmd("command -v xmllint", NULL, NULL) != 0) SKIP("xmllint is not installed");
    const char *dir = test_tmpdir();
    /* a HOME of our own with a stated peak: the memory roof must be drawn from it */
    char cpu[256], cache[PATH_MAX], cmd[4 * PATH_MAX], *out = NULL;
    cpu_model_name(cpu, sizeof cpu);
    snprintf(cache, sizeof cache, "%s/.cache/scarce", dir);
    snprintf(cmd, sizeof cmd, "(mkdir -p %s && echo '12.500 2 %s' > %s/membw)", cache, cpu, cache);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, "HOME=%s %s bench -m %s -t 1,2 -p 8 -n 4 -r 1 -o csv --svg %s/r.svg",
             dir, scarce_bin(), shared_path(STORIES), dir);
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out);
    const int rows = count(out, "\n") - 1;
    free(out);
    CHECK_EQ_INT(rows, 4); /* pp8, tg4 at 1 and 2 threads */
    snprintf(cmd, sizeof cmd, "xmllint --noout %s/r.svg", dir);
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s/r.svg", dir);
    char *svg = read_file(cmd, NULL);
    REQUIRE(svg);
    CHECK_EQ_INT(count(svg, "class=\"point\""), rows);
    CHECK_EQ_INT(count(svg, "class=\"memory-roof\""), 1);
    CHECK_EQ_INT(count(svg, "class=\"compute-roof\""), 1); /* f32, at 2 threads */
    CHECK(strstr(svg, "f32 kernels, 2 threads"));
    CHECK_MSG(strstr(svg, "12.50 GB/s") && strstr(svg, "f32 t2 tg4") && strstr(svg, "f32 t1 pp8"),
              "labels missing:\n%s", svg);
    free(svg);
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir); /* no temporary left behind */
    out = NULL;
    run_cmd(cmd, &out, NULL);
    CHECK_MSG(out && atoi(out) == 0, "temporary files left in %s", dir);
    free(out);
}

TEST(roofline_svg_of_run_without_membw_says_so) {
    NEED_SHARED(STORIES);
    const char *dir = test_tmpdir(); /* an empty HOME: no cached peak */
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "HOME=%s %s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon a time' --svg %s/run.svg", dir,
             scarce_bin(), shared_path(STORIES), dir);
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s/run.svg", dir);
    char *svg = read_file(cmd, NULL);
    REQUIRE(svg);
    CHECK_EQ_INT(count(svg, "class=\"point\""), 2); /* the prompt and the decode phase */
    CHECK_EQ_INT(count(svg, "class=\"memory-roof\""), 0);
    CHECK(strstr(svg, "run scarce membw") && strstr(svg, "f32 t1 pp") && strstr(svg, "f32 t1 tg"));
    CHECK(strstr(svg, "</svg>"));
    free(svg);
    /* a directory that does not exist: one error line, exit 1, nothing half-written */
    snprintf(cmd, sizeof cmd, "%s run -m %s -n 2 --svg %s/no/such/dir.svg", scarce_bin(),
             shared_path(STORIES), dir);
    char *err = NULL;
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 1);
    CHECK(err && strstr(err, "dir.svg"));
    free(err);
}

/* --trace-moe piped: plain text, one line per token, the layers in the same column */
TEST(moe_trace_is_aligned_plain_text_when_piped) {
    NEED_SHARED(STORIES);
    const char *moe = shared_moe_model();
    if (!moe) return;
    char cmd[2 * PATH_MAX], *err = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon a time' --trace-moe",
             scarce_bin(), moe);
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 0);
    REQUIRE(err);
    CHECK(!strchr(err, '\033'));
    int lines = 0, column = -1;
    for (char *line = err; line && *line == '"';
         line = strchr(line, '\n'), line = line ? line + 1 : 0) {
        const char *bar = strstr(line, " | L0 ");
        REQUIRE(bar);
        if (column < 0) column = (int)(bar - line);
        CHECK_EQ_INT(bar - line, column);
        lines++;
    }
    CHECK_EQ_INT(lines, 7); /* -n 8: the last token is never fed back */
    free(err);
}
