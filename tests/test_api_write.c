/* test_api_write.c - what include/scarce.h gained in API 5 so that every tool uses it alone:
 * the GGUF writer (a written file re-opens, as metadata and as a model; every misuse is a
 * status, never an exit, and leaves no file), the reader's look-ups by name, the tables of
 * weight formats and architectures, the compute roof, and the process start-up. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

static int status_is(int got, int want, const char *what, const char *msg) {
    CHECK_MSG(got == want, "%s: %s, expected %s", what, scarce_status_name(got),
              scarce_status_name(want));
    CHECK_MSG(!msg || msg[0], "%s: no message", what);
    return got == want;
}

/* The number of entries of dir whose name starts with prefix. */
static int count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return n;
}

static void fill_random(float *x, int n, uint32_t seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / (1 << 24) - 0.5f;
    }
}

/* ---- the writer: a file with every kind of key and three tensors re-opens -------------- */

TEST(api_gguf_writer_round_trip) {
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/written.gguf", test_tmpdir());
    scarce_gguf_writer *w = NULL;
    REQUIRE(scarce_gguf_writer_new(&w) == SCARCE_OK && w);
    const char *names[3] = {"a", "", "c\xc3\xa9"};
    const int32_t ints[4] = {-1, 2, 1 << 30, 7};
    int rc = scarce_gguf_writer_set_str(w, "general.architecture", "llama");
    rc |= scarce_gguf_writer_set_u32(w, "test.u32", 4000000000u);
    rc |= scarce_gguf_writer_set_i32(w, "test.i32", -5);
    rc |= scarce_gguf_writer_set_u64(w, "test.u64", 1ull << 40);
    rc |= scarce_gguf_writer_set_f32(w, "test.f32", 0.25f);
    rc |= scarce_gguf_writer_set_bool(w, "test.bool", 1);
    rc |= scarce_gguf_writer_set_arr_str(w, "test.strs", names, 3);
    rc |= scarce_gguf_writer_set_arr(w, "test.ints", SCARCE_GGUF_I32, ints, 4);
    rc |= scarce_gguf_writer_set_u32(w, "test.u32", 7); /* replaced in its place */
    CHECK_EQ_INT(rc, SCARCE_OK);
    /* a q8_0 matrix of 3 rows of 64, a 3-D f16 tensor of 0 bytes, an f32 vector */
    const int64_t ne_q[2] = {64, 3}, ne_empty[3] = {8, 0, 2}, ne_v[1] = {5};
    REQUIRE(scarce_gguf_writer_add_tensor(w, "q", "q8_0", 2, ne_q) == SCARCE_OK);
    REQUIRE(scarce_gguf_writer_add_tensor(w, "empty", "f16", 3, ne_empty) == SCARCE_OK);
    REQUIRE(scarce_gguf_writer_add_tensor(w, "v", "F32", 1, ne_v) == SCARCE_OK);
    const size_t row = scarce_type_row_bytes("q8_0", 64);
    REQUIRE(row == 68);
    float x[3 * 64], v[5] = {1, -2, 3.5f, 0, 1e-3f};
    unsigned char q[3 * 68];
    fill_random(x, 3 * 64, 9);
    for (int r = 0; r < 3; r++)
        REQUIRE(scarce_type_quantize("q8_0", x + 64 * r, 64, q + r * row) == SCARCE_OK);
    REQUIRE(scarce_gguf_writer_open(w, path) == SCARCE_OK);
    CHECK(!file_exists(path)); /* only the temporary file until finish */
    /* pieces that split a row and span the end of one tensor and the start of the next */
    unsigned char tail[sizeof q - 100 + sizeof v];
    memcpy(tail, q + 100, sizeof q - 100), memcpy(tail + sizeof q - 100, v, sizeof v);
    CHECK_EQ_INT(scarce_gguf_writer_write(w, q, 100), SCARCE_OK);
    CHECK_EQ_INT(scarce_gguf_writer_write(w, tail, sizeof tail), SCARCE_OK);
    CHECK_MSG(scarce_gguf_writer_finish(w) == SCARCE_OK, "%s", scarce_gguf_writer_error(w));
    scarce_gguf_writer_free(w);
    CHECK_EQ_INT(count_files(test_tmpdir(), "written.gguf.tmp"), 0);

    scarce_gguf *g = NULL;
    REQUIRE(scarce_gguf_open(path, &g, err, sizeof err) == SCARCE_OK);
    scarce_gguf_info info;
    scarce_gguf_get_info(g, &info);
    CHECK(info.version == 3 && info.n_kv == 8 && info.n_tensors == 3 && info.alignment == 32);
    int64_t iv;
    const char *sv;
    CHECK(scarce_gguf_get_str(g, "general.architecture", &sv) == SCARCE_OK && !strcmp(sv, "llama"));
    CHECK(scarce_gguf_get_int(g, "test.u32", &iv) == SCARCE_OK && iv == 7);
    CHECK_EQ_INT((int)scarce_gguf_find_key(g, "test.u32"), 1);
    CHECK(scarce_gguf_get_int(g, "test.i32", &iv) == SCARCE_OK && iv == -5);
    CHECK(scarce_gguf_get_int(g, "test.u64", &iv) == SCARCE_OK && iv == 1ll << 40);
    scarce_gguf_kv kv;
    scarce_gguf_value val;
    int64_t k = scarce_gguf_find_key(g, "test.f32");
    CHECK(k >= 0 && !scarce_gguf_get_kv(g, (uint64_t)k, &kv) && kv.type == SCARCE_GGUF_F32 &&
          !scarce_gguf_get_value(g, (uint64_t)k, 0, &val) && val.f == 0.25);
    k = scarce_gguf_find_key(g, "test.bool");
    CHECK(k >= 0 && !scarce_gguf_get_kv(g, (uint64_t)k, &kv) && kv.type == SCARCE_GGUF_BOOL &&
          !scarce_gguf_get_value(g, (uint64_t)k, 0, &val) && val.i == 1);
    k = scarce_gguf_find_key(g, "test.strs");
    REQUIRE(k >= 0 && !scarce_gguf_get_kv(g, (uint64_t)k, &kv));
    CHECK(kv.type == SCARCE_GGUF_ARRAY && kv.elem_type == SCARCE_GGUF_STRING && kv.n == 3);
    for (uint64_t j = 0; j < 3; j++)
        CHECK(!scarce_gguf_get_value(g, (uint64_t)k, j, &val) && val.len == strlen(names[j]) &&
              !memcmp(val.str, names[j], val.len));
    k = scarce_gguf_find_key(g, "test.ints");
    REQUIRE(k >= 0 && !scarce_gguf_get_kv(g, (uint64_t)k, &kv));
    CHECK(kv.elem_type == SCARCE_GGUF_I32 && kv.n == 4);
    for (uint64_t j = 0; j < 4; j++)
        CHECK(!scarce_gguf_get_value(g, (uint64_t)k, j, &val) && val.i == ints[j]);
    /* the tensors: shapes, aligned offsets, the bytes written, rows that dequantize back */
    scarce_gguf_tensor t;
    const int64_t iq = scarce_gguf_find_tensor(g, "q"), ie = scarce_gguf_find_tensor(g, "empty"),
                  iv5 = scarce_gguf_find_tensor(g, "v");
    REQUIRE(iq == 0 && ie == 1 && iv5 == 2);
    REQUIRE(!scarce_gguf_get_tensor(g, 0, &t));
    CHECK(!strcmp(t.type, "q8_0") && t.n_dims == 2 && t.ne[0] == 64 && t.ne[1] == 3 &&
          t.bytes == sizeof q && !memcmp(scarce_gguf_tensor_data(g, 0), q, sizeof q));
    float back[64], ref[64];
    REQUIRE(scarce_gguf_tensor_row(g, 0, 2, back) == SCARCE_OK);
    REQUIRE(scarce_type_dequantize("q8_0", q + 2 * row, 64, ref) == SCARCE_OK);
    CHECK(!memcmp(back, ref, sizeof back));
    double e2 = 0;
    for (int j = 0; j < 64; j++) e2 += (back[j] - x[128 + j]) * (back[j] - x[128 + j]);
    CHECK_MSG(sqrt(e2 / 64) < 0.01, "q8_0 round trip rmse %g", sqrt(e2 / 64));
    REQUIRE(!scarce_gguf_get_tensor(g, 1, &t));
    CHECK(t.bytes == 0 && t.ne[1] == 0 && t.ne[2] == 2 && !strcmp(t.type, "f16"));
    REQUIRE(!scarce_gguf_get_tensor(g, 2, &t));
    CHECK(t.offset % 32 == 0 && t.bytes == sizeof v &&
          !memcmp(scarce_gguf_tensor_data(g, 2), v, sizeof v));
    CHECK(scarce_gguf_tensor_data(g, 3) == NULL && scarce_gguf_find_tensor(g, "nonesuch") == -1);
    scarce_gguf_close(g);
}

