/* test_api_tools.c - what include/scarce.h gained so that tools/ can use it alone: the
 * kernel switches of a model, chat templates, GGUF metadata, the machine and its memory
 * bandwidth; each with its error paths. And the guard: tools/ includes nothing of engine/,
 * kernels/ or quant/, directly or through a tools/ header. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../include/scarce.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define SMOLLM "SmolLM2-135M-Instruct.Q4_1.gguf"

static int status_is(int got, int want, const char *what, const char *msg) {
    CHECK_MSG(got == want, "%s: %s, expected %s", what, scarce_status_name(got),
              scarce_status_name(want));
    CHECK_MSG(!msg || msg[0], "%s: no message", what);
    return got == want;
}

static scarce_model *open_with(const char *path, const scarce_model_params *mp) {
    char err[512];
    scarce_model *m = NULL;
    int rc = scarce_model_open(path, mp, &m, err, sizeof err);
    CHECK_MSG(rc == SCARCE_OK, "%s: %s", path, err);
    return m;
}

static int append(void *user, int32_t token, const char *piece, size_t len) {
    char *text = user;
    (void)token;
    strncat(text, piece, len < 200 ? len : 200);
    return strlen(text) > 3000;
}

/* The greedy text of 24 tokens after PROMPT (into text, 4096 bytes). */
static void greedy(scarce_model *m, char *text) {
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    scarce_context *ctx = NULL;
    text[0] = 0;
    REQUIRE(scarce_context_new(m, &cp, &ctx) == SCARCE_OK);
    CHECK_EQ_INT(scarce_generate(ctx, "Once upon a time", 24, append, text, NULL), SCARCE_OK);
    scarce_context_free(ctx);
}

TEST(api_model_kernel_switches) {
    NEED_SHARED(STORIES);
    const char *path = shared_path(STORIES);
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 2;
    scarce_model *plain = open_with(path, &mp);
    mp.gemm = "own", mp.fixed_threads = 1, mp.static_rows = 1, mp.repack = 0;
    scarce_model *switched = open_with(path, &mp);
    REQUIRE(plain && switched);
    char desc[256], a[4096], b[4096];
    CHECK(scarce_model_kernels(plain, desc, sizeof desc) > 0);
    CHECK_MSG(strstr(desc, "gemm=auto adapt_threads=on steal=on threads=2"), "%s", desc);
    CHECK(scarce_model_kernels(switched, desc, sizeof desc) > 0);
    CHECK_MSG(strstr(desc, "repack=off gemm=own adapt_threads=off steal=off"), "%s", desc);
    /* the switches change how, not what: the same greedy text */
    greedy(plain, a), greedy(switched, b);
    CHECK_MSG(a[0] && !strcmp(a, b), "'%s' vs '%s'", a, b);
    status_is(scarce_model_kernels(plain, desc, 8), SCARCE_ERR_ARGUMENT, "cap 8",
              scarce_model_error(plain));
    status_is(scarce_model_kernels(NULL, desc, sizeof desc), SCARCE_ERR_ARGUMENT, "NULL", NULL);
    scarce_model_close(plain), scarce_model_close(switched);
    char err[512];
    scarce_model *m = NULL;
    mp.gemm = "fastest";
    status_is(scarce_model_open(path, &mp, &m, err, sizeof err), SCARCE_ERR_ARGUMENT, "gemm", err);
    CHECK_MSG(!m && strstr(err, "fastest"), "%s", err);
    mp = scarce_model_default_params(), mp.vocab_only = 1;
    REQUIRE((m = open_with(path, &mp)));
    status_is(scarce_model_kernels(m, desc, sizeof desc), SCARCE_ERR_ARGUMENT, "vocab_only",
              scarce_model_error(m));
    scarce_model_close(m);
}

/* What bench and run print of a model: the parameters it really runs with, its main
 * weight format and, for a mixture of experts, what a token reads. */
