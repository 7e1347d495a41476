/* kernel_setup.c - the process's kernel configuration and how it is printed. */
#include "kernel_setup.h"

#include "api_setup.h"

#include <unistd.h>

#include "../engine/machine.h"
#include "../kernels/gemm.h"

#define SCARCE_VERSION "0.1.0"
#ifndef SCARCE_BUILD_FLAGS
#define SCARCE_BUILD_FLAGS "?"
#endif

/* Set once by kernel_setup_from_env before any command runs; read-only afterwards. */
static kernel_config startup;

int kernel_setup_from_env(char *msg) {
    if (kernel_config_from_env(&startup, msg)) return -1;
    return kernels_init(kernels_isa_name(startup.isa), msg);
}

model_options kernel_setup_options(int n_threads) {
    model_options o = {.kernels = startup};
    o.kernels.threads = n_threads;
    return o;
}

scarce_model_params api_setup_model_params(int n_threads) {
    scarce_model_params p = scarce_model_default_params();
    p.n_threads = n_threads;
    p.isa = kernels_isa_name(startup.isa);
    p.repack = startup.repack;
    p.gemm = kernel_config_gemm_name(&startup);
    p.fixed_threads = !startup.adapt_threads;
    p.static_rows = !startup.steal;
    p.lut = startup.lut < 0 ? "auto" : startup.lut ? "on" : "off";
    return p;
}

const kernel_config *kernel_setup_config(void) {
    return &startup;
}

/* The kernel sets this binary carries (each is picked at run time, kernels/cpu.c). */
static const char *isa_compiled(void) {
#if defined(__x86_64__)
    return "scalar avx2 avx512"; /* kernels/x86/avx512_*.c are built on every x86-64 */
#elif defined(__aarch64__)
    return "scalar neon";
#else
    return "scalar";
#endif
}

void kernel_setup_print_version(FILE *out) {
    /* the threads a command runs on when -t is not given (scarce_model_open's default),
     * not the start-up placeholder of 1 */
    kernel_config shown = startup;
    const int cores = cpu_physical_cores();
    shown.threads = cores < KERNEL_MAX_THREADS ? cores : KERNEL_MAX_THREADS;
    char cfg[160];
    kernel_config_describe(&shown, cfg, sizeof cfg);
    fprintf(out, "scarce %s\n", SCARCE_VERSION);
    fprintf(out, "compiler: %s\n", __VERSION__);
    fprintf(out, "build flags: %s\n", SCARCE_BUILD_FLAGS);
    fprintf(out, "ISA compiled: %s\n", isa_compiled());
    char cpu[128], lacks[64] = "";
    cpu_model_name(cpu, sizeof cpu);
    fprintf(out, "CPU: %s, %d physical cores (the default -t), %ld online CPUs\n", cpu,
            cpu_physical_cores(), sysconf(_SC_NPROCESSORS_ONLN));
    if (cpu_missing_avx512(lacks, sizeof lacks) == 0) lacks[0] = 0;
    fprintf(out, "ISA detected: %s%s%s%s\n", kernels_isa_name(cpu_best_isa()),
            lacks[0] ? " (no avx512: lacks " : "", lacks, lacks[0] ? ")" : "");
    fprintf(out, "OpenBLAS: %s\n", gemm_have_blas() ? "linked" : "not linked");
    fprintf(out, "kernels: %s (threads: the default -t; each command's -t overrides)\n", cfg);
}