/* A copy of stories260K made key by key and tensor by tensor is a model that writes the same
 * text as the original. */
TEST(api_gguf_writer_copy_is_the_same_model) {
    NEED_SHARED(STORIES);
    const char *src = shared_path(STORIES);
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/copy.gguf", test_tmpdir());
    scarce_gguf *g = NULL;
    REQUIRE(scarce_gguf_open(src, &g, err, sizeof err) == SCARCE_OK);
    scarce_gguf_info info;
    scarce_gguf_get_info(g, &info);
    scarce_gguf_writer *w = NULL;
    REQUIRE(scarce_gguf_writer_new(&w) == SCARCE_OK);
    for (uint64_t i = 0; i < info.n_kv; i++) CHECK(!scarce_gguf_writer_copy_kv(w, g, i));
    scarce_gguf_tensor t;
    for (uint64_t i = 0; i < info.n_tensors; i++)
        CHECK(!scarce_gguf_get_tensor(g, i, &t) &&
              !scarce_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne));
    REQUIRE(scarce_gguf_writer_open(w, path) == SCARCE_OK);
    for (uint64_t i = 0; i < info.n_tensors; i++)
        CHECK(!scarce_gguf_get_tensor(g, i, &t) &&
              !scarce_gguf_writer_write(w, scarce_gguf_tensor_data(g, i), t.bytes));
    CHECK_MSG(scarce_gguf_writer_finish(w) == SCARCE_OK, "%s", scarce_gguf_writer_error(w));
    scarce_gguf_writer_free(w);
    scarce_gguf_close(g);
    char text[2][512];
    const char *paths[2] = {src, path};
    for (int m = 0; m < 2; m++) {
        scarce_model *model = NULL;
        scarce_context *ctx = NULL;
        scarce_context_params cp = scarce_context_default_params();
        cp.temp = 0;
        REQUIRE(scarce_model_open(paths[m], NULL, &model, err, sizeof err) == SCARCE_OK);
        REQUIRE(scarce_context_new(model, &cp, &ctx) == SCARCE_OK);
        int32_t ids[20];
        int n = 0;
        const float *logits;
        ids[n++] = scarce_token_bos(model);
        for (; n < 20; n++) {
            REQUIRE(scarce_eval(ctx, &ids[n - 1], 1, 0, &logits) == SCARCE_OK);
            REQUIRE(scarce_sample(ctx, logits, &ids[n]) == SCARCE_OK);
        }
        REQUIRE(scarce_detokenize(model, ids, n, text[m], sizeof text[m]) > 0);
        scarce_context_free(ctx);
        scarce_model_close(model);
    }
    CHECK_MSG(text[0][0] && !strcmp(text[0], text[1]), "'%s' vs '%s'", text[0], text[1]);
}