TEST(api_model_params_type_and_moe_info) {
    NEED_SHARED(STORIES);
    const char *path = shared_path(STORIES);
    scarce_model_params mp = scarce_model_default_params(), got;
    mp.n_threads = 2, mp.gemm = "own", mp.lut = "off", mp.fixed_threads = 1;
    scarce_model *m = open_with(path, &mp);
    REQUIRE(m);
    REQUIRE(scarce_model_get_params(m, &got) == SCARCE_OK);
    CHECK(got.n_threads == 2 && got.repack == 1 && got.fixed_threads == 1 && !got.static_rows);
    CHECK_MSG(!strcmp(got.isa, scarce_model_isa(m)) && !strcmp(got.gemm, "own") &&
                  !strcmp(got.lut, "off"),
              "%s %s %s", got.isa, got.gemm, got.lut);
    CHECK_MSG(!strcmp(scarce_model_type(m), "f32"), "%s", scarce_model_type(m));
    /* a dense model has no expert figures */
    scarce_moe_info moe = {.size = sizeof moe};
    status_is(scarce_model_moe_info(m, &moe), SCARCE_ERR_ARGUMENT, "dense", scarce_model_error(m));
    scarce_model_close(m);
    /* the defaults resolve: threads never 0, gemm and lut by name */
    REQUIRE((m = open_with(path, NULL)));
    REQUIRE(scarce_model_get_params(m, &got) == SCARCE_OK);
    CHECK(got.n_threads >= 1 && !strcmp(got.gemm, "auto") && !strcmp(got.lut, "auto"));
    scarce_model_close(m);
    status_is(scarce_model_get_params(NULL, &got), SCARCE_ERR_ARGUMENT, "NULL", NULL);
    CHECK(!strcmp(scarce_model_type(NULL), ""));
    char err[512];
    mp = scarce_model_default_params(), mp.lut = "sideways";
    status_is(scarce_model_open(path, &mp, &m, err, sizeof err), SCARCE_ERR_ARGUMENT, "lut", err);
    CHECK_MSG(!m && strstr(err, "sideways"), "%s", err);
    const char *moe_path = shared_moe_model(); /* stories260K upcycled: 4 experts, top-2 */
    REQUIRE(moe_path && (m = open_with(moe_path, NULL)));
    REQUIRE(scarce_model_moe_info(m, &moe) == SCARCE_OK);
    CHECK(moe.n_expert == 4 && moe.n_expert_used == 2 && moe.gating && moe.gating[0]);
    CHECK_MSG(moe.total_expert_bytes < moe.total_bytes &&
                  moe.active_bytes_per_token < moe.total_bytes &&
                  moe.total_bytes == scarce_model_weight_bytes(m),
              "experts %llu, active %llu, total %llu", (unsigned long long)moe.total_expert_bytes,
              (unsigned long long)moe.active_bytes_per_token, (unsigned long long)moe.total_bytes);
    CHECK(moe.mla_cache_width == 0);
    moe.size = 3;
    status_is(scarce_model_moe_info(m, &moe), SCARCE_ERR_ARGUMENT, "size", scarce_model_error(m));
    scarce_model_close(m);
}

/* ---- speculative: the draft-source struct carries `scarce run`'s options ------------- */

/* Greedy speculative text of 40 tokens after "Once upon a time" into text (4096); status. */
static int spec_text(scarce_context *ctx, const scarce_spec_params *sp, char *text,
                     scarce_stats *st) {
    text[0] = 0;
    int rc = scarce_generate_spec(ctx, "Once upon a time", 40, sp, append, text, NULL);
    if (!rc) scarce_context_stats(ctx, st);
    return rc;
}

