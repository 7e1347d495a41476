/* test_gguf.c - GGUF reader on real files, writer round trips, a table of malformed files,
 * writer atomicity, and the inspect / mkmodel commands. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/gguf.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* REQUIRE that prints the library's error message. */
#define REQUIRE_OK(cond, err)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            test_fail_at(__FILE__, __LINE__, "%s: %s", #cond, (err).msg);                  \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static const char *tmp_file(const char *name) {
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(p, 1, n, fp);
    return fclose(fp) == 0 && w == n ? 0 : -1;
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

/* Opens path expecting failure; returns the message (static) or NULL when it opened. */
static const char *open_fails(const char *path) {
    static scarce_error err;
    memset(&err, 0, sizeof err);
    gguf_file *f = gguf_open(path, &err);
    if (f) {
        gguf_close(f);
        return NULL;
    }
    return err.msg;
}

/* ---- real files --------------------------------------------------------------------------- */

TEST(gguf_open_stories260K) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    CHECK_MSG(f, "%s", err.msg);
    if (!f) return;
    CHECK_EQ_INT(f->version, 3);
    CHECK_EQ_INT(f->n_tensors, 48);
    CHECK_EQ_INT(f->alignment, 32);
    CHECK(gguf_get_str(f, "general.architecture") && !strcmp(gguf_get_str(f, "general.architecture"), "llama"));
    uint32_t u = 0;
    int64_t i64 = 0;
    float eps = 0;
    int add_bos_dummy = 0;
    CHECK(gguf_get_u32(f, "llama.embedding_length", &u, &err) == 0 && u == 64);
    CHECK(gguf_get_i64(f, "llama.block_count", &i64, &err) == 0 && i64 == 5);
    CHECK(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &eps, &err) == 0);
    CHECK_NEAR(eps, 1e-5, 1e-9);
    /* an integer in a float key may be a float's bits under the wrong type: refused */
    CHECK(gguf_get_f32(f, "llama.block_count", &eps, &err) == -1 &&
          strstr(err.msg, "llama.block_count: expected float32, found uint32"));
    CHECK(gguf_get_u32(f, "general.architecture", &u, &err) == -1 &&
          strstr(err.msg, "general.architecture: expected an integer, found string"));
    const char *s = NULL;
    CHECK(gguf_get_string(f, "general.architecture", &s, &err) == 0 && s && !strcmp(s, "llama"));
    CHECK(gguf_get_string(f, "llama.block_count", &s, &err) == -1 &&
          strstr(err.msg, "llama.block_count: expected string, found uint32"));
    CHECK(gguf_get_bool(f, "llama.block_count", &add_bos_dummy, &err) == -1 &&
          strstr(err.msg, "expected bool, found uint32"));
    CHECK(gguf_get_array(f, "tokenizer.ggml.tokens", GGUF_TYPE_BIT(GGUF_STRING), GGUF_ANY_LENGTH,
                         &err) != NULL);
    CHECK(gguf_get_array(f, "tokenizer.ggml.tokens", GGUF_TYPE_BIT(GGUF_STRING), 3, &err) == NULL &&
          strstr(err.msg, "tokenizer.ggml.tokens: expected 3 elements"));
    CHECK(gguf_get_array(f, "tokenizer.ggml.tokens",
                         GGUF_TYPE_BIT(GGUF_F32) | GGUF_TYPE_BIT(GGUF_I32), GGUF_ANY_LENGTH,
                         &err) == NULL &&
          strstr(err.msg, "tokenizer.ggml.tokens: expected array of int32 or float32, found "
                          "array of string"));
    CHECK(gguf_get_array(f, "llama.block_count", GGUF_TYPE_BIT(GGUF_I32), GGUF_ANY_LENGTH,
                         &err) == NULL &&
          strstr(err.msg, "expected array of int32, found uint32"));
    CHECK(gguf_get_u32(f, "no.such.key", &u, &err) == -1 && strstr(err.msg, "no.such.key"));
    const gguf_kv *tok = gguf_find(f, "tokenizer.ggml.tokens");
    REQUIRE(tok && tok->type == GGUF_ARRAY && tok->arr_type == GGUF_STRING);
    CHECK_EQ_INT(tok->arr_n, 512);
    CHECK(!strcmp(tok->arr_str[1], "<s>"));
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        CHECK(t->type == QT_F32);
        CHECK(gguf_find_tensor(f, t->name) == t);
        CHECK((const uint8_t *)t->data + t->bytes <= f->map + f->size);
    }
    const gguf_tensor *q = gguf_find_tensor(f, "blk.0.attn_k.weight");
    REQUIRE(q);
    CHECK(q->n_dims == 2 && q->ne[0] == 64 && q->ne[1] == 32 && q->bytes == 64 * 32 * 4);
    CHECK(gguf_find_tensor(f, "blk.9.attn_k.weight") == NULL);
    gguf_close(f);
}

