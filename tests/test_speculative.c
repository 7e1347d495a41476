/* test_speculative.c - speculative decoding is exact: greedy text equals the target's
 * plain greedy text for every draft source (model file, in-memory low-bit copy, first
 * layers, n-gram lookup in the context and in a file) and every length 1..8, fixed,
 * adaptive or chosen by the cost model, on stories260K and on SmolLM2 when present; the
 * sampling acceptance rule
 * reproduces the target distribution (and visibly fails to without its rejection step);
 * bad drafts and full contexts give clear errors. */
#include <stdlib.h>
#include <string.h>

#include "../engine/draft_quant.h"
#include "../engine/speculative.h"
#include "../kernels/cpu.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define N_GEN 24

/* Prompts as token ids (BOS = 1 first): the tests need no tokenizer. */
static const int prompt_a[] = {1};
static const int prompt_b[] = {1, 403, 407, 261, 378};
static const int prompt_c[] = {1, 60, 61, 62, 60, 61, 62, 60, 61};
typedef struct {
    const int *ids;
    int n;
} prompt_ids;
static const prompt_ids prompts[] = {{prompt_a, 1}, {prompt_b, 5}, {prompt_c, 9}};

/* Plain greedy decoding: the reference every speculative run must reproduce. */
static int plain_greedy(const model *m, const int *prompt, int n, int n_ctx, int *out, int n_gen) {
    scarce_error err;
    session s;
    if (session_init(&s, m, n_ctx, &err)) return -1;
    const float *logits = forward(&s, prompt, n, 0, &err);
    int got = 0;
    while (logits && got < n_gen) {
        out[got] = argmax(logits, m->cfg.n_vocab);
        if (++got < n_gen && s.cache.n_pos < n_ctx) logits = forward(&s, &out[got - 1], 1, 0, &err);
        else break;
    }
    session_free(&s);
    return got;
}

/* Speculative decoding of up to n_gen tokens (stops early when the context is full). */
static int spec_generate(const model *m, const model *dm, const spec_params *p,
                         const sampler_params *sp, const int *prompt, int n, int n_ctx, int *out,
                         int n_gen, spec_stats *st) {
    scarce_error err = {0};
    session s;
    sampler smp;
    spec_decoder sd;
    if (session_init(&s, m, n_ctx, &err)) return -1;
    sampler_init(&smp, sp, m->cfg.n_vocab);
    int got = -1;
    if (!spec_init(&sd, &s, &smp, dm, p, &err)) {
        got = spec_prefill(&sd, prompt, n, &err) ? -1 : 0;
        while (got >= 0 && got < n_gen) {
            int step = spec_step(&sd, n_gen - got, out + got, NULL, &err);
            if (step <= 0) break;
            got += step;
        }
        if (st) *st = sd.stats;
        spec_free(&sd);
    }
    if (got < 0) test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    sampler_free(&smp);
    session_free(&s);
    return got;
}

/* Every prompt and draft length 1..8 (fixed, then adaptive, then the cost model's)
 * gives the plain text; n_prompts of the prompts above. */
static void check_greedy_prompts(const model *m, const model *dm, spec_params base,
                                 const prompt_ids *prompts, size_t n_prompts, int n_gen,
                                 double *acceptance) {
    const sampler_params greedy = {.temp = 0};
    uint64_t drafted = 0, accepted = 0;
    for (size_t pi = 0; pi < n_prompts; pi++) {
        int want[N_GEN], got[N_GEN + SPEC_MAX_DRAFT];
        int n_want = plain_greedy(m, prompts[pi].ids, prompts[pi].n, 256, want, n_gen);
        REQUIRE(n_want == n_gen);
        for (int li = 1; li <= 10; li++) { /* 9: adaptive within 1..8, 10: cost model */
            const int k = li <= 8 ? li : 0;
            spec_params p = base;
            p.policy = li == 10 ? SPEC_COST : SPEC_ADAPT;
            p.n_draft = k ? k : 4;
            p.n_draft_min = k ? k : 1;
            p.n_draft_max = k ? k : 8;
            spec_stats st;
            int n = spec_generate(m, dm, &p, &greedy, prompts[pi].ids, prompts[pi].n, 256, got,
                                  n_gen, &st);
            CHECK_EQ_INT(n, n_gen);
            int same = n == n_gen && !memcmp(got, want, (size_t)n_gen * sizeof(int));
            CHECK_MSG(same, "source %d (layers %d, lookup %d), prompt %zu, draft %d (policy %d): "
                      "text differs from plain greedy", (int)p.source, p.draft_layers,
                      p.lookup_n, pi, k, (int)p.policy);
            CHECK_EQ_INT(st.emitted, st.accepted + st.passes);
            drafted += st.drafted, accepted += st.accepted;
        }
    }
    *acceptance = drafted ? (double)accepted / drafted : 0;
}

