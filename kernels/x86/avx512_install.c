/* avx512_install.c - the AVX-512 ISA's table: its kernels over the AVX2 ones (cpu.c's ISA
 * list builds avx512 on avx2, so a format or field set here nowhere keeps AVX2's kernel:
 * the f16/bf16/q8_0/q4_0 dequantizers for the GEMM panels, the GEMM micro-kernel,
 * attention and swiglu). Which kernel runs each format on AVX-512 is decided here. */
#include "../cpu.h"
#include "../lut.h"
#include "../repack.h"
#include "../ternary.h"
#include "avx512.h"

/* The kernels that need more than the avx512 set's features (cpu_missing_avx512), each
 * installed where CPUID has what it uses (elsewhere, e.g. Cascade Lake, the kernels
 * installed before them run), and the 512-bit GEMM micro-kernel. test-emu512 models none of
 * their instructions and does not build them (the Makefile's EMU_NATIVE_ONLY). */
static void install_beyond_base(isa_kernels *k) {
#ifndef SCARCE_AVX512_EMU_H
    k->gemm_tile = gemm_tile_f32_avx512;
    kernels_set(k, QT_F16, (type_kernels){.dequantize = dequantize_f16_avx512});
    kernels_set(k, QT_BF16, (type_kernels){.dequantize = dequantize_bf16_avx512});
    kernels_set(k, QT_Q4_0, (type_kernels){.packed_gemm = gemm_q4_0x16_avx512});
    kernels_set(k, QT_Q4_1, (type_kernels){.packed_gemm = gemm_q4_1x16_avx512});
    kernels_set(k, QT_Q8_0, (type_kernels){.packed_gemm = gemm_q8_0x16_avx512});
    kernels_set(k, QT_Q4_K, (type_kernels){.row_gemm = gemm_q4_kx16_avx512});
    kernels_set(k, QT_Q5_K, (type_kernels){.row_gemm = gemm_q5_kx16_avx512});
    kernels_set(k, QT_Q6_K, (type_kernels){.row_gemm = gemm_q6_kx16_avx512});
    kernels_set(k, QT_Q2_K,
                (type_kernels){.row_gemm = gemm_q2_kx16_avx512,
                               .packed_gemm = gemm_q2_kx8d_x16_avx512});
    kernels_set(k, QT_Q3_K, (type_kernels){.row_gemm = gemm_q3_kx16_avx512});
    kernels_set(k, QT_IQ4_XS, (type_kernels){.row_gemm = gemm_iq4_xsx16_avx512});
    /* the codebook formats' batches, 16 tokens in the lanes: TinyLlama-shaped IQ2_XXS pp64 had
     * run 0.43x llama.cpp's (34.2 / 79.1 tok/s, 1 thread) on the 8-token tiles */
    kernels_set(k, QT_IQ2_XXS, (type_kernels){.row_gemm = gemm_iq2_xxsx16_avx512});
    kernels_set(k, QT_IQ2_XS, (type_kernels){.row_gemm = gemm_iq2_xsx16_avx512});
    kernels_set(k, QT_IQ2_S, (type_kernels){.row_gemm = gemm_iq2_sx16_avx512});
    kernels_set(k, QT_IQ3_XXS, (type_kernels){.row_gemm = gemm_iq3_xxsx16_avx512});
    kernels_set(k, QT_IQ3_S, (type_kernels){.row_gemm = gemm_iq3_sx16_avx512});
    kernels_set(k, QT_IQ1_S, (type_kernels){.row_gemm = gemm_iq1_sx16_avx512});
    kernels_set(k, QT_IQ1_M, (type_kernels){.row_gemm = gemm_iq1_mx16_avx512});
    /* FP8 decodes by vpermt2b (VBMI) into vdpbf16ps (BF16); without them, AVX2's kernels */
    if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bf16")) {
        kernels_set(k, QT_FP8_E4M3,
                    (type_kernels){.vec_dot = vec_dot_fp8_e4m3_avx512,
                                   .vec_dot_tile = vec_dot_tile_fp8_e4m3_avx512});
        kernels_set(k, QT_FP8_E5M2,
                    (type_kernels){.vec_dot = vec_dot_fp8_e5m2_avx512,
                                   .vec_dot_tile = vec_dot_tile_fp8_e5m2_avx512});
    }
    /* Q4_K's 8-row interleaved tile takes its scales out by vpermb / vpmultishiftqb (VBMI) */
    if (__builtin_cpu_supports("avx512vbmi"))
        kernels_set(k, QT_Q4_K, (type_kernels){.packed_tile = tile_q4_kx8_avx512});
    /* K-quant codes unpacked by GF2P8AFFINEQB; without GFNI, the 256-bit avx512 kernels.
     * Q2_K's packed 8-row tile stays its decode kernel. */
    if (__builtin_cpu_supports("gfni")) {
        kernels_set(k, QT_Q2_K,
                    (type_kernels){.vec_dot = vec_dot_q2_k_avx512_gfni,
                                   .vec_dot_tile = vec_dot_tile_q2_k_avx512_gfni});
        kernels_set(k, QT_Q4_K,
                    (type_kernels){.vec_dot = vec_dot_q4_k_avx512_gfni,
                                   .vec_dot_tile = vec_dot_tile_q4_k_avx512_gfni});
        kernels_set(k, QT_Q5_K,
                    (type_kernels){.vec_dot = vec_dot_q5_k_avx512_gfni,
                                   .vec_dot_tile = vec_dot_tile_q5_k_avx512_gfni});
        kernels_set(k, QT_Q6_K,
                    (type_kernels){.vec_dot = vec_dot_q6_k_avx512_gfni,
                                   .vec_dot_tile = vec_dot_tile_q6_k_avx512_gfni});
    }