TEST(gguf_open_vocab_llama_spm) {
    const char *path = shared_path("models/vocab/ggml-vocab-llama-spm.gguf");
    NEED_FILE(path);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    CHECK_MSG(f, "%s", err.msg);
    if (!f) return;
    CHECK_EQ_INT(f->n_tensors, 0);
    const gguf_kv *tok = gguf_find(f, "tokenizer.ggml.tokens");
    REQUIRE(tok && tok->arr_type == GGUF_STRING);
    CHECK_EQ_INT(tok->arr_n, 32000);
    const gguf_kv *scores = gguf_find(f, "tokenizer.ggml.scores");
    REQUIRE(scores && scores->arr_type == GGUF_F32 && scores->arr_n == 32000);
    int add_bos = 0;
    CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &add_bos, &err) == 0 && add_bos == 1);
    gguf_close(f);
}

/* ---- writer round trip -------------------------------------------------------------------- */

/* Sets a scalar of any numeric type through copy_kv (the writer has setters for few types). */
static void set_any(gguf_writer *w, const char *key, uint32_t type, int64_t iv, double fv) {
    gguf_kv kv = {.key = (char *)key, .type = type, .i64 = iv, .u64 = (uint64_t)iv, .f64 = fv};
    gguf_writer_copy_kv(w, &kv);
}

typedef struct {
    const char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[4];
} tspec;

static const tspec round_trip_tensors[] = {
    {"w.f32", QT_F32, 2, {7, 3}},
    {"w.f16", QT_F16, 3, {5, 1, 3}},
    {"w.bf16", QT_BF16, 4, {3, 2, 2, 2}},
    {"w.one", QT_F32, 1, {1}},
    {"w.empty", QT_F16, 2, {4, 0}},
};
enum { N_RT = sizeof round_trip_tensors / sizeof round_trip_tensors[0] };

static uint8_t tensor_byte(int t, size_t i) { return (uint8_t)(i * 31 + t * 7 + 1); }

/* A file with every value type and arrays of every type; tensor data written in odd chunks. */
static int write_all_types(const char *path, scarce_error *err) {
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "test");
    set_any(w, "v.u8", GGUF_U8, 200, 0);
    set_any(w, "v.i8", GGUF_I8, -100, 0);
    set_any(w, "v.u16", GGUF_U16, 60000, 0);
    set_any(w, "v.i16", GGUF_I16, -30000, 0);
    gguf_writer_set_u32(w, "v.u32", 4000000000u);
    gguf_writer_set_i32(w, "v.i32", -2000000000);
    gguf_writer_set_f32(w, "v.f32", 1.5f);
    gguf_writer_set_bool(w, "v.bool", 1);
    gguf_writer_set_u64(w, "v.u64", UINT64_MAX);
    set_any(w, "v.i64", GGUF_I64, INT64_MIN, 0);
    set_any(w, "v.f64", GGUF_F64, 0, -2.25e300);
    gguf_writer_set_str(w, "v.str", "h\xc3\xa9llo");
    const char *strs[] = {"a", "", "long string with spaces"};
    gguf_writer_set_arr_str(w, "a.str", strs, 3);
    uint8_t raw[64];
    for (int i = 0; i < 64; i++) raw[i] = (uint8_t)(i * 37 + 5);
    raw[0] = 1, raw[1] = 0, raw[2] = 1; /* valid as bools */
    for (uint32_t t = 0; t < GGUF_NTYPES; t++)
        if (gguf_vtype_size(t)) {
            char key[32];
            snprintf(key, sizeof key, "a.%s", gguf_vtype_name(t));
            gguf_writer_set_arr(w, key, t, raw, t == GGUF_BOOL ? 3 : 64 / gguf_vtype_size(t));
        }
    gguf_writer_set_arr(w, "a.empty", GGUF_I32, raw, 0);
    gguf_writer_set_u32(w, "v.u32", 7); /* replaces in place */
    int rc = 0;
    for (int t = 0; t < N_RT && !rc; t++)
        rc = gguf_writer_add_tensor(w, round_trip_tensors[t].name, round_trip_tensors[t].type,
                                    round_trip_tensors[t].n_dims, round_trip_tensors[t].ne, err);
    if (!rc) rc = gguf_writer_open(w, path, err);
    for (int t = 0; t < N_RT && !rc; t++) {
        const tspec *s = &round_trip_tensors[t];
        size_t bytes = qtype_row_bytes(s->type, s->ne[0]);
        for (int d = 1; d < s->n_dims; d++) bytes *= (size_t)s->ne[d];
        uint8_t buf[256];
        for (size_t i = 0; i < bytes; i++) buf[i] = tensor_byte(t, i);
        for (size_t i = 0, step = 1; i < bytes && !rc; i += step, step = step * 2 + 1)
            rc = gguf_writer_write(w, buf + i, i + step > bytes ? bytes - i : step, err);
    }
    if (!rc) rc = gguf_writer_finish(w, err);
    gguf_writer_free(w);
    return rc;
}

