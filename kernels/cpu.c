/* cpu.c - ISA detection and the dispatch table (the vec_dot fields of the type table). */
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "ref/ref.h"
#if defined(__x86_64__)
#include "x86/avx2.h"
#include "x86/avx512.h"
#endif
#if defined(__aarch64__)
#include "arm/neon.h"
#endif

static isa_level current = ISA_SCALAR;

int cpu_missing_avx512(char *names, size_t size) {
    static const char *const needed[] = {"avx512f", "avx512bw", "avx512vl", "avx512dq",
                                         "avx512vnni"};
    int have[5] = {0}, n_missing = 0;
#if defined(__x86_64__)
    /* the set the avx512 kernels are compiled for (Makefile: avx512*.o), each from CPUID
     * (libgcc also checks that the OS saves the zmm state) */
    __builtin_cpu_init();
    have[0] = __builtin_cpu_supports("avx512f"), have[1] = __builtin_cpu_supports("avx512bw");
    have[2] = __builtin_cpu_supports("avx512vl"), have[3] = __builtin_cpu_supports("avx512dq");
    have[4] = __builtin_cpu_supports("avx512vnni");
#endif
    if (names && size) names[0] = 0;
    for (int i = 0; i < 5; i++) {
        if (have[i]) continue;
        if (names && size) {
            size_t len = strlen(names);
            snprintf(names + len, size - len, "%s%s", n_missing ? "/" : "", needed[i]);
        }
        n_missing++;
    }
    return n_missing;
}

isa_level cpu_best_isa(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!cpu_missing_avx512(NULL, 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
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
            char lacks[64];
            if (msg && want == ISA_AVX512 && cpu_missing_avx512(lacks, sizeof lacks))
                snprintf(msg, 128, "ISA 'avx512' is not supported by this CPU (lacks %s; best: %s)",
                         lacks, kernels_isa_name(best));
            else if (msg)
                snprintf(msg, 128, "ISA '%s' is not supported by this CPU (best: %s)", isa,
                         kernels_isa_name(best));
            return -1;
        }
    }
    ref_install();
    /* ISA kernels go over the reference for the types they cover; the AVX-512 set goes
     * over the AVX2 one (an AVX-512 CPU has AVX2), so types without an AVX-512 kernel run
     * the AVX2 kernel. */
#if defined(__x86_64__)
    if (want == ISA_AVX2 || want == ISA_AVX512) avx2_install();
    if (want == ISA_AVX512) avx512_install();
#endif
#if defined(__aarch64__)
    if (want == ISA_NEON) neon_install();
#endif
    current = want;
    return 0;
}