#else
    (void)k;
#endif
}

/* The ternary types' VNNI kernels (kernels/ternary.h) over the LUT ones above, measured on
 * the 2-core Sapphire-Rapids-class Xeon, machine shared (load 2-5), lut_bench 1048576 x 2048
 * (beyond the LLC), 1 thread, file-byte GB/s LUT -> VNNI: tq2_0 7.78 -> 10.3-11.5, tq1_0
 * 5.52 -> 8.6-8.8 (the LUT read TQ1_0 from a 22% larger copy); `scarce bench -p 0 -n 32
 * -r 3 -t 1,2` on the TinyLlama-shape files, main's build in the same window, tok/s tq2_0
 * 12.98 / 11.65 -> 17.42 / 16.32, tq1_0 14.71 / 13.73 -> 20.18 / 18.44 (load 4-5); pp64
 * 1 thread tq2_0 38 -> 120, tq1_0 31.7 -> 73.6. */
static void install_ternary(isa_kernels *k) {
#ifndef SCARCE_AVX512_EMU_H
    kernels_set(k, QT_TQ2_0,
                (type_kernels){.packed_layout = &x8_tq2_0,
                               .packed_tile = tile_tq2_0x8_avx512,
                               .packed_act = ternary_prepare_tq2_0_avx512});
    kernels_set(k, QT_TQ1_0,
                (type_kernels){.packed_layout = &x8_tq1_0,
                               .packed_tile = tile_tq1_0x8_avx512,
                               .packed_act = ternary_prepare_tq1_0_avx512});
#else
    (void)k;
#endif
}