static int same_kv(const gguf_kv *a, const gguf_kv *b) {
    if (strcmp(a->key, b->key) || a->type != b->type) return 0;
    if (a->type == GGUF_STRING)
        return a->str_len == b->str_len && !memcmp(a->str, b->str, a->str_len);
    if (a->type != GGUF_ARRAY)
        return a->i64 == b->i64 && a->u64 == b->u64 &&
               !memcmp(&a->f64, &b->f64, sizeof a->f64);
    if (a->arr_type != b->arr_type || a->arr_n != b->arr_n) return 0;
    if (a->arr_type != GGUF_STRING)
        return !a->arr_n || !memcmp(a->arr_data, b->arr_data, a->arr_n * gguf_vtype_size(a->arr_type));
    for (uint64_t i = 0; i < a->arr_n; i++)
        if (a->arr_str_len[i] != b->arr_str_len[i] ||
            memcmp(a->arr_str[i], b->arr_str[i], a->arr_str_len[i]))
            return 0;
    return 1;
}

static void check_values(const gguf_file *f) {
    scarce_error err;
    int64_t v;
    uint32_t u;
    float x;
    CHECK(gguf_get_i64(f, "v.u8", &v, &err) == 0 && v == 200);
    CHECK(gguf_get_i64(f, "v.i8", &v, &err) == 0 && v == -100);
    CHECK(gguf_get_i64(f, "v.u16", &v, &err) == 0 && v == 60000);
    CHECK(gguf_get_i64(f, "v.i16", &v, &err) == 0 && v == -30000);
    CHECK(gguf_get_u32(f, "v.u32", &u, &err) == 0 && u == 7);
    CHECK(gguf_get_i64(f, "v.i32", &v, &err) == 0 && v == -2000000000);
    CHECK(gguf_get_u32(f, "v.i32", &u, &err) == -1 && strstr(err.msg, "v.i32")); /* negative */
    CHECK(gguf_get_f32(f, "v.f32", &x, &err) == 0 && x == 1.5f);
    CHECK(gguf_get_f32(f, "v.f64", &x, &err) == 0 && isinf(x));
    CHECK(gguf_find(f, "v.f64")->f64 == -2.25e300);
    int b = 0;
    CHECK(gguf_get_bool(f, "v.bool", &b, &err) == 0 && b == 1);
    CHECK(gguf_get_i64(f, "v.u64", &v, &err) == -1); /* above INT64_MAX */
    CHECK(gguf_find(f, "v.u64")->u64 == UINT64_MAX);
    CHECK(gguf_get_i64(f, "v.i64", &v, &err) == 0 && v == INT64_MIN);
    CHECK(gguf_get_str(f, "v.str") && !strcmp(gguf_get_str(f, "v.str"), "h\xc3\xa9llo"));
    CHECK(gguf_get_str(f, "v.u8") == NULL);
    const gguf_kv *s = gguf_find(f, "a.str");
    REQUIRE(s && s->arr_type == GGUF_STRING && s->arr_n == 3);
    CHECK(!strcmp(s->arr_str[2], "long string with spaces") && s->arr_str_len[1] == 0);
    const gguf_kv *a16 = gguf_find(f, "a.int16");
    REQUIRE(a16 && a16->arr_n == 32);
    CHECK(gguf_arr_i64(a16, 0) == (int16_t)(1 | 0 << 8)); /* raw[0]=1, raw[1]=0 */
    CHECK(gguf_arr_f64(gguf_find(f, "a.uint8"), 3) == (uint8_t)(3 * 37 + 5));
    /* insertion order, with the replaced key where it was first set */
    CHECK(!strcmp(f->kv[0].key, "general.architecture") && !strcmp(f->kv[5].key, "v.u32"));
    CHECK(f->kv[5].type == GGUF_U32);
}

