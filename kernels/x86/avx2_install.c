/* avx2_install.c - the AVX2 ISA's table: its kernels over the reference ones (kernels/cpu.h).
 * Which kernel runs each format on AVX2 is decided here and nowhere else. */
#include "../lut.h"
#include "../repack.h"
#include "avx2.h"

void avx2_install(isa_kernels *k) {
    kernels_set(k, QT_F32,
                (type_kernels){.vec_dot = vec_dot_f32_avx2, .vec_dot_tile = vec_dot_tile_f32_avx2});
    kernels_set(k, QT_F16,
                (type_kernels){.vec_dot = vec_dot_f16_avx2,
                               .vec_dot_tile = vec_dot_tile_f16_avx2,
                               .dequantize = dequantize_f16_avx2});
    kernels_set(k, QT_BF16,
                (type_kernels){.vec_dot = vec_dot_bf16_avx2,
                               .vec_dot_tile = vec_dot_tile_bf16_avx2,
                               .dequantize = dequantize_bf16_avx2});
    /* Q4_0 and Q8_0: large batches repack each panel per batch (GEMM_I8X8, gemm.c); Q5_0 and
     * IQ4_NL too, rewritten as Q8_0 (to_q8_0) */
    kernels_set(k, QT_Q8_0,
                (type_kernels){.vec_dot = vec_dot_q8_0_avx2,
                               .from_float = quantize_row_q8_0_avx2,
                               .vec_dot_tile = vec_dot_tile_q8_0_avx2,
                               .packed_tile = tile_q8_0x8_avx2,
                               .gemm_i8x8 = 1,
                               .dequantize = dequantize_q8_0_avx2});
    kernels_set(k, QT_Q4_0,
                (type_kernels){.vec_dot = vec_dot_q4_0_avx2,
                               .vec_dot_tile = vec_dot_tile_q4_0_avx2,
                               .packed_tile = tile_q4_0x8_avx2,
                               .gemm_i8x8 = 1,
                               .dequantize = dequantize_q4_0_avx2});
    kernels_set(k, QT_Q4_1,
                (type_kernels){.vec_dot = vec_dot_q4_1_avx2, .packed_tile = tile_q4_1x8_avx2});
    kernels_set(k, QT_Q4_1_F32, (type_kernels){.vec_dot = vec_dot_q4_1_f32_avx2});
    kernels_set(k, QT_Q5_0,
                (type_kernels){.vec_dot = vec_dot_q5_0_avx2,
                               .vec_dot_tile = vec_dot_tile_q5_0_avx2,
                               .gemm_i8x8 = 1,
                               .to_q8_0 = q5_0_to_q8_0_avx2});
    kernels_set(
        k, QT_Q5_1,
        (type_kernels){.vec_dot = vec_dot_q5_1_avx2, .vec_dot_tile = vec_dot_tile_q5_1_avx2});
    kernels_set(k, QT_IQ4_NL,
                (type_kernels){.vec_dot = vec_dot_iq4_nl_avx2,
                               .vec_dot_tile = vec_dot_tile_iq4_nl_avx2,
                               .gemm_i8x8 = 1,
                               .to_q8_0 = iq4_nl_to_q8_0_avx2});
    kernels_set(k, QT_MXFP4,
                (type_kernels){.vec_dot = vec_dot_mxfp4_avx2, .dequantize = dequantize_mxfp4_avx2});
    /* LUT kernels (kernels/lut.h) beside the multiply ones (SCARCE_LUT=0/1 picks); the
     * default was measured on the 2-core AMD EPYC (AVX2/FMA/F16C), TinyLlama 1.1B quantized
     * to each type, `scarce bench -p 0 -n 32 -r 3 -t 1,2`, SCARCE_LUT=0 and 1 alternated
     * twice under the bench lock, machine shared (load ~8): tok/s multiply -> LUT, 1 thread
     * q1_0 4.0, 5.0 -> 8.0, 8.9; q2_0 2.2, 1.9 -> 6.5, 4.6; tq2_0 5.6, 5.0 -> 5.2, 5.7
     * (2 threads: q1_0 3.4, 4.1 -> 7.7, 6.7; q2_0 2.2, 0.9 -> 4.8, 3.5; tq2_0 4.9, 4.9 ->
     * 3.9, 4.8). Instructions per 2048 x 2048 matvec (callgrind): q1_0 2.52M -> 0.84M,
     * q2_0 3.82M -> 1.02M, tq2_0 1.07M -> 0.93M. TQ2_0's LUT does not beat its multiply
     * kernel measurably: it stays the A/B option (LUT_OFF). */
    kernels_set(k, QT_Q2_0,
                (type_kernels){.vec_dot = vec_dot_q2_0_avx2,
                               .packed_tile = tile_lut_q2_0_avx2,
                               .packed_act = lut_prepare_q8_0_avx2,
                               .lut = LUT_ON});
    kernels_set(k, QT_Q2_0_32, (type_kernels){.vec_dot = vec_dot_q2_0_32_avx2});
    kernels_set(k, QT_FP8_E4M3,
                (type_kernels){.vec_dot = vec_dot_fp8_e4m3_avx2,
                               .vec_dot_tile = vec_dot_tile_fp8_e4m3_avx2});
    kernels_set(k, QT_FP8_E5M2,
                (type_kernels){.vec_dot = vec_dot_fp8_e5m2_avx2,
                               .vec_dot_tile = vec_dot_tile_fp8_e5m2_avx2});
    kernels_set(k, QT_Q2_K,
                (type_kernels){.vec_dot = vec_dot_q2_k_avx2,
                               .vec_dot_tile = vec_dot_tile_q2_k_avx2,
                               .packed_tile = tile_q2_kx8_avx2});
    kernels_set(k, QT_Q3_K, (type_kernels){.vec_dot = vec_dot_q3_k_avx2});
    kernels_set(k, QT_Q4_K,
                (type_kernels){.vec_dot = vec_dot_q4_k_avx2,
                               .vec_dot_tile = vec_dot_tile_q4_k_avx2,
                               .packed_tile = tile_q4_kx8_avx2});
    kernels_set(
        k, QT_Q5_K,
        (type_kernels){.vec_dot = vec_dot_q5_k_avx2, .vec_dot_tile = vec_dot_tile_q5_k_avx2});
    kernels_set(
        k, QT_Q6_K,
        (type_kernels){.vec_dot = vec_dot_q6_k_avx2, .vec_dot_tile = vec_dot_tile_q6_k_avx2});
    /* TQ2_0 and TQ1_0: decode and batches by the 8-row tiles on the file layout
     * (avx2_ternary.c). Instructions per 32 weights (64 x 2048, callgrind, library built
     * with -march=x86-64-v3, /work/cache/avx2row/icount.c): TQ2_0 row kernel 7.96, tile
     * 5.51, LUT 7.03; TQ1_0 row 19.95, tile 13.61, LUT 7.03 (on TQ2_0's planes, 22% more
     * bytes); 4 activations TQ1_0 tile 27.2, LUT 28.0, TQ2_0 tile 20.4. TinyLlama shape
     * `bench -p 64 -n 32 -r 3 -t 1,2`, SCARCE_ISA=avx2, 2-core Sapphire-Rapids-class Xeon
     * VM, bench lock, load 11-14, tok/s at 1 / 2 threads, row kernels -> tiles (medians of
     * 2 paired runs): tq2_0 tg32 15.2 / 15.5 -> 23.6 / 24.8, pp64 24.2 / 44.5 -> 41.9 /
     * 61.6; tq1_0 tg32 11.4 / 11.2 -> 19.8 / 16.7. Tiles against the LUT kernels
     * (SCARCE_LUT=1), one lock job each: tq2_0 tg32 23.4 / 20.9 against 13.7 / 12.5, pp64
     * 44.0 / 63.2 against 33.6 / 42.8; tq1_0 tg32 12.9 / 14.4 against 15.9 / 13.1 (two
     * earlier pairs: 16.4 / 15.0 against 13.9 / 13.2, 13.9 / 10.8 against 15.8 / 14.3),
     * pp64 32.5 / 44.1 against 34.3 / 42.9: TQ1_0 a tie within the noise, and the LUT's
     * copy costs 22% more bytes than the file, so both stay LUT_OFF. */
    kernels_set(k, QT_TQ2_0,
                (type_kernels){.vec_dot = vec_dot_tq2_0_avx2,
                               .vec_dot_tile = vec_dot_tile_tq2_0_avx2,
                               .packed_tile = tile_lut_tq2_0_avx2,
                               .packed_act = lut_prepare_q8_k_avx2,
                               .lut = LUT_OFF});
    /* TQ1_0: TQ2_0's LUT kernel on a copy in TQ2_0's planes (kernels/lut.h) */
    kernels_set(k, QT_TQ1_0,
                (type_kernels){.vec_dot = vec_dot_tq1_0_avx2,
                               .vec_dot_tile = vec_dot_tile_tq1_0_avx2,
                               .packed_tile = tile_lut_tq2_0_avx2,
                               .packed_act = lut_prepare_q8_k_avx2,
                               .lut = LUT_OFF});
    kernels_set(k, QT_NVFP4, (type_kernels){.vec_dot = vec_dot_nvfp4_avx2});
    kernels_set(k, QT_Q1_0,
                (type_kernels){.vec_dot = vec_dot_q1_0_avx2,
                               .packed_tile = tile_lut_q1_0_avx2,
                               .packed_act = lut_prepare_q8_0_avx2,
                               .lut = LUT_ON});
    /* IQ4_XS: batches of 16+ tokens by the codebook formats' token-lane kernel
     * (avx2_x16_iq.c), the reference's bits, where they took the f32 GEMM (gemm.c).
     * TinyLlama-shaped IQ4_XS, tools/side_by_side.py --isa avx2 -p 64 -n 32 -r 3 -t 1,2,
     * 2-core Sapphire-Rapids-class Xeon VM under the bench lock, load 3-6, 4 pairs
     * alternated, pp64 tok/s 1 / 2 threads: 36.2-39.9 / 60.5-62.5 -> 49.5-55.6 / 85.6-104.0
     * (llama.cpp's AVX2 build 37.0-42.9 / 74.4-81.7). */
    kernels_set(k, QT_IQ4_XS,
                (type_kernels){.vec_dot = vec_dot_iq4_xs_avx2,
                               .dequantize = dequantize_iq4_xs_avx2,
                               .row_gemm = gemm_iq4_xsx16_avx2});
    /* The codebook formats: row dots and tiles (avx2_iq_sb.c), batches of 16+ tokens by the
     * token-lane kernel (avx2_x16_iq.c). TinyLlama-shaped IQ2_XXS (imatrix quantized), `bench
     * -p 64 -n 32 -r 3 -t 1,2`, SCARCE_ISA=avx2, 2-core Sapphire-Rapids-class Xeon VM under
     * the bench lock, load 7-8 (other jobs), 2 pairs, tok/s 1 / 2 threads: pp64 on the 8-token
     * tiles 17.1-17.8 / 24.6-27.5 -> 35.8-49.8 / 46.1-61.9 with this kernel. */
    kernels_set(k, QT_IQ2_XXS,
                (type_kernels){.vec_dot = vec_dot_iq2_xxs_avx2, .vec_dot_tile = vec_dot_tile_iq2_xxs_avx2,
                               .row_gemm = gemm_iq2_xxsx16_avx2});
    kernels_set(k, QT_IQ2_XS,
                (type_kernels){.vec_dot = vec_dot_iq2_xs_avx2, .vec_dot_tile = vec_dot_tile_iq2_xs_avx2,
                               .row_gemm = gemm_iq2_xsx16_avx2});
    kernels_set(k, QT_IQ2_S,
                (type_kernels){.vec_dot = vec_dot_iq2_s_avx2, .vec_dot_tile = vec_dot_tile_iq2_s_avx2,
                               .row_gemm = gemm_iq2_sx16_avx2});
    kernels_set(k, QT_IQ3_XXS,
                (type_kernels){.vec_dot = vec_dot_iq3_xxs_avx2, .vec_dot_tile = vec_dot_tile_iq3_xxs_avx2,
                               .row_gemm = gemm_iq3_xxsx16_avx2});
    kernels_set(k, QT_IQ3_S,
                (type_kernels){.vec_dot = vec_dot_iq3_s_avx2, .vec_dot_tile = vec_dot_tile_iq3_s_avx2,
                               .row_gemm = gemm_iq3_sx16_avx2});
    kernels_set(k, QT_IQ1_S,
                (type_kernels){.vec_dot = vec_dot_iq1_s_avx2, .vec_dot_tile = vec_dot_tile_iq1_s_avx2,
                               .row_gemm = gemm_iq1_sx16_avx2});
    kernels_set(k, QT_IQ1_M,
                (type_kernels){.vec_dot = vec_dot_iq1_m_avx2, .vec_dot_tile = vec_dot_tile_iq1_m_avx2,
                               .row_gemm = gemm_iq1_mx16_avx2});
    kernels_set(k, QT_Q8_K, (type_kernels){.from_float = quantize_row_q8_k_avx2});
    k->gemm_tile = gemm_tile_f32_avx2;
    k->ops = (ops_kernels){.attention_heads = attention_heads_avx2, .swiglu = swiglu_avx2,
                             .geglu = geglu_avx2};
}