TEST(api_spec_quant_lookup_text_and_lengths) {
    NEED_SHARED(STORIES);
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 1;
    scarce_model *m = open_with(shared_path(STORIES), &mp);
    REQUIRE(m);
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    scarce_context *ctx;
    REQUIRE(scarce_context_new(m, &cp, &ctx) == SCARCE_OK);
    char plain[4096], got[4096];
    plain[0] = 0;
    REQUIRE(scarce_generate(ctx, "Once upon a time", 40, append, plain, NULL) == SCARCE_OK);
    int32_t ids[512];
    const int n_ids = scarce_tokenize(m, plain, 0, ids, 512);
    REQUIRE(n_ids > 10);
    scarce_stats st;
    /* an in-memory q8_0 copy drafts; a fixed length of 3 */
    const scarce_spec_params quant = {
        .source = SCARCE_DRAFT_QUANT, .draft_type = "q8_0", .n_draft_min = 3, .n_draft_max = 3};
    CHECK_MSG(spec_text(ctx, &quant, got, &st) == SCARCE_OK, "%s", scarce_context_error(ctx));
    CHECK_MSG(!strcmp(got, plain), "q8_0 draft: '%s' vs '%s'", got, plain);
    CHECK(st.spec_passes > 0 && st.spec_drafted > 0 && st.spec_accepted <= st.spec_drafted);
    /* lookup in a text that holds the continuation: drafts are found and mostly accepted */
    const scarce_spec_params look = {.source = SCARCE_DRAFT_LOOKUP,
                                     .lookup_n = 3,
                                     .lookup_min = 2,
                                     .lookup_tokens = ids,
                                     .n_lookup_tokens = n_ids,
                                     .adapt = 1,
                                     .n_draft = 4};
    CHECK_MSG(spec_text(ctx, &look, got, &st) == SCARCE_OK, "%s", scarce_context_error(ctx));
    CHECK_MSG(!strcmp(got, plain), "lookup text: '%s' vs '%s'", got, plain);
    CHECK_MSG(st.spec_drafted > 0 && 2 * st.spec_accepted > st.spec_drafted,
              "drafted %llu, accepted %llu", (unsigned long long)st.spec_drafted,
              (unsigned long long)st.spec_accepted);
    /* errors name what is wrong; nothing runs */
    scarce_spec_params bad = quant;
    bad.draft_type = NULL;
    status_is(spec_text(ctx, &bad, got, &st), SCARCE_ERR_ARGUMENT, "no type",
              scarce_context_error(ctx));
    bad.draft_type = "q9_9";
    status_is(spec_text(ctx, &bad, got, &st), SCARCE_ERR_ARGUMENT, "q9_9",
              scarce_context_error(ctx));
    CHECK_MSG(strstr(scarce_context_error(ctx), "q9_9"), "%s", scarce_context_error(ctx));
    bad = quant, bad.n_draft_min = 4, bad.n_draft_max = 2;
    status_is(spec_text(ctx, &bad, got, &st), SCARCE_ERR_ARGUMENT, "min > max",
              scarce_context_error(ctx));
    bad = look, bad.lookup_tokens = NULL;
    status_is(spec_text(ctx, &bad, got, &st), SCARCE_ERR_ARGUMENT, "NULL tokens",
              scarce_context_error(ctx));
    int32_t wrong[2] = {1, 1 << 24};
    bad = look, bad.lookup_tokens = wrong, bad.n_lookup_tokens = 2;
    status_is(spec_text(ctx, &bad, got, &st), SCARCE_ERR_TOKEN, "token id",
              scarce_context_error(ctx));
    bad = look, bad.source = (scarce_draft_source)7;
    status_is(spec_text(ctx, &bad, got, &st), SCARCE_ERR_ARGUMENT, "source 7",
              scarce_context_error(ctx));
    scarce_context_free(ctx);
    scarce_model_close(m);
}

/* ---- GGUF metadata --------------------------------------------------------------------- */

/* Index of key in g, or -1. */
static long find_key(const scarce_gguf *g, const char *key, scarce_gguf_kv *kv) {
    scarce_gguf_info info;
    scarce_gguf_get_info(g, &info);
    for (uint64_t i = 0; i < info.n_kv; i++)
        if (scarce_gguf_get_kv(g, i, kv) == SCARCE_OK && !strcmp(kv->key, key)) return (long)i;
    return -1;
}

