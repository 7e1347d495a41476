/* type_list.h - THE list of number formats: one line per format. Everything else that
 * enumerates formats is generated from it or reads the table built from it:
 *   quant/types.h    the QT_<NAME> ids (and QT_INDEX_<NAME>, QT_COUNT)
 *   quant/types.c    the table rows (qtype, qtype_by_name, qtype_at)
 *   quant/formats.h  the declarations of dequantize_<fmt> / quantize_<fmt>
 *   quant/policy.c   the pure quantization schemes ("q4_0", "f16" ...) and their file_type
 *   tools/           mkmodel's general.file_type and sweep's list read the table
 * The kernels of a format are not here: kernels/ keeps them per ISA (kernels/cpu.h,
 * kernels_for), filled by one install function per ISA.
 *
 * Include it after defining QTYPE(NAME, fmt, id, block, bytes, ftype, scarce, dot, kind);
 * it undefines QTYPE at its end. Columns:
 *   NAME    the id is QT_NAME
 *   fmt     lower-case name (files, command line) and the suffix of the format's functions:
 *           dequantize_<fmt> and quantize_<fmt> (quant/<fmt>.c), vec_dot_<fmt>_ref (kernels/ref/)
 *   id      GGUF/ggml type id: ggml's for ggml types, ours from 200 (need scarce.types)
 *   block   elements per block (1 for f32/f16/bf16); bytes: bytes per block
 *   ftype   general.file_type of a file whose matrices are all this type (llama.cpp's
 *           LLAMA_FTYPE_MOSTLY_*, as its loader guesses it; ours from 200), -1 for none
 *   scarce  1 for our own formats
 *   dot     the activation format of its dot products: QT_<dot> (F32, Q8_0, Q8_K)
 *   kind    W: matrices are stored in it (needs a reference dot, kernels/ref/), A: it is some
 *           weight format's dot format (needs from_float unless F32), WA: both
 *
 * Adding a format touches exactly:
 *   1. quant/type_list.h    its line here
 *   2. quant/blocks.h       its block struct and size check (unless it shares one)
 *   3. quant/<fmt>.c        dequantize_<fmt> and quantize_<fmt> (the scalar spec)
 *   4. kernels/ref/         vec_dot_<fmt>_ref in a dot_*.c, declared in ref.h, and one
 *      (3 places)           kernels_set line in ref_install (install.c)
 *   optional, per ISA: its SIMD kernels in kernels/x86/ (declared in avx2.h) or kernels/arm/,
 *   and their kernels_set line in that ISA's install function; an 8-row packed layout is an
 *   x8_layout (kernels/repack.h, with its reference tile in kernels/ref/repack_ref.c).
 * tests/test_type_table.c then checks the new row has every field its kind requires. */

// clang-format off
/*     NAME      fmt       id   block bytes ftype scarce dot   kind */
QTYPE(F32,      f32,      0,   1,    4,    0,    0,     F32,  WA)
QTYPE(F16,      f16,      1,   1,    2,    1,    0,     F32,  W)
QTYPE(BF16,     bf16,     30,  1,    2,    32,   0,     F32,  W)
/* block-32 integer formats: activations in Q8_0 (Q4_1 / Q5_1 too: their dot products take
 * the activation block sums from the Q8_0 codes, so no Q8_1 is needed) */
QTYPE(Q8_0,     q8_0,     8,   32,   34,   7,    0,     Q8_0, WA)
QTYPE(Q4_0,     q4_0,     2,   32,   18,   2,    0,     Q8_0, W)
QTYPE(Q4_1,     q4_1,     3,   32,   20,   3,    0,     Q8_0, W)
QTYPE(Q5_0,     q5_0,     6,   32,   22,   8,    0,     Q8_0, W)
QTYPE(Q5_1,     q5_1,     7,   32,   24,   9,    0,     Q8_0, W)
QTYPE(IQ4_NL,   iq4_nl,   20,  32,   18,   25,   0,     Q8_0, W)
/* FP4: E2M1 codes with one E8M0 exponent per block of 32 (OCP MX); llama.cpp names a file
 * of it MXFP4_MOE (38) */
