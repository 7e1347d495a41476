/* neon_install.c - the NEON ISA's table: its kernels over the reference ones (kernels/cpu.h). */
#include "neon.h"

void neon_install(isa_kernels *k) {
    kernels_set(k, QT_F32, (type_kernels){.vec_dot = vec_dot_f32_neon});
    kernels_set(k, QT_F16, (type_kernels){.vec_dot = vec_dot_f16_neon});
    kernels_set(k, QT_Q8_0, (type_kernels){.vec_dot = vec_dot_q8_0_neon});
    kernels_set(k, QT_Q4_0, (type_kernels){.vec_dot = vec_dot_q4_0_neon});
}