static void check_greedy_source(const model *m, const model *dm, spec_params base,
                                double *acceptance) {
    check_greedy_prompts(m, dm, base, prompts, sizeof prompts / sizeof prompts[0], N_GEN,
                         acceptance);
}

static model *load_stories(void) {
    scarce_error err;
    kernels_init(NULL, NULL);
    model *m = model_load(shared_path(STORIES), NULL, &err);
    if (!m) test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    return m;
}

TEST(spec_greedy_self_draft_layers_equals_plain) {
    NEED_SHARED(STORIES);
    model *m = load_stories();
    REQUIRE(m);
    double acc;
    for (int L = 1; L <= 2; L++)
        check_greedy_source(m, NULL, (spec_params){.source = SPEC_LAYERS, .draft_layers = L}, &acc);
    model_free(m);
}

TEST(spec_greedy_lookup_equals_plain) {
    NEED_SHARED(STORIES);
    model *m = load_stories();
    REQUIRE(m);
    double acc;
    for (int n = 1; n <= 2; n++)
        check_greedy_source(m, NULL, (spec_params){.source = SPEC_LOOKUP, .lookup_n = n}, &acc);
    model_free(m);
}

TEST(spec_greedy_same_model_draft_accepts_everything) {
    NEED_SHARED(STORIES);
    model *m = load_stories(), *dm = load_stories();
    REQUIRE(m && dm);
    double acc;
    check_greedy_source(m, dm, (spec_params){.source = SPEC_MODEL}, &acc);
    CHECK_NEAR(acc, 1.0, 0);
    model_free(dm);
    model_free(m);
}

/* scarce mkmodel: an unrelated random model with the target's vocabulary. */
static const char *make_unrelated_draft(void) {
    static char path[512];
    char cmd[1536];
    snprintf(path, sizeof path, "%s/draft.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s --vocab %s --n-embd 32 --n-layer 1 --n-head 4 "
             "--n-head-kv 2 --n-ff 64", scarce_bin(), path, shared_path(STORIES));
    return run_cmd(cmd, NULL, NULL) == 0 ? path : NULL;
}

TEST(spec_greedy_unrelated_draft_equals_plain) {
    NEED_SHARED(STORIES);
    const char *draft_path = make_unrelated_draft();
    REQUIRE(draft_path);
    scarce_error err;
    model *m = load_stories(), *dm = model_load(draft_path, NULL, &err);
    REQUIRE(m && dm);
    double acc;
    check_greedy_source(m, dm, (spec_params){.source = SPEC_MODEL}, &acc);
    CHECK(acc < 0.5); /* random weights: mostly rejected, and still the same text */
    model_free(dm);
    model_free(m);
}

/* The bytes a one-token pass of m counts as read besides the embedding row (forward.c). */
static uint64_t pass_bytes(const model *m) {
    uint64_t bytes = m->global_pass_bytes;
    for (int l = 0; l < m->cfg.n_layer; l++) bytes += m->layers[l].pass_bytes;
    return bytes;
}