TEST(gguf_write_read_round_trip) {
    scarce_error err = {{0}};
    const char *p1 = tmp_file("one.gguf"), *p2 = tmp_file("two.gguf");
    REQUIRE_OK(write_all_types(p1, &err) == 0, err);
    gguf_file *f = gguf_open(p1, &err);
    REQUIRE_OK(f, err);
    CHECK_EQ_INT(f->version, 3);
    check_values(f);
    REQUIRE(f->n_tensors == N_RT);
    for (int t = 0; t < N_RT; t++) {
        const gguf_tensor *g = gguf_find_tensor(f, round_trip_tensors[t].name);
        REQUIRE(g);
        CHECK(g->type == round_trip_tensors[t].type && g->n_dims == round_trip_tensors[t].n_dims);
        CHECK(g->offset % f->alignment == 0);
        for (int d = 0; d < 4; d++)
            CHECK(g->ne[d] == (d < g->n_dims ? round_trip_tensors[t].ne[d] : 1));
        int ok = 1;
        for (size_t i = 0; i < g->bytes; i++) ok &= ((const uint8_t *)g->data)[i] == tensor_byte(t, i);
        CHECK_MSG(ok, "tensor %s data differs", g->name);
    }
    /* copy everything to a second file: identical metadata, tensors and bytes */
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        rc = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, &err);
    }
    if (!rc) rc = gguf_writer_open(w, p2, &err);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++)
        rc = gguf_writer_write(w, f->tensors[i].data, f->tensors[i].bytes, &err);
    if (!rc) rc = gguf_writer_finish(w, &err);
    gguf_writer_free(w);
    CHECK_MSG(rc == 0, "%s", err.msg);
    gguf_file *g = gguf_open(p2, &err);
    REQUIRE_OK(g, err);
    REQUIRE(g->n_kv == f->n_kv && g->n_tensors == f->n_tensors);
    for (uint64_t i = 0; i < f->n_kv; i++) CHECK_MSG(same_kv(&f->kv[i], &g->kv[i]), "key %s", f->kv[i].key);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        CHECK(g->tensors[i].bytes == f->tensors[i].bytes && g->tensors[i].offset == f->tensors[i].offset);
        CHECK(!memcmp(g->tensors[i].data, f->tensors[i].data, f->tensors[i].bytes));
    }
    CHECK(f->size == g->size && !memcmp(f->map, g->map, f->size));
    gguf_close(f);
    gguf_close(g);
}

TEST(gguf_round_trip_stories260K) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    REQUIRE(f);
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++)
        rc = gguf_writer_add_tensor(w, f->tensors[i].name, f->tensors[i].type,
                                    f->tensors[i].n_dims, f->tensors[i].ne, &err);
    const char *out = tmp_file("copy.gguf");
    if (!rc) rc = gguf_writer_open(w, out, &err);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++)
        rc = gguf_writer_write(w, f->tensors[i].data, f->tensors[i].bytes, &err);
    if (!rc) rc = gguf_writer_finish(w, &err);
    gguf_writer_free(w);
    CHECK_MSG(rc == 0, "%s", err.msg);
    gguf_file *g = gguf_open(out, &err);
    REQUIRE(g);
    REQUIRE(g->n_kv == f->n_kv && g->n_tensors == f->n_tensors);
    for (uint64_t i = 0; i < f->n_kv; i++) CHECK(same_kv(&f->kv[i], &g->kv[i]));
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *a = &f->tensors[i], *b = gguf_find_tensor(g, a->name);
        REQUIRE(b);
        CHECK(b->bytes == a->bytes && !memcmp(a->data, b->data, a->bytes));
    }
    /* llama.cpp lays tensors out the same way: the copy is the original, byte for byte */
    CHECK(g->size == f->size && !memcmp(g->map, f->map, f->size));
    gguf_close(f);
    gguf_close(g);
}

TEST(gguf_writer_checks_sizes) {
    scarce_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    int64_t ne[2] = {4, 2};
    CHECK(gguf_writer_add_tensor(w, "t", 99, 2, ne, &err) == -1 && strstr(err.msg, "99"));
    CHECK(gguf_writer_add_tensor(w, "t", QT_F32, 5, ne, &err) == -1);
    CHECK(gguf_writer_add_tensor(w, "t", QT_F32, 2, ne, &err) == 0);
    CHECK(gguf_writer_add_tensor(w, "t", QT_F32, 2, ne, &err) == -1 && strstr(err.msg, "t"));
    const char *path = tmp_file("sizes.gguf");
    REQUIRE(gguf_writer_open(w, path, &err) == 0);
    uint8_t buf[64] = {0};
    CHECK(gguf_writer_write(w, buf, 20, &err) == 0);
    CHECK(gguf_writer_finish(w, &err) == -1 && strstr(err.msg, "tensor t"));
    CHECK(gguf_writer_write(w, buf, 20, &err) == -1 && strstr(err.msg, "after the last"));
    gguf_writer_free(w);
    CHECK(!file_exists(path));
    CHECK_EQ_INT(dir_entries(test_tmpdir()), 0);
}

/* ---- writer atomicity --------------------------------------------------------------------- */

TEST(gguf_writer_free_before_finish_leaves_nothing) {
    scarce_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    int64_t ne[1] = {1000};
    gguf_writer_set_str(w, "general.architecture", "x");
    REQUIRE(gguf_writer_add_tensor(w, "t", QT_F32, 1, ne, &err) == 0);
    const char *path = tmp_file("partial.gguf");
    REQUIRE(gguf_writer_open(w, path, &err) == 0);
    float half[500] = {0};
    CHECK(gguf_writer_write(w, half, sizeof half, &err) == 0);
    CHECK_EQ_INT(dir_entries(test_tmpdir()), 1); /* only the temp file */
    CHECK(!file_exists(path));
    gguf_writer_free(w);
    CHECK_EQ_INT(dir_entries(test_tmpdir()), 0);

    w = gguf_writer_new();
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.gguf", test_tmpdir());
    CHECK(gguf_writer_open(w, bad, &err) == -1 && strstr(err.msg, "no/such/dir"));
    gguf_writer_free(w);
    CHECK_EQ_INT(dir_entries(test_tmpdir()), 0);
}

