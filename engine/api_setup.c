/* api_setup.c - include/scarce.h's process start-up: the CPU dispatch table (the library's
 * one piece of global state, filled once), the kernel switches a program may read from the
 * environment, and what this build and CPU are (`scarce --version`). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/gemm.h"
#include "api_impl.h"

#ifndef SCARCE_BUILD_FLAGS /* the Makefile passes the CFLAGS this file was compiled with */
#define SCARCE_BUILD_FLAGS "?"
#endif

/* ---- the dispatch table, filled once per process -------------------------------------- */

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* The ISA named, or -1. */
static int isa_by_name(const char *name) {
    for (int i = 0; i < ISA_COUNT; i++)
        if (!strcmp(name, kernels_isa_name((isa_level)i))) return i;
    return -1;
}

/* Fills the table with isa ("" = the best of this CPU) as the default unless it is filled
 * already: a program that set it up itself (the tests call kernels_init) keeps its choice.
 * 0, or a status with msg (API_ERROR_CAP) set. */
static int fill_table(const char *isa, char *msg) {
    int rc = SCARCE_OK;
    pthread_mutex_lock(&table_lock);
    if (!kernels_of(ISA_SCALAR)) {
        char why[128];
        /* never NULL: kernels_init would read $SCARCE_ISA, and library code reads no
         * environment unless asked (scarce_model_params_from_env) */
        if (kernels_init(isa, why)) rc = api_fail(msg, SCARCE_ERR_ISA, "%s", why);
    }
    pthread_mutex_unlock(&table_lock);
    return rc;
}

int api_kernels_ready(char *msg) {
    return fill_table("", msg);
}

int scarce_backend_init(const char *isa, char *errbuf, size_t errcap) {
    char msg[API_ERROR_CAP] = "";
    int rc = SCARCE_OK, want = isa ? isa_by_name(isa) : -1;
    if (isa && want < 0) {
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "unknown ISA '%s' (scalar, avx2, avx512, amx, neon)",
                      isa);
    } else if (isa && !kernels_isa_supported((isa_level)want)) {
        char why[128];
        kernels_explain_unsupported((isa_level)want, why);
        rc = api_fail(msg, SCARCE_ERR_ISA, "%s", why);
    } else if (!(rc = fill_table(isa ? isa : "", msg)) && isa && want != (int)kernels_isa()) {
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT,
                      "scarce_backend_init: the dispatch table is already set up for %s, not %s",
                      kernels_isa_name(kernels_isa()), isa);
    }
    if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? msg : "");
    return rc;
}

/* ---- the kernel switches -------------------------------------------------------------- */

void api_params_of_config(const kernel_config *cfg, scarce_model_params *out) {
    static const char *const lut[] = {"auto", "off", "on"};
    *out = (scarce_model_params){.n_threads = cfg->threads,
                                 .isa = kernels_isa_name(cfg->isa),
                                 .repack = cfg->repack,
                                 .gemm = kernel_config_gemm_name(cfg),
                                 .fixed_threads = !cfg->adapt_threads,
                                 .static_rows = !cfg->steal,
                                 .lut = lut[cfg->lut + 1],
                                 .wait_workers = !cfg->rescue};
}

int scarce_model_params_from_env(scarce_model_params *out, char *errbuf, size_t errcap) {
    char msg[API_ERROR_CAP] = "";
    int rc = SCARCE_OK;
    kernel_config cfg;
    if (!out) {
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "scarce_model_params_from_env: out is NULL");
    } else if (kernel_config_from_env(&cfg, msg)) {
        /* an ISA this CPU lacks, or a value that is not one of the variable's */
        const char *isa = getenv("SCARCE_ISA");
        const int known = isa && *isa ? isa_by_name(isa) : -1;
        rc = known >= 0 && !kernels_isa_supported((isa_level)known) ? SCARCE_ERR_ISA
                                                                    : SCARCE_ERR_ARGUMENT;
    } else {
        api_params_of_config(&cfg, out);
        out->n_threads = 0; /* the threads are each command's (-t) */
    }
    if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? msg : "");
    return rc;
}

int scarce_model_params_describe(const scarce_model_params *p, char *out, size_t cap) {
    model_options o;
    char msg[API_ERROR_CAP], line[256];
    if (!out || !cap) return SCARCE_ERR_ARGUMENT;
    out[0] = 0;
    const scarce_model_params defaults = scarce_model_default_params();
    const int rc = api_model_options(p ? p : &defaults, &o, msg);
    if (rc) return rc;
    kernel_config_describe(&o.kernels, line, sizeof line);
    const size_t len = strlen(line);
    if (len >= cap) return SCARCE_ERR_ARGUMENT;
    memcpy(out, line, len + 1);
    return (int)len;
}

/* ---- this build and this CPU ---------------------------------------------------------- */

/* The kernel sets this library carries (each is picked at run time, kernels/cpu.c). */
static const char *isa_compiled(void) {
#if defined(__x86_64__)
    return "scalar avx2 avx512 amx"; /* kernels/x86/ is built on every x86-64 */
#elif defined(__aarch64__)
    return "scalar neon";
#else
    return "scalar";
#endif
}

int scarce_build_info(scarce_build *out) {
    if (!out) return SCARCE_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->version = scarce_version();
    out->compiler = __VERSION__;
    out->build_flags = SCARCE_BUILD_FLAGS;
    out->isa_compiled = isa_compiled();
    out->isa_detected = kernels_isa_name(cpu_best_isa());
    if (cpu_missing_avx512(out->isa_missing, sizeof out->isa_missing) == 0) out->isa_missing[0] = 0;
    out->blas = gemm_have_blas();
    return SCARCE_OK;
}
