/* avx512_install.c - puts the AVX-512 kernels into the type table over the AVX2 ones
 * (kernels_init runs avx2_install first: a type without an AVX-512 kernel keeps AVX2's). */
#include "../../quant/types.h"
#include "avx512.h"

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

void avx512_install(void) {
    set_dot(QT_F32, vec_dot_f32_avx512);
    set_dot(QT_F16, vec_dot_f16_avx512);
    set_dot(QT_BF16, vec_dot_bf16_avx512);
    set_dot(QT_Q8_0, vec_dot_q8_0_avx512);
    set_dot(QT_Q4_0, vec_dot_q4_0_avx512);
    set_dot(QT_Q4_1, vec_dot_q4_1_avx512);
    set_dot(QT_Q5_0, vec_dot_q5_0_avx512);
    set_dot(QT_Q5_1, vec_dot_q5_1_avx512);
    set_dot(QT_IQ4_NL, vec_dot_iq4_nl_avx512);
    set_dot(QT_Q2_0, vec_dot_q2_0_avx512);
    set_dot(QT_FP8_E4M3, vec_dot_fp8_e4m3_avx512);
    set_dot(QT_FP8_E5M2, vec_dot_fp8_e5m2_avx512);
    set_dot(QT_Q2_K, vec_dot_q2_k_avx512);
    set_dot(QT_Q3_K, vec_dot_q3_k_avx512);
    set_dot(QT_Q4_K, vec_dot_q4_k_avx512);
    set_dot(QT_Q5_K, vec_dot_q5_k_avx512);
    set_dot(QT_Q6_K, vec_dot_q6_k_avx512);
    set_tile(QT_Q8_0, vec_dot_tile_q8_0_avx512);
    set_tile(QT_Q4_0, vec_dot_tile_q4_0_avx512);
    set_tile(QT_Q2_K, vec_dot_tile_q2_k_avx512);
    set_tile(QT_FP8_E4M3, vec_dot_tile_fp8_e4m3_avx512);
    set_tile(QT_FP8_E5M2, vec_dot_tile_fp8_e5m2_avx512);
    set_from_float(QT_Q8_0, quantize_row_q8_0_avx512);
    set_from_float(QT_Q8_K, quantize_row_q8_k_avx512);
}
