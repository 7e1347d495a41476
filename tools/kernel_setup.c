/* kernel_setup.c - the process's kernel configuration and how it is printed. */
#include "kernel_setup.h"

#include "api_setup.h"

/* Set once by kernel_setup_from_env before any command runs; read-only afterwards. */
static scarce_model_params startup;

int kernel_setup_from_env(char *msg) {
    if (scarce_model_params_from_env(&startup, msg, 512)) return -1;
    return scarce_backend_init(startup.isa, msg, 512) ? -1 : 0;
}

scarce_model_params api_setup_model_params(int n_threads) {
    scarce_model_params p = startup;
    p.n_threads = n_threads;
    return p;
}

void kernel_setup_print_version(FILE *out) {
    scarce_build b;
    scarce_machine mach;
    char cfg[256];
    scarce_build_info(&b);
    scarce_machine_info(&mach);
    /* the threads a command runs on when -t is not given (n_threads 0: scarce_model_open's
     * default, the physical cores) */
    if (scarce_model_params_describe(&startup, cfg, sizeof cfg) < 0) snprintf(cfg, sizeof cfg, "?");
    fprintf(out, "scarce %s\n", b.version);
    fprintf(out, "compiler: %s\n", b.compiler);
    fprintf(out, "build flags: %s\n", b.build_flags);
    fprintf(out, "ISA compiled: %s\n", b.isa_compiled);
    fprintf(out, "CPU: %s, %d physical cores (the default -t), %d online CPUs\n", mach.cpu_name,
            mach.physical_cores, mach.online_cpus);
    fprintf(out, "ISA detected: %s%s%s%s\n", b.isa_detected,
            b.isa_missing[0] ? " (no avx512: lacks " : "", b.isa_missing,
            b.isa_missing[0] ? ")" : "");
    fprintf(out, "OpenBLAS: %s\n", b.blas ? "linked" : "not linked");
    fprintf(out, "kernels: %s (threads: the default -t; each command's -t overrides)\n", cfg);
}
