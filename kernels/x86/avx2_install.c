/* avx2_install.c - puts the AVX2 kernels into the type table over the reference ones. */
#include "../../quant/types.h"
#include "../ops.h"
#include "avx2.h"

static void set_dot(uint32_t id, vec_dot_fn dot) {
    quant_type *t = qtype_mut(id);
    if (t && dot) t->vec_dot = dot;
}

static void set_from_float(uint32_t id, from_float_fn from_float) {
    quant_type *t = qtype_mut(id);
    if (t && from_float) t->from_float = from_float;
}

static void set_tile(uint32_t id, vec_dot_tile_fn tile) {
    quant_type *t = qtype_mut(id);
    if (t && tile) t->vec_dot_tile = tile;
}

void avx2_install(void) {
    set_dot(QT_F32, vec_dot_f32_avx2);
    set_dot(QT_F16, vec_dot_f16_avx2);
    set_dot(QT_BF16, vec_dot_bf16_avx2);
    set_dot(QT_Q8_0, vec_dot_q8_0_avx2);
    set_dot(QT_Q4_0, vec_dot_q4_0_avx2);
    set_dot(QT_Q4_1, vec_dot_q4_1_avx2);
    set_dot(QT_Q5_0, vec_dot_q5_0_avx2);
    set_dot(QT_Q5_1, vec_dot_q5_1_avx2);
    set_dot(QT_IQ4_NL, vec_dot_iq4_nl_avx2);
    set_dot(QT_Q2_0, vec_dot_q2_0_avx2);
    set_dot(QT_FP8_E4M3, vec_dot_fp8_e4m3_avx2);
    set_dot(QT_FP8_E5M2, vec_dot_fp8_e5m2_avx2);
    set_dot(QT_Q2_K, vec_dot_q2_k_avx2);
    set_dot(QT_Q4_K, vec_dot_q4_k_avx2);
    set_dot(QT_Q5_K, vec_dot_q5_k_avx2);
    set_dot(QT_Q6_K, vec_dot_q6_k_avx2);
    set_dot(QT_Q3_K, vec_dot_q3_k_avx2);
    set_tile(QT_Q8_0, vec_dot_tile_q8_0_avx2);
    set_tile(QT_Q4_0, vec_dot_tile_q4_0_avx2);
    set_tile(QT_Q2_K, vec_dot_tile_q2_k_avx2);
    set_tile(QT_FP8_E4M3, vec_dot_tile_fp8_e4m3_avx2);
    set_tile(QT_FP8_E5M2, vec_dot_tile_fp8_e5m2_avx2);
    set_from_float(QT_Q8_0, quantize_row_q8_0_avx2);
    set_from_float(QT_Q8_K, quantize_row_q8_k_avx2);
    ops_install(&(ops_kernels){.attention_heads = attention_heads_avx2, .swiglu = swiglu_avx2});
}