void avx512_install(isa_kernels *k) {
    kernels_set(
        k, QT_F32,
        (type_kernels){.vec_dot = vec_dot_f32_avx512, .vec_dot_tile = vec_dot_tile_f32_avx512});
    kernels_set(
        k, QT_F16,
        (type_kernels){.vec_dot = vec_dot_f16_avx512, .vec_dot_tile = vec_dot_tile_f16_avx512});
    kernels_set(
        k, QT_BF16,
        (type_kernels){.vec_dot = vec_dot_bf16_avx512, .vec_dot_tile = vec_dot_tile_bf16_avx512});
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
    kernels_set(k, QT_Q4_1_F32,
                (type_kernels){.vec_dot = vec_dot_q4_1_f32_avx512,
                               .vec_dot_tile = vec_dot_tile_q4_1_f32_avx512});
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
    /* Q2_K's packed copy in sub-block dwords (repack.h q2_kx8d), not AVX2's byte pairs */
    kernels_set(k, QT_Q2_K,
                (type_kernels){.vec_dot = vec_dot_q2_k_avx512,
                               .vec_dot_tile = vec_dot_tile_q2_k_avx512,
                               .packed_layout = &x8_q2_k_d,
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
                (type_kernels){.vec_dot = vec_dot_iq2_xxs_avx512,
                               .vec_dot_tile = vec_dot_tile_iq2_xxs_avx512});
    kernels_set(k, QT_IQ2_XS,
                (type_kernels){.vec_dot = vec_dot_iq2_xs_avx512,
                               .vec_dot_tile = vec_dot_tile_iq2_xs_avx512});
    kernels_set(
        k, QT_IQ2_S,
        (type_kernels){.vec_dot = vec_dot_iq2_s_avx512, .vec_dot_tile = vec_dot_tile_iq2_s_avx512});
    kernels_set(k, QT_IQ3_XXS,
                (type_kernels){.vec_dot = vec_dot_iq3_xxs_avx512,
                               .vec_dot_tile = vec_dot_tile_iq3_xxs_avx512});
    kernels_set(
        k, QT_IQ3_S,
        (type_kernels){.vec_dot = vec_dot_iq3_s_avx512, .vec_dot_tile = vec_dot_tile_iq3_s_avx512});
    kernels_set(
        k, QT_IQ1_S,
        (type_kernels){.vec_dot = vec_dot_iq1_s_avx512, .vec_dot_tile = vec_dot_tile_iq1_s_avx512});
    kernels_set(
        k, QT_IQ1_M,
        (type_kernels){.vec_dot = vec_dot_iq1_m_avx512, .vec_dot_tile = vec_dot_tile_iq1_m_avx512});
    kernels_set(k, QT_Q8_K, (type_kernels){.from_float = quantize_row_q8_k_avx512});
    install_beyond_base(k);
    /* LUT kernels (kernels/lut.h, tables once per matmul) on for all four formats here:
     * measured on the 2-core Xeon (Sapphire Rapids class, AVX-512), TinyLlama-shape files of
     * each type (scarce mkmodel --type T), `scarce bench -p 0 -n 16 -r 3 -t 1,2`,
     * SCARCE_LUT=0 and 1 in turn, two rounds under the bench lock with the machine loaded
     * (load average 13-21 on 2 cores: absolute figures low, ratios noisy), tok/s 1 thread
     * multiply -> LUT: q1_0 3.36, 2.75 -> 7.26, 5.70; q2_0 1.45, 1.44 -> 3.39, 3.76;
     * tq2_0 3.31, 3.58 -> 4.59, 3.10; tq1_0 2.36, 2.26 -> 4.29, 4.11 (2 threads: q1_0
     * 2.32, 2.51 -> 6.09, 5.71; q2_0 1.29, 1.46 -> 2.99, 3.27; tq2_0 3.38, 2.91 -> 4.10,
     * 3.83; tq1_0 2.26, 2.14 -> 4.61, 4.14). TQ2_0's gain is the least sure (one of four
     * pairs the other way); its tables built per tile call (before) gave 4.44, 4.29.
     * TQ1_0 runs on the larger copy in its TQ2_0 planes (lut.h). */
    kernels_set(k, QT_Q1_0,
                (type_kernels){.packed_tile = tile_lut_q1_0_avx512,
                               .packed_act = lut_prepare_q8_0_avx512,
                               .lut = LUT_ON});
    kernels_set(k, QT_Q2_0,
                (type_kernels){.packed_tile = tile_lut_q2_0_avx512,
                               .packed_act = lut_prepare_q8_0_avx512,
                               .lut = LUT_ON});
    kernels_set(k, QT_TQ1_0,
                (type_kernels){.packed_tile = tile_lut_tq2_0_avx512,
                               .packed_act = lut_prepare_q8_k_avx512,
                               .lut = LUT_ON});
    kernels_set(k, QT_TQ2_0,
                (type_kernels){.packed_tile = tile_lut_tq2_0_avx512,
                               .packed_act = lut_prepare_q8_k_avx512,
                               .lut = LUT_ON});
    install_ternary(k);
}