TEST(spec_greedy_draft_quant_equals_plain) {
    NEED_SHARED(STORIES);
    model *m = load_stories();
    REQUIRE(m);
    int before[N_GEN], after[N_GEN];
    REQUIRE(plain_greedy(m, prompt_b, 5, 256, before, N_GEN) == N_GEN);
    /* q2_k needs rows of 256: stories260K's 64 take the q4_0 fallback */
    static const char *const types[] = {"q8_0", "q4_0", "q4_1", "q4_1_f32", "q2_k"};
    for (int i = 0; i < 5; i++) {
        draft_quant_info info;
        scarce_error err = {0};
        model *dm = draft_quant_new(m, types[i], NULL, &info, &err);
        CHECK_MSG(dm != NULL, "%s: %s", types[i], err.msg);
        if (!dm) continue;
        CHECK_EQ_INT(info.n_quantized + info.n_fallback + info.n_shared, info.n_matrices);
        CHECK(info.bytes > 0 && info.weight_bytes < info.target_bytes && info.seconds >= 0);
        CHECK(i < 4 ? info.n_quantized > 0 : info.n_fallback > 0 && !strcmp(info.fallback, "q4_0"));
        /* what a pass of the copy counts as read: the target's count less what its
         * matrices shed (it started as the target's, from the file's tensor table) */
        CHECK_MSG(pass_bytes(m) - pass_bytes(dm) == info.target_bytes - info.weight_bytes,
                  "%s: a pass of the copy counts %llu bytes, the target's %llu, matrices %zu "
                  "-> %zu", types[i], (unsigned long long)pass_bytes(dm),
                  (unsigned long long)pass_bytes(m), info.target_bytes, info.weight_bytes);
        double acc;
        check_greedy_source(m, dm, (spec_params){.source = SPEC_QUANT}, &acc);
        if (i == 0) CHECK_MSG(acc > 0.7, "a q8_0 copy was accepted only %.2f", acc);
        draft_quant_free(dm);
    }
    /* the target kept everything the copies shared */
    CHECK(plain_greedy(m, prompt_b, 5, 256, after, N_GEN) == N_GEN &&
          !memcmp(before, after, sizeof before));
    draft_quant_info info;
    scarce_error err = {0};
    CHECK(!draft_quant_new(m, "q9_9", NULL, &info, &err) && strstr(err.msg, "q9_9"));
    CHECK(!draft_quant_new(m, "q8_k", NULL, &info, &err)); /* an activation type */
    model_free(m);
}

/* --draft-vocab: the draft's head cut to the first ids + the text's tokens; the text stays
 * the target's, and the view runs on the target's kernel context */
