/* cpu.c - ISA detection and the dispatch tables (one isa_kernels per ISA, see cpu.h). */
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#if defined(__x86_64__)
#include "x86/avx2.h"
#include "x86/amx.h"
#include "x86/avx512.h"
#endif
#if defined(__aarch64__)
#include "arm/neon.h"
#endif

static const char *const isa_names[ISA_COUNT] = {"scalar", "avx2", "avx512", "neon", "amx"};

/* Each ISA's table starts as a copy of the one of the ISA it builds on (base; -1 for the
 * scalar root), then its install function puts its kernels over it. An ISA not built for
 * this architecture has no line (cpu_best_isa never returns it). */
typedef struct {
    int base;
    void (*install)(isa_kernels *k);
} isa_line;

static const isa_line isa_list[ISA_COUNT] = {
    [ISA_SCALAR] = {-1, ref_install},
#if defined(__x86_64__)
    [ISA_AVX2] = {ISA_SCALAR, avx2_install},
    /* the AVX-512 set goes over the AVX2 one: formats without an AVX-512 kernel run AVX2's */
    [ISA_AVX512] = {ISA_AVX2, avx512_install},
#ifndef SCARCE_AVX512_EMULATED
    /* AMX's batch products over the AVX-512 set (test-emu512 models no tiles) */
    [ISA_AMX] = {ISA_AVX512, amx_install},
#endif
#endif
#if defined(__aarch64__)
    [ISA_NEON] = {ISA_SCALAR, neon_install},
#endif
};

static isa_kernels tables[ISA_COUNT];
static int filled[ISA_COUNT];
static isa_level current = ISA_SCALAR;

int kernels_avx512_emulated(void) {
#ifdef SCARCE_AVX512_EMULATED
    return 1;
#else
    return 0;
#endif
}

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
    if (!cpu_missing_avx512(NULL, 0) && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
#ifndef SCARCE_AVX512_EMULATED
        if (amx_ready(NULL, 0)) return ISA_AMX;
#endif
        return ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    return ISA_SCALAR;
#elif defined(__aarch64__)
    return ISA_NEON;
#else
    return ISA_SCALAR;
#endif
}

const char *kernels_isa_name(isa_level isa) {
    return isa >= ISA_SCALAR && isa < ISA_COUNT ? isa_names[isa] : "?";
}

isa_level kernels_isa(void) {
    return current;
}

/* The CPU runs isa when it is the best one or one the best builds on. */
int kernels_isa_supported(isa_level isa) {
    for (int i = cpu_best_isa(); i >= 0; i = isa_list[i].base)
        if (i == (int)isa) return 1;
    return 0;
}

static void fill(isa_level isa) {
    if (filled[isa]) return;
    const isa_line *line = &isa_list[isa];
    if (line->base >= 0) {
        fill(line->base);
        tables[isa] = tables[line->base];
    }
    if (line->install) line->install(&tables[isa]);
    filled[isa] = 1;
}

void kernels_explain_unsupported(isa_level isa, char *msg) {
    char lacks[64];
    if (isa == ISA_AVX512 && cpu_missing_avx512(lacks, sizeof lacks))
        snprintf(msg, 128, "ISA 'avx512' is not supported by this CPU (lacks %s; best: %s)", lacks,
                 kernels_isa_name(cpu_best_isa()));
#if defined(__x86_64__) && !defined(SCARCE_AVX512_EMULATED)
    else if (isa == ISA_AMX && (cpu_missing_avx512(lacks, sizeof lacks) || !amx_ready(lacks, sizeof lacks)))
        snprintf(msg, 128, "ISA 'amx' is not supported by this CPU (lacks %s; best: %s)", lacks,
                 kernels_isa_name(cpu_best_isa()));
#endif
    else
        snprintf(msg, 128, "ISA '%s' is not supported by this CPU (best: %s)",
                 kernels_isa_name(isa), kernels_isa_name(cpu_best_isa()));
}

