/* test_bench.c - machine-readable output of bench and run, the SVG writer, and sweep. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/svg.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

/* A small JSON check: brackets balance outside strings, strings close, and the text
 * starts with { or [. Enough to catch a missing comma-free structure or a stray quote. */
static int json_balanced(const char *s) {
    int depth = 0, in_str = 0;
    while (*s == ' ' || *s == '\n') s++;
    if (*s != '{' && *s != '[') return 0;
    for (; *s; s++) {
        if (in_str) {
            if (*s == '\\' && s[1]) s++;
            else if (*s == '"') in_str = 0;
            else if ((unsigned char)*s < 0x20) return 0;
        } else if (*s == '"') in_str = 1;
        else if (*s == '{' || *s == '[') depth++;
        else if (*s == '}' || *s == ']') { if (--depth < 0) return 0; }
        else if (!strncmp(s, "nan", 3) || !strncmp(s, "inf", 3)) return 0;
    }
    return depth == 0 && !in_str;
}

static void check_fields(const char *json, const char *const *fields) {
    for (; *fields; fields++) {
        char key[64];
        snprintf(key, sizeof key, "\"%s\":", *fields);
        CHECK_MSG(strstr(json, key), "JSON lacks %s:\n%s", key, json);
    }
}

TEST(bench_json_has_documented_fields) {
    NEED_SHARED(STORIES);
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 16 -n 8 -t 1 -r 2 -o json", scarce_bin(),
             shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out);
    CHECK_MSG(json_balanced(out), "not JSON:\n%s", out);
    const char *fields[] = {"model", "type", "size_bytes", "threads", "test", "tok_s", "tok_s_sd",
                            "weight_bytes_per_token", "gb_s", "pct_of_peak", "kernels", "isa",
                            "repack", "gemm", "adapt_threads", "steal", NULL};
    check_fields(out, fields);
    CHECK(strstr(out, "\"pp16\"") && strstr(out, "\"tg8\""));
    free(out);
}

TEST(run_json_has_documented_fields) {
    NEED_SHARED(STORIES);
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 8 -p 'Once upon' --json",
             scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 0);
    REQUIRE(out && err);
    CHECK_MSG(json_balanced(out), "not JSON:\n%s", out);
    const char *fields[] = {"prompt_tokens", "prompt_tok_s", "decode_tokens", "decode_tok_s",
                            "weight_bytes_per_token", "kv_bytes_per_token", "achieved_gb_s",
                            "peak_gb_s", "pct_of_peak", "flops_per_token", "model", "type",
                            "threads", "isa", "kernels", "repack", "gemm", "adapt_threads",
                            "steal", NULL};
    check_fields(out, fields);
    CHECK(strstr(err, "Once upon")); /* the text went to stderr */
    CHECK(strstr(err, "GB/s"));
    free(out), free(err);
}

static int have_xmllint(void) { return run_cmd("command -v xmllint", NULL, NULL) == 0; }

TEST(svg_writer_is_well_formed_and_finds_front) {
    const svg_point pts[] = {{2.6, 0.5, "q2_k"}, {4.5, 0.05, "q4_0 <&>"}, {4.5, 0.02, "q4_k"},
                             {8.5, 0.001, "q8_0"}, {9, 0.01, "worse"}};
    const svg_panel p = {"KL", "bits per weight", "KL (nats)", 1, 0, pts, 5};
    CHECK(svg_on_front(&p, 0) && !svg_on_front(&p, 1) && svg_on_front(&p, 2) &&
          svg_on_front(&p, 3) && !svg_on_front(&p, 4));
    char path[512];
    snprintf(path, sizeof path, "%s/plot.svg", test_tmpdir());
    char e[512];
    const svg_panel two[2] = {p, {"speed", "bits per weight", "tok/s", 0, 1, pts, 5}};
    REQUIRE(svg_write(path, "test & plot", two, 2, e) == 0);
    if (!have_xmllint()) SKIP("xmllint not installed (apt-get install libxml2-utils)");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "xmllint --noout %s", path);
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 0);
}

