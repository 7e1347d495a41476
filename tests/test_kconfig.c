/* test_kconfig.c - the kernel configuration and the per-model kernel context.
 *
 * - The environment is read once, by kernel_config_from_env: changing it afterwards
 *   changes neither a configuration, nor a model loaded with it, nor matmul's results.
 * - Two models loaded with different configurations (threads 1 / 2, repack on / off,
 *   forced batch path, adaptive threads, stealing) in one process each give, token for
 *   token and interleaved, the bits they give when loaded alone.
 * - matmul returns an error, never aborts, for work larger than its context's scratch. */
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "../kernels/gemm.h"
#include "../kernels/matmul.h"
#include "../quant/types.h"
#include "kernel_ctx_util.h"
#include "test.h"

static const char *env_names[] = {"SCARCE_ISA",           "SCARCE_REPACK", "SCARCE_GEMM",
                                  "SCARCE_ADAPT_THREADS", "SCARCE_STEAL",  "SCARCE_RESCUE"};

static void clear_env(void) {
    for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++) unsetenv(env_names[i]);
}

TEST(kconfig_from_env_reads_each_variable) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    clear_env();
    kernel_config c;
    char msg[128] = "";
    REQUIRE(kernel_config_from_env(&c, msg) == 0);
    CHECK(c.isa == cpu_best_isa() && c.repack && c.gemm == -1 && c.adapt_threads && c.steal &&
          c.rescue);
    setenv("SCARCE_ISA", "scalar", 1), setenv("SCARCE_REPACK", "0", 1);
    setenv("SCARCE_GEMM", "own", 1), setenv("SCARCE_ADAPT_THREADS", "0", 1);
    setenv("SCARCE_STEAL", "0", 1), setenv("SCARCE_RESCUE", "0", 1);
    REQUIRE(kernel_config_from_env(&c, msg) == 0);
    CHECK(c.isa == ISA_SCALAR && !c.repack && c.gemm == GEMM_OWN && !c.adapt_threads && !c.steal &&
          !c.rescue);
    char text[160];
    kernel_config_describe(&c, text, sizeof text);
    CHECK_MSG(strcmp(text, "isa=scalar repack=off gemm=own adapt_threads=off steal=off "
                           "threads=1 lut=auto rescue=off") == 0,
              "%s", text);
    /* the defaults never look at the environment */
    const kernel_config d = kernel_config_default();
    CHECK(d.repack && d.gemm == -1 && d.adapt_threads && d.steal && d.threads == 1 && d.rescue);
    /* bad values: one message naming the variable */
    setenv("SCARCE_GEMM", "fastest", 1);
    CHECK(kernel_config_from_env(&c, msg) == -1 && strstr(msg, "SCARCE_GEMM"));
    setenv("SCARCE_GEMM", "auto", 1), setenv("SCARCE_ISA", "mmx", 1);
    CHECK(kernel_config_from_env(&c, msg) == -1 && strstr(msg, "SCARCE_ISA"));
    clear_env();
    kernel_config bad = kernel_config_default();
    bad.threads = 0;
    CHECK(kernel_config_check(&bad, msg) == -1 && strstr(msg, "threads"));
    bad.threads = KERNEL_MAX_THREADS + 1;
    const kernel_shape shape = {.max_cols = 64, .max_row_bytes = 256, .max_batch = 1};
    CHECK(kernel_ctx_new(&bad, &shape, msg) == NULL && strstr(msg, "threads"));
}

/* matmul through a context made from the environment, before and after the environment
 * changes: same configuration, same bits. */
TEST(kconfig_env_changes_after_start_up_change_nothing) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    clear_env();
    setenv("SCARCE_GEMM", "own", 1), setenv("SCARCE_REPACK", "0", 1);
    kernel_config cfg;
    char msg[128];
    REQUIRE(kernel_config_from_env(&cfg, msg) == 0);
    const kernel_config saved = cfg;
    qmatrix W = test_random_matrix(QT_Q8_0, 96, 256);
    kernel_shape shape = {.max_batch = 32};
    kernel_shape_add(&shape, &W);
    kernel_ctx *k = kernel_ctx_new(&cfg, &shape, msg);
    REQUIRE(k != NULL);
    enum { B = 32 };
    float *X = malloc(sizeof(float) * B * 256), *Y0 = malloc(sizeof(float) * B * 96),
          *Y1 = malloc(sizeof(float) * B * 96);
    for (int i = 0; i < B * 256; i++) X[i] = test_uniform();
    REQUIRE(matmul(k, &W, X, B, Y0) == 0);
    /* what the old code read per call or lazily */
    setenv("SCARCE_GEMM", "tiles", 1), setenv("SCARCE_REPACK", "1", 1);
    setenv("SCARCE_STEAL", "0", 1), setenv("SCARCE_ADAPT_THREADS", "0", 1);
    REQUIRE(matmul(k, &W, X, B, Y1) == 0);
    CHECK(memcmp(kernel_ctx_config(k), &saved, sizeof saved) == 0);
    CHECK_MSG(memcmp(Y0, Y1, sizeof(float) * B * 96) == 0, "matmul changed with the environment");
    /* and the forced path really is the one that ran: the tiles give other bits for q8_0 */
    kernel_config tiles = saved;
    tiles.gemm = GEMM_TILES;
    kernel_ctx *kt = kernel_ctx_new(&tiles, &shape, msg);
    REQUIRE(kt != NULL);
    REQUIRE(matmul(kt, &W, X, B, Y1) == 0);
    CHECK_MSG(memcmp(Y0, Y1, sizeof(float) * B * 96) != 0, "own and tiles gave the same bits");
    clear_env();
    kernel_ctx_free(k), kernel_ctx_free(kt);
    free(X), free(Y0), free(Y1), free((void *)W.data);
}

