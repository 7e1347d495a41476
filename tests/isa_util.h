/* isa_util.h - kernel tests that run once per SIMD kernel set: SKIP_WITHOUT_AVX512() at the
 * top of an AVX-512 variant skips it (reported as skipped, never passed) on a CPU that
 * lacks a feature the avx512 kernels need, naming the features. */
#ifndef SCARCE_TEST_ISA_UTIL_H
#define SCARCE_TEST_ISA_UTIL_H

#include "../kernels/cpu.h"
#include "test.h"

#define SKIP_WITHOUT_AVX512()                                                                      \
    do {                                                                                           \
        char lacks_[96];                                                                           \
        if (cpu_missing_avx512(lacks_, sizeof lacks_)) SKIP("CPU lacks %s", lacks_);               \
    } while (0)

/* For tests of the kernels test-emu512 does not build (Makefile EMU_NATIVE_ONLY). */
#define SKIP_WITHOUT_NATIVE_AVX512()                                                               \
    do {                                                                                           \
        SKIP_WITHOUT_AVX512();                                                                     \
        if (kernels_avx512_emulated()) SKIP("emulated AVX-512 build: kernel not built");           \
    } while (0)

/* For the AMX set's tests: skips naming what the CPU (or OS) lacks. */
#define SKIP_WITHOUT_AMX()                                                                         \
    do {                                                                                           \
        if (!kernels_isa_supported(ISA_AMX)) {                                                     \
            char why_[128];                                                                        \
            kernels_explain_unsupported(ISA_AMX, why_);                                            \
            SKIP("%s", why_);                                                                      \
        }                                                                                          \
    } while (0)

#endif
