/* test_honest.c - runs say what really ran: the kernel code per weight format, the threads
 * the matmuls used per phase, the CPU; --version says what was built and detected; -t
 * defaults to the physical cores. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/machine.h"
#include "../kernels/cpu.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

/* The number after "key": in a JSON text, or -1 when absent. */
static double json_number(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(json, pat);
    return at ? atof(at + strlen(pat)) : -1;
}

TEST(honest_physical_cores_default_threads) {
    const int cores = cpu_physical_cores();
    CHECK_MSG(cores >= 1 && cores <= sysconf(_SC_NPROCESSORS_ONLN), "%d physical cores", cores);
    NEED_SHARED(STORIES);
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -n 4 --temp 0 --json 2>/dev/null", scarce_bin(),
             shared_path(STORIES));
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    CHECK_EQ_INT(json_number(out, "threads"), cores);
    CHECK_EQ_INT(json_number(out, "physical_cores"), cores);
    free(out);
}

/* -t 1: every matmul on one thread; -t 2: between 1 and 2 (adaptive threads may take one) */
TEST(honest_run_names_kernels_threads_and_cpu) {
    NEED_SHARED(STORIES);
    char cpu[128], msg[128];
    REQUIRE(kernels_init(NULL, msg) == 0); /* the default set, as scarce picks it */
    cpu_model_name(cpu, sizeof cpu);
    for (int t = 1; t <= 2; t++) {
        char cmd[1024], *out = NULL, *err = NULL;
        snprintf(cmd, sizeof cmd, "%s run -m %s -p 'Once upon a time' -n 8 --temp 0 -t %d --json",
                 scarce_bin(), shared_path(STORIES), t);
        REQUIRE(run_cmd(cmd, &out, &err) == 0 && out && err);
        const double pre = json_number(out, "threads_prefill"),
                     dec = json_number(out, "threads_decode");
        CHECK_MSG(pre >= 1 && pre <= t && dec >= 1 && dec <= t, "-t %d: prefill %g decode %g", t,
                  pre, dec);
        if (t == 1) CHECK(pre == 1 && dec == 1);
        CHECK_MSG(strstr(out, "\"cpu_model\": \"") && strstr(out, cpu), "%s", out);
        /* the kernel set and, for f32 (all of stories260K), the ISA whose code ran it */
        char want[96];
        const char *isa = kernels_isa_name(kernels_isa());
        snprintf(want, sizeof want,
                 "\"kernels_run\": {\"set\": \"%s\", \"matmul\": [{\"type\": \"f32\"", isa);
        CHECK_MSG(strstr(out, want), "%s", out);
        snprintf(want, sizeof want, "kernels: %s set; matmul f32 %s", isa,
                 kernels_isa_name(kernels_origin(kernels_isa(), QT_F32, 1)));
        CHECK_MSG(strstr(err, want) && strstr(err, cpu), "%s", err);
        CHECK_MSG(strstr(err, t == 1 ? "1.0 of 1 threads" : " of 2 threads"), "%s", err);
        free(out), free(err);
    }
}

/* The origin of a format's kernel is the ISA itself or one it builds on, and a kernel that
 * comes from below is the very function that ISA has (named isa_ so that test-emu512 runs
 * it with the avx512 set). */
TEST(isa_kernels_origin_is_the_code_that_runs) {
    char msg[128];
    REQUIRE(kernels_init(NULL, msg) == 0);
    for (int isa = 0; isa < ISA_COUNT; isa++) {
        if (!kernels_of(isa)) continue;
        for (int i = 0; qtype_at(i); i++) {
            const uint32_t type = qtype_at(i)->id;
            const int from = kernels_origin(isa, type, 0);
            CHECK_MSG(from >= 0 && kernels_isa_supported(from), "%s %s: origin %d",
                      kernels_isa_name(isa), qtype_at(i)->name, from);
            if (from < 0) continue;
            const type_kernels *k = kernels_for(isa, type), *o = kernels_for(from, type);
            const int same =
                k->vec_dot_tile ? k->vec_dot_tile == o->vec_dot_tile : k->vec_dot == o->vec_dot;
            CHECK_MSG(same, "%s %s: origin %s runs other code", kernels_isa_name(isa),
                      qtype_at(i)->name, kernels_isa_name(from));
            if (isa == ISA_SCALAR) CHECK_EQ_INT(from, ISA_SCALAR);
        }
        CHECK(kernels_ops_origin(isa) >= 0);
    }
    if (kernels_of(ISA_AVX2)) CHECK_EQ_INT(kernels_origin(ISA_AVX2, QT_F32, 0), ISA_AVX2);
}

TEST(honest_version_names_build_and_cpu) {
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s --version", scarce_bin());
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    const char *lines[] = {"build flags: ",  "ISA compiled: scalar", "ISA detected: ", "CPU: ",
                           "physical cores", "OpenBLAS: ",           "kernels: isa="};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        CHECK_MSG(strstr(out, lines[i]), "no '%s' in:\n%s", lines[i], out);
#if defined(__x86_64__)
    CHECK_MSG(strstr(out, "ISA compiled: scalar avx2 avx512"), "%s", out);
#endif
    free(out);
}
