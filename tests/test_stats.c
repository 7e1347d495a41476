/* test_stats.c - the forward pass's byte counters against the GGUF tensor table, the
 * derived figures, and the membw cache. */
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/machine.h"
#include "../engine/membw.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

/* What one decode token must read: every tensor once except token_embd, of which one row;
 * when output.weight is absent the output is token_embd (tied), read in full. */
static uint64_t table_bytes_per_token(const gguf_file *f) {
    uint64_t bytes = 0;
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (&f->tensors[i] != embd) bytes += f->tensors[i].bytes;
    bytes += embd->bytes / (uint64_t)embd->ne[1];
    if (!gguf_find_tensor(f, "output.weight")) bytes += embd->bytes;
    return bytes;
}

TEST(stats_weight_bytes_per_token_match_tensor_table) {
    model *m = shared_model(STORIES);
    if (!m) return;
    scarce_error e;
    session s;
    REQUIRE(session_init(&s, m, 64, &e) == 0);
    int ids[3] = {1, 50, 60};
    REQUIRE(forward(&s, ids, 1, 0, &e));
    CHECK_EQ_INT(s.stats.weight_bytes, table_bytes_per_token(m->file));
    CHECK_EQ_INT(s.stats.decode.weight_bytes, s.stats.weight_bytes); /* a one-token pass */
    const run_stats before = s.stats;
    REQUIRE(forward(&s, ids + 1, 2, 0, &e)); /* a batch of 2 reads the rows once */
    const run_stats d = stats_delta(&s.stats, &before);
    const uint64_t row = m->token_embd.row_bytes;
    CHECK_EQ_INT(d.weight_bytes, table_bytes_per_token(m->file) + row);
    CHECK_EQ_INT(d.decode.tokens, 0);
    CHECK_EQ_INT(stats_batched_part(&s.stats).tokens, 2);
    /* KV read at positions 1 and 2 (1-based counts 2 and 3): 2 x (2+3) x layers x kv_dim x 4 */
    const model_config *c = &m->cfg;
    CHECK_EQ_INT(d.kv_bytes, 2ull * 5 * c->n_layer * c->n_head_kv * c->head_dim * 4);
    CHECK(s.stats.t_matmul > 0 && s.stats.t_matmul <= s.stats.t_forward);
    session_free(&s);
    model_free(m);
}

TEST(stats_figures_formulas) {
    run_stats r = {.weight_bytes = 4000, .kv_bytes = 1000, .flops = 10000, .tokens = 10};
    phase_figures f = stats_figures(&r, 2.0);
    CHECK_NEAR(f.tok_s, 5.0, 1e-12);
    CHECK_NEAR(f.weight_bytes_per_token, 400, 1e-9);
    CHECK_NEAR(f.kv_bytes_per_token, 100, 1e-9);
    CHECK_NEAR(f.achieved_gb_s, 500 * 5.0 / 1e9, 1e-18);
    CHECK_NEAR(f.intensity, 1000.0 / 500, 1e-12);
}

TEST(stats_membw_measures_and_caches) {
    membw_result r[1];
    scarce_error e;
    REQUIRE(membw_measure(1, 8 << 20, 1, r, &e) == 0);
    CHECK(r[0].read_gb_s > 0.1 && r[0].copy_gb_s > 0.1);
    setenv("HOME", test_tmpdir(), 1);
    double g = 0;
    CHECK(membw_peak(&g, 0) == -1); /* nothing cached in a fresh HOME */
    REQUIRE(membw_cache_store(12.5, 2, &e) == 0);
    REQUIRE(membw_cache_store(13.5, 2, &e) == 0); /* replaces this CPU's line */
    CHECK(membw_peak(&g, 0) == 0);
    CHECK_NEAR(g, 13.5, 1e-9);
    char path[512];
    REQUIRE(membw_cache_path(path, sizeof path) == 0);
    char *text = read_file(path, NULL);
    REQUIRE(text);
    CHECK(strchr(text, '\n') == strrchr(text, '\n')); /* one line */
    free(text);
    CHECK(llc_bytes() > 0);
}