TEST(spec_greedy_shortlisted_head_equals_plain) {
    NEED_SHARED(STORIES);
    model *m = load_stories();
    REQUIRE(m);
    draft_quant_info info;
    scarce_error err = {0};
    model *dm = draft_quant_new(m, "q8_0", NULL, &info, &err);
    REQUIRE(dm);
    double full, cut, layers;
    check_greedy_source(m, dm, (spec_params){.source = SPEC_QUANT}, &full);
    /* stories260K's ids 3..258 are byte tokens: 400 ids hold 141 of its 253 pieces, and
     * the text's join them; a draft that cannot name " there" before it is written loses
     * those passes, so acceptance drops, but never to nothing */
    check_greedy_source(m, dm, (spec_params){.source = SPEC_QUANT, .draft_vocab = 400}, &cut);
    check_greedy_source(m, NULL, (spec_params){.source = SPEC_LAYERS, .draft_layers = 3,
                                               .draft_vocab = 8}, &layers);
    CHECK_MSG(cut > 0.2 && full > 0.7, "acceptance %.2f with 400 ids, %.2f with all", cut, full);
    /* the view itself: shortlist rows, their tokens, bytes, shared kernels */
    draft_view v;
    REQUIRE(!draft_view_init(&v, dm, m, 16, 64, NULL, &err));
    CHECK(v.shared_kernels && v.m.kernels == m->kernels && v.n == 16 && v.m.output.rows == 16);
    const uint64_t bytes16 = v.m.global_pass_bytes;
    const int text[] = {300, 5, 300, 511, 17};
    draft_view_add(&v, text, 5);
    CHECK_EQ_INT(v.n, 19); /* 300, 511, 17: 5 was listed, 300 came twice */
    CHECK(v.ids[16] == 300 && v.ids[17] == 511 && v.ids[18] == 17);
    CHECK(v.m.global_pass_bytes == bytes16 + 3 * dm->output.row_bytes);
    CHECK(!memcmp(v.rows + 16 * dm->output.row_bytes,
                  (const uint8_t *)dm->output.data + 300 * dm->output.row_bytes,
                  dm->output.row_bytes));
    float logits[19] = {0};
    logits[17] = 5; /* row 17 holds token 511 */
    CHECK_EQ_INT(draft_view_argmax(&v, logits, NULL), 511);
    draft_view_free(&v);
    REQUIRE(!draft_view_init(&v, dm, m, 0, 64, NULL, &err)); /* 0: the whole head */
    CHECK(!v.rows && v.m.output.rows == m->cfg.n_vocab && v.m.output.data == dm->output.data);
    draft_view_free(&v);
    /* the coarse head: a q4_0 copy of the 8-bit head scores all ids, the 8-bit rows the
     * COARSE_TOP best again against the hidden state */
    const qmatrix *coarse = draft_quant_coarse_head(dm);
    REQUIRE(coarse);
    CHECK(coarse->type == QT_Q4_0 && coarse->rows == m->cfg.n_vocab && info.coarse_bytes > 0);
    REQUIRE(!draft_view_init(&v, dm, m, 0, 64, coarse, &err));
    CHECK(v.coarse && !v.rows && v.m.output.data == coarse->data);
    const int n_embd = m->cfg.n_embd, n_vocab = m->cfg.n_vocab;
    float *hidden = malloc((size_t)n_embd * sizeof *hidden), *row = malloc((size_t)n_embd * 4);
    float *all = calloc((size_t)n_vocab, sizeof *all);
    REQUIRE(hidden && row && all);
    for (int i = 0; i < n_embd; i++) hidden[i] = (float)((i * 37) % 11) - 5.0f;
    /* logits that put ids 40..47 on top (40 highest): the proposal is the one of them the
     * 8-bit rows score best, whatever the coarse order */
    for (int t = 0; t < n_vocab; t++) all[t] = t >= 40 && t < 48 ? 100.0f - t : -1.0f;
    int want = -1;
    float best = -INFINITY;
    for (int t = 40; t < 48; t++) {
        qmatrix_row(&dm->output, t, row);
        double sum = 0;
        for (int i = 0; i < n_embd; i++) sum += (double)row[i] * hidden[i];
        if ((float)sum > best) best = (float)sum, want = t;
    }
    CHECK_EQ_INT(draft_view_argmax(&v, all, hidden), want);
    CHECK_EQ_INT(draft_view_argmax(&v, all, NULL), 40); /* no hidden state: the coarse one */
    free(hidden), free(row), free(all);
    draft_view_free(&v);
    draft_quant_free(dm);
    model_free(m);
}

