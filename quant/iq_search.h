/* iq_search.h - the quantizer search the codebook (IQ2 / IQ3) formats share (iq_search.c).
 * Values are fitted in "magnitude space": targets t = |x| with the signs stored apart, so
 * every grid value is non-negative and a scale dl >= 0 maps grid entries onto t. */
#ifndef SCARCE_IQ_SEARCH_H
#define SCARCE_IQ_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "iq_unpack.h"

typedef struct {
    const uint64_t *grid64; /* entries of 8 values, or */
    const uint32_t *grid32; /* entries of 4 values */
    int n_entries;
} iq_grid;

/* Width (values per entry) of g. */
static inline int iq_width(const iq_grid *g) {
    return g->grid64 ? 8 : 4;
}

/* Signs of a group of 8 x and its targets t: bit j of the result set when x_j < 0. With
 * parity (IQ2_XXS, IQ2_XS, IQ3_XXS store 7 bits, the 8th makes the count of negatives
 * even), an odd count flips the sign of the element with the least w x^2, whose target
 * becomes -|x| (ggml's rule). */
uint8_t iq_signs(const float *x, const float *w, int parity, float *t);
/* The grid as a prefix tree over its values, element width - 1 first: level[] the distinct
 * values; digit[e][j] the level of entry e's element j; child[node n_levels + l] the child
 * of a node for level l of its element (a node, at the last element an entry; -1 none),
 * node 0 the root. iq_tree_init returns -1 (n_levels then 0: search by scanning) for a grid
 * it cannot hold (> IQ_TREE_MAX entries, > IQ_MAX_LEVELS values, > IQ_TREE_SLOTS slots). */
enum { IQ_TREE_MAX = 1024, IQ_MAX_LEVELS = 8, IQ_TREE_SLOTS = 8192 };
typedef struct {
    const iq_grid *grid;
    int width, n_levels; /* n_levels 0: search by scanning every entry */
    uint8_t level[IQ_MAX_LEVELS];
    uint8_t digit[IQ_TREE_MAX][8];
    int16_t child[IQ_TREE_SLOTS];
} iq_tree;
int iq_tree_init(iq_tree *tr, const iq_grid *g);

/* Entries for the n targets (n / width groups) at scale dl; returns the weighted error.
 * iq_fit searches the tree, iq_fit_scan tries every entry: the same entries and error. */
double iq_fit(const iq_tree *tr, int n, const float *t, const float *w, float dl, int *entry);
double iq_fit_scan(const iq_grid *g, int n, const float *t, const float *w, float dl, int *entry);
/* Super-block of nsub sub-blocks of sub_n targets, each with a scale dl = d unit (2 s + 1),
 * s in 0..smax: searches each sub-block's float scale, then d (returned as fp16 bits) and
 * each s (among its rounding and neighbours), with the entries for them. */
uint16_t iq_fit_super(const iq_tree *tr, int nsub, int sub_n, const float *t, const float *w,
                      float unit, int smax, int *s, int *entry);

/* --- the whole format: every codebook format is its unpack + factor, and for quantizing
 * its grid, sign rule, scale unit and a pack function --- */

/* n values of blocks of `bytes` bytes (fp16 d first): x = d ls factor magnitude sign. */
void iq_dequantize(const void *src, float *dst, int64_t n, size_t bytes, iq_unpack_fn unpack,
                   float factor);

typedef struct {
    iq_grid grid;
    int parity; /* signs stored as 7 bits + parity (iq_signs) */
    int sub_n;  /* values per scale: 32, or 16 (IQ2_XS, IQ2_S) */
    float unit; /* dl = d unit (2 s + 1), s in 0..15 */
    /* writes one block: d (fp16 bits), the QK_K / sub_n scales s, one grid entry per 8 or 4
     * values, the 32 sign bytes (bit j: element j of the group negative) */
    void (*pack)(void *block, uint16_t d, const int *s, const int *entry, const uint8_t *signs);
} iq_format;

void iq_quantize(const iq_format *f, const float *src, void *dst, int64_t n, size_t bytes,
                 const float *importance);

#endif
