/* cpu.c - ISA detection and the dispatch table (the vec_dot fields of the type table). */
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "ref/ref.h"
#if defined(__x86_64__)
#include "x86/avx2.h"
#endif
#if defined(__aarch64__)
#include "arm/neon.h"
#endif

static isa_level current = ISA_SCALAR;

isa_level cpu_best_isa(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    return ISA_SCALAR;
#elif defined(__aarch64__)
    return ISA_NEON;
#else
    return ISA_SCALAR;
#endif
}

const char *kernels_isa_name(isa_level isa) {
    static const char *names[] = {"scalar", "avx2", "avx512", "neon"};
    return isa >= ISA_SCALAR && isa <= ISA_NEON ? names[isa] : "?";
}

isa_level kernels_isa(void) { return current; }

int kernels_init(const char *isa, char *msg) {
    if (!isa) isa = getenv("SCARCE_ISA");
    isa_level best = cpu_best_isa(), want = best;
    if (isa && *isa) {
        int found = 0;
        for (int i = ISA_SCALAR; i <= ISA_NEON; i++)
            if (strcmp(isa, kernels_isa_name(i)) == 0) want = i, found = 1;
        if (!found) {
            if (msg) snprintf(msg, 128, "unknown ISA '%s' (scalar, avx2, avx512, neon)", isa);
            return -1;
        }
        int ok = want == ISA_SCALAR || want == best || (want == ISA_AVX2 && best == ISA_AVX512);
        if (!ok) {
            if (msg)
                snprintf(msg, 128, "ISA '%s' is not supported by this CPU (best: %s)", isa,
                         kernels_isa_name(best));
            return -1;
        }
    }
    ref_install();
    /* ISA kernels go over the reference for the types they cover. There are no AVX-512
     * kernels yet (none could be tested on the build machine): an AVX-512 CPU runs the
     * AVX2 set, which it supports. */
#if defined(__x86_64__)
    if (want == ISA_AVX2 || want == ISA_AVX512) avx2_install();
#endif
#if defined(__aarch64__)
    if (want == ISA_NEON) neon_install();
#endif
    current = want;
    return 0;
}