TEST(spec_greedy_lookup_file_equals_plain_and_is_used) {
    NEED_SHARED(STORIES);
    model *m = load_stories();
    REQUIRE(m);
    /* the file holds the plain continuation of prompt_b: drafts from it are right */
    int file[5 + N_GEN];
    memcpy(file, prompt_b, sizeof prompt_b);
    REQUIRE(plain_greedy(m, prompt_b, 5, 256, file + 5, N_GEN) == N_GEN);
    spec_params p = {.source = SPEC_LOOKUP, .lookup_n = 4, .lookup_min = 2,
                     .lookup_file = file, .n_lookup_file = 5 + N_GEN};
    double acc;
    check_greedy_source(m, NULL, p, &acc);
    const sampler_params greedy = {.temp = 0};
    int got[N_GEN + SPEC_MAX_DRAFT];
    spec_stats with, without;
    p.n_draft = p.n_draft_min = p.n_draft_max = 4;
    CHECK_EQ_INT(spec_generate(m, NULL, &p, &greedy, prompt_b, 5, 256, got, N_GEN, &with), N_GEN);
    p.lookup_file = NULL, p.n_lookup_file = 0;
    CHECK_EQ_INT(spec_generate(m, NULL, &p, &greedy, prompt_b, 5, 256, got, N_GEN, &without),
                 N_GEN);
    CHECK_MSG(with.accepted >= N_GEN / 2 && with.accepted > without.accepted,
              "accepted %llu with the file, %llu without", (unsigned long long)with.accepted,
              (unsigned long long)without.accepted);
    model_free(m);
}

/* SmolLM2-135M (when fetched): every source, lengths 1..8 and both policies, one prompt
 * with a repeated phrase (so lookup finds n-grams) */
TEST(spec_greedy_smollm2_every_source_equals_plain) {
    const char *path = real_model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!path) SKIP("needs SmolLM2-135M-Instruct.Q4_1.gguf in models/ or $SCARCE_MODELS");
    static const int ids[] = {504, 2365, 6354, 30, 504, 2365, 6354, 30, 504};
    static const prompt_ids smol_prompt[] = {{ids, 9}};
    scarce_error err = {0};
    kernels_init(NULL, NULL);
    model *m = model_load(path, NULL, &err), *dm = model_load(path, NULL, &err);
    REQUIRE(m && dm);
    draft_quant_info info;
    model *copy = draft_quant_new(m, "q4_0", NULL, &info, &err);
    REQUIRE(copy);
    CHECK(info.n_quantized > 0 && info.weight_bytes < info.target_bytes);
    double acc;
    const int n_gen = 8;
    check_greedy_prompts(m, dm, (spec_params){.source = SPEC_MODEL}, smol_prompt, 1, n_gen, &acc);
    CHECK_NEAR(acc, 1.0, 0); /* the file drafting for itself */
    check_greedy_prompts(m, copy, (spec_params){.source = SPEC_QUANT}, smol_prompt, 1, n_gen, &acc);
    check_greedy_prompts(m, NULL, (spec_params){.source = SPEC_LAYERS, .draft_layers = 10},
                         smol_prompt, 1, n_gen, &acc);
    check_greedy_prompts(m, NULL, (spec_params){.source = SPEC_LOOKUP, .lookup_n = 3},
                         smol_prompt, 1, n_gen, &acc);
    draft_quant_free(copy);
    model_free(dm);
    model_free(m);
}

TEST(spec_context_full_stops_where_plain_does) {
    NEED_SHARED(STORIES);
    model *m = load_stories();
    REQUIRE(m);
    const int n_ctx = 20;
    int want[64], got[64 + SPEC_MAX_DRAFT];
    /* plain fills the context and samples one token more: n_ctx - prompt + 1 tokens */
    int n_want = plain_greedy(m, prompt_b, 5, n_ctx, want, 64);
    CHECK_EQ_INT(n_want, n_ctx - 5 + 1);
    const sampler_params greedy = {.temp = 0};
    spec_params p = {.source = SPEC_LAYERS, .draft_layers = m->cfg.n_layer, .n_draft = 6,
                     .n_draft_min = 6, .n_draft_max = 6};
    int n = spec_generate(m, NULL, &p, &greedy, prompt_b, 5, n_ctx, got, 64, NULL);
    CHECK_EQ_INT(n, n_want);
    CHECK(n == n_want && !memcmp(got, want, (size_t)n * sizeof(int)));
    /* a prompt longer than the context is refused with a message */
    session s;
    sampler smp;
    spec_decoder sd;
    scarce_error err = {0};
    REQUIRE(!session_init(&s, m, 4, &err));
    sampler_init(&smp, &greedy, m->cfg.n_vocab);
    REQUIRE(!spec_init(&sd, &s, &smp, NULL, &p, &err));
    CHECK(spec_prefill(&sd, prompt_b, 5, &err) == -1 && strstr(err.msg, "context"));
    spec_free(&sd);
    sampler_free(&smp);
    session_free(&s);
    model_free(m);
}