/* ---- malformed files ---------------------------------------------------------------------- */

/* Knobs of a small hand-built file; all zero gives a valid file. */
typedef struct {
    const char *magic;
    uint32_t version;                    /* 0: 3 */
    uint64_t n_kv, n_tensors;            /* 0: the real counts */
    uint64_t key_len, arr_count;         /* 0: the real ones */
    uint32_t value_type, arr_elem_type;  /* 0: the real ones (string / i32) */
    uint8_t bool_value;                  /* 0: 1 */
    int dup_key, dup_tensor, empty_key;
    int align_mode;                      /* 0 none, 1 u32 = align_value, 2 as u64 */
    uint32_t align_value;
    uint32_t n_dims;                     /* 0: 2 */
    uint64_t ne0, ne1;                   /* 0: 4, 3 */
    uint32_t tensor_type;                /* 0: f32 (type 0 cannot be asked for: use 1000) */
    uint64_t offset2;                    /* 0: the right one */
} bad_spec;

typedef struct {
    uint8_t p[1024];
    size_t n;
} fbuf;

static void b_put(fbuf *b, const void *p, size_t n) {
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void b_u32(fbuf *b, uint32_t v) { b_put(b, &v, 4); } /* the test machine is little-endian */
static void b_u64(fbuf *b, uint64_t v) { b_put(b, &v, 8); }
static void b_str(fbuf *b, const char *s, uint64_t len_field) {
    b_u64(b, len_field ? len_field : strlen(s));
    b_put(b, s, strlen(s));
}

/* Layout: kv "general.architecture" (string), "test.arr" (array), "test.flag" (bool),
 * optional "general.alignment"; tensors "a.weight" [ne0, ne1] and "b.weight" f32 [5]. */
static size_t build_file(const bad_spec *s, fbuf *b, size_t *section_ends) {
    b->n = 0;
    b_put(b, s->magic ? s->magic : "GGUF", 4);
    b_u32(b, s->version ? s->version : 3);
    uint64_t n_kv = 3 + (s->align_mode != 0) + (s->dup_key != 0);
    b_u64(b, s->n_tensors ? s->n_tensors : 2 + (s->dup_tensor != 0));
    b_u64(b, s->n_kv ? s->n_kv : n_kv);
    section_ends[0] = b->n;
    b_str(b, s->empty_key ? "" : "general.architecture", s->key_len);
    b_u32(b, s->value_type ? s->value_type : GGUF_STRING);
    b_str(b, "llama", 0);
    b_str(b, "test.arr", 0);
    b_u32(b, GGUF_ARRAY);
    b_u32(b, s->arr_elem_type ? s->arr_elem_type : GGUF_I32);
    b_u64(b, s->arr_count ? s->arr_count : 3);
    for (int32_t i = 0; i < 3; i++) b_u32(b, (uint32_t)(i - 1));
    b_str(b, "test.flag", 0);
    b_u32(b, GGUF_BOOL);
    uint8_t flag = s->bool_value ? s->bool_value : 1;
    b_put(b, &flag, 1);
    if (s->dup_key) {
        b_str(b, "test.flag", 0);
        b_u32(b, GGUF_BOOL);
        b_put(b, &flag, 1);
    }
    size_t align = 32;
    if (s->align_mode) {
        b_str(b, "general.alignment", 0);
        b_u32(b, s->align_mode == 1 ? GGUF_U32 : GGUF_U64);
        if (s->align_mode == 1) b_u32(b, s->align_value);
        else b_u64(b, s->align_value);
        if (s->align_value && !(s->align_value & (s->align_value - 1))) align = s->align_value;
    }
    section_ends[1] = b->n;
    uint64_t ne0 = s->ne0 ? s->ne0 : 4, ne1 = s->ne1 ? s->ne1 : 3;
    uint32_t n_dims = s->n_dims == 1000 ? 0 : s->n_dims ? s->n_dims : 2; /* 1000: ask for 0 */
    b_str(b, "a.weight", 0);
    b_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims && d < 8; d++) b_u64(b, d == 0 ? ne0 : d == 1 ? ne1 : 1);
    b_u32(b, s->tensor_type ? s->tensor_type % 1000 : QT_F32);
    b_u64(b, 0);
    uint64_t a_bytes = 4 * 4 * 3; /* as built when valid */
    uint64_t off2 = (a_bytes + align - 1) / align * align;
    for (int copy = 0; copy < 1 + (s->dup_tensor != 0); copy++) {
        b_str(b, "b.weight", 0);
        b_u32(b, 1);
        b_u64(b, 5);
        b_u32(b, QT_F32);
        b_u64(b, s->offset2 ? s->offset2 : off2); /* a duplicate shares the data */
    }
    section_ends[2] = b->n;
    while (b->n % align) b->p[b->n++] = 0;
    section_ends[3] = b->n;
    for (size_t i = 0; i < off2 + 20; i++) b->p[b->n++] = (uint8_t)i; /* ends with b.weight */
    return b->n;
}