/* ---- the writer's errors: statuses, messages, and no file left ------------------------- */

TEST(api_gguf_writer_errors_leave_no_file) {
    char path[600];
    snprintf(path, sizeof path, "%s/never.gguf", test_tmpdir());
    const int64_t ne[2] = {64, 2}, odd[1] = {33};
    float zeros[128] = {0};
    scarce_gguf_writer *w = NULL;
    status_is(scarce_gguf_writer_new(NULL), SCARCE_ERR_ARGUMENT, "new NULL", NULL);
    status_is(scarce_gguf_writer_set_u32(NULL, "k", 1), SCARCE_ERR_ARGUMENT, "NULL w", NULL);
    CHECK(strlen(scarce_gguf_writer_error(NULL)) > 0);
    scarce_gguf_writer_free(NULL);
    REQUIRE(scarce_gguf_writer_new(&w) == SCARCE_OK);
    /* declarations refused, each with its message; the writer goes on */
    status_is(scarce_gguf_writer_add_tensor(w, "t", "q9_9", 2, ne), SCARCE_ERR_ARGUMENT,
              "unknown format", scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_add_tensor(w, "t", "q8_0", 1, odd), SCARCE_ERR_ARGUMENT,
              "33 of block 32", scarce_gguf_writer_error(w));
    CHECK_MSG(strstr(scarce_gguf_writer_error(w), "block"), "%s", scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_add_tensor(w, "t", "f32", 5, ne), SCARCE_ERR_ARGUMENT, "5 dims",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_add_tensor(w, "t", "f32", 2, NULL), SCARCE_ERR_ARGUMENT, "NULL ne",
              scarce_gguf_writer_error(w));
    REQUIRE(scarce_gguf_writer_add_tensor(w, "t", "f32", 2, ne) == SCARCE_OK);
    status_is(scarce_gguf_writer_add_tensor(w, "t", "f32", 2, ne), SCARCE_ERR_ARGUMENT, "twice",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_set_arr(w, "k", SCARCE_GGUF_STRING, zeros, 1), SCARCE_ERR_ARGUMENT,
              "string as a number", scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_write(w, zeros, 4), SCARCE_ERR_ARGUMENT, "write before open",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_finish(w), SCARCE_ERR_ARGUMENT, "finish before open",
              scarce_gguf_writer_error(w));
    /* a failed set fails open with its status and message */
    status_is(scarce_gguf_writer_set_str(w, "", "x"), SCARCE_ERR_ARGUMENT, "empty key",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_open(w, path), SCARCE_ERR_ARGUMENT, "open after a failed set",
              scarce_gguf_writer_error(w));
    scarce_gguf_writer_free(w);
    CHECK(!file_exists(path) && count_files(test_tmpdir(), "never.gguf") == 0);

    /* open in a missing folder: SCARCE_ERR_IO; the writer is then done */
    REQUIRE(scarce_gguf_writer_new(&w) == SCARCE_OK);
    REQUIRE(scarce_gguf_writer_add_tensor(w, "t", "f32", 2, ne) == SCARCE_OK);
    status_is(scarce_gguf_writer_open(w, "/nonexistent/dir/x.gguf"), SCARCE_ERR_IO, "no dir",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_write(w, zeros, 4), SCARCE_ERR_ARGUMENT, "write after failure",
              scarce_gguf_writer_error(w));
    scarce_gguf_writer_free(w);

    /* too many bytes, too few: refused, and a writer freed before finish leaves nothing */
    REQUIRE(scarce_gguf_writer_new(&w) == SCARCE_OK);
    REQUIRE(scarce_gguf_writer_add_tensor(w, "t", "f32", 2, ne) == SCARCE_OK);
    REQUIRE(scarce_gguf_writer_open(w, path) == SCARCE_OK);
    CHECK(count_files(test_tmpdir(), "never.gguf.tmp") == 1);
    status_is(scarce_gguf_writer_set_u32(w, "late", 1), SCARCE_ERR_ARGUMENT, "set after open",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_add_tensor(w, "u", "f32", 2, ne), SCARCE_ERR_ARGUMENT,
              "tensor after open", scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_open(w, path), SCARCE_ERR_ARGUMENT, "open twice",
              scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_write(w, zeros, sizeof zeros + 4), SCARCE_ERR_ARGUMENT,
              "past the end", scarce_gguf_writer_error(w));
    status_is(scarce_gguf_writer_write(w, NULL, 4), SCARCE_ERR_ARGUMENT, "NULL data",
              scarce_gguf_writer_error(w));
    REQUIRE(scarce_gguf_writer_write(w, zeros, 100) == SCARCE_OK);
    status_is(scarce_gguf_writer_finish(w), SCARCE_ERR_ARGUMENT, "short",
              scarce_gguf_writer_error(w));
    CHECK_MSG(strstr(scarce_gguf_writer_error(w), "tensor t"), "%s", scarce_gguf_writer_error(w));
    CHECK(!file_exists(path));
    scarce_gguf_writer_free(w);
    CHECK(!file_exists(path) && count_files(test_tmpdir(), "never.gguf") == 0);
}

