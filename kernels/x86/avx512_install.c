/* avx512_install.c - the AVX-512 ISA's table: its kernels over the AVX2 ones (cpu.c's ISA
 * list builds avx512 on avx2, so a format or field set here nowhere keeps AVX2's kernel:
 * the f16/bf16/q8_0/q4_0 dequantizers for the GEMM panels, the GEMM micro-kernel,
 * attention and swiglu). Which kernel runs each format on AVX-512 is decided here. */
#include "../cpu.h"
#include "../lut.h"
#include "avx512.h"

void avx512_install(isa_kernels *k) {
    kernels_set(k, QT_F32,
                (type_kernels){.vec_dot = vec_dot_f32_avx512,
                               .vec_dot_tile = vec_dot_tile_f32_avx512});
    kernels_set(k, QT_F16,
                (type_kernels){.vec_dot = vec_dot_f16_avx512,
                               .vec_dot_tile = vec_dot_tile_f16_avx512});
    kernels_set(k, QT_BF16,
                (type_kernels){.vec_dot = vec_dot_bf16_avx512,
                               .vec_dot_tile = vec_dot_tile_bf16_avx512});
    kernels_set(k, QT_Q8_0,
                (type_kernels){.vec_dot = vec_dot_q8_0_avx512,
                               .from_float = quantize_row_q8_0_avx512,
                               .vec_dot_tile = vec_dot_tile_q8_0_avx512,
                               .packed_tile = tile_q8_0x8_avx512});
    kernels_set(k, QT_Q4_0,
                (type_kernels){.vec_dot = vec_dot_q4_0_avx512,
                               .vec_dot_tile = vec_dot_tile_q4_0_avx512,
                               .packed_tile = tile_q4_0x8_avx512});
    kernels_set(k, QT_Q4_1,
                (type_kernels){.vec_dot = vec_dot_q4_1_avx512, .packed_tile = tile_q4_1x8_avx512});
    kernels_set(
        k, QT_Q5_0,
        (type_kernels){.vec_dot = vec_dot_q5_0_avx512, .vec_dot_tile = vec_dot_tile_q5_0_avx512});
    kernels_set(
        k, QT_Q5_1,
        (type_kernels){.vec_dot = vec_dot_q5_1_avx512, .vec_dot_tile = vec_dot_tile_q5_1_avx512});
    kernels_set(k, QT_IQ4_NL,
                (type_kernels){.vec_dot = vec_dot_iq4_nl_avx512,
                               .vec_dot_tile = vec_dot_tile_iq4_nl_avx512});
    kernels_set(k, QT_Q2_0_32, (type_kernels){.vec_dot = vec_dot_q2_0_32_avx512});
    kernels_set(k, QT_FP8_E4M3,
                (type_kernels){.vec_dot = vec_dot_fp8_e4m3_avx512,
                               .vec_dot_tile = vec_dot_tile_fp8_e4m3_avx512});
    kernels_set(k, QT_FP8_E5M2,
                (type_kernels){.vec_dot = vec_dot_fp8_e5m2_avx512,
                               .vec_dot_tile = vec_dot_tile_fp8_e5m2_avx512});
    kernels_set(k, QT_Q2_K,
                (type_kernels){.vec_dot = vec_dot_q2_k_avx512,
                               .vec_dot_tile = vec_dot_tile_q2_k_avx512,
                               .packed_tile = tile_q2_kx8_avx512});
    kernels_set(k, QT_Q3_K, (type_kernels){.vec_dot = vec_dot_q3_k_avx512});
    kernels_set(
        k, QT_Q4_K,
        (type_kernels){.vec_dot = vec_dot_q4_k_avx512, .vec_dot_tile = vec_dot_tile_q4_k_avx512});
    kernels_set(
        k, QT_Q5_K,
        (type_kernels){.vec_dot = vec_dot_q5_k_avx512, .vec_dot_tile = vec_dot_tile_q5_k_avx512});
    kernels_set(
        k, QT_Q6_K,
        (type_kernels){.vec_dot = vec_dot_q6_k_avx512, .vec_dot_tile = vec_dot_tile_q6_k_avx512});
    kernels_set(k, QT_IQ4_XS, (type_kernels){.vec_dot = vec_dot_iq4_xs_avx512});
    kernels_set(k, QT_IQ2_XXS,
                (type_kernels){.vec_dot = vec_dot_iq2_xxs_avx512, .vec_dot_tile = vec_dot_tile_iq2_xxs_avx512});
    kernels_set(k, QT_IQ2_XS,
                (type_kernels){.vec_dot = vec_dot_iq2_xs_avx512, .vec_dot_tile = vec_dot_tile_iq2_xs_avx512});
    kernels_set(k, QT_IQ2_S,
                (type_kernels){.vec_dot = vec_dot_iq2_s_avx512, .vec_dot_tile = vec_dot_tile_iq2_s_avx512});
    kernels_set(k, QT_IQ3_XXS,
                (type_kernels){.vec_dot = vec_dot_iq3_xxs_avx512, .vec_dot_tile = vec_dot_tile_iq3_xxs_avx512});
    kernels_set(k, QT_IQ3_S,
                (type_kernels){.vec_dot = vec_dot_iq3_s_avx512, .vec_dot_tile = vec_dot_tile_iq3_s_avx512});
    kernels_set(k, QT_IQ1_S,
                (type_kernels){.vec_dot = vec_dot_iq1_s_avx512, .vec_dot_tile = vec_dot_tile_iq1_s_avx512});
    kernels_set(k, QT_IQ1_M,
                (type_kernels){.vec_dot = vec_dot_iq1_m_avx512, .vec_dot_tile = vec_dot_tile_iq1_m_avx512});
    kernels_set(k, QT_Q8_K, (type_kernels){.from_float = quantize_row_q8_k_avx512});
    /* LUT kernels (kernels/lut.h), defaults as on AVX2 (not measured: no AVX-512 here) */
    kernels_set(k, QT_Q1_0, (type_kernels){.packed_tile = tile_lut_q1_0_avx512,
                               .packed_act = lut_prepare_q8_0_avx512, .lut = LUT_ON});
    kernels_set(k, QT_Q2_0, (type_kernels){.packed_tile = tile_lut_q2_0_avx512,
                               .packed_act = lut_prepare_q8_0_avx512, .lut = LUT_ON});
    kernels_set(k, QT_TQ1_0, (type_kernels){.packed_tile = tile_lut_tq2_0_avx512,
                               .packed_act = lut_prepare_q8_k_avx512, .lut = LUT_OFF});
    kernels_set(k, QT_TQ2_0, (type_kernels){.packed_tile = tile_lut_tq2_0_avx512,
                               .packed_act = lut_prepare_q8_k_avx512, .lut = LUT_OFF});
}