TEST(api_gguf_metadata_and_tensors) {
    NEED_SHARED(STORIES);
    const char *path = shared_path(STORIES);
    char err[512];
    scarce_gguf *g = NULL;
    REQUIRE(scarce_gguf_open(path, &g, err, sizeof err) == SCARCE_OK && g);
    scarce_gguf_info info;
    REQUIRE(scarce_gguf_get_info(g, &info) == SCARCE_OK);
    CHECK(info.version >= 2 && info.n_kv > 5 && info.n_tensors > 5 && info.alignment >= 1);
    scarce_gguf_kv kv;
    scarce_gguf_value v;
    long i = find_key(g, "general.architecture", &kv);
    REQUIRE(i >= 0 && kv.type == SCARCE_GGUF_STRING && kv.n == 1);
    CHECK(scarce_gguf_get_value(g, (uint64_t)i, 0, &v) == SCARCE_OK && v.len == 5 &&
          !memcmp(v.str, "llama", 5));
    CHECK(!strcmp(scarce_gguf_type_name(kv.type), "string"));
    i = find_key(g, "llama.block_count", &kv);
    REQUIRE(i >= 0 && kv.type == SCARCE_GGUF_U32);
    CHECK(scarce_gguf_get_value(g, (uint64_t)i, 0, &v) == SCARCE_OK && v.u >= 1 &&
          (uint64_t)v.i == v.u && v.f == (double)v.u);
    /* the vocabulary: a string array as long as the model's vocabulary */
    i = find_key(g, "tokenizer.ggml.tokens", &kv);
    REQUIRE(i >= 0 && kv.type == SCARCE_GGUF_ARRAY && kv.elem_type == SCARCE_GGUF_STRING);
    scarce_model_params mp = scarce_model_default_params();
    mp.vocab_only = 1;
    scarce_model *vocab = open_with(path, &mp);
    REQUIRE(vocab);
    CHECK_EQ_INT((int)kv.n, scarce_model_n_vocab(vocab));
    REQUIRE(scarce_gguf_get_value(g, (uint64_t)i, kv.n - 1, &v) == SCARCE_OK);
    CHECK(v.len == strlen(scarce_token_text(vocab, (int32_t)kv.n - 1)) &&
          !memcmp(v.str, scarce_token_text(vocab, (int32_t)kv.n - 1), v.len));
    scarce_model_close(vocab);
    /* the tensors lie inside the file, in order of their offsets */
    uint64_t end = 0;
    for (uint64_t t = 0; t < info.n_tensors; t++) {
        scarce_gguf_tensor ten;
        REQUIRE(scarce_gguf_get_tensor(g, t, &ten) == SCARCE_OK);
        CHECK_MSG(ten.n_dims >= 1 && ten.n_dims <= 4 && ten.ne[0] >= 1 && strcmp(ten.type, "?"),
                  "%s", ten.name);
        CHECK_MSG(info.data_offset + ten.offset + ten.bytes <= info.file_bytes, "%s", ten.name);
        if (ten.offset + ten.bytes > end) end = ten.offset + ten.bytes;
    }
    CHECK(end > 0);
    /* out of range */
    status_is(scarce_gguf_get_kv(g, info.n_kv, &kv), SCARCE_ERR_ARGUMENT, "kv n_kv", NULL);
    status_is(scarce_gguf_get_value(g, (uint64_t)i, kv.n, &v), SCARCE_ERR_ARGUMENT, "elem n", NULL);
    status_is(scarce_gguf_get_tensor(g, info.n_tensors, NULL), SCARCE_ERR_ARGUMENT, "tensor", NULL);
    status_is(scarce_gguf_get_info(NULL, &info), SCARCE_ERR_ARGUMENT, "info NULL", NULL);
    CHECK(!strcmp(scarce_gguf_type_name(99), "unknown"));
    scarce_gguf_close(g);
    scarce_gguf_close(NULL);
    status_is(scarce_gguf_open("/nonexistent/x.gguf", &g, err, sizeof err), SCARCE_ERR_IO,
              "missing", err);
    CHECK(g == NULL);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.gguf", test_tmpdir());
    FILE *f = fopen(bad, "w");
    REQUIRE(f);
    fputs("GGUF but not really", f);
    fclose(f);
    status_is(scarce_gguf_open(bad, &g, err, sizeof err), SCARCE_ERR_FORMAT, "not gguf", err);
    status_is(scarce_gguf_open(NULL, &g, err, sizeof err), SCARCE_ERR_ARGUMENT, "NULL", err);
}

