/* cpu.h - feature detection and the dispatch tables: which kernel computes each format on
 * each ISA.
 *
 * kernels_init() runs once at start-up: it fills one table per ISA this CPU supports (the
 * scalar references of kernels/ref/ first, then each ISA's install function over the table
 * of the ISA it builds on), and picks the default ISA ($SCARCE_ISA=scalar|avx2|avx512|amx|neon,
 * the argument, or the best available). These tables are the only global mutable state of
 * the program; after kernels_init they are read-only. Callers look kernels up by ISA and
 * type (kernels_for) and never test types or ISAs themselves.
 *
 * Adding an ISA: its install function (it calls kernels_set per type it has kernels for, and
 * sets the non-type fields it improves) and its line in cpu.c's isa list. */
#ifndef SCARCE_CPU_H
#define SCARCE_CPU_H

#include <stddef.h>

#include "../quant/types.h"
#include "act_x16.h"
#include "gemm.h"
#include "ops.h"

/* ISA_AMX: the AVX-512 set with AMX tile products for large batches (x86/amx.h) */
typedef enum { ISA_SCALAR = 0, ISA_AVX2, ISA_AVX512, ISA_NEON, ISA_AMX, ISA_COUNT } isa_level;

struct x8_layout; /* kernels/repack.h */

enum { LUT_NONE = 0, LUT_ON = 1, LUT_OFF = 2 };

/* n elements of a block-32 type rewritten as n / 32 block_q8_0 (type_kernels.to_q8_0). */
typedef void (*to_q8_0_fn)(const void *src, void *dst, int64_t n);

/* One activation row in the dot type (cols columns) -> the row packed_tile reads instead,
 * at dst; returns its bytes (a multiple of 64; dst NULL: only the bytes). Lookup-table
 * kernels (kernels/lut.h) build their tables here, once per activation row and matmul. */
typedef size_t (*packed_act_fn)(const void *act, int64_t cols, void *dst);

/* The kernels of one format on one ISA. NULL / 0 fields: the format has none there. */
typedef struct type_kernels {
    vec_dot_fn vec_dot;           /* row dot; every weight format has one on every ISA */
    from_float_fn from_float;     /* activations -> this format, when it is a dot format
                                     (NULL for f32: activations are used as they are) */
    vec_dot_tile_fn vec_dot_tile; /* NULL: vec_dot per (row, token) */
    /* The 8-row interleaved copy made at load (kernels/repack.h): its layout and the kernel
     * on it. Matrices are packed only where the ISA has packed_tile. */
    const struct x8_layout *packed_layout;
    vec_dot_tile_fn packed_tile;
    /* NULL, or the token-lane kernel of batches of 16+ tokens on the packed layout
     * (act_x16.h; gemm_method GEMM_X16) */
    x16_gemm_fn packed_gemm;
    /* NULL, or the token-lane kernel of batches of 16+ tokens on the file layout's rows
     * (act_x16.h: x16 activations for a Q8_0 dot type, x16k for Q8_K) */
    x16_gemm_fn row_gemm;
    /* NULL: packed_tile takes dot_type rows; else the rows this makes of them (set with
     * packed_tile: the two go together) */
    packed_act_fn packed_act;
    /* packed_tile is a lookup-table kernel (kernels/lut.h): LUT_ON packs by default,
     * LUT_OFF only when the configuration asks for LUTs (kconfig.h lut, measured slower) */
    int lut;
    int gemm_i8x8; /* large batches repack each panel per batch (GEMM_I8X8, gemm.h) */
    /* Block-32 types whose codes are int8 values times the block's d (Q5_0, IQ4_NL): n
     * elements rewritten as Q8_0 blocks, exactly (same d, same values), so that GEMM_I8X8
     * runs them on Q8_0's packed kernel. NULL: the type's own packed_tile runs them. */
    to_q8_0_fn to_q8_0;
    dequantize_fn dequantize; /* fastest dequantizer, for the f32 GEMM panels */
} type_kernels;

/* Everything one ISA runs: per format (indexed by qtype_index), and the rest. */
typedef struct isa_kernels {
    type_kernels type[QT_COUNT];
    gemm_tile_fn gemm_tile; /* the f32 GEMM micro-kernel (GEMM_OWN) */
    ops_kernels ops;        /* attention and swiglu */
} isa_kernels;

/* isa: NULL = $SCARCE_ISA or the best available. Returns 0, or -1 when the requested ISA
 * is unknown or not supported by this CPU (msg, if not NULL, says why; 128 bytes). */
int kernels_init(const char *isa, char *msg);
/* The default ISA, chosen by kernels_init. */
isa_level kernels_isa(void);
const char *kernels_isa_name(isa_level isa);
/* How many of the features the avx512 kernels need (AVX-512 F, BW, VL, DQ, VNNI) this CPU
 * lacks: 0 = all there. names (size bytes, may be NULL) gets the missing ones, as
 * "avx512f/avx512vnni". */
int cpu_missing_avx512(char *names, size_t size);
/* 1 in test-emu512's build (Makefile: AVX-512 modelled on AVX2), where the kernels beyond
 * the base set (EMU_NATIVE_ONLY: FP8, GFNI k-quants, the 512-bit GEMMs) are not built. */
int kernels_avx512_emulated(void);
/* msg (128 bytes) = why `isa` cannot run here, naming the missing AVX-512 features. */
void kernels_explain_unsupported(isa_level isa, char *msg);
/* Best ISA the CPU supports. */
isa_level cpu_best_isa(void);
/* 1 when this CPU (and build) runs isa. */
int kernels_isa_supported(isa_level isa);

/* The table of an ISA, NULL when the CPU does not support it or kernels_init has not run. */
const isa_kernels *kernels_of(isa_level isa);
/* The kernels of format `type` on isa; NULL when the type is unknown or kernels_of is. */
const type_kernels *kernels_for(isa_level isa, uint32_t type);

/* Which ISA's code really runs: the ISA whose install function put the kernel that isa
 * runs for format `type` (its packed tile when packed, else its row tile, else vec_dot).
 * isa itself, or an ISA it builds on when isa has no kernel of its own for the format (an
 * avx512 set runs avx2 code for formats without an AVX-512 kernel). -1 when unknown. */
int kernels_origin(isa_level isa, uint32_t type, int packed);
/* The same for the kernel of large batches (packed_gemm when packed, else row_gemm; a
 * format rewritten as Q8_0 panels (to_q8_0): Q8_0's packed_gemm; with none of them,
 * kernels_origin's: its tiles run the batches). */
int kernels_batch_origin(isa_level isa, uint32_t type, int packed);
/* The same for attention. */
int kernels_ops_origin(isa_level isa);

/* For install functions only: sets the non-NULL (non-zero) fields of `with` as type's
 * kernels in k, keeping the others (those of the ISA k builds on). */
void kernels_set(isa_kernels *k, uint32_t type, type_kernels with);

#endif