/* ---- the reader's look-ups by name -------------------------------------------------------- */

TEST(api_gguf_get_int_and_str) {
    NEED_SHARED(STORIES);
    char err[512];
    scarce_gguf *g = NULL;
    REQUIRE(scarce_gguf_open(shared_path(STORIES), &g, err, sizeof err) == SCARCE_OK);
    int64_t v = 0;
    const char *s = NULL;
    CHECK(scarce_gguf_get_int(g, "llama.block_count", &v) == SCARCE_OK && v >= 1);
    CHECK(scarce_gguf_get_str(g, "general.architecture", &s) == SCARCE_OK && !strcmp(s, "llama"));
    CHECK(!strcmp(scarce_gguf_error(g), ""));
    /* a string is not an integer: the message names the key and both types */
    status_is(scarce_gguf_get_int(g, "general.architecture", &v), SCARCE_ERR_FORMAT, "str as int",
              scarce_gguf_error(g));
    CHECK_MSG(strstr(scarce_gguf_error(g), "general.architecture") &&
                  strstr(scarce_gguf_error(g), "string"),
              "%s", scarce_gguf_error(g));
    status_is(scarce_gguf_get_str(g, "llama.block_count", &s), SCARCE_ERR_FORMAT, "int as str",
              scarce_gguf_error(g));
    status_is(scarce_gguf_get_int(g, "no.such.key", &v), SCARCE_ERR_FORMAT, "absent",
              scarce_gguf_error(g));
    CHECK_MSG(strstr(scarce_gguf_error(g), "no.such.key"), "%s", scarce_gguf_error(g));
    status_is(scarce_gguf_get_int(g, NULL, &v), SCARCE_ERR_ARGUMENT, "NULL key", NULL);
    status_is(scarce_gguf_get_str(NULL, "k", &s), SCARCE_ERR_ARGUMENT, "NULL file", NULL);
    CHECK(scarce_gguf_find_key(g, "no.such.key") == -1 && scarce_gguf_find_key(g, NULL) == -1 &&
          scarce_gguf_find_key(NULL, "k") == -1);
    const int64_t t = scarce_gguf_find_tensor(g, "token_embd.weight");
    scarce_gguf_tensor ten;
    CHECK(t >= 0 && !scarce_gguf_get_tensor(g, (uint64_t)t, &ten) &&
          !strcmp(ten.name, "token_embd.weight") && scarce_gguf_tensor_data(g, (uint64_t)t));
    CHECK(scarce_gguf_tensor_data(NULL, 0) == NULL);
    scarce_gguf_close(g);
}