TEST(gguf_small_file_is_valid) {
    bad_spec s = {0};
    fbuf b;
    size_t ends[4];
    build_file(&s, &b, ends);
    const char *path = tmp_file("small.gguf");
    REQUIRE(write_bytes(path, b.p, b.n) == 0);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    CHECK_MSG(f, "%s", err.msg);
    if (!f) return;
    CHECK(f->n_kv == 3 && f->n_tensors == 2);
    const gguf_kv *arr = gguf_find(f, "test.arr");
    REQUIRE(arr);
    CHECK(gguf_arr_i64(arr, 0) == -1 && gguf_arr_i64(arr, 2) == 1);
    gguf_close(f);
}

/* Every prefix of a valid file must be refused (the file has no trailing padding). */
TEST(gguf_truncated_everywhere) {
    bad_spec s = {0};
    fbuf b;
    size_t ends[4];
    build_file(&s, &b, ends);
    const char *path = tmp_file("trunc.gguf");
    int opened = 0;
    REQUIRE(write_bytes(path, b.p, b.n) == 0);
    for (size_t n = b.n; n-- > 0;) { /* cutting down: no rewrite per length */
        REQUIRE(truncate(path, (off_t)n) == 0);
        const char *msg = open_fails(path);
        if (!msg || !*msg) opened++;
    }
    CHECK_EQ_INT(opened, 0);
    for (int i = 0; i < 4; i++) { /* at each section boundary the message says truncated */
        REQUIRE(write_bytes(path, b.p, ends[i]) == 0);
        const char *msg = open_fails(path);
        CHECK_MSG(msg && (strstr(msg, "truncated") || strstr(msg, "too short") ||
                          strstr(msg, "data ends") || strstr(msg, "cannot fit")),
                  "cut at %zu: %s", ends[i], msg ? msg : "(opened)");
    }
}

TEST(gguf_truncated_real_header) {
    const char *src = shared_path("models/stories260K.gguf");
    NEED_FILE(src);
    size_t len;
    char *data = read_file(src, &len);
    REQUIRE(data);
    scarce_error err;
    gguf_file *f = gguf_open(src, &err);
    REQUIRE(f);
    size_t header = f->data_offset;
    gguf_close(f);
    const char *path = tmp_file("trunc260k.gguf");
    int opened = 0;
    REQUIRE(write_bytes(path, data, len) == 0);
    REQUIRE(truncate(path, (off_t)len - 1) == 0);
    const char *msg = open_fails(path);
    CHECK(msg && strstr(msg, "blk.4.ffn_norm.weight") && strstr(msg, "data ends"));
    /* through the data and the header region at strides */
    for (size_t n = len - 1; n-- > 0;) {
        if (n >= header ? n % 40000 != 0 : n % 5 != 0) continue;
        REQUIRE(truncate(path, (off_t)n) == 0);
        if (!open_fails(path)) opened++;
    }
    CHECK_EQ_INT(opened, 0);
    free(data);
}

typedef struct {
    const char *what;
    bad_spec spec;
    const char *needle; /* the message must mention it */
} bad_case;

static const bad_case bad_cases[] = {
    {"bad magic", {.magic = "GGML"}, "magic"},
    {"version 1", {.version = 1}, "version 1"},
    {"version 4", {.version = 4}, "version 4"},
    {"huge n_kv", {.n_kv = 1ull << 63}, "keys"},
    {"huge n_tensors", {.n_tensors = 1ull << 62}, "tensors"},
    {"n_kv one too many", {.n_kv = 4}, ""},
    {"huge key length", {.key_len = 1ull << 62}, "length"},
    {"key length past end", {.key_len = 900}, "length"},
    {"huge array count", {.arr_count = 1ull << 61}, "test.arr"},
    {"array count past end", {.arr_count = 200}, "test.arr"},
    {"array of arrays", {.arr_elem_type = GGUF_ARRAY}, "arrays of arrays"},
    {"unknown array type", {.arr_elem_type = 13}, "test.arr"},
    {"unknown value type", {.value_type = 13}, "general.architecture"},
    {"value type 99", {.value_type = 99}, "unknown value type"},
    {"bool 2", {.bool_value = 2}, "test.flag"},
    {"empty key", {.empty_key = 1}, "empty"},
    {"duplicate key", {.dup_key = 1}, "duplicate key test.flag"},
    {"duplicate tensor", {.dup_tensor = 1}, "duplicate tensor name b.weight"},
    {"n_dims 0", {.n_dims = 1000}, "n_dims"},
    {"n_dims 5", {.n_dims = 5}, "a.weight"},
    {"dims overflow", {.ne0 = 1ull << 40, .ne1 = 1ull << 40}, "overflow"},
    {"dim above int64", {.ne0 = 1ull << 63}, "a.weight"},
    {"ne0 not multiple of block", {.ne0 = 33, .tensor_type = QT_Q4_0}, "a.weight"},
    {"unknown tensor type", {.tensor_type = 99}, "a.weight"},
    {"alignment 0", {.align_mode = 1, .align_value = 0}, "general.alignment"},
    {"alignment 3", {.align_mode = 1, .align_value = 3}, "general.alignment"},
    {"alignment as u64", {.align_mode = 2, .align_value = 32}, "u32"},
    {"offset not aligned", {.offset2 = 50}, "b.weight"},
    {"offset past end", {.offset2 = 1ull << 40}, "b.weight"},
    {"offset overlaps", {.offset2 = 32}, "overlap"},
    {"offset near 2^64", {.offset2 = UINT64_MAX - 31}, "b.weight"},
    {"starts past file", {.offset2 = 96}, "b.weight"},
};