TEST(kconfig_matmul_beyond_scratch_fails_without_abort) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    qmatrix W = test_random_matrix(QT_Q4_0, 64, 256), wide = test_random_matrix(QT_Q4_0, 8, 512);
    kernel_shape shape = {.max_batch = 4};
    kernel_shape_add(&shape, &W);
    kernel_config cfg = kernel_config_default();
    char msg[128];
    kernel_ctx *k = kernel_ctx_new(&cfg, &shape, msg);
    REQUIRE(k != NULL);
    float X[5 * 512], Y[5 * 64];
    for (int i = 0; i < 5 * 512; i++) X[i] = test_uniform();
    for (int i = 0; i < 5 * 64; i++) Y[i] = 7.0f;
    CHECK(matmul(k, &W, X, 4, Y) == 0);
    Y[4 * 64] = 7.0f;
    CHECK(matmul(k, &W, X, 5, Y) == -1 && strstr(kernel_ctx_error(k), "batch of 5"));
    CHECK_MSG(Y[4 * 64] == 7.0f, "a failed matmul wrote its output");
    CHECK(matmul(k, &wide, X, 1, Y) == -1 && strstr(kernel_ctx_error(k), "512 columns"));
    const qmatrix *both[2] = {&W, &wide};
    float *outs[2] = {Y, Y};
    CHECK(matmul_multi(k, both, 2, X, 1, outs) == -1);
    /* the f32 batch path checks its own buffers too */
    cfg.gemm = GEMM_OWN;
    kernel_ctx *own = kernel_ctx_new(&cfg, &shape, msg);
    REQUIRE(own != NULL);
    CHECK(matmul(own, &W, X, 4, Y) == 0);
    CHECK(matmul(own, &W, X, 5, Y) == -1);
    kernel_ctx_free(k), kernel_ctx_free(own);
    free((void *)W.data), free((void *)wide.data);
}

/* ---- two models, two configurations ---- */

#define N_TOK 12
#define N_PROMPT 20

typedef struct {
    model *m;
    session s;
    float logits[N_TOK + 1][512];
} run;

static int open_run(run *r, const char *path, const model_options *opts) {
    scarce_error err = {0};
    memset(r, 0, sizeof *r);
    if (!(r->m = model_load(path, opts, &err))) return -1;
    if (session_init(&r->s, r->m, 64, &err)) return -1;
    return r->m->cfg.n_vocab <= 512 ? 0 : -1;
}

/* Step i: i = 0 prefills N_PROMPT tokens (a batch: the forced path runs), then one
 * greedy token per step. */
static int step(run *r, int i) {
    scarce_error err = {0};
    int prompt[N_PROMPT], tok;
    const float *l;
    if (i == 0) {
        for (int j = 0; j < N_PROMPT; j++) prompt[j] = 1 + j * 7 % 200;
        l = forward(&r->s, prompt, N_PROMPT, 0, &err);
    } else {
        const float *prev = r->logits[i - 1];
        tok = 0;
        for (int v = 1; v < r->m->cfg.n_vocab; v++)
            if (prev[v] > prev[tok]) tok = v;
        l = forward(&r->s, &tok, 1, 0, &err);
    }
    if (!l) return -1;
    memcpy(r->logits[i], l, r->m->cfg.n_vocab * sizeof(float));
    return 0;
}

static void close_run(run *r) {
    if (r->m) session_free(&r->s);
    model_free(r->m);
}

/* A model of `type` with the stories260K vocabulary (n_embd 128), written to path. */
static int make_model(const char *type, char *path, size_t size) {
    char cmd[1024];
    snprintf(path, size, "%s/k.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 128 --n-layer 2 --n-head 8 --n-head-kv 4 "
             "--n-ff 384 --seed 5 --type %s",
             scarce_bin(), path, shared_path("models/stories260K.gguf"), type);
    return run_cmd(cmd, NULL, NULL);
}

/* Runs the model with options a, then b, each alone; then both loaded at once, their steps
 * interleaved, into both[0..1] (left open): each must give the bits it gave alone. */