/* ---- the type and architecture tables ------------------------------------------------------ */

TEST(api_type_table) {
    int n = 0, weights = 0;
    float x[256], y[256];
    unsigned char q[2048];
    fill_random(x, 256, 5);
    for (const char *name; (name = scarce_type_name(n)); n++) {
        scarce_type_info ti;
        REQUIRE(scarce_type_get_info(name, &ti) == SCARCE_OK);
        CHECK_MSG(!strcmp(ti.name, name) && ti.block >= 1 && ti.block_bytes >= 1, "%s", name);
        const int64_t cols = 256 % ti.block ? ti.block : 256;
        CHECK_MSG(scarce_type_row_bytes(name, cols) == (size_t)(cols / ti.block) * ti.block_bytes,
                  "%s", name);
        CHECK(ti.block == 1 || scarce_type_row_bytes(name, ti.block + 1) == 0);
        weights += ti.weights;
        /* every format that goes both ways runs both ways on a row (the sanitizers watch) */
        if (ti.can_quantize && ti.can_dequantize && cols <= 256 &&
            scarce_type_row_bytes(name, cols) <= sizeof q) {
            CHECK_MSG(scarce_type_quantize(name, x, cols, q) == SCARCE_OK, "%s", name);
            CHECK_MSG(scarce_type_dequantize(name, q, cols, y) == SCARCE_OK, "%s", name);
            CHECK_MSG(isfinite(y[0]) && isfinite(y[cols - 1]), "%s", name);
        }
    }
    CHECK(n > 20 && weights > 15 && scarce_type_name(-1) == NULL);
    scarce_type_info ti;
    REQUIRE(scarce_type_get_info("Q4_K", &ti) == SCARCE_OK);
    CHECK(!strcmp(ti.name, "q4_k") && ti.id == 12 && ti.block == 256 && ti.block_bytes == 144 &&
          ti.file_type == 15 && !ti.own && ti.weights);
    REQUIRE(scarce_type_get_info("fp8_e4m3", &ti) == SCARCE_OK);
    CHECK(ti.own && ti.id >= 200);
    /* f32 goes through unchanged */
    REQUIRE(scarce_type_quantize("f32", x, 64, q) == SCARCE_OK && !memcmp(q, x, 64 * 4));
    status_is(scarce_type_get_info("q9_9", &ti), SCARCE_ERR_ARGUMENT, "unknown", NULL);
    status_is(scarce_type_get_info(NULL, &ti), SCARCE_ERR_ARGUMENT, "NULL", NULL);
    status_is(scarce_type_quantize("q4_0", x, 33, q), SCARCE_ERR_ARGUMENT, "33 of 32", NULL);
    status_is(scarce_type_quantize("q4_0", x, 0, q), SCARCE_ERR_ARGUMENT, "0", NULL);
    status_is(scarce_type_quantize("q4_0", NULL, 32, q), SCARCE_ERR_ARGUMENT, "NULL x", NULL);
    status_is(scarce_type_dequantize("q9_9", q, 32, y), SCARCE_ERR_ARGUMENT, "deq unknown", NULL);
    CHECK(scarce_type_row_bytes("q9_9", 32) == 0 && scarce_type_row_bytes(NULL, 32) == 0);
}