TEST(gguf_malformed_table) {
    const char *path = tmp_file("bad.gguf");
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        bad_spec s = bad_cases[i].spec;
        fbuf b;
        size_t ends[4];
        build_file(&s, &b, ends);
        REQUIRE(write_bytes(path, b.p, b.n) == 0);
        const char *msg = open_fails(path);
        CHECK_MSG(msg, "%s: opened", bad_cases[i].what);
        if (!msg) continue;
        CHECK_MSG(*msg && strstr(msg, bad_cases[i].needle), "%s: message '%s' lacks '%s'",
                  bad_cases[i].what, msg, bad_cases[i].needle);
    }
}

TEST(gguf_unknown_type_mentions_scarce_types) {
    bad_spec s = {.tensor_type = 250};
    fbuf b;
    size_t ends[4];
    build_file(&s, &b, ends);
    const char *path = tmp_file("t250.gguf");
    REQUIRE(write_bytes(path, b.p, b.n) == 0);
    const char *msg = open_fails(path);
    REQUIRE(msg);
    CHECK(strstr(msg, "a.weight") && strstr(msg, "250") && strstr(msg, "does not declare scarce.types"));
    CHECK(open_fails("/nonexistent/file.gguf") && strstr(open_fails("/nonexistent/file.gguf"), "/nonexistent"));
}

/* ---- the inspect and mkmodel commands ----------------------------------------------------- */

TEST(gguf_inspect_command) {
    const char *model = shared_path("models/stories260K.gguf");
    NEED_FILE(model);
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s inspect %s", scarce_bin(), model);
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 0);
    CHECK(out && strstr(out, "llama.block_count") && strstr(out, "blk.4.ffn_norm.weight") &&
          strstr(out, "[string x 512]") && strstr(out, "total tensor bytes: 1171200"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s inspect %s/missing.gguf", scarce_bin(), test_tmpdir());
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 1);
    CHECK(err && !strncmp(err, "scarce inspect: ", 16) && strstr(err, "missing.gguf"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s inspect", scarce_bin());
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s inspect -h", scarce_bin());
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 0);
}

/* Runs mkmodel with the stories260K vocabulary (512 tokens) and extra flags. */
static int mkmodel(const char *out, const char *flags) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s --vocab %s %s", scarce_bin(), out,
             shared_path("models/stories260K.gguf"), flags);
    return run_cmd(cmd, NULL, NULL);
}

static void check_shape(const gguf_file *f, const char *name, uint32_t type, int64_t ne0,
                        int64_t ne1, int64_t ne2) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    CHECK_MSG(t, "tensor %s missing", name);
    if (!t) return;
    CHECK_MSG(t->type == type && t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == ne2,
              "%s: type %u [%lld, %lld, %lld]", name, t->type, (long long)t->ne[0],
              (long long)t->ne[1], (long long)t->ne[2]);
}

#define TINY "--n-embd 32 --n-layer 2 --n-head 4 --n-head-kv 2 --n-ff 48 --ctx 256"