/* ---- quantization ------------------------------------------------------------------------ */

static int stop_at_once(void *user, int tensor, int n_tensors, const char *name, int64_t done,
                        int64_t total) {
    (void)tensor, (void)n_tensors, (void)name, (void)done, (void)total;
    return ++*(int *)user > 0;
}

/* RMSE of row 0 of tensor name in b against a's, relative to a's RMS; -1 when missing. */
static double row0_rel_rmse(const scarce_gguf *a, const scarce_gguf *b, const char *name) {
    scarce_gguf_info ia, ib;
    scarce_gguf_get_info(a, &ia), scarce_gguf_get_info(b, &ib);
    scarce_gguf_tensor ta, tb;
    uint64_t i = 0, j = 0;
    while (i < ia.n_tensors && !scarce_gguf_get_tensor(a, i, &ta) && strcmp(ta.name, name)) i++;
    while (j < ib.n_tensors && !scarce_gguf_get_tensor(b, j, &tb) && strcmp(tb.name, name)) j++;
    if (i == ia.n_tensors || j == ib.n_tensors || ta.ne[0] != tb.ne[0] || ta.ne[0] > 4096)
        return -1;
    float ra[4096], rb[4096];
    if (scarce_gguf_tensor_row(a, i, 0, ra) || scarce_gguf_tensor_row(b, j, 0, rb)) return -1;
    double e2 = 0, x2 = 0;
    for (int64_t k = 0; k < ta.ne[0]; k++)
        e2 += (rb[k] - ra[k]) * (rb[k] - ra[k]), x2 += ra[k] * ra[k];
    return x2 > 0 ? sqrt(e2 / x2) : -1;
}

TEST(api_quantize_writes_a_model_and_reads_rows) {
    NEED_SHARED(STORIES);
    const char *path = shared_path(STORIES);
    char out[600], err[512];
    snprintf(out, sizeof out, "%s/q8.gguf", test_tmpdir());
    scarce_quantize_report rep;
    const int rc = scarce_model_quantize(path, out, "q8_0", NULL, &rep, err, sizeof err);
    CHECK_MSG(rc == SCARCE_OK, "%s", err);
    REQUIRE(rc == SCARCE_OK);
    int quantized = 0;
    for (int i = 0; i < rep.n_tensors; i++) quantized += !strcmp(rep.tensors[i].type, "q8_0");
    CHECK_MSG(rep.n_tensors > 5 && quantized > 0 && rep.bits_per_weight > 8 &&
                  rep.bits_per_weight < 10 && rep.total_bytes > 0,
              "%d tensors, %d q8_0, %.3f bits/weight", rep.n_tensors, quantized,
              rep.bits_per_weight);
    scarce_quantize_report_free(&rep);
    scarce_quantize_report_free(NULL);
    /* the file is a model that runs, and its rows are the source's to q8_0's precision */
    scarce_model *m = open_with(out, NULL);
    REQUIRE(m);
    CHECK_MSG(!strcmp(scarce_model_type(m), "q8_0"), "%s", scarce_model_type(m));
    char text[4096];
    greedy(m, text);
    CHECK(text[0]);
    scarce_model_close(m);
    scarce_gguf *a = NULL, *b = NULL;
    REQUIRE(!scarce_gguf_open(path, &a, err, sizeof err) &&
            !scarce_gguf_open(out, &b, err, sizeof err));
    const double rel = row0_rel_rmse(a, b, "blk.0.attn_q.weight");
    CHECK_MSG(rel > 0 && rel < 0.02, "q8_0 row 0 relative rmse %g", rel);
    float row[4096];
    status_is(scarce_gguf_tensor_row(a, 0, 1 << 30, row), SCARCE_ERR_ARGUMENT, "row", NULL);
    status_is(scarce_gguf_tensor_row(a, 1u << 30, 0, row), SCARCE_ERR_ARGUMENT, "tensor", NULL);
    scarce_gguf_close(a), scarce_gguf_close(b);
    /* errors: nothing written */
    CHECK(scarce_quant_scheme(0) && !scarce_quant_scheme(-1) && !scarce_quant_scheme(1 << 20));
    /* a scheme's format: its own name, or the base of llama.cpp's mix; every scheme has one */
    CHECK(!strcmp(scarce_quant_scheme_type("q4_0"), "q4_0"));
    CHECK(!strcmp(scarce_quant_scheme_type("Q4_K_M"), "q4_k"));
    CHECK(!scarce_quant_scheme_type("q9_9") && !scarce_quant_scheme_type(NULL));
    /* the types llama.cpp will not write without an importance matrix */
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("iq2_xxs"), 1);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("iq1_m"), 1);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("q2_k_s"), 1);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("q2_k_m"), 0);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("iq3_s"), 0);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("q4_0"), 0);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix("q9_9"), SCARCE_ERR_ARGUMENT);
    CHECK_EQ_INT(scarce_quant_scheme_needs_imatrix(NULL), SCARCE_ERR_ARGUMENT);
    for (int i = 0; scarce_quant_scheme(i); i++)
        CHECK_MSG(scarce_quant_scheme_type(scarce_quant_scheme(i)), "%s", scarce_quant_scheme(i));
    char out2[600];
    snprintf(out2, sizeof out2, "%s/never.gguf", test_tmpdir());
    status_is(scarce_model_quantize(path, out2, "q9_9", NULL, NULL, err, sizeof err),
              SCARCE_ERR_ARGUMENT, "scheme", err);
    CHECK_MSG(strstr(err, "q9_9"), "%s", err);
    status_is(
        scarce_model_quantize("/nonexistent/x.gguf", out2, "q8_0", NULL, NULL, err, sizeof err),
        SCARCE_ERR_IO, "missing", err);
    int calls = 0;
    const scarce_quantize_params stop = {.progress = stop_at_once, .progress_user = &calls};
    status_is(scarce_model_quantize(path, out2, "q4_0", &stop, NULL, err, sizeof err),
              SCARCE_ERR_RUNTIME, "stopped", err);
    CHECK(calls > 0 && !file_exists(out2));
}

