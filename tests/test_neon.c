/* test_neon.c - the NEON kernel set covers the formats it claims. Each kernel's results are
 * checked against its scalar reference by test_kernels.c's kernels_simd_* tests, which run
 * on the NEON set on an aarch64 build (`make test-arm`: cross-compiled, under qemu-user).
 * Their speed is not measured here (no ARM machine). */
#include "../kernels/cpu.h"
#include "../quant/types.h"
#include "test.h"

TEST(neon_installs_a_kernel_per_claimed_type) {
    if (!kernels_isa_supported(ISA_NEON))
        SKIP("the CPU has no NEON (not an aarch64 build): make test-arm runs this");
    REQUIRE(kernels_init("neon", NULL) == 0);
    static const uint32_t claimed[] = {
        QT_F32,    QT_F16,    QT_BF16,    QT_Q8_0,     QT_Q4_0,     QT_Q4_1,   QT_Q5_0,
        QT_Q5_1,   QT_IQ4_NL, QT_Q2_K,    QT_Q3_K,     QT_Q4_K,     QT_Q5_K,   QT_Q6_K,
        QT_MXFP4,  QT_Q2_0,   QT_Q2_0_32, QT_FP8_E4M3, QT_FP8_E5M2, QT_IQ4_XS, QT_IQ2_XXS,
        QT_IQ2_XS, QT_IQ2_S,  QT_IQ3_XXS, QT_IQ3_S,    QT_IQ1_S,    QT_IQ1_M,  QT_TQ2_0,
        QT_TQ1_0,  QT_Q1_0,   QT_NVFP4};
    for (size_t i = 0; i < sizeof claimed / sizeof *claimed; i++) {
        const type_kernels *neon = kernels_for(ISA_NEON, claimed[i]);
        const type_kernels *ref = kernels_for(ISA_SCALAR, claimed[i]);
        REQUIRE(neon && ref);
        CHECK_MSG(neon->vec_dot != ref->vec_dot, "%s: NEON runs the scalar reference",
                  qtype(claimed[i])->name);
    }
}
