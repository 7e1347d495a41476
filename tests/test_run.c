/* test_run.c - `scarce run` end to end: llama2.c's greedy text byte for byte, greedy
 * text of other prompts against the double-precision reference, and the CLI's errors. */
#include <stdlib.h>
#include <string.h>

#include "../engine/tokenizer.h"
#include "ref_forward.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

/* stdout of scarce run must be the reference text plus the final newline */
static void check_run(const char *args, const char *ref_file) {
    size_t len;
    char *want = read_file(shared_path(ref_file), &len);
    REQUIRE(want);
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 %s", scarce_bin(), shared_path(STORIES),
             args);
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 0);
    REQUIRE(out);
    size_t n = strlen(out);
    CHECK_MSG(n == len + 1 && out[len] == '\n' && memcmp(out, want, len) == 0,
              "output differs from %s:\n--- got ---\n%s\n--- want ---\n%s\n--- stderr ---\n%s",
              ref_file, out, want, err ? err : "");
    free(want), free(out), free(err);
}

TEST(run_greedy_no_prompt_matches_llama2c) {
    NEED_SHARED(STORIES);
    /* llama2.c's -n 200 runs positions 0..199 (BOS first) and samples a token after each:
     * 200 generated tokens, the last from position 199's logits */
    check_run("-n 200", "reference/llama2c-stories260K/stories260K_greedy_n200.txt");
}

TEST(run_greedy_prompt_matches_llama2c) {
    gguf_file *f;
    tokenizer *tok = shared_tokenizer(STORIES, &f);
    if (!tok) return;
    scarce_error e;
    int ids[64];
    int n = tokenizer_encode(tok, "Once upon a time", 1, ids, 64, &e);
    REQUIRE(n > 1);
    char args[128];
    /* llama2.c -n 64: positions 0..63, the prompt's n tokens (BOS included) first, one
     * token sampled after each position from the prompt's last on: 64 - n + 1 tokens */
    snprintf(args, sizeof args, "-p \"Once upon a time\" -n %d", 64 - n + 1);
    check_run(args, "reference/llama2c-stories260K/stories260K_greedy_prompt_OnceUponATime_n64.txt");
    tokenizer_free(tok);
    gguf_close(f);
}

/* Greedy continuation by the double-precision reference, decoded: what run must print. */
static char *reference_greedy(const gguf_file *f, tokenizer *tok, const char *prompt, int n_gen) {
    scarce_error e;
    int ids[256];
    int n = tokenizer_encode(tok, prompt, 1, ids, 128, &e);
    ref_model *r = ref_model_open(f);
    double *logits = malloc(sizeof(double) * ref_model_vocab(r));
    for (int i = 0; i < n; i++) ref_model_step(r, ids[i], logits);
    for (int g = 0; g < n_gen; g++) {
        int best = 0;
        for (int v = 1; v < ref_model_vocab(r); v++)
            if (logits[v] > logits[best]) best = v;
        if (best == tokenizer_eos(tok) || best == tokenizer_bos(tok)) break;
        ids[n++] = best;
        if (g + 1 < n_gen) ref_model_step(r, best, logits);
    }
    char *text = malloc(8192);
    tokenizer_decode(tok, ids, n, text, 8192);
    free(logits);
    ref_model_free(r);
    return text;
}

TEST(run_greedy_other_prompts_match_reference_forward) {
    gguf_file *f;
    tokenizer *tok = shared_tokenizer(STORIES, &f);
    if (!tok) return;
    const char *prompts[] = {"Lily and Ben went to the zoo", "The dog", "One day, a little bird"};
    const int lengths[] = {40, 25, 33};
    for (int i = 0; i < 3; i++) {
        char *want = reference_greedy(f, tok, prompts[i], lengths[i]);
        char cmd[512], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s run -m %s --temp 0 -n %d -p \"%s\"", scarce_bin(),
                 shared_path(STORIES), lengths[i], prompts[i]);
        CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
        REQUIRE(out);
        size_t n = strlen(out);
        if (n && out[n - 1] == '\n') out[n - 1] = 0;
        CHECK_MSG(strcmp(out, want) == 0, "prompt '%s':\n got: %s\nwant: %s", prompts[i], out, want);
        free(want), free(out);
    }
    tokenizer_free(tok);
    gguf_close(f);
}

TEST(run_same_seed_same_text) {
    NEED_SHARED(STORIES);
    char cmd[512], *a = NULL, *b = NULL, *c = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -n 60 --temp 1 --seed 42", scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &a, NULL), 0);
    CHECK_EQ_INT(run_cmd(cmd, &b, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s run -m %s -n 60 --temp 1 --seed 43", scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &c, NULL), 0);
    REQUIRE(a && b && c);
    CHECK(strcmp(a, b) == 0);
    CHECK(strcmp(a, c) != 0);
    free(a), free(b), free(c);
}

/* One error line naming the cause; exit 2 for usage, 1 for runtime. */
static void check_error(const char *args, int code, const char *needle) {
    char cmd[1024], *err = NULL;
    snprintf(cmd, sizeof cmd, "%s %s", scarce_bin(), args);
    int rc = run_cmd(cmd, NULL, &err);
    CHECK_MSG(rc == code, "'%s': exit %d, want %d (stderr: %s)", args, rc, code, err ? err : "");
    CHECK_MSG(err && strstr(err, needle), "'%s': stderr '%s' lacks '%s'", args, err ? err : "", needle);
    free(err);
}

TEST(run_cli_errors) {
    char args[1024];
    check_error("run", 2, "-m");
    check_error("run -m /nonexistent/model.gguf", 1, "/nonexistent/model.gguf");
    check_error("nosuchcommand", 2, "unknown command");
    NEED_SHARED(STORIES);
    snprintf(args, sizeof args, "run -m %s -n abc", shared_path(STORIES));
    check_error(args, 2, "-n");
    snprintf(args, sizeof args, "run -m %s -t 0", shared_path(STORIES));
    check_error(args, 2, "-t");
    snprintf(args, sizeof args, "run -m %s -c 4 -p \"Once upon a time there was\"", shared_path(STORIES));
    check_error(args, 1, "context");
    snprintf(args, sizeof args, "run -m %s --bogus 1", shared_path(STORIES));
    check_error(args, 2, "--bogus");
}

/* With top-k and min-p off, sampling is llama2.c's own procedure and generator. */
TEST(run_sampled_matches_llama2c_seed42) {
    NEED_SHARED(STORIES);
    const char *temp0 = "--top-k 0 --min-p 0 --seed 42 -n 200 --temp 1";
    char args[256];
    snprintf(args, sizeof args, "%s --top-p 1", temp0);
    check_run(args, "reference/llama2c-stories260K/stories260K_t1_p1_s42_n200.txt");
    snprintf(args, sizeof args, "%s --top-p 0.95", temp0);
    check_run(args, "reference/llama2c-stories260K/stories260K_t1_p0.95_s42_n200.txt");
}