/* ---- chat templates --------------------------------------------------------------------- */

TEST(api_chat_templates) {
    CHECK(scarce_chat_template_known("chatml") && !scarce_chat_template_known("nonesuch") &&
          !scarce_chat_template_known(NULL));
    CHECK(strstr(scarce_chat_template_names(), "chatml") != NULL);
    char text[512];
    int n = scarce_chat_turn("chatml", "Be brief", "Hi", 1, 1, text, sizeof text);
    CHECK_MSG(n > 0 && n == (int)strlen(text) && strstr(text, "Be brief") && strstr(text, "Hi") &&
                  strstr(text, "<|im_start|>assistant"),
              "%d: %s", n, text);
    /* snprintf's contract: the whole length, the text cut to fit */
    char small[8];
    CHECK_EQ_INT(scarce_chat_turn("chatml", "Be brief", "Hi", 1, 1, small, sizeof small), n);
    CHECK(strlen(small) == 7 && !strncmp(small, text, 7));
    CHECK_EQ_INT(scarce_chat_turn("chatml", NULL, "Hi", 1, 1, NULL, 0) > 0, 1);
    /* a reply cut short is closed by the next turn */
    CHECK(scarce_chat_turn("chatml", NULL, "More", 0, 0, text, sizeof text) > 0 &&
          !strncmp(text, "<|im_end|>", 10));
    status_is(scarce_chat_turn("nonesuch", NULL, "Hi", 1, 1, text, sizeof text),
              SCARCE_ERR_ARGUMENT, "unknown", NULL);
    status_is(scarce_chat_turn("chatml", NULL, NULL, 1, 1, text, sizeof text), SCARCE_ERR_ARGUMENT,
              "NULL user", NULL);
    NEED_SHARED(STORIES);
    scarce_model_params mp = scarce_model_default_params();
    mp.vocab_only = 1;
    scarce_model *m = open_with(shared_path(STORIES), &mp);
    REQUIRE(m);
    /* llama2.c's vocabulary has no template and no turn tokens */
    CHECK(scarce_chat_template_of(m) == NULL && strstr(scarce_model_error(m), "--chat-template"));
    CHECK_EQ_INT(scarce_chat_end_token(m, "chatml"), -1);
    status_is(scarce_chat_end_token(m, "nonesuch"), SCARCE_ERR_ARGUMENT, "end of unknown",
              scarce_model_error(m));
    scarce_model_close(m);
    CHECK(scarce_chat_template_of(NULL) == NULL);
    const char *smol = real_model_path(SMOLLM);
    if (!smol) SKIP("%s not in models/ (models/fetch.sh)", SMOLLM);
    REQUIRE((m = open_with(smol, &mp)));
    const char *name = scarce_chat_template_of(m);
    CHECK_MSG(name && !strcmp(name, "chatml"), "%s", name ? name : scarce_model_error(m));
    int32_t ids[4];
    CHECK_EQ_INT(scarce_tokenize(m, "<|im_end|>", 0, ids, 4), 1);
    CHECK_EQ_INT(scarce_chat_end_token(m, "chatml"), ids[0]);
    scarce_model_close(m);
}

