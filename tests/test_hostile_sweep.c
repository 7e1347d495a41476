/* test_hostile_sweep.c - every numeric key of every base (hostile_meta.h) set to each of a
 * few hostile values: zero, one, a large count, 2^32 - 1, -1, and for floats 0, -1, NaN, inf
 * and 1e30 (a float where an integer belongs and the other way round, too). Each mutant
 * must be refused with one line, or load and give finite logits for "Once upon": a value
 * accepted but poisoning the output is a silent wrong answer, a crash is a crash (ASan in
 * `make SANITIZE=1 test`). In process, so the ~1000 mutants take seconds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/gguf.h"
#include "../engine/model.h"
#include "../engine/tokenizer.h"
#include "../kernels/cpu.h"
#include "hostile_meta.h"
#include "test.h"

typedef struct {
    enum hostile_edit edit;
    double num;
} sweep_value;

static const sweep_value int_values[] = {
    {EDIT_U32, 0},  {EDIT_U32, 1}, {EDIT_U32, 3}, {EDIT_U32, 1 << 24}, {EDIT_U32, 4294967295.0},
    {EDIT_I32, -1}, {EDIT_F32, 2}};
static const sweep_value float_values[] = {{EDIT_F32, 0},        {EDIT_F32, -1},   {EDIT_F32, NAN},
                                           {EDIT_F32, INFINITY}, {EDIT_F32, 1e30}, {EDIT_U32, 1}};

/* "" when the mutant is refused cleanly or runs to finite logits; else what went wrong */
static const char *try_mutant(const char *path, char *why, size_t size, int *ran) {
    scarce_error err = {0};
    gguf_file *f = gguf_open(path, &err);
    tokenizer *t = f ? tokenizer_load(f, &err) : NULL;
    model_options opts = model_options_default();
    opts.kernels.repack = 0;
    model *m = t ? model_from_gguf(f, &opts, &err) : NULL;
    why[0] = 0;
    if (!m) {
        const size_t n = strnlen(err.msg, sizeof err.msg);
        if (n == 0 || memchr(err.msg, '\n', n))
            snprintf(why, size, "refused with no one-line message");
        tokenizer_free(t);
        gguf_close(f);
        return why;
    }
    session s;
    int ids[16];
    const int n = tokenizer_encode(t, "Once upon", TOKENIZE_BOS, ids, 16, &err);
    if (n > 0 && session_init(&s, m, 16, &err) == 0) {
        const float *logits = forward(&s, ids, n, 0, &err);
        *ran += logits != NULL;
        for (int v = 0; logits && v < m->cfg.n_vocab && !why[0]; v++)
            if (!isfinite(logits[v])) snprintf(why, size, "accepted, logit %d is %g", v, logits[v]);
        if (!logits && !err.msg[0]) snprintf(why, size, "forward failed with no message");
        session_free(&s);
    }
    tokenizer_free(t);
    model_free(m); /* and f */
    return why;
}

TEST(hostile_sweep_numeric_keys) {
    const char *T = test_tmpdir(), *paths[N_BASES];
    if (hostile_make_bases(T, paths)) SKIP("a base could not be made (scarce mkmodel?)");
    kernels_init(NULL, NULL);
    char path[700], why[256];
    snprintf(path, sizeof path, "%s/mutant.gguf", T);
    int tried = 0, bad = 0, ran = 0;
    for (int b = 0; b < N_BASES; b++) {
        scarce_error err = {0};
        gguf_file *f = gguf_open(paths[b], &err);
        REQUIRE(f);
        for (uint64_t k = 0; k < f->n_kv; k++) {
            const gguf_kv *kv = &f->kv[k];
            const int is_float = kv->type == GGUF_F32 || kv->type == GGUF_F64;
            if (kv->type == GGUF_STRING || kv->type == GGUF_ARRAY || kv->type == GGUF_BOOL ||
                !strncmp(kv->key, "general.", 8))
                continue;
            const sweep_value *vals = is_float ? float_values : int_values;
            const int n_vals = is_float ? 6 : 7;
            for (int i = 0; i < n_vals; i++) {
                const hostile_file h = {"mutant.gguf",
                                        (enum hostile_base)b,
                                        kv->key,
                                        vals[i].edit,
                                        0,
                                        vals[i].num,
                                        NULL,
                                        NULL,
                                        NULL};
                REQUIRE(hostile_write_one(f, &h, path) == 0);
                tried++;
                if (*try_mutant(path, why, sizeof why, &ran)) {
                    bad++;
                    CHECK_MSG(0, "%s: %s = %g: %s", hostile_base_names[b], kv->key, vals[i].num,
                              why);
                }
            }
        }
        gguf_close(f);
    }
    printf("      %d mutants: %d ran to finite logits, %d neither that nor refused cleanly\n",
           tried, ran, bad);
    CHECK(tried > 200 && ran > 0 && ran < tried); /* the sweep reaches both outcomes */
}