static int side_by_side(const char *path, const model_options *a, const model_options *b,
                        run *both) {
    run *alone = calloc(2, sizeof *alone);
    const model_options *opts[2] = {a, b};
    int ok = alone != NULL;
    for (int k = 0; ok && k < 2; k++) {
        ok = open_run(&alone[k], path, opts[k]) == 0;
        for (int i = 0; ok && i <= N_TOK; i++) ok = step(&alone[k], i) == 0;
        close_run(&alone[k]);
    }
    for (int k = 0; ok && k < 2; k++) ok = open_run(&both[k], path, opts[k]) == 0;
    for (int i = 0; ok && i <= N_TOK; i++) /* interleaved: a, b, a, b ... */
        for (int k = 0; ok && k < 2; k++) ok = step(&both[k], i) == 0;
    CHECK_MSG(ok, "loading or running a model failed");
    for (int k = 0; ok && k < 2; k++)
        CHECK_MSG(memcmp(alone[k].logits, both[k].logits, sizeof alone[k].logits) == 0,
                  "model %c: logits loaded beside the other differ from loaded alone", 'a' + k);
    free(alone);
    return ok ? 0 : -1;
}

TEST(kconfig_two_models_two_configs_each_as_alone) {
    NEED_SHARED("models/stories260K.gguf");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    char path[512];
    REQUIRE(make_model("q4_0", path, sizeof path) == 0);
    model_options a = model_options_default(), b = a;
    b.kernels.threads = 2, b.kernels.repack = 0, b.kernels.gemm = GEMM_OWN;
    b.kernels.adapt_threads = 0, b.kernels.steal = 0;
    run *both = calloc(2, sizeof *both);
    REQUIRE(side_by_side(path, &a, &b, both) == 0);
    CHECK(both[0].m->output.packed != NULL || cpu_best_isa() == ISA_SCALAR);
    CHECK(both[1].m->output.packed == NULL);
    CHECK(model_kernel_config(both[0].m)->threads == 1 &&
          model_kernel_config(both[1].m)->threads == 2);
    /* the two configurations really differ (forced f32 prefill, no repack) */
    CHECK(memcmp(both[0].logits[0], both[1].logits[0], sizeof both[0].logits[0]) != 0);
    /* threads through the engine's API */
    scarce_error err = {0};
    CHECK(model_set_threads(both[0].m, 2, &err) == 0 &&
          model_kernel_config(both[0].m)->threads == 2);
    CHECK(model_set_threads(both[0].m, 0, &err) == -1 && strstr(err.msg, "threads"));
    for (int k = 0; k < 2; k++) close_run(&both[k]);
    free(both);
}

/* Model a on the scalar kernels, model b on the best ISA, in one process. f16 weights: the
 * SIMD dot products sum in another order than the scalar ones, so the two ISAs give
 * different bits (the packed q4_0 kernels give the scalar reference's exactly). */
TEST(kconfig_two_models_two_isas_each_as_alone) {
    NEED_SHARED("models/stories260K.gguf");
    if (cpu_best_isa() == ISA_SCALAR) SKIP("the CPU has no SIMD ISA: nothing to compare");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    char path[512];
    REQUIRE(make_model("f16", path, sizeof path) == 0);
    model_options a = model_options_default(), b = a;
    a.kernels.isa = ISA_SCALAR, b.kernels.isa = cpu_best_isa();
    run *both = calloc(2, sizeof *both);
    REQUIRE(side_by_side(path, &a, &b, both) == 0);
    CHECK(model_kernel_config(both[0].m)->isa == ISA_SCALAR);
    CHECK_MSG(memcmp(both[0].logits, both[1].logits, sizeof both[0].logits) != 0,
              "scalar and %s kernels gave the same bits", kernels_isa_name(cpu_best_isa()));
    for (int k = 0; k < 2; k++) close_run(&both[k]);
    free(both);
}

TEST(kconfig_cli_version_and_bad_env) {
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "SCARCE_GEMM=own SCARCE_STEAL=0 %s --version", scarce_bin());
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    REQUIRE(out);
    CHECK_MSG(strstr(out, "ISA detected: ") && strstr(out, "OpenBLAS: ") &&
                  strstr(out, "gemm=own") && strstr(out, "steal=off") &&
                  strstr(out, "build flags: "),
              "%s", out);
    free(out), out = NULL;
    snprintf(cmd, sizeof cmd, "SCARCE_GEMM=fastest %s run -m x.gguf", scarce_bin());
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 2);
    CHECK_MSG(err && strstr(err, "SCARCE_GEMM") && strchr(err, '\n') == err + strlen(err) - 1, "%s",
              err ? err : "");
    free(err);
    NEED_SHARED("models/stories260K.gguf");
    snprintf(cmd, sizeof cmd, "SCARCE_REPACK=0 %s run -m %s -n 2 -t 2 --temp 0 --json",
             scarce_bin(), shared_path("models/stories260K.gguf"));
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    CHECK_MSG(out && strstr(out, "\"kernels\": {\"isa\": ") && strstr(out, "\"repack\": false") &&
                  strstr(out, "\"threads\": 2}"),
              "%s", out ? out : "");
    free(out);
}