/* ---- the machine -------------------------------------------------------------------------- */

TEST(api_machine_and_membw) {
    scarce_machine mach;
    REQUIRE(scarce_machine_info(&mach) == SCARCE_OK);
    CHECK(mach.cpu_name[0] && mach.physical_cores >= 1 && mach.online_cpus >= mach.physical_cores);
    status_is(scarce_machine_info(NULL), SCARCE_ERR_ARGUMENT, "NULL", NULL);
    scarce_membw r[2];
    char err[512];
    REQUIRE(scarce_membw_measure(2, 8 << 20, 1, r, err, sizeof err) == SCARCE_OK);
    CHECK(r[0].n_threads == 1 && r[1].n_threads == 2 && r[0].read_gb_s > 0 && r[0].copy_gb_s > 0);
    status_is(scarce_membw_measure(0, 8 << 20, 1, r, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "0 threads", err);
    status_is(scarce_membw_measure(1, 100, 1, r, err, sizeof err), SCARCE_ERR_ARGUMENT, "100 B",
              err);
    status_is(scarce_membw_store_peak(0, 1, NULL, 0, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "peak 0", err);
    /* the peak goes to $HOME/.cache/scarce/membw: a temporary HOME, restored after */
    const char *home = getenv("HOME");
    char *saved = home ? strdup(home) : NULL, path[600], want[600];
    setenv("HOME", test_tmpdir(), 1);
    int rc = scarce_membw_store_peak(12.5, 2, path, sizeof path, err, sizeof err);
    saved ? setenv("HOME", saved, 1) : unsetenv("HOME");
    free(saved);
    REQUIRE(status_is(rc, SCARCE_OK, "store", NULL));
    snprintf(want, sizeof want, "%s/.cache/scarce/membw", test_tmpdir());
    CHECK_MSG(!strcmp(path, want), "%s", path);
    char *line = read_file(path, NULL);
    CHECK_MSG(line && !strncmp(line, "12.5", 4) && strstr(line, mach.cpu_name), "%s",
              line ? line : "(unreadable)");
    free(line);
}

/* ---- honest runs: the summaries name the kernel set asked for ---------------------------- */

/* SCARCE_ISA=avx2 on a CPU that has AVX-512 too: run and bench say avx2 ran (an avx512 set
 * would say avx512), and --version shows the default -t as the kernels' threads. */
TEST(api_tools_name_the_isa_that_ran) {
    NEED_SHARED(STORIES);
    scarce_model_params mp = scarce_model_default_params();
    mp.isa = "avx2";
    char err[512], cmd[1400], *out = NULL;
    scarce_model *m = NULL;
    if (scarce_model_open(shared_path(STORIES), &mp, &m, err, sizeof err) == SCARCE_ERR_ISA)
        SKIP("this CPU has no AVX2");
    REQUIRE(m);
    scarce_model_close(m);
    snprintf(cmd, sizeof cmd,
             "(SCARCE_ISA=avx2 %s run -m %s -n 4 --temp 0 -t 1 --json 2>/dev/null && "
             "SCARCE_ISA=avx2 %s bench -m %s -p 4 -n 2 -r 1 -t 1 -o json)",
             scarce_bin(), shared_path(STORIES), scarce_bin(), shared_path(STORIES));
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    int sets = 0;
    for (const char *p = out; (p = strstr(p, "\"kernels_run\": {\"set\": \"")); p++, sets++)
        CHECK_MSG(!strncmp(p + strlen("\"kernels_run\": {\"set\": \""), "avx2\"", 5), "%.80s", p);
    CHECK_MSG(sets == 3 && !strstr(out, "\"isa\": \"avx512\""), "%d sets:\n%s", sets, out);
    free(out), out = NULL;
    snprintf(cmd, sizeof cmd, "%s --version", scarce_bin());
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    scarce_machine mach;
    scarce_machine_info(&mach);
    char want[64];
    snprintf(want, sizeof want, " threads=%d ",
             mach.physical_cores < 64 ? mach.physical_cores : 64);
    CHECK_MSG(strstr(out, want), "no '%s' in:\n%s", want, out);
    free(out);
}

/* ---- the guard: tools/ uses the public header alone ------------------------------------- */

/* NULL when dir/file, and every header of dir it includes (recursively), includes nothing
 * outside dir but the public header; else the first such include (into why). */
static const char *outside_include(const char *dir, const char *file, int depth, char *why,
                                   size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = read_file(path, NULL);
    if (!text || depth > 8) {
        snprintf(why, cap, "%s: %s", path, text ? "includes nested too deep" : "unreadable");
        free(text);
        return why;
    }
    const char *bad = NULL;
    for (char *line = strstr(text, "#include \""); line && !bad;
         line = strstr(line + 1, "#include \"")) {
        char inc[200];
        if (sscanf(line, "#include \"%199[^\"]\"", inc) != 1) continue;
        if (!strcmp(inc, "../include/scarce.h")) continue;
        if (strstr(inc, "../"))
            bad = (snprintf(why, cap, "%s includes \"%s\"", path, inc), why);
        else
            bad = outside_include(dir, inc, depth + 1, why, cap);
    }
    free(text);
    return bad;
}

/* The C sources and headers of dir checked; how many, or -1 when dir cannot be read. */
static int check_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    char why[1024];
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const size_t len = strlen(e->d_name);
        if (len < 3 || e->d_name[len - 2] != '.' || !strchr("ch", e->d_name[len - 1])) continue;
        n++;
        CHECK_MSG(!outside_include(dir, e->d_name, 0, why, sizeof why), "%s", why);
    }
    closedir(d);
    return n;
}

