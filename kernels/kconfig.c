/* kconfig.c - the kernel configuration: defaults, the environment (once), checks. */
#include "kconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"

kernel_config kernel_config_default(void) {
    return (kernel_config){.isa = kernels_isa(),
                           .repack = 1,
                           .gemm = -1,
                           .adapt_threads = 1,
                           .steal = 1,
                           .threads = 1,
                           .rescue = 1,
                           .lut = -1};
}

/* 1 unless the variable is "0" (the A/B switches: unset means on). */
static int env_on(const char *name) {
    const char *e = getenv(name);
    return !(e && strcmp(e, "0") == 0);
}

static int parse_isa(const char *name, isa_level *isa) {
    for (int i = ISA_SCALAR; i < ISA_COUNT; i++)
        if (strcmp(name, kernels_isa_name((isa_level)i)) == 0) {
            *isa = (isa_level)i;
            return 0;
        }
    return -1;
}

int kernel_config_parse_gemm(const char *name) {
    if (!*name || strcmp(name, "auto") == 0) return -1;
    for (int m = GEMM_TILES; m <= GEMM_X16; m++)
        if (strcmp(name, gemm_method_name((gemm_method)m)) == 0)
            return m == GEMM_BLAS && !gemm_have_blas() ? GEMM_OWN : m;
    return -2;
}

int kernel_config_from_env(kernel_config *cfg, char *msg) {
    *cfg = kernel_config_default();
    cfg->isa = cpu_best_isa();
    const char *isa = getenv("SCARCE_ISA"), *gemm = getenv("SCARCE_GEMM");
    if (isa && *isa && parse_isa(isa, &cfg->isa)) {
        snprintf(msg, 128, "SCARCE_ISA: unknown ISA '%s' (scalar, avx2, avx512, amx, neon)", isa);
        return -1;
    }
    if (gemm && (cfg->gemm = kernel_config_parse_gemm(gemm)) == -2) {
        snprintf(msg, 128, "SCARCE_GEMM: unknown path '%s' (auto, tiles, own, blas, i8x8, x16)", gemm);
        return -1;
    }
    cfg->repack = env_on("SCARCE_REPACK");
    cfg->adapt_threads = env_on("SCARCE_ADAPT_THREADS");
    cfg->steal = env_on("SCARCE_STEAL");
    cfg->rescue = env_on("SCARCE_RESCUE");
    const char *lut = getenv("SCARCE_LUT");
    if (lut && *lut && strcmp(lut, "auto") != 0) {
        if (strcmp(lut, "0") != 0 && strcmp(lut, "1") != 0) {
            snprintf(msg, 128, "SCARCE_LUT: unknown value '%s' (auto, 0, 1)", lut);
            return -1;
        }
        cfg->lut = lut[0] == '1';
    }
    return kernel_config_check(cfg, msg);
}

int kernel_config_check(const kernel_config *cfg, char *msg) {
    const isa_level want = cfg->isa;
    if (want < ISA_SCALAR || want >= ISA_COUNT) {
        snprintf(msg, 128, "kernel configuration: ISA %d is not one of ours", (int)want);
        return -1;
    }
    if (!kernels_isa_supported(want)) {
        kernels_explain_unsupported(want, msg);
        return -1;
    }
    if (cfg->gemm < -1 || cfg->gemm > GEMM_X16) {
        snprintf(msg, 128, "kernel configuration: batch path %d is not one of ours", cfg->gemm);
        return -1;
    }
    if (cfg->lut < -1 || cfg->lut > 1) {
        snprintf(msg, 128, "kernel configuration: lut %d is not -1, 0 or 1", cfg->lut);
        return -1;
    }
    if (cfg->threads < 1 || cfg->threads > KERNEL_MAX_THREADS) {
        snprintf(msg, 128, "kernel configuration: %d threads (1 to %d)", cfg->threads,
                 KERNEL_MAX_THREADS);
        return -1;
    }
    return 0;
}

const char *kernel_config_gemm_name(const kernel_config *cfg) {
    return cfg->gemm < 0 ? "auto" : gemm_method_name((gemm_method)cfg->gemm);
}

int kernel_config_packs(const kernel_config *cfg, uint32_t type) {
    const type_kernels *k = kernels_for(cfg->isa, type);
    if (!cfg->repack || !k) return 0;
    if (k->lut == LUT_NONE) return 1;
    return cfg->lut < 0 ? k->lut == LUT_ON : cfg->lut;
}

void kernel_config_describe(const kernel_config *cfg, char *buf, size_t size) {
    static const char *const lut[] = {"auto", "off", "on"};
    snprintf(buf, size,
             "isa=%s repack=%s gemm=%s adapt_threads=%s steal=%s threads=%d lut=%s rescue=%s",
             kernels_isa_name(cfg->isa), cfg->repack ? "on" : "off", kernel_config_gemm_name(cfg),
             cfg->adapt_threads ? "on" : "off", cfg->steal ? "on" : "off", cfg->threads,
             lut[cfg->lut + 1], cfg->rescue ? "on" : "off");
}
