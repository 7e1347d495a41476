/* test_parity.c - logits-diff reads llama-perplexity's --kl-divergence-base format: a file
 * written here in that format from our own logits must compare as identical, and one with
 * a perturbed row must not. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/tokenizer.h"
#include "../kernels/cpu.h"
#include "test.h"

/* One row in llama.cpp's layout: float scale, float min_log_prob, then uint16 per token. */
static void write_row(FILE *f, const float *logits, int n_vocab, float shift0) {
    int nv = 2 * ((n_vocab + 1) / 2) + 4;
    uint16_t *row = calloc((size_t)nv, 2);
    float mx = logits[0], mn = logits[0];
    for (int i = 1; i < n_vocab; i++) mx = fmaxf(mx, logits[i]), mn = fminf(mn, logits[i]);
    mn = fmaxf(mn, mx - 16);
    double sum = 0;
    for (int i = 0; i < n_vocab; i++) sum += exp(logits[i] - mx);
    float min_lp = mn - mx - (float)log(sum), scale = (mx - mn) / 65535.f;
    memcpy(row, &scale, 4);
    memcpy(row + 2, &min_lp, 4);
    for (int i = 0; i < n_vocab; i++) {
        float v = logits[i] + (i == 0 ? shift0 : 0);
        row[4 + i] = v > mn ? (uint16_t)fminf(65535.f, nearbyintf((v - mn) / scale)) : 0;
    }
    fwrite(row, 2, (size_t)nv, f);
    free(row);
}

static void make_file(const char *path, float shift0) {
    scarce_error e;
    model *m = model_load(shared_path("models/stories260K.gguf"), NULL, &e);
    session s;
    session_init(&s, m, 64, &e);
    int32_t n_ctx = 32, n_vocab = m->cfg.n_vocab, n_chunk = 2, tokens[64];
    for (int i = 0; i < 64; i++) tokens[i] = (i * 37 + 11) % n_vocab;
    tokens[0] = 1;
    FILE *f = fopen(path, "wb");
    fwrite("_logits_", 1, 8, f);
    fwrite(&n_ctx, 4, 1, f), fwrite(&n_vocab, 4, 1, f), fwrite(&n_chunk, 4, 1, f);
    fwrite(tokens, 4, 64, f);
    for (int c = 0; c < n_chunk; c++) {
        int chunk[32];
        memcpy(chunk, tokens + 32 * c, sizeof chunk);
        chunk[0] = 1; /* llama-perplexity evaluates each chunk from BOS */
        kvcache_truncate(&s.cache, 0);
        const float *l = forward(&s, chunk, 32, 1, &e);
        for (int j = 16; j < 31; j++) write_row(f, l + (size_t)j * n_vocab, n_vocab, shift0);
    }
    fclose(f);
    session_free(&s);
    model_free(m);
}

TEST(parity_logits_diff_reads_llama_perplexity_format) {
    NEED_SHARED("models/stories260K.gguf");
    kernels_init(NULL, NULL);
    char same[512], off[512], cmd[1400], *out = NULL;
    snprintf(same, sizeof same, "%s/same.bin", test_tmpdir());
    snprintf(off, sizeof off, "%s/off.bin", test_tmpdir());
    make_file(same, 0);
    make_file(off, 3.0f);
    snprintf(cmd, sizeof cmd, "%s logits-diff -m %s --llama-logits %s", scarce_bin(),
             shared_path("models/stories260K.gguf"), same);
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    double max_d = 1;
    REQUIRE(out && strstr(out, "max |dlogp|"));
    sscanf(strstr(out, "max |dlogp|") + 11, "%lf", &max_d);
    CHECK_MSG(max_d < 1e-3, "max |dlogp| %g on our own logits: %s", max_d, out);
    CHECK(strstr(out, "top-1 agreement 100.00%"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s logits-diff -m %s --llama-logits %s", scarce_bin(),
             shared_path("models/stories260K.gguf"), off);
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out && strstr(out, "max |dlogp|"));
    sscanf(strstr(out, "max |dlogp|") + 11, "%lf", &max_d);
    CHECK_MSG(max_d > 1.0, "a shifted logit went unnoticed: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s logits-diff -m %s --llama-logits %s", scarce_bin(),
             shared_path("models/stories260K.gguf"), shared_path("models/stories260K.gguf"));
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 1); /* not such a file */
}
