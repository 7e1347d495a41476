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
        QT_TQ1_0,  QT_Q1_0,   QT_NVFP4,    QT_Q4_1_F32};
    for (size_t i = 0; i < sizeof claimed / sizeof *claimed; i++) {
        const type_kernels *neon = kernels_for(ISA_NEON, claimed[i]);
        const type_kernels *ref = kernels_for(ISA_SCALAR, claimed[i]);
        REQUIRE(neon && ref);
        CHECK_MSG(neon->vec_dot != ref->vec_dot, "%s: NEON runs the scalar reference",
                  qtype(claimed[i])->name);
    }
}

#if defined(__aarch64__)
#include <string.h>

#include "../kernels/arm/neon.h"

/* The int8 kernels are the sdot copies exactly when the CPU has the dot product (HWCAP), and
 * the two copies are different functions (else one of the paths would go untested). make
 * test-arm runs this as a CPU with it (qemu -cpu max) and one without (-cpu cortex-a72). */
TEST(neon_dotprod_kernels_follow_the_cpu) {
    REQUIRE(kernels_init("neon", NULL) == 0);
    static isa_kernels plain, sdot;
    memset(&plain, 0, sizeof plain), memset(&sdot, 0, sizeof sdot);
    neon_install_int8(&plain, 0);
    neon_install_int8(&sdot, 1);
    const int dotprod = neon_cpu_has_dotprod();
    int n_int8 = 0;
    for (int i = 0; i < QT_COUNT; i++) {
        if (!plain.type[i].vec_dot) continue;
        n_int8++;
        const char *name = qtype_at(i)->name;
        CHECK_MSG(plain.type[i].vec_dot != sdot.type[i].vec_dot, "%s: one kernel for both", name);
        CHECK_MSG(kernels_for(ISA_NEON, qtype_at(i)->id)->vec_dot ==
                      (dotprod ? sdot : plain).type[i].vec_dot,
                  "%s: the %s kernel is not installed", name, dotprod ? "sdot" : "plain NEON");
    }
    CHECK(n_int8 >= 25);
}
#endif