/* ---- spec_bench: plain against speculative -------------------------------------------- */

/* A stories260K run lasts milliseconds: one preempted plain run once made --spec-compare
 * report 24x. The speed-up must come from medians of several interleaved runs. */
TEST(spec_bench_median_ignores_one_preempted_run) {
    const double plain[5] = {1.0e-3, 24.0e-3, 1.1e-3, 0.9e-3, 1.0e-3}; /* one preempted */
    const double spec[5] = {0.5e-3, 0.6e-3, 0.4e-3, 0.5e-3, 12.0e-3};
    const double speedup = spec_bench_median(plain, 5) / spec_bench_median(spec, 5);
    CHECK_MSG(speedup > 1.9 && speedup < 2.1, "speed-up %.2f, want 2", speedup);
    CHECK(spec_bench_median(plain, 2) == 12.5e-3 && spec_bench_median(plain, 0) == 0);
    /* at least SPEC_BENCH_MIN_REPS, then until each side ran long enough, then a cap */
    CHECK(spec_bench_more(0, 10, 10) && spec_bench_more(SPEC_BENCH_MIN_REPS - 1, 10, 10));
    CHECK(!spec_bench_more(SPEC_BENCH_MIN_REPS, 10, 10));
    CHECK(spec_bench_more(SPEC_BENCH_MIN_REPS, 10, 0.01) && spec_bench_more(5, 0.01, 10));
    CHECK(!spec_bench_more(SPEC_BENCH_MAX_REPS, 0.01, 0.01));
}

TEST(spec_bench_repeats_tiny_models_and_emits_every_token) {
    NEED_SHARED(STORIES);
    scarce_error err = {0};
    model *m = load_stories();
    REQUIRE(m);
    const spec_params p = {.source = SPEC_LOOKUP, .policy = SPEC_COST, .lookup_n = 2,
                           .n_draft = 4, .n_draft_min = 1, .n_draft_max = 4};
    const sampler_params greedy = {.temp = 0, .top_p = 1, .seed = 1};
    spec_bench_result r;
    REQUIRE(!spec_bench(m, NULL, &p, &greedy, prompt_b, 5, 32, 64, &r, &err));
    /* 32 tokens of a 260K-parameter model take well under SPEC_BENCH_MIN_SECONDS */
    CHECK_MSG(r.reps > SPEC_BENCH_MIN_REPS, "%d runs", r.reps);
    CHECK_EQ_INT((int)r.stats.emitted, 32);
    CHECK(r.tok_s_plain > 0 && r.tok_s_spec > 0);
    model_free(m);
}

TEST(spec_cli_compare_json_reports_its_runs) {
    NEED_SHARED(STORIES);
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 40 -p \"Once upon a time\" "
             "--lookup 2 --spec-compare --json", scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out);
    const char *reps = strstr(out, "\"compare_reps\": ");
    REQUIRE(reps && strstr(out, "\"speedup_vs_plain\""));
    CHECK_MSG(atoi(reps + strlen("\"compare_reps\": ")) >= SPEC_BENCH_MIN_REPS, "%s", reps);
    free(out);
}

/* ---- the acceptance rule on hand-made distributions ---------------------------------- */

#define V 6
static const float p_hand[V] = {0.30f, 0.25f, 0.20f, 0.15f, 0.07f, 0.03f};
static const float q_hand[V] = {0.05f, 0.10f, 0.15f, 0.20f, 0.20f, 0.30f};

/* chi-square of counts against p over V categories */
static double chi_square(const long *count, const float *p, long n) {
    double x2 = 0;
    for (int i = 0; i < V; i++) {
        double e = p[i] * (double)n;
        x2 += (count[i] - e) * (count[i] - e) / e;
    }
    return x2;
}

