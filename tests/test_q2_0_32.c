/* test_q2_0_32.c - the rename of scarce's block-32 2-bit type (id 202) from q2_0 to
 * q2_0_32: a file as scarce wrote it before (id 202, scarce.types = ["q2_0"]) still loads
 * and runs, and the name q2_0 no longer means id 202 (llama.cpp's Q2_0 is id 42). */
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/gguf.h"
#include "../engine/quantize_model.h"
#include "../kernels/cpu.h"
#include "../quant/policy.h"
#include "../quant/types.h"
#include "test.h"

/* Copies in to out with scarce.types replaced by the old name. */
static int rewrite_with_old_name(const char *in, const char *out, scarce_error *err) {
    gguf_file *f = gguf_open(in, err);
    if (!f) return -1;
    gguf_writer *w = gguf_writer_new();
    int rc = w ? 0 : -1;
    for (uint64_t i = 0; i < f->n_kv && !rc; i++)
        if (strcmp(f->kv[i].key, "scarce.types")) gguf_writer_copy_kv(w, &f->kv[i]);
    const char *old[] = {"q2_0"};
    if (!rc) gguf_writer_set_arr_str(w, "scarce.types", old, 1);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        rc = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, err);
    }
    if (!rc) rc = gguf_writer_open(w, out, err);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++)
        rc = gguf_writer_write(w, f->tensors[i].data, f->tensors[i].bytes, err);
    if (!rc) rc = gguf_writer_finish(w, err);
    gguf_writer_free(w);
    gguf_close(f);
    return rc;
}

TEST(q2_0_32_old_files_load_and_run) {
    const char *in = shared_path("models/stories260K.gguf");
    NEED_FILE(in);
    REQUIRE(kernels_init(NULL, NULL) == 0);
    char now[512], before[512], cmd[2048];
    snprintf(now, sizeof now, "%s/now.gguf", test_tmpdir());
    snprintf(before, sizeof before, "%s/before.gguf", test_tmpdir());
    quantize_opts o = {.n_threads = 2};
    quantize_report rep;
    scarce_error err;
    REQUIRE(quantize_model(in, now, "q2_0_32", &o, &rep, &err) == 0);
    quantize_report_free(&rep);
    int rewritten = rewrite_with_old_name(now, before, &err);
    if (rewritten) printf("    rewrite: %s\n", err.msg);
    REQUIRE(rewritten == 0);
    gguf_file *f = gguf_open(before, &err);
    REQUIRE(f);
    const gguf_kv *types = gguf_find(f, "scarce.types");
    CHECK(types && types->arr_n == 1 && !strcmp(types->arr_str[0], "q2_0"));
    int n_202 = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].type == 202) {
            n_202++;
            CHECK(!strcmp(qtype(202)->name, "q2_0_32"));
        }
    CHECK(n_202 > 0);
    gguf_close(f);
    /* both files give the same greedy text */
    char *text[2] = {NULL, NULL};
    const char *paths[2] = {now, before};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s run -m %s -n 16 --temp 0 -t 1 -p \"Once upon a time\"",
                 scarce_bin(), paths[k]);
        CHECK_EQ_INT(run_cmd(cmd, &text[k], NULL), 0);
    }
    CHECK(text[0] && text[1] && strlen(text[0]) > 20 && !strcmp(text[0], text[1]));
    free(text[0]), free(text[1]);
}

TEST(q2_0_32_name_is_not_q2_0) {
    CHECK(qtype_by_name("q2_0_32") == qtype(202));
    const quant_type *q2_0 = qtype_by_name("q2_0");
    CHECK_MSG(!q2_0 || q2_0->id == 42, "q2_0 is id %u", q2_0 ? q2_0->id : 0);
    const quant_scheme *s = quant_scheme_by_name("q2_0");
    CHECK(!s || s->base == 42);
}