int kernels_init(const char *isa, char *msg) {
    if (!isa) isa = getenv("SCARCE_ISA");
    isa_level best = cpu_best_isa(), want = best;
    if (isa && *isa) {
        int found = 0;
        for (int i = ISA_SCALAR; i < ISA_COUNT; i++)
            if (strcmp(isa, isa_names[i]) == 0) want = i, found = 1;
        if (!found) {
            if (msg) snprintf(msg, 128, "unknown ISA '%s' (scalar, avx2, avx512, amx, neon)", isa);
            return -1;
        }
        if (!kernels_isa_supported(want)) {
            if (msg) kernels_explain_unsupported(want, msg);
            return -1;
        }
    }
    for (int i = ISA_SCALAR; i < ISA_COUNT; i++)
        if (kernels_isa_supported(i)) fill(i);
    current = want;
    ops_install(&tables[want].ops); /* the default of ops called without a kernel set */
    return 0;
}

const isa_kernels *kernels_of(isa_level isa) {
    return isa >= ISA_SCALAR && isa < ISA_COUNT && filled[isa] ? &tables[isa] : NULL;
}

const type_kernels *kernels_for(isa_level isa, uint32_t type) {
    const isa_kernels *k = kernels_of(isa);
    int i = qtype_index(type);
    return k && i >= 0 ? &k->type[i] : NULL;
}

static int same_kernel(const type_kernels *a, const type_kernels *b, int packed) {
    if (packed && a->packed_tile) return a->packed_tile == b->packed_tile;
    if (a->vec_dot_tile) return a->vec_dot_tile == b->vec_dot_tile;
    return a->vec_dot == b->vec_dot;
}

int kernels_origin(isa_level isa, uint32_t type, int packed) {
    int i = qtype_index(type), at = isa;
    if (i < 0 || !kernels_of(isa)) return -1;
    /* down the chain while the ISA below has the same function */
    for (int b = isa_list[at].base; b >= 0 && filled[b]; at = b, b = isa_list[b].base)
        if (!same_kernel(&tables[at].type[i], &tables[b].type[i], packed)) break;
    return at;
}

int kernels_batch_origin(isa_level isa, uint32_t type, int packed) {
    int i = qtype_index(type), at = isa;
    if (i < 0 || !kernels_of(isa)) return -1;
    const type_kernels *t = &tables[isa].type[i];
    x16_gemm_fn own = packed && t->packed_gemm ? t->packed_gemm : t->row_gemm;
    /* rewritten as Q8_0 panels (gemm.h GEMM_I8X8): Q8_0's packed batch kernel runs them */
    if (!own && t->to_q8_0 && type != QT_Q8_0) return kernels_batch_origin(isa, QT_Q8_0, 1);
    if (!own) return kernels_origin(isa, type, packed);
    for (int b = isa_list[at].base; b >= 0 && filled[b]; at = b, b = isa_list[b].base) {
        const type_kernels *u = &tables[b].type[i];
        if ((packed && t->packed_gemm ? u->packed_gemm : u->row_gemm) != own) break;
    }
    return at;
}

int kernels_ops_origin(isa_level isa) {
    int at = isa;
    if (!kernels_of(isa)) return -1;
    for (int b = isa_list[at].base; b >= 0 && filled[b]; at = b, b = isa_list[b].base)
        if (tables[at].ops.attention_heads != tables[b].ops.attention_heads) break;
    return at;
}

void kernels_set(isa_kernels *k, uint32_t type, type_kernels with) {
    int i = qtype_index(type);
    if (i < 0) return;
    type_kernels *t = &k->type[i];
    if (with.vec_dot) t->vec_dot = with.vec_dot;
    if (with.from_float) t->from_float = with.from_float;
    if (with.vec_dot_tile) t->vec_dot_tile = with.vec_dot_tile;
    if (with.packed_layout) t->packed_layout = with.packed_layout;
    /* a packed tile and the activation rows it reads are set together, and a batch kernel
     * of an older packed tile does not outlive it (it may read another layout) */
    if (with.packed_tile)
        t->packed_tile = with.packed_tile, t->packed_act = with.packed_act,
        t->packed_gemm = with.packed_gemm, t->lut = with.lut;
    else if (with.packed_gemm)
        t->packed_gemm = with.packed_gemm;
    /* lut describes packed_tile: a new packed tile brings its own (LUT_NONE: a multiply
     * kernel, packed whatever SCARCE_LUT says) */
    if (!with.packed_tile && with.lut) t->lut = with.lut;
    if (with.row_gemm) t->row_gemm = with.row_gemm;
    if (with.gemm_i8x8) t->gemm_i8x8 = with.gemm_i8x8;
    if (with.to_q8_0) t->to_q8_0 = with.to_q8_0;
    if (with.dequantize) t->dequantize = with.dequantize;
}