/* First emitted token of many one-token rounds: draft from q, then spec_accept (or, with
 * always_accept, the draft token itself - the rule without its rejection step). */
static double emitted_chi_square(const float *q, int always_accept, int drafted) {
    sampler_params sp = {.temp = 1, .seed = 12345};
    sampler rng, draft_rng;
    sampler_init(&rng, &sp, V);
    sp.seed = 777;
    sampler_init(&draft_rng, &sp, V);
    float pt[(SPEC_MAX_DRAFT + 1) * V], pd[SPEC_MAX_DRAFT * V];
    for (int i = 0; i <= drafted; i++) memcpy(pt + i * V, p_hand, sizeof p_hand);
    for (int i = 0; i < drafted; i++) memcpy(pd + i * V, q, V * sizeof(float));
    long count[V] = {0};
    const long n = 100000;
    for (long t = 0; t < n; t++) {
        int draft[SPEC_MAX_DRAFT], next;
        for (int i = 0; i < drafted; i++) draft[i] = spec_sample_probs(q, V, &draft_rng);
        int a = always_accept ? drafted : spec_accept(pt, pd, draft, V, drafted, &rng, &next, NULL);
        count[a > 0 ? draft[0] : next]++;
    }
    sampler_free(&rng);
    sampler_free(&draft_rng);
    return chi_square(count, p_hand, n);
}

#define CHI2_5DF_P001 20.515 /* critical value of chi-square, 5 degrees of freedom, p = 0.001 */

TEST(spec_accept_reproduces_target_distribution) {
    double x2 = emitted_chi_square(q_hand, 0, 1);
    CHECK_MSG(x2 < CHI2_5DF_P001, "one drafted token: chi-square %.2f", x2);
    x2 = emitted_chi_square(q_hand, 0, 3);
    CHECK_MSG(x2 < CHI2_5DF_P001, "three drafted tokens: chi-square %.2f", x2);
    /* a deterministic proposal (n-gram lookup): q one-hot on token 5 */
    static const float one_hot[V] = {0, 0, 0, 0, 0, 1};
    x2 = emitted_chi_square(one_hot, 0, 1);
    CHECK_MSG(x2 < CHI2_5DF_P001, "one-hot draft: chi-square %.2f", x2);
}

TEST(spec_accept_without_rejection_is_detectably_wrong) {
    double x2 = emitted_chi_square(q_hand, 1, 1);
    CHECK_MSG(x2 > 100 * CHI2_5DF_P001, "always accepting: chi-square only %.2f", x2);
}

TEST(spec_accept_greedy_one_hot_is_exact) {
    sampler_params sp = {.temp = 1, .seed = 1};
    sampler rng;
    sampler_init(&rng, &sp, V);
    float pt[3 * V] = {0}, pd[2 * V];
    pt[2] = pt[V + 4] = pt[2 * V + 1] = 1; /* target argmax: 2, then 4, then 1 */
    for (int i = 0; i < 2 * V; i++) pd[i] = 1.0f / V;
    int next, ok[2] = {2, 4}, bad[2] = {2, 3};
    for (int t = 0; t < 100; t++) {
        CHECK_EQ_INT(spec_accept(pt, pd, ok, V, 2, &rng, &next, NULL), 2);
        CHECK_EQ_INT(next, 1);
        CHECK_EQ_INT(spec_accept(pt, pd, bad, V, 2, &rng, &next, NULL), 1);
        CHECK_EQ_INT(next, 4);
    }
    sampler_free(&rng);
}

/* ---- the command line ------------------------------------------------------------------ */

static void check_one_line_error(const char *args, int want_rc, const char *want_text) {
    char cmd[2048], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 8 %s", scarce_bin(),
             shared_path(STORIES), args);
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), want_rc);
    REQUIRE(err);
    char *nl = strchr(err, '\n');
    CHECK_MSG(nl && !nl[1], "expected one line on stderr, got:\n%s", err);
    CHECK_MSG(strstr(err, want_text), "expected '%s' in: %s", want_text, err);
    free(out), free(err);
}