TEST(gguf_mkmodel_tiny) {
    NEED_SHARED("models/stories260K.gguf");
    const char *a = tmp_file("a.gguf"), *b = tmp_file("b.gguf"), *c = tmp_file("c.gguf");
    CHECK_EQ_INT(mkmodel(a, TINY " --seed 7 --type f16"), 0);
    CHECK_EQ_INT(mkmodel(b, TINY " --seed 7 --type f16"), 0);
    CHECK_EQ_INT(mkmodel(c, TINY " --seed 8 --type f16"), 0);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(a, &err);
    REQUIRE_OK(f, err);
    CHECK_EQ_INT(f->n_tensors, 3 + 2 * 9);
    check_shape(f, "token_embd.weight", QT_F16, 32, 512, 1);
    check_shape(f, "output.weight", QT_F16, 32, 512, 1);
    check_shape(f, "output_norm.weight", QT_F32, 32, 1, 1);
    check_shape(f, "blk.1.attn_k.weight", QT_F16, 32, 16, 1); /* n_head_kv * head_dim = 2 * 8 */
    check_shape(f, "blk.1.attn_q.weight", QT_F16, 32, 32, 1);
    check_shape(f, "blk.1.ffn_down.weight", QT_F16, 48, 32, 1);
    check_shape(f, "blk.0.ffn_gate.weight", QT_F16, 32, 48, 1);
    check_shape(f, "blk.0.ffn_norm.weight", QT_F32, 32, 1, 1);
    uint32_t u = 0;
    float x = 0;
    CHECK(!strcmp(gguf_get_str(f, "general.architecture"), "llama"));
    CHECK(gguf_get_u32(f, "llama.context_length", &u, &err) == 0 && u == 256);
    CHECK(gguf_get_u32(f, "llama.attention.head_count_kv", &u, &err) == 0 && u == 2);
    CHECK(gguf_get_u32(f, "llama.rope.dimension_count", &u, &err) == 0 && u == 8);
    CHECK(gguf_get_u32(f, "general.file_type", &u, &err) == 0 && u == 1);
    CHECK(gguf_get_f32(f, "llama.rope.freq_base", &x, &err) == 0 && x == 10000.0f);
    CHECK(gguf_find(f, "tokenizer.ggml.scores") && gguf_get_str(f, "tokenizer.ggml.model"));
    const gguf_tensor *norm = gguf_find_tensor(f, "blk.0.attn_norm.weight");
    const gguf_tensor *q = gguf_find_tensor(f, "blk.0.attn_q.weight");
    REQUIRE(norm && q);
    CHECK(((const float *)norm->data)[31] == 1.0f);
    double sum2 = 0; /* std 0.02 over 1024 weights: within 10% */
    for (int i = 0; i < 1024; i++) {
        double v = fp16_to_f32(((const uint16_t *)q->data)[i]);
        sum2 += v * v;
    }
    CHECK_NEAR(sqrt(sum2 / 1024), 0.02, 0.002);
    gguf_close(f);
    size_t na, nb, nc;
    char *da = read_file(a, &na), *db = read_file(b, &nb), *dc = read_file(c, &nc);
    REQUIRE(da && db && dc);
    CHECK(na == nb && !memcmp(da, db, na)); /* same seed, same bytes */
    CHECK(na == nc && memcmp(da, dc, na));  /* another seed, other weights */
    free(da), free(db), free(dc);
}

TEST(gguf_mkmodel_moe_and_errors) {
    NEED_SHARED("models/stories260K.gguf");
    const char *m = tmp_file("moe.gguf");
    CHECK_EQ_INT(mkmodel(m, TINY " --n-expert 4 --n-expert-used 2"), 0);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(m, &err);
    REQUIRE_OK(f, err);
    uint32_t u = 0;
    CHECK(gguf_get_u32(f, "llama.expert_count", &u, &err) == 0 && u == 4);
    CHECK(gguf_get_u32(f, "llama.expert_used_count", &u, &err) == 0 && u == 2);
    check_shape(f, "blk.1.ffn_gate_inp.weight", QT_F32, 32, 4, 1);
    check_shape(f, "blk.1.ffn_gate_exps.weight", QT_F32, 32, 48, 4);
    check_shape(f, "blk.1.ffn_up_exps.weight", QT_F32, 32, 48, 4);
    check_shape(f, "blk.1.ffn_down_exps.weight", QT_F32, 48, 32, 4);
    CHECK(gguf_find_tensor(f, "blk.0.ffn_gate.weight") == NULL);
    gguf_close(f);
    const char *x = tmp_file("x.gguf");
    CHECK_EQ_INT(mkmodel(x, "--n-embd 30 --n-layer 1 --n-head 4 --n-head-kv 2 --n-ff 8"), 2);
    CHECK_EQ_INT(mkmodel(x, "--n-embd 32 --n-layer 1 --n-head 4 --n-head-kv 3 --n-ff 8"), 2);
    CHECK_EQ_INT(mkmodel(x, "--n-embd 32x --n-layer 1 --n-head 4 --n-head-kv 2 --n-ff 8"), 2);
    CHECK_EQ_INT(mkmodel(x, "--n-embd 32 --n-layer 1 --n-head 4 --n-head-kv 2"), 2);
    CHECK_EQ_INT(mkmodel(x, TINY " --type nosuchtype"), 2);
    CHECK(!file_exists(x));
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/dir/y.gguf", test_tmpdir());
    CHECK_EQ_INT(mkmodel(bad, TINY), 1);
    CHECK_EQ_INT(dir_entries(test_tmpdir()), 1); /* moe.gguf only: no partial or temp file */
}