TEST(api_arch_table) {
    int n = 0;
    scarce_arch_info a;
    for (const char *name; (name = scarce_arch_name(n)); n++) {
        REQUIRE(scarce_arch_get_info(name, &a) == SCARCE_OK);
        CHECK_MSG(!strcmp(a.name, name), "%s", name);
        /* experts required only where experts are allowed */
        CHECK_MSG(!(a.flags & SCARCE_ARCH_EXPERTS) || (a.flags & SCARCE_ARCH_MOE), "%s", name);
    }
    CHECK(n >= 13 && scarce_arch_name(-1) == NULL);
    REQUIRE(scarce_arch_get_info("llama", &a) == SCARCE_OK);
    CHECK(!(a.flags & (SCARCE_ARCH_FUSED_QKV | SCARCE_ARCH_MLA)) && a.swa_pattern == 0);
    REQUIRE(scarce_arch_get_info("phi3", &a) == SCARCE_OK);
    CHECK((a.flags & SCARCE_ARCH_FUSED_QKV) && (a.flags & SCARCE_ARCH_FUSED_UP));
    REQUIRE(scarce_arch_get_info("gemma3", &a) == SCARCE_OK);
    CHECK((a.flags & SCARCE_ARCH_POST_NORMS) && a.swa_pattern == 6);
    REQUIRE(scarce_arch_get_info("deepseek2", &a) == SCARCE_OK);
    CHECK((a.flags & SCARCE_ARCH_MLA) && (a.flags & SCARCE_ARCH_SHEXP) && a.moe_reads_keys);
    status_is(scarce_arch_get_info("nonesuch", &a), SCARCE_ERR_ARGUMENT, "unknown", NULL);
    status_is(scarce_arch_get_info(NULL, &a), SCARCE_ERR_ARGUMENT, "NULL", NULL);
}

/* ---- the compute roof and the cached memory roof ------------------------------------------- */