QTYPE(MXFP4,    mxfp4,    39,  32,   17,   38,   0,     Q8_0, W)
/* FP4: 4 sub-blocks of 16 E2M1 codes, each with a UE4M3 scale (NVIDIA's NVFP4) */
QTYPE(NVFP4,    nvfp4,    40,  64,   36,   39,   0,     Q8_0, W)
/* llama.cpp's 1-bit: signs of 128 values times one fp16 d; activations in Q8_0 (4 blocks) */
QTYPE(Q1_0,     q1_0,     41,  128,  18,   40,   0,     Q8_0, W)
/* llama.cpp's 2-bit: 64 codes -1..2 times one fp16 d; activations in Q8_0 (2 blocks) */
QTYPE(Q2_0,     q2_0,     42,  64,   18,   41,   0,     Q8_0, W)
/* K-quants: super-blocks of 256, activations in Q8_K. A file of Q3_K/Q4_K/Q5_K matrices is
 * llama.cpp's _M file type (its loader's guess, and llama-quantize's alias for the name). */
QTYPE(Q2_K,     q2_k,     10,  256,  84,   10,   0,     Q8_K, W)
QTYPE(Q3_K,     q3_k,     11,  256,  110,  12,   0,     Q8_K, W)
QTYPE(Q4_K,     q4_k,     12,  256,  144,  15,   0,     Q8_K, W)
QTYPE(Q5_K,     q5_k,     13,  256,  176,  17,   0,     Q8_K, W)
QTYPE(Q6_K,     q6_k,     14,  256,  210,  18,   0,     Q8_K, W)
QTYPE(Q8_K,     q8_k,     15,  256,  292,  -1,   0,     Q8_K, A)
/* IQ4_NL's grid with a 6-bit scale per sub-block of 32 (4.25 bits/weight) */
QTYPE(IQ4_XS,   iq4_xs,   23,  256,  136,  30,   0,     Q8_K, W)
/* codebooks: groups of 8 (or 4) values from a fixed grid, signs apart, 4-bit scales */
QTYPE(IQ2_XXS,  iq2_xxs,  16,  256,  66,   19,   0,     Q8_K, W)
QTYPE(IQ2_XS,   iq2_xs,   17,  256,  74,   20,   0,     Q8_K, W)
QTYPE(IQ2_S,    iq2_s,    22,  256,  82,   28,   0,     Q8_K, W)
QTYPE(IQ3_XXS,  iq3_xxs,  18,  256,  98,   23,   0,     Q8_K, W)
QTYPE(IQ3_S,    iq3_s,    21,  256,  110,  26,   0,     Q8_K, W)
/* 1.5 / 1.75 bits: groups of 8 from a grid of {-1, 0, 1} values, shifted by +-1/8 */
QTYPE(IQ1_S,    iq1_s,    19,  256,  50,   24,   0,     Q8_K, W)
QTYPE(IQ1_M,    iq1_m,    29,  256,  56,   31,   0,     Q8_K, W)
/* ternary (BitNet b1.58): x = d t, t in {-1, 0, 1}; 2 bits per code, or 5 codes per byte */
QTYPE(TQ2_0,    tq2_0,    35,  256,  66,   37,   0,     Q8_K, W)
QTYPE(TQ1_0,    tq1_0,    34,  256,  54,   36,   0,     Q8_K, W)
/* scarce's own: FP8 is 32 x E4M3 / E5M2 + an fp16 scale; q2_0_32 (called q2_0 before
 * llama.cpp took the name for its id 42) is 2-bit, block 32, for rows
 * that are not multiples of 256 */
QTYPE(FP8_E4M3, fp8_e4m3, 200, 32,   34,   200,  1,     Q8_0, W)
QTYPE(FP8_E5M2, fp8_e5m2, 201, 32,   34,   201,  1,     Q8_0, W)
QTYPE(Q2_0_32,  q2_0_32,  202, 32,   12,   202,  1,     Q8_0, W)
/* Q4_1's nibbles with f32 d and m (6 bits/weight), multiplied with f32 activations (not
 * Q8_0 codes): the speculative draft's format (engine/draft_quant.h), where the
 * activations' 8-bit rounding cost acceptance */
QTYPE(Q4_1_F32, q4_1_f32, 203, 32,   24,   203,  1,     F32,  W)
// clang-format on

#undef QTYPE
