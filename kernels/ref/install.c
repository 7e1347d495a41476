/* install.c - puts the scalar reference kernels into the type table: the base every ISA
 * starts from (an ISA replaces only the entries it has faster versions of). */
#include "../../quant/types.h"
#include "../ops.h"
#include "ref.h"

static void set_dot(uint32_t id, vec_dot_fn dot, from_float_fn from_float) {
    quant_type *t = qtype_mut(id);
    if (!t) return;
    t->vec_dot = dot;
    t->from_float = from_float;
    t->vec_dot_tile = NULL; /* ISA-only: matmul falls back to vec_dot */
}

void ref_install(void) {
    set_dot(QT_F32, vec_dot_f32_ref, NULL);
    set_dot(QT_F16, vec_dot_f16_ref, NULL);
    set_dot(QT_BF16, vec_dot_bf16_ref, NULL);
    set_dot(QT_Q8_0, vec_dot_q8_0_ref, quantize_row_q8_0_ref);
    set_dot(QT_Q4_0, vec_dot_q4_0_ref, NULL);
    set_dot(QT_Q4_1, vec_dot_q4_1_ref, NULL);
    set_dot(QT_Q5_0, vec_dot_q5_0_ref, NULL);
    set_dot(QT_Q5_1, vec_dot_q5_1_ref, NULL);
    set_dot(QT_IQ4_NL, vec_dot_iq4_nl_ref, NULL);
    set_dot(QT_Q2_0, vec_dot_q2_0_ref, NULL);
    set_dot(QT_FP8_E4M3, vec_dot_fp8_e4m3_ref, NULL);
    set_dot(QT_FP8_E5M2, vec_dot_fp8_e5m2_ref, NULL);
    set_dot(QT_Q2_K, vec_dot_q2_k_ref, NULL);
    set_dot(QT_Q3_K, vec_dot_q3_k_ref, NULL);
    set_dot(QT_Q4_K, vec_dot_q4_k_ref, NULL);
    set_dot(QT_Q5_K, vec_dot_q5_k_ref, NULL);
    set_dot(QT_Q6_K, vec_dot_q6_k_ref, NULL);
    set_dot(QT_Q8_K, NULL, quantize_row_q8_k_ref); /* activation-only */
    ops_install(NULL); /* scalar attention and swiglu */
}
