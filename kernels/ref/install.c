/* install.c - the scalar ISA's table: the reference kernels of every format, the base every
 * other ISA starts from (an ISA replaces only the entries it has faster versions of). */
#include "../lut.h"
#include "../repack.h"
#include "ref.h"

void ref_install(isa_kernels *k) {
    /* every format's batch dequantizer starts as its reference (quant/) */
    for (int i = 0; qtype_at(i); i++)
        kernels_set(k, qtype_at(i)->id, (type_kernels){.dequantize = qtype_at(i)->dequantize});
    kernels_set(k, QT_F32, (type_kernels){.vec_dot = vec_dot_f32_ref});
    kernels_set(k, QT_F16, (type_kernels){.vec_dot = vec_dot_f16_ref});
    kernels_set(k, QT_BF16, (type_kernels){.vec_dot = vec_dot_bf16_ref});
    kernels_set(k, QT_Q8_0,
                (type_kernels){.vec_dot = vec_dot_q8_0_ref,
                               .from_float = quantize_row_q8_0_ref,
                               .packed_layout = &x8_q8_0});
    kernels_set(k, QT_Q4_0, (type_kernels){.vec_dot = vec_dot_q4_0_ref, .packed_layout = &x8_q4_0});
    kernels_set(k, QT_Q4_1, (type_kernels){.vec_dot = vec_dot_q4_1_ref, .packed_layout = &x8_q4_1});
    kernels_set(k, QT_Q4_1_F32, (type_kernels){.vec_dot = vec_dot_q4_1_f32_ref});
    kernels_set(k, QT_Q5_0, (type_kernels){.vec_dot = vec_dot_q5_0_ref});
    kernels_set(k, QT_Q5_1, (type_kernels){.vec_dot = vec_dot_q5_1_ref});
    kernels_set(k, QT_IQ4_NL, (type_kernels){.vec_dot = vec_dot_iq4_nl_ref});
    kernels_set(k, QT_MXFP4, (type_kernels){.vec_dot = vec_dot_mxfp4_ref});
    kernels_set(k, QT_Q2_0, (type_kernels){.vec_dot = vec_dot_q2_0_ref, .packed_layout = &lut_q2_0});
    kernels_set(k, QT_Q2_0_32, (type_kernels){.vec_dot = vec_dot_q2_0_32_ref});
    kernels_set(k, QT_FP8_E4M3, (type_kernels){.vec_dot = vec_dot_fp8_e4m3_ref});
    kernels_set(k, QT_FP8_E5M2, (type_kernels){.vec_dot = vec_dot_fp8_e5m2_ref});
    kernels_set(k, QT_Q2_K, (type_kernels){.vec_dot = vec_dot_q2_k_ref, .packed_layout = &x8_q2_k});
    kernels_set(k, QT_Q3_K, (type_kernels){.vec_dot = vec_dot_q3_k_ref});
    kernels_set(k, QT_Q4_K, (type_kernels){.vec_dot = vec_dot_q4_k_ref, .packed_layout = &x8_q4_k});
    kernels_set(k, QT_Q5_K, (type_kernels){.vec_dot = vec_dot_q5_k_ref});
    kernels_set(k, QT_Q6_K, (type_kernels){.vec_dot = vec_dot_q6_k_ref});
    kernels_set(k, QT_TQ2_0,
                (type_kernels){.vec_dot = vec_dot_tq2_0_ref, .packed_layout = &lut_tq2_0});
    kernels_set(k, QT_TQ1_0,
                (type_kernels){.vec_dot = vec_dot_tq1_0_ref, .packed_layout = &lut_tq1_0});
    kernels_set(k, QT_NVFP4, (type_kernels){.vec_dot = vec_dot_nvfp4_ref});
    kernels_set(k, QT_Q1_0, (type_kernels){.vec_dot = vec_dot_q1_0_ref, .packed_layout = &lut_q1_0});
    kernels_set(k, QT_IQ4_XS, (type_kernels){.vec_dot = vec_dot_iq4_xs_ref});
    kernels_set(k, QT_IQ2_XXS, (type_kernels){.vec_dot = vec_dot_iq2_xxs_ref});
    kernels_set(k, QT_IQ2_XS, (type_kernels){.vec_dot = vec_dot_iq2_xs_ref});
    kernels_set(k, QT_IQ2_S, (type_kernels){.vec_dot = vec_dot_iq2_s_ref});
    kernels_set(k, QT_IQ3_XXS, (type_kernels){.vec_dot = vec_dot_iq3_xxs_ref});
    kernels_set(k, QT_IQ3_S, (type_kernels){.vec_dot = vec_dot_iq3_s_ref});
    kernels_set(k, QT_IQ1_S, (type_kernels){.vec_dot = vec_dot_iq1_s_ref});
    kernels_set(k, QT_IQ1_M, (type_kernels){.vec_dot = vec_dot_iq1_m_ref});
    kernels_set(k, QT_Q8_K, (type_kernels){.from_float = quantize_row_q8_k_ref});
    /* no tiles and no packed kernels: the scalar ISA runs vec_dot per (row, token) and the
     * file layout (the packed references are the spec of the ISA kernels, not a speed-up) */
    k->gemm_tile = gemm_tile_f32_ref;
    k->ops = (ops_kernels){.attention_heads = attention_heads_ref, .swiglu = swiglu_ref,
                             .geglu = geglu_tanh};
}
