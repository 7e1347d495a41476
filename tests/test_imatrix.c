/* test_imatrix.c - the importance matrix file: scarce imatrix writes llama-imatrix's GGUF
 * layout (engine/imatrix.h), our reader gives back the means it was made from, and, when a
 * llama.cpp build is given (LLAMA_BIN_DIR holding llama-quantize), llama-quantize accepts
 * the file; without one that part skips. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../engine/imatrix.h"
#include "../quant/types.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

/* Rows x_b,j = (b + 1) * (j + 1) / 8 for two weights; one matrix seen twice. */
static imatrix *observed(void) {
    imatrix *im = imatrix_new();
    float x[3 * 40];
    for (int b = 0; b < 3; b++)
        for (int j = 0; j < 40; j++) x[b * 40 + j] = (float)((b + 1) * (j + 1)) / 8;
    imatrix_observe(im, "blk.0.attn_q.weight", x, 3, 40);
    imatrix_observe(im, "blk.0.attn_q.weight", x, 1, 40);
    imatrix_observe(im, "blk.0.ffn_down.weight", x, 2, 60);
    return im;
}

/* The keys and tensors llama.cpp's loader (common/imatrix-loader.cpp) and llama-quantize
 * need, with their shapes and types. */
TEST(imatrix_writes_llama_layout) {
    imatrix *im = observed();
    char full[512];
    snprintf(full, sizeof full, "%s/imatrix.gguf", test_tmpdir());
    scarce_error err;
    REQUIRE(imatrix_write(im, full, 2, 64, "some text.txt", &err) == 0);
    imatrix_free(im);
    gguf_file *f = gguf_open(full, &err);
    REQUIRE(f);
    const gguf_kv *ds = gguf_find(f, "imatrix.datasets");
    CHECK(ds && ds->type == GGUF_ARRAY && ds->arr_type == GGUF_STRING && ds->arr_n == 1);
    int64_t v = 0;
    CHECK(gguf_get_i64(f, "imatrix.chunk_count", &v, &err) == 0 && v == 2);
    CHECK(gguf_get_i64(f, "imatrix.chunk_size", &v, &err) == 0 && v == 64);
    CHECK(gguf_find(f, "general.type") != NULL);
    CHECK_EQ_INT((int)f->n_tensors, 4);
    const gguf_tensor *sum = gguf_find_tensor(f, "blk.0.attn_q.weight.in_sum2"),
                      *count = gguf_find_tensor(f, "blk.0.attn_q.weight.counts");
    REQUIRE(sum && count);
    CHECK(sum->type == QT_F32 && sum->n_dims == 2 && sum->ne[0] == 40 && sum->ne[1] == 1);
    CHECK(count->type == QT_F32 && count->n_dims == 2 && count->ne[0] == 1 && count->ne[1] == 1);
    CHECK(*(const float *)count->data == 4.0f);
    /* column 3: rows 1, 2, 3, 1 times 4 / 8 */
    CHECK(((const float *)sum->data)[3] == 0.25f * (1 + 4 + 9 + 1));
    gguf_close(f);
}

/* Written, then read by the quantizers' reader: the mean of each column, and a wrong
 * length refused naming the entry. */
TEST(imatrix_round_trip) {
    imatrix *im = observed();
    char full[512];
    snprintf(full, sizeof full, "%s/rt.gguf", test_tmpdir());
    scarce_error err;
    REQUIRE(imatrix_write(im, full, 1, 16, NULL, &err) == 0);
    imatrix_free(im);
    imatrix_file *f = imatrix_open(full, &err);
    REQUIRE(f);
    CHECK_EQ_INT(imatrix_chunks(f), 1);
    float mean[60];
    REQUIRE(imatrix_get(f, "blk.0.attn_q.weight", 40, mean, &err) == 1);
    for (int j = 0; j < 40; j++) {
        const double x = (j + 1) / 8.0, want = x * x * (1 + 4 + 9 + 1) / 4;
        CHECK_MSG(fabs(mean[j] - want) <= 1e-6 * want, "column %d: %g want %g", j, mean[j], want);
    }
    REQUIRE(imatrix_get(f, "blk.0.ffn_down.weight", 60, mean, &err) == 1);
    /* column 0 of the 60-column rows: x[0] = 1/8 and x[60] = 2 * 21 / 8 */
    const double want0 = (1.0 / 64 + 42.0 * 42 / 64) / 2;
    CHECK_MSG(fabs(mean[0] - want0) <= 1e-6 * want0, "%g want %g", mean[0], want0);
    CHECK(imatrix_get(f, "blk.1.attn_q.weight", 40, mean, &err) == 0);
    CHECK(imatrix_get(f, "blk.0.attn_q.weight", 32, mean, &err) == -1 &&
          strstr(err.msg, "blk.0.attn_q.weight"));
    imatrix_close(f);
}

/* llama-quantize --imatrix on a file of scarce imatrix (stories260K, 2 chunks): it loads
 * every entry and writes its output. Skips without LLAMA_BIN_DIR/llama-quantize. */
TEST(imatrix_llama_quantize_accepts) {
    const char *bin = getenv("LLAMA_BIN_DIR");
    char quantize[1024];
    snprintf(quantize, sizeof quantize, "%s/llama-quantize", bin ? bin : "");
    if (!bin || !*bin || !file_exists(quantize))
        SKIP("no llama.cpp build given (LLAMA_BIN_DIR with llama-quantize)");
    NEED_SHARED(STORIES);
    NEED_SHARED("data/tinystories-valid.txt");
    char im[512], out[512], cmd[4096];
    snprintf(im, sizeof im, "%s/st.imatrix", test_tmpdir());
    snprintf(out, sizeof out, "%s/st-q4_0.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s imatrix -m %s -f %s -c 64 --chunks 2 -o %s -t 1", scarce_bin(),
             shared_path(STORIES), shared_path("data/tinystories-valid.txt"), im);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH=%s %s --imatrix %s %s %s q4_0 1", bin, quantize,
             im, shared_path(STORIES), out);
    char *o = NULL, *e = NULL;
    const int rc = run_cmd(cmd, &o, &e);
    CHECK_MSG(rc == 0, "llama-quantize exit %d: %s", rc, e ? e : "");
    /* "load_imatrix: loaded 36 importance matrix entries from ... computed on 2 chunks" */
    const char *said = o && strstr(o, "importance matrix entries") ? o : e;
    CHECK_MSG(said && strstr(said, "loaded") && strstr(said, "computed on 2 chunks"),
              "llama-quantize did not report the imatrix: %s", said ? said : "");
    CHECK(file_exists(out));
    free(o), free(e);
}