TEST(spec_cli_vocabulary_mismatch_and_overflow_fail_cleanly) {
    NEED_SHARED(STORIES);
    const char *other = shared_path("models/vocab/ggml-vocab-llama-spm.gguf");
    NEED_FILE(other);
    char path[512], cmd[1536], args[1024];
    snprintf(path, sizeof path, "%s/other_vocab.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s --vocab %s --n-embd 32 --n-layer 1 --n-head 4 "
             "--n-head-kv 2 --n-ff 64", scarce_bin(), path, other);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(args, sizeof args, "-md %s", path);
    check_one_line_error(args, 1, "vocabulary");
    check_one_line_error("-c 3 -p \"Once upon a time there was\" --lookup 2", 1, "context");
    check_one_line_error("--lookup 2 --draft-layers 1", 2, "exactly one");
    check_one_line_error("--draft-layers 99", 1, "layers");
    check_one_line_error("--draft-quant q9_9", 1, "q9_9");
    check_one_line_error("--lookup-file /nonexistent/notes.txt", 1, "/nonexistent/notes.txt");
    check_one_line_error("--lookup 2 --draft-policy fast", 2, "--draft-policy");
    check_one_line_error("--draft-quant q4_0 --lookup 2", 2, "exactly one");
}

TEST(spec_cli_greedy_text_equals_plain) {
    NEED_SHARED(STORIES);
    char cmd[1024], *plain = NULL, *spec = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -t 1 --temp 0 -n 48 -p \"Once upon a time\"",
             scarce_bin(), shared_path(STORIES));
    CHECK_EQ_INT(run_cmd(cmd, &plain, NULL), 0);
    strcat(cmd, " --draft-layers 3 --draft 4 --trace-spec");
    CHECK_EQ_INT(run_cmd(cmd, &spec, &err), 0);
    REQUIRE(plain && spec && err);
    CHECK_MSG(!strcmp(plain, spec), "plain:\n%s\nspeculative:\n%s", plain, spec);
    CHECK(strstr(err, "spec    1:") && strstr(err, "accepted"));
    CHECK(!strchr(err, '\033')); /* stderr is a pipe: no colour codes */
    free(spec), free(err);
    /* the in-memory copy and lookup in a file, through the command line */
    char file[512], args[3][700], cmd2[3200];
    snprintf(file, sizeof file, "%s/lookup.txt", test_tmpdir());
    FILE *f = fopen(file, "w");
    REQUIRE(f);
    fputs("Once upon a time, there was a little girl named Lily.\n", f);
    fclose(f);
    snprintf(args[0], sizeof args[0], "--draft-quant q4_0 --json");
    snprintf(args[1], sizeof args[1], "--lookup 3 --lookup-file %s --draft 6", file);
    snprintf(args[2], sizeof args[2], "--draft-quant q8_0 --draft-policy adapt --draft 3");
    for (int i = 0; i < 3; i++) {
        snprintf(cmd2, sizeof cmd2, "%s run -m %s -t 1 --temp 0 -n 48 -p \"Once upon a time\" %s",
                 scarce_bin(), shared_path(STORIES), args[i]);
        spec = err = NULL;
        CHECK_EQ_INT(run_cmd(cmd2, &spec, &err), 0);
        REQUIRE(spec && err);
        /* --json puts the text on stderr and the summary on stdout */
        const char *text = i == 0 ? err : spec;
        CHECK_MSG(!strncmp(text, plain, strlen(plain)), "%s:\n%s\nplain:\n%s", args[i], text, plain);
        if (i == 0) CHECK(strstr(spec, "\"draft_quant\"") && strstr(spec, "\"cost_model\""));
        if (i == 1) CHECK(strstr(err, "lookup:") && strstr(err, "lookup.txt"));
        free(spec), free(err);
    }
    free(plain);
}