TEST(sweep_writes_tables_and_plot) {
    NEED_SHARED(STORIES);
    char cmd[1536], *err = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep -m %s -f %s -c 64 --chunks 2 -n 8 -t 1 -o %s/sweep",
             scarce_bin(), shared_path(STORIES), shared_path("data/tinystories-valid.txt"),
             test_tmpdir());
    int rc = run_cmd(cmd, NULL, &err);
    if (rc && err && strstr(err, "quantize_model() is not linked")) {
        free(err);
        SKIP("quantizer not linked yet (quantize_model from the quant branch)");
    }
    CHECK_MSG(rc == 0, "sweep failed: %s", err ? err : "");
    const char *ext[] = {"md", "csv", "json", "svg"};
    char path[600];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/sweep.%s", test_tmpdir(), ext[i]);
        CHECK_MSG(file_exists(path), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/sweep.json", test_tmpdir());
    char *json = read_file(path, NULL);
    CHECK(json && json_balanced(json));
    free(json);
    snprintf(cmd, sizeof cmd, "ls /tmp/scarce-sweep-* 2>/dev/null | grep -c .");
    if (have_xmllint()) {
        snprintf(cmd, sizeof cmd, "xmllint --noout %s/sweep.svg", test_tmpdir());
        CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 0);
    }
    free(err);
}

/* A type that cannot be written without an importance matrix gets the one sweep collects
 * from the text in the input's pass (and says so); the others are quantized without. */
TEST(sweep_imatrix_for_the_types_that_need_one) {
    NEED_SHARED(STORIES);
    char model[512], cmd[2048], path[600], *err = NULL;
    snprintf(model, sizeof model, "%s/sweep256.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 256 --n-layer 1 --n-head 4 --n-head-kv 4 "
             "--n-ff 256 --seed 4",
             scarce_bin(), model, shared_path(STORIES));
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd,
             "%s sweep -m %s -f %s -c 64 --chunks 2 -n 4 -t 1 --types q4_0,iq2_xxs -o %s/sw256",
             scarce_bin(), model, shared_path("data/tinystories-valid.txt"), test_tmpdir());
    CHECK_MSG(run_cmd(cmd, NULL, &err) == 0, "sweep failed: %s", err ? err : "");
    snprintf(path, sizeof path, "%s/sw256.csv", test_tmpdir());
    char *csv = read_file(path, NULL);
    CHECK_MSG(csv && strstr(csv, "\nq4_0,0,") && strstr(csv, "\niq2_xxs,1,"), "csv: %s",
              csv ? csv : "(none)");
    free(csv);
    free(err);
}

/* ---- speculative and MoE fields of run --json / bench --draft ------------------------- */

/* The number after "key": (NAN when absent). */
static double json_number(const char *json, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(json, k);
    return p ? strtod(p + strlen(k), NULL) : NAN;
}

TEST(run_json_speculative_lookup) {
    NEED_SHARED(STORIES);
    char cmd[1024], *out = NULL, *err = NULL;
    /* greedy stories260K repeats itself within 200 tokens: lookup finds drafts */
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 200 -p 'Once upon' --lookup 2 --json",
             scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 0);
    REQUIRE(out && err);
    CHECK_MSG(json_balanced(out), "not JSON:\n%s", out);
    const char *fields[] = {"decode_tok_s", "weight_bytes_per_token", "achieved_gb_s", "speculative",
                            "source", "lookup_n", "drafted", "accepted", "acceptance_rate",
                            "acceptance_by_position", "mean_tokens_per_target_pass", "t_draft_s",
                            "t_target_s", NULL};
    check_fields(out, fields);
    CHECK(strstr(out, "\"source\": \"lookup\""));
    const double drafted = json_number(out, "drafted"), accepted = json_number(out, "accepted");
    CHECK_MSG(drafted > 0 && accepted >= 0 && accepted <= drafted, "drafted %g accepted %g",
              drafted, accepted);
    /* every committed token is an accepted draft or the target's own one per pass */
    CHECK_EQ_INT((int)json_number(out, "emitted"),
                 (int)(accepted + json_number(out, "target_passes")));
    CHECK_EQ_INT((int)json_number(out, "emitted"), (int)json_number(out, "decode_tokens"));
    CHECK(strstr(err, "GB/s") && strstr(err, "speculative (lookup 2")); /* text summary too */
    free(out), free(err);
}

