/* kvcache.h - per-layer key/value storage: n_ctx positions of k_dim keys and v_dim values
 * (n_head_kv*head_dim each for ordinary attention; for latent attention (engine/mla.c) one
 * row of kv_lora_rank + n_rot per position and no values: v_dim = 0). n_pos is the number
 * of positions filled; truncating rolls the cache back (speculative decoding rejects
 * drafted tokens this way). */
#ifndef SCARCE_KVCACHE_H
#define SCARCE_KVCACHE_H

#include <stddef.h>

#include "error.h"

typedef struct {
    int n_layer, n_ctx;
    int kv_dim; /* floats per key row (n_head_kv * head_dim, or the latent's width) */
    int v_dim;  /* floats per value row (0: the cache holds keys only) */
    int n_pos;
    float *k, *v; /* [n_layer][n_ctx][kv_dim], [n_layer][n_ctx][v_dim] (NULL when v_dim = 0) */
} kvcache;

int kvcache_init(kvcache *c, int n_layer, int n_ctx, int kv_dim, int v_dim, scarce_error *err);
void kvcache_free(kvcache *c);
/* Row of position pos in layer l. */
float *kvcache_k(const kvcache *c, int l, int pos);
float *kvcache_v(const kvcache *c, int l, int pos);
/* Bytes one position takes over all layers. */
size_t kvcache_bytes_per_pos(const kvcache *c);
/* Forget every position >= n_pos. */
void kvcache_truncate(kvcache *c, int n_pos);

#endif
