/* amx_install.c - whether AMX runs here, and the AMX set's table (amx.h). */
#include "amx.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../cpu.h"

/* Linux's leave to use a dynamically enabled state component (arch/x86/include/uapi/asm/
 * prctl.h), and AMX's tile data component number (Intel SDM vol. 1, 13.1). */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static void add_name(char *names, size_t size, const char *name) {
    if (!names || !size) return;
    const size_t len = strlen(names);
    snprintf(names + len, size - len, "%s%s", len ? "/" : "", name);
}

/* XCR0 by XGETBV (the OS's enabled state components); 0 when the OS has no XSAVE */
static unsigned long long xcr0(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

int amx_ready(char *names, size_t size) {
    if (names && size) names[0] = 0;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) c = d = 0;
    /* CPUID.(7,0):EDX bit 24 AMX-TILE, bit 25 AMX-INT8 */
    const int tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
    if (!tile) add_name(names, size, "amx-tile");
    if (!int8) add_name(names, size, "amx-int8");
    /* the K-quant tiles split codes with VBMI byte permutes (amx_kquant.c): every AMX CPU so
     * far has it, but the kernels are compiled for it, so it is asked for */
    const int vbmi = (c >> 1) & 1; /* CPUID.(7,0):ECX bit 1 AVX512_VBMI */
    if (!vbmi) add_name(names, size, "avx512vbmi");
    if (!tile || !int8 || !vbmi) return 0;
    /* XCR0 bits 17 (tile configuration) and 18 (tile data): the OS saves the tiles */
    if ((xcr0() & (3ull << 17)) != (3ull << 17)) {
        add_name(names, size, "OS tile state (XCR0)");
        return 0;
    }
    /* asked once per process: granted, it holds for every thread */
    static int granted = -1;
    if (granted < 0) granted = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
    if (!granted) add_name(names, size, "tile-state permission (arch_prctl)");
    return granted;
}

void amx_install(isa_kernels *k) {
    kernels_set(k, QT_Q4_0, (type_kernels){.packed_gemm = gemm_q4_0x16_amx});
    kernels_set(k, QT_Q4_1, (type_kernels){.packed_gemm = gemm_q4_1x16_amx});
    kernels_set(k, QT_Q8_0, (type_kernels){.packed_gemm = gemm_q8_0x16_amx});
    kernels_set(k, QT_Q4_K, (type_kernels){.row_gemm = gemm_q4_kx16_amx});
    kernels_set(k, QT_Q5_K, (type_kernels){.row_gemm = gemm_q5_kx16_amx});
    kernels_set(k, QT_Q6_K, (type_kernels){.row_gemm = gemm_q6_kx16_amx});
    /* Q2_K's batches leave its packed copy's AVX-512 batch kernel for the file rows' tiles
     * (the same bits): 2048 x 5632, B 64, 1 thread, Xeon SPR-class: 210 -> 320 GMAC/s
     * (amx_kquant.c header). Re-setting the packed tile without a packed_gemm drops it
     * (kernels_set); decode keeps the packed tile. */
    const type_kernels q2 = k->type[qtype_index(QT_Q2_K)];
    kernels_set(k, QT_Q2_K,
                (type_kernels){.packed_tile = q2.packed_tile, .packed_act = q2.packed_act,
                               .lut = q2.lut, .row_gemm = gemm_q2_kx16_amx});
    kernels_set(k, QT_Q3_K, (type_kernels){.row_gemm = gemm_q3_kx16_amx});
    kernels_set(k, QT_IQ4_XS, (type_kernels){.row_gemm = gemm_iq4_xsx16_amx});
    kernels_set(k, QT_IQ2_XXS, (type_kernels){.row_gemm = gemm_iq2_xxsx16_amx});
    kernels_set(k, QT_IQ2_XS, (type_kernels){.row_gemm = gemm_iq2_xsx16_amx});
    kernels_set(k, QT_IQ2_S, (type_kernels){.row_gemm = gemm_iq2_sx16_amx});
    kernels_set(k, QT_IQ3_XXS, (type_kernels){.row_gemm = gemm_iq3_xxsx16_amx});
    kernels_set(k, QT_IQ3_S, (type_kernels){.row_gemm = gemm_iq3_sx16_amx});
    kernels_set(k, QT_IQ1_S, (type_kernels){.row_gemm = gemm_iq1_sx16_amx});
    kernels_set(k, QT_IQ1_M, (type_kernels){.row_gemm = gemm_iq1_mx16_amx});
}
