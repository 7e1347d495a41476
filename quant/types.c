/* types.c - the type table. One designated-initialiser row per format. */
#include "types.h"

#include <math.h>
#include <strings.h>

#include "formats.h"

static quant_type table[] = {
    {.name = "f32", .id = QT_F32, .block = 1, .block_bytes = 4, .dequantize = dequantize_f32,
     .quantize = quantize_f32, .dot_type = QT_F32},
    {.name = "f16", .id = QT_F16, .block = 1, .block_bytes = 2, .dequantize = dequantize_f16,
     .quantize = quantize_f16, .dot_type = QT_F32},
    {.name = "bf16", .id = QT_BF16, .block = 1, .block_bytes = 2, .dequantize = dequantize_bf16,
     .quantize = quantize_bf16, .dot_type = QT_F32},
#define ROW(nm, ID, blk, bytes, fmt, q, dot, own)                                        \
    {.name = nm, .id = ID, .block = blk, .block_bytes = bytes, .is_scarce = own,         \
     .dequantize = dequantize_##fmt, .quantize = q, .dot_type = dot}
    /* block-32 integer types: activations in Q8_0 (Q4_1 / Q5_1 too: their dot products take
     * the activation block sums from the Q8_0 codes, so no Q8_1 is needed) */
    ROW("q8_0", QT_Q8_0, 32, 34, q8_0, quantize_q8_0, QT_Q8_0, 0),
    ROW("q4_0", QT_Q4_0, 32, 18, q4_0, quantize_q4_0, QT_Q8_0, 0),
    ROW("q4_1", QT_Q4_1, 32, 20, q4_1, quantize_q4_1, QT_Q8_0, 0),
    ROW("q5_0", QT_Q5_0, 32, 22, q5_0, quantize_q5_0, QT_Q8_0, 0),
    ROW("q5_1", QT_Q5_1, 32, 24, q5_1, quantize_q5_1, QT_Q8_0, 0),
    ROW("iq4_nl", QT_IQ4_NL, 32, 18, iq4_nl, quantize_iq4_nl, QT_Q8_0, 0),
    /* K-quants: super-blocks of 256, activations in Q8_K */
    ROW("q2_k", QT_Q2_K, 256, 84, q2_k, quantize_q2_k, QT_Q8_K, 0),
    ROW("q3_k", QT_Q3_K, 256, 110, q3_k, quantize_q3_k, QT_Q8_K, 0),
    ROW("q4_k", QT_Q4_K, 256, 144, q4_k, quantize_q4_k, QT_Q8_K, 0),
    ROW("q5_k", QT_Q5_K, 256, 176, q5_k, quantize_q5_k, QT_Q8_K, 0),
    ROW("q6_k", QT_Q6_K, 256, 210, q6_k, quantize_q6_k, QT_Q8_K, 0),
    ROW("q8_k", QT_Q8_K, 256, 292, q8_k, quantize_q8_k, QT_Q8_K, 0),
    /* scarce's own */
    ROW("fp8_e4m3", QT_FP8_E4M3, 32, 34, fp8_e4m3, quantize_fp8_e4m3, QT_Q8_0, 1),
    ROW("fp8_e5m2", QT_FP8_E5M2, 32, 34, fp8_e5m2, quantize_fp8_e5m2, QT_Q8_0, 1),
    ROW("q2_0", QT_Q2_0, 32, 12, q2_0, quantize_q2_0, QT_Q8_0, 1),
#undef ROW
};

enum { N_TYPES = sizeof table / sizeof table[0] };

quant_type *qtype_mut(uint32_t id) {
    for (int i = 0; i < N_TYPES; i++)
        if (table[i].id == id) return &table[i];
    return NULL;
}

const quant_type *qtype(uint32_t id) { return qtype_mut(id); }

const quant_type *qtype_by_name(const char *name) {
    for (int i = 0; i < N_TYPES; i++)
        if (strcasecmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const quant_type *qtype_at(int i) { return i >= 0 && i < N_TYPES ? &table[i] : NULL; }

size_t qtype_row_bytes(uint32_t id, int64_t n) {
    const quant_type *t = qtype(id);
    if (!t || n < 0 || n % t->block) return 0;
    return (size_t)(n / t->block) * t->block_bytes;
}

double qtype_bpw(uint32_t id) {
    const quant_type *t = qtype(id);
    return t ? 8.0 * (double)t->block_bytes / t->block : 0.0;
}

int quant_check_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i > INT32_MAX ? INT32_MAX : (int)i;
    return -1;
}
