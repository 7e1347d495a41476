/* kvcache.h - per-layer key/value storage: n_ctx positions of n_head_kv*head_dim floats.
 * n_pos is the number of positions filled; truncating rolls the cache back (speculative
 * decoding rejects drafted tokens this way). */
#ifndef SCARCE_KVCACHE_H
#define SCARCE_KVCACHE_H

#include "error.h"

typedef struct {
    int n_layer, n_ctx, kv_dim; /* kv_dim = n_head_kv * head_dim */
    int n_pos;
    float *k, *v; /* [n_layer][n_ctx][kv_dim] */
} kvcache;

int kvcache_init(kvcache *c, int n_layer, int n_ctx, int kv_dim, scarce_error *err);
void kvcache_free(kvcache *c);
/* Row of position pos in layer l. */
float *kvcache_k(const kvcache *c, int l, int pos);
float *kvcache_v(const kvcache *c, int l, int pos);
/* Forget every position >= n_pos. */
void kvcache_truncate(kvcache *c, int n_pos);

#endif