TEST(api_kernel_peak_and_cached_membw) {
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 1;
    scarce_kernel_peak pk = {.size = sizeof pk};
    char err[512];
    /* figures, not speed: both paths ran and the roof is the larger */
    CHECK_MSG(scarce_kernel_peak_measure("q8_0", &mp, &pk, err, sizeof err) == SCARCE_OK, "%s",
              err);
    CHECK(pk.n_threads == 1 && pk.dot_gflops > 0 && pk.matmul_gflops > 0 &&
          pk.gflops == fmax(pk.dot_gflops, pk.matmul_gflops));
    status_is(scarce_kernel_peak_measure("q9_9", &mp, &pk, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "unknown", err);
    CHECK_MSG(strstr(err, "q9_9"), "%s", err);
    status_is(scarce_kernel_peak_measure(NULL, &mp, &pk, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "NULL", err);
    mp.isa = "nonesuch";
    status_is(scarce_kernel_peak_measure("q8_0", &mp, &pk, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "isa", err);
    mp = scarce_model_default_params(), mp.n_threads = 1000;
    status_is(scarce_kernel_peak_measure("q8_0", &mp, &pk, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "threads", err);
    pk.size = 3;
    status_is(scarce_kernel_peak_measure("q8_0", NULL, &pk, err, sizeof err), SCARCE_ERR_ARGUMENT,
              "size", err);
    /* the cached peak lives in $HOME/.cache/scarce/membw: a temporary HOME, restored after */
    const char *home = getenv("HOME");
    char *saved = home ? strdup(home) : NULL, dir[600];
    snprintf(dir, sizeof dir, "%s/peak_home", test_tmpdir());
    setenv("HOME", dir, 1);
    double bw = -1;
    const int none = scarce_membw_cached_peak(&bw);
    const int stored = scarce_membw_store_peak(12.5, 2, NULL, 0, err, sizeof err);
    const int cached = scarce_membw_cached_peak(&bw);
    saved ? setenv("HOME", saved, 1) : unsetenv("HOME");
    free(saved);
    status_is(none, SCARCE_ERR_IO, "none cached", NULL);
    CHECK(stored == SCARCE_OK && cached == SCARCE_OK && bw == 12.5);
    status_is(scarce_membw_cached_peak(NULL), SCARCE_ERR_ARGUMENT, "NULL", NULL);
}

/* ---- process start-up ----------------------------------------------------------------------- */

/* The kernel set the dispatch table defaults to, from the description of the defaults. */
static void default_isa(char *isa, size_t cap) {
    char line[256];
    REQUIRE(scarce_model_params_describe(NULL, line, sizeof line) > 0);
    REQUIRE(sscanf(line, "isa=%15s", isa) == 1 && cap > 15);
}

TEST(api_backend_init_and_params_from_env) {
    char err[512], isa[16], line[256];
    default_isa(isa, sizeof isa);
    /* the table is set up (by the runner or the first model): the same set is fine, another
     * is refused, an unknown one or one this CPU lacks is an error, never an exit */
    CHECK_MSG(scarce_backend_init(isa, err, sizeof err) == SCARCE_OK, "%s", err);
    CHECK(scarce_backend_init(NULL, err, sizeof err) == SCARCE_OK);
    if (strcmp(isa, "scalar"))
        status_is(scarce_backend_init("scalar", err, sizeof err), SCARCE_ERR_ARGUMENT, "other",
                  err);
    status_is(scarce_backend_init("nonesuch", err, sizeof err), SCARCE_ERR_ARGUMENT, "unknown",
              err);
#if defined(__x86_64__)
    status_is(scarce_backend_init("neon", err, sizeof err), SCARCE_ERR_ISA, "neon on x86", err);
#endif
    /* the environment: read only by scarce_model_params_from_env */
    static const char *const vars[] = {"SCARCE_ISA",          "SCARCE_REPACK", "SCARCE_GEMM",
                                       "SCARCE_STEAL",        "SCARCE_RESCUE", "SCARCE_LUT",
                                       "SCARCE_ADAPT_THREADS"};
    char *saved[7];
    for (int i = 0; i < 7; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    scarce_model_params p;
    setenv("SCARCE_RESCUE", "0", 1), setenv("SCARCE_STEAL", "0", 1), setenv("SCARCE_LUT", "1", 1);
    setenv("SCARCE_GEMM", "own", 1);
    const int rc_ok = scarce_model_params_from_env(&p, err, sizeof err);
    setenv("SCARCE_LUT", "7", 1);
    char err_lut[512];
    const int rc_lut = scarce_model_params_from_env(&p, err_lut, sizeof err_lut);
    unsetenv("SCARCE_LUT"), setenv("SCARCE_ISA", "neon", 1);
    char err_isa[512];
    const int rc_isa = scarce_model_params_from_env(&p, err_isa, sizeof err_isa);
    for (int i = 0; i < 7; i++) {
        saved[i] ? setenv(vars[i], saved[i], 1) : unsetenv(vars[i]);
        free(saved[i]);
    }
    REQUIRE(status_is(rc_ok, SCARCE_OK, "switches", NULL));
    /* (the failures left p as the first call filled it) */
    status_is(rc_lut, SCARCE_ERR_ARGUMENT, "SCARCE_LUT=7", err_lut);
    CHECK_MSG(strstr(err_lut, "SCARCE_LUT"), "%s", err_lut);
#if defined(__x86_64__)
    status_is(rc_isa, SCARCE_ERR_ISA, "SCARCE_ISA=neon", err_isa);
#else
    (void)rc_isa;
#endif
    CHECK(p.n_threads == 0 && p.wait_workers && p.static_rows && !strcmp(p.lut, "on") &&
          !strcmp(p.gemm, "own") && p.isa && !p.fixed_threads && p.repack);
    p.n_threads = 3;
    const int len = scarce_model_params_describe(&p, line, sizeof line);
    CHECK_MSG(len == (int)strlen(line) && strstr(line, "gemm=own") && strstr(line, "steal=off") &&
                  strstr(line, "threads=3") && strstr(line, "lut=on") && strstr(line, "rescue=off"),
              "%s", line);
    status_is(scarce_model_params_describe(&p, line, 8), SCARCE_ERR_ARGUMENT, "cap 8", NULL);
    p.gemm = "fastest";
    status_is(scarce_model_params_describe(&p, line, sizeof line), SCARCE_ERR_ARGUMENT, "gemm",
              NULL);
    status_is(scarce_model_params_from_env(NULL, err, sizeof err), SCARCE_ERR_ARGUMENT, "NULL",
              err);
    scarce_build b;
    REQUIRE(scarce_build_info(&b) == SCARCE_OK);
    CHECK(!strcmp(b.version, scarce_version()) && b.compiler[0] && b.build_flags[0] &&
          strstr(b.isa_compiled, b.isa_detected) && (b.blas == 0 || b.blas == 1));
    status_is(scarce_build_info(NULL), SCARCE_ERR_ARGUMENT, "NULL", NULL);
}

/* ---- examples/speed.py mirrors the public structs field for field ------------------------ */

/* ctypes cannot read the header: a field added to a struct the script passes must be added
 * there too, or the library writes past Python's copy (scarce_model_default_params). */
TEST(api_ctypes_example_mirrors_the_struct_layouts) {
    if (run_cmd("python3 -c 'import ctypes'", NULL, NULL))
        SKIP("no python3 with ctypes on this machine");
    char *out = NULL;
    REQUIRE(run_cmd("python3 -c 'import ctypes, importlib.util as u; "
                    "s = u.spec_from_file_location(\"speed\", \"examples/speed.py\"); "
                    "m = u.module_from_spec(s); s.loader.exec_module(m); "
                    "print(ctypes.sizeof(m.ModelParams), ctypes.sizeof(m.ContextParams), "
                    "ctypes.sizeof(m.Stats))'",
                    &out, NULL) == 0 &&
            out);
    size_t sizes[3] = {0};
    CHECK_MSG(sscanf(out, "%zu %zu %zu", &sizes[0], &sizes[1], &sizes[2]) == 3, "%s", out);
    CHECK_MSG(sizes[0] == sizeof(scarce_model_params), "ModelParams %zu, C %zu", sizes[0],
              sizeof(scarce_model_params));
    CHECK_MSG(sizes[1] == sizeof(scarce_context_params), "ContextParams %zu, C %zu", sizes[1],
              sizeof(scarce_context_params));
    CHECK_MSG(sizes[2] == sizeof(scarce_stats), "Stats %zu, C %zu", sizes[2], sizeof(scarce_stats));
    free(out);
}

/* SCARCE_RESCUE=0 as a parameter: a model runs with it and says so. */
TEST(api_model_params_wait_workers_round_trip) {
    NEED_SHARED(STORIES);
    char err[512], line[256];
    scarce_model_params mp = scarce_model_default_params(), got;
    CHECK(mp.wait_workers == 0);
    for (int wait = 0; wait < 2; wait++) {
        scarce_model *m = NULL;
        mp.wait_workers = wait, mp.n_threads = 2;
        REQUIRE(scarce_model_open(shared_path(STORIES), &mp, &m, err, sizeof err) == SCARCE_OK);
        REQUIRE(scarce_model_get_params(m, &got) == SCARCE_OK);
        CHECK_EQ_INT(got.wait_workers, wait);
        REQUIRE(scarce_model_kernels(m, line, sizeof line) > 0);
        CHECK_MSG(strstr(line, wait ? "rescue=off" : "rescue=on"), "%s", line);
        scarce_model_close(m);
    }
}