TEST(tools_use_only_the_header) {
    /* every command, its helpers and the start-up (README.md's "Which interface each command
     * uses"): no include of engine/, kernels/ or quant/, directly or through a tools/ header */
    CHECK_MSG(check_dir("tools") > 40, "tools/ has fewer sources than it should");
    /* the guard fails when it should: through a header, and directly */
    char dir[600], path[700], why[1024];
    snprintf(dir, sizeof dir, "%s/guard_tools", test_tmpdir());
    mkdir(dir, 0755);
    const char *const files[][2] = {{"cmd.c", "#include <stdio.h>\n#include \"helper.h\"\n"},
                                    {"helper.h", "#include \"../include/scarce.h\"\n"
                                                 "#include \"../engine/model.h\"\n"},
                                    {"direct.c", "#include \"../quant/types.h\"\n"}};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        REQUIRE(f);
        fputs(files[i][1], f);
        fclose(f);
    }
    CHECK(outside_include(dir, "cmd.c", 0, why, sizeof why) && strstr(why, "helper.h") &&
          strstr(why, "../engine/model.h"));
    CHECK(outside_include(dir, "direct.c", 0, why, sizeof why) && strstr(why, "../quant/"));
    CHECK(!outside_include("tools", "scarce.c", 0, why, sizeof why));
}