/* Parses the n unsigned integers after `from` (skipping brackets, commas); returns the end. */
static const char *read_uints(const char *from, unsigned long long *v, int n) {
    for (int i = 0; i < n && from; i++) {
        while (*from && (*from < '0' || *from > '9')) from++;
        if (!*from) return NULL;
        char *end;
        v[i] = strtoull(from, &end, 10);
        from = end;
    }
    return from;
}

TEST(run_json_moe_counts_sum_to_tokens_times_k) {
    NEED_SHARED(STORIES);
    const char *moe = shared_moe_model();
    if (!moe) return;
    char cmd[1536], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 12 -p 'Once upon' --json --moe-stats",
             scarce_bin(), moe);
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out);
    CHECK_MSG(json_balanced(out), "not JSON:\n%s", out);
    const char *fields[] = {"moe", "n_expert", "n_expert_used", "active_bytes_per_token",
                            "total_expert_bytes", "expert_counts", "cv", "entropy", "reuse", NULL};
    check_fields(out, fields);
    CHECK_EQ_INT((int)json_number(out, "n_expert"), 4);
    CHECK_EQ_INT((int)json_number(out, "n_expert_used"), 2);
    CHECK(json_number(out, "active_bytes_per_token") < json_number(out, "model_bytes"));
    /* tokens the forward pass processed, from the run counters (not from the MoE stats) */
    const unsigned long long processed = (unsigned long long)(json_number(out, "prompt_tokens") +
                                                              json_number(out, "decode_tokens"));
    const char *p = strstr(out, "\"expert_counts\":");
    REQUIRE(p);
    int layers = 0;
    const char *cv = strstr(out, "\"cv\":");
    for (p += 16; p && cv && layers < 64; layers++) {
        const char *row = strchr(p, '[');
        if (!row || row > cv) break;
        if (layers == 0) row = strchr(row + 1, '['); /* the outer bracket */
        unsigned long long c[4], sum = 0;
        REQUIRE((p = read_uints(row, c, 4)));
        for (int e = 0; e < 4; e++) sum += c[e];
        CHECK_MSG(sum == processed * 2, "layer %d: counts sum %llu, tokens %llu x k 2", layers,
                  sum, processed);
        p = strchr(p, ']');
        if (p) p++;
    }
    CHECK_EQ_INT(layers, 5); /* stories260K has 5 layers */
    free(out);
}

TEST(bench_draft_lookup_json_has_speculative_fields) {
    NEED_SHARED(STORIES);
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 0 -n 32 -t 1 -r 1 --draft 4 --lookup 2 -o json",
             scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out);
    CHECK_MSG(json_balanced(out), "not JSON:\n%s", out);
    const char *fields[] = {"speculative", "plain_tok_s", "spec_tok_s", "speedup_vs_plain",
                            "acceptance_rate", "drafted", "accepted", "n_draft", "lookup_n", NULL};
    check_fields(out, fields);
    CHECK(json_number(out, "plain_tok_s") > 0 && json_number(out, "spec_tok_s") > 0);
    CHECK(json_number(out, "accepted") <= json_number(out, "drafted"));
    CHECK_EQ_INT((int)json_number(out, "n_draft"), 4);
    free(out);
}
