/* fuzz_dequant.c - random bytes as whole blocks of every type in the type table, through
 * its dequantizer and through the row dot of every ISA this CPU runs (new formats join by
 * their table row and install lines, no edit here).
 *
 * Input: byte 0 picks the type (index into qtype_at), the rest are its blocks (a trailing
 * partial block is dropped). dequantize must not crash or read past the blocks (ASan), and
 * for block formats whose only floating-point fields are their scales, finite scales must
 * give finite outputs: value = d * q (+ m) cannot be NaN or Inf in f32 when d and m are
 * finite fp16 (|d * q| <= 65504 * 255). Raw float types (f32/f16/bf16) and FP8 can encode
 * NaN/Inf in their elements, so only the crash check applies to them. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu.h"
#include "../../quant/fp16.h"
#include "../../quant/types.h"

/* Where a block format keeps its scales (ggml-common.h layouts). */
typedef struct {
    uint32_t id;
    size_t block_bytes;   /* expected; the check is skipped if the table disagrees */
    int n_scales;
    uint16_t offset[2];   /* byte offsets of the scale fields */
    int scale_is_f32;     /* Q8_K keeps d as float */
} scale_layout;

static const scale_layout layouts[] = {
    {QT_Q4_0, 18, 1, {0}, 0},      {QT_Q4_1, 20, 2, {0, 2}, 0},
    {QT_Q5_0, 22, 1, {0}, 0},      {QT_Q5_1, 24, 2, {0, 2}, 0},
    {QT_Q8_0, 34, 1, {0}, 0},
    {QT_Q2_K, 84, 2, {80, 82}, 0}, {QT_Q3_K, 110, 1, {108}, 0},
    {QT_Q4_K, 144, 2, {0, 2}, 0},  {QT_Q5_K, 176, 2, {0, 2}, 0},
    {QT_Q6_K, 210, 1, {208}, 0},   {QT_Q8_K, 292, 1, {0}, 1},
    {QT_IQ4_NL, 18, 1, {0}, 0},
};

static const scale_layout *layout_of(const quant_type *t) {
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i].id == t->id && layouts[i].block_bytes == t->block_bytes)
            return &layouts[i];
    return NULL;
}

static float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return fp16_to_f32(h);
}

static int scales_finite(const scale_layout *l, const uint8_t *block) {
    for (int s = 0; s < l->n_scales; s++) {
        float v;
        if (l->scale_is_f32) memcpy(&v, block + l->offset[s], 4);
        else v = half_at(block + l->offset[s]);
        /* Q8_K: a finite but huge f32 d times 127 may overflow; keep to fp16 range */
        if (!isfinite(v) || fabsf(v) > 65504.0f) return 0;
    }
    return 1;
}

/* vec_dot of the blocks with a fixed activation row, on every ISA: no read past the
 * blocks or the activation (ASan); the value is not checked (fuzzed scales may be NaN). */
static void dot_every_isa(const quant_type *t, const uint8_t *src, int64_t n) {
    static int ready;
    if (!ready && kernels_init(NULL, NULL) == 0) ready = 1;
    if (!ready) return;
    float *x = malloc((size_t)n * sizeof(float));
    if (!x) abort();
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 17 - 8) / 8.0f;
    for (int isa = 0; isa < ISA_COUNT; isa++) {
        const type_kernels *k = kernels_isa_supported(isa) ? kernels_for(isa, t->id) : NULL;
        if (!k || !k->vec_dot) continue;
        const type_kernels *ak = kernels_for(isa, t->dot_type);
        void *act = x;
        if (ak && ak->from_float) {
            if (!(act = malloc(qtype_row_bytes(t->dot_type, n)))) abort();
            ak->from_float(x, act, n);
        }
        float s;
        k->vec_dot(n, &s, src, act);
        if (act != x) free(act);
    }
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int n_types = 0;
    while (qtype_at(n_types)) n_types++;
    const quant_type *t = qtype_at(data[0] % n_types);
    if (!t->dequantize) return 0;
    data++, size--;
    size_t n_blocks = size / t->block_bytes;
    if (n_blocks == 0) return 0;
    /* exact-size copies so ASan sees any read or write past the end */
    uint8_t *src = malloc(n_blocks * t->block_bytes);
    float *dst = malloc(n_blocks * (size_t)t->block * sizeof(float));
    if (!src || !dst) abort();
    memcpy(src, data, n_blocks * t->block_bytes);
    t->dequantize(src, dst, (int64_t)(n_blocks * (size_t)t->block));
    if (n_blocks * (size_t)t->block % (size_t)qtype(t->dot_type)->block == 0)
        dot_every_isa(t, src, (int64_t)(n_blocks * (size_t)t->block));

    const scale_layout *l = layout_of(t);
    for (size_t b = 0; l && b < n_blocks; b++) {
        if (!scales_finite(l, src + b * t->block_bytes)) continue;
        for (int i = 0; i < t->block; i++) {
            float v = dst[b * t->block + i];
            if (!isfinite(v)) {
                fprintf(stderr, "%s block %zu element %d: %g from finite scales\n", t->name, b,
                        i, v);
                abort();
            }
        }
    }
    free(src);
    free(dst);
    return 0;
}
