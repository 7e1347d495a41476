/* neon_install.c - the NEON ISA's table: its kernels over the reference ones (kernels/cpu.h).
 * The int8 kernels come in two builds of the same code (neon_util.h): with ARMv8.2's sdot
 * where the CPU has it, else plain NEON (e.g. Cortex-A53/A72: Raspberry Pi 3/4). */
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#include "neon.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20) /* Linux arch/arm64 uapi hwcap.h */
#endif

int neon_cpu_has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
    return 0; /* no portable query: the plain NEON kernels */
#endif
}

void neon_install_int8(isa_kernels *k, int dotprod) {
    if (dotprod) {
        q32_install_neondp(k), kquant_install_neondp(k), kquant_tile_install_neondp(k);
        iq_install_neondp(k), lowbit_install_neondp(k);
    } else {
        q32_install_neon(k), kquant_install_neon(k), kquant_tile_install_neon(k);
        iq_install_neon(k), lowbit_install_neon(k);
    }
}

void neon_install(isa_kernels *k) {
    kernels_set(k, QT_F32, (type_kernels){.vec_dot = vec_dot_f32_neon});
    kernels_set(k, QT_F16, (type_kernels){.vec_dot = vec_dot_f16_neon});
    kernels_set(k, QT_BF16, (type_kernels){.vec_dot = vec_dot_bf16_neon});
    kernels_set(k, QT_Q8_0, (type_kernels){.from_float = quantize_row_q8_0_neon});
    kernels_set(k, QT_FP8_E4M3, (type_kernels){.vec_dot = vec_dot_fp8_e4m3_neon});
    kernels_set(k, QT_FP8_E5M2, (type_kernels){.vec_dot = vec_dot_fp8_e5m2_neon});
    kernels_set(k, QT_Q4_1_F32, (type_kernels){.vec_dot = vec_dot_q4_1_f32_neon});
    neon_install_int8(k, neon_cpu_has_dotprod());
}
