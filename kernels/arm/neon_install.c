/* neon_install.c - the NEON ISA's table: its kernels over the reference ones (kernels/cpu.h). */
#include "neon.h"

void neon_install(isa_kernels *k) {
    kernels_set(k, QT_F32, (type_kernels){.vec_dot = vec_dot_f32_neon});
    kernels_set(k, QT_F16, (type_kernels){.vec_dot = vec_dot_f16_neon});
    kernels_set(k, QT_Q8_0, (type_kernels){.vec_dot = vec_dot_q8_0_neon});
    kernels_set(k, QT_Q4_0, (type_kernels){.vec_dot = vec_dot_q4_0_neon});
    kernels_set(k, QT_BF16, (type_kernels){.vec_dot = vec_dot_bf16_neon});
    kernels_set(k, QT_Q4_1, (type_kernels){.vec_dot = vec_dot_q4_1_neon});
    kernels_set(k, QT_Q5_0, (type_kernels){.vec_dot = vec_dot_q5_0_neon});
    kernels_set(k, QT_Q5_1, (type_kernels){.vec_dot = vec_dot_q5_1_neon});
    kernels_set(k, QT_IQ4_NL, (type_kernels){.vec_dot = vec_dot_iq4_nl_neon});
    kernels_set(k, QT_MXFP4, (type_kernels){.vec_dot = vec_dot_mxfp4_neon});
    kernels_set(k, QT_Q2_0, (type_kernels){.vec_dot = vec_dot_q2_0_neon});
    kernels_set(k, QT_Q2_0_32, (type_kernels){.vec_dot = vec_dot_q2_0_32_neon});
    kernels_set(k, QT_FP8_E4M3, (type_kernels){.vec_dot = vec_dot_fp8_e4m3_neon});
    kernels_set(k, QT_FP8_E5M2, (type_kernels){.vec_dot = vec_dot_fp8_e5m2_neon});
    kernels_set(k, QT_Q2_K, (type_kernels){.vec_dot = vec_dot_q2_k_neon});
    kernels_set(k, QT_Q3_K, (type_kernels){.vec_dot = vec_dot_q3_k_neon});
    kernels_set(k, QT_Q4_K, (type_kernels){.vec_dot = vec_dot_q4_k_neon});
    kernels_set(k, QT_Q5_K, (type_kernels){.vec_dot = vec_dot_q5_k_neon});
    kernels_set(k, QT_Q6_K, (type_kernels){.vec_dot = vec_dot_q6_k_neon});
    kernels_set(k, QT_IQ4_XS, (type_kernels){.vec_dot = vec_dot_iq4_xs_neon});
    kernels_set(k, QT_IQ2_XXS, (type_kernels){.vec_dot = vec_dot_iq2_xxs_neon});
    kernels_set(k, QT_IQ2_XS, (type_kernels){.vec_dot = vec_dot_iq2_xs_neon});
    kernels_set(k, QT_IQ2_S, (type_kernels){.vec_dot = vec_dot_iq2_s_neon});
    kernels_set(k, QT_IQ3_XXS, (type_kernels){.vec_dot = vec_dot_iq3_xxs_neon});
    kernels_set(k, QT_IQ3_S, (type_kernels){.vec_dot = vec_dot_iq3_s_neon});
    kernels_set(k, QT_IQ1_S, (type_kernels){.vec_dot = vec_dot_iq1_s_neon});
    kernels_set(k, QT_IQ1_M, (type_kernels){.vec_dot = vec_dot_iq1_m_neon});
    kernels_set(k, QT_TQ2_0, (type_kernels){.vec_dot = vec_dot_tq2_0_neon});
    kernels_set(k, QT_TQ1_0, (type_kernels){.vec_dot = vec_dot_tq1_0_neon});
    kernels_set(k, QT_Q1_0, (type_kernels){.vec_dot = vec_dot_q1_0_neon});
    kernels_set(k, QT_NVFP4, (type_kernels){.vec_dot = vec_dot_nvfp4_neon});
}
