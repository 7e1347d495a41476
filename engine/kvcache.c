/* kvcache.c - per-layer K/V rows, one contiguous allocation each. */
#include "kvcache.h"

#include <stdint.h>
#include <stdlib.h>

int kvcache_init(kvcache *c, int n_layer, int n_ctx, int kv_dim, int v_dim, scarce_error *err) {
    *c = (kvcache){.n_layer = n_layer, .n_ctx = n_ctx, .kv_dim = kv_dim, .v_dim = v_dim};
    size_t n = (size_t)n_layer * n_ctx * kv_dim, nv = (size_t)n_layer * n_ctx * v_dim;
    if (n_layer <= 0 || n_ctx <= 0 || kv_dim <= 0 || v_dim < 0 || n > SIZE_MAX / 8 ||
        nv > SIZE_MAX / 8)
        return scarce_fail(err, "kv cache: bad size %d layers x %d positions x %d + %d", n_layer,
                           n_ctx, kv_dim, v_dim);
    c->k = calloc(n, sizeof(float));
    c->v = nv ? calloc(nv, sizeof(float)) : NULL;
    if (!c->k || (nv && !c->v)) {
        kvcache_free(c);
        return scarce_fail(err, "kv cache: cannot allocate %zu MB", (n + nv) * 4 >> 20);
    }
    return 0;
}

void kvcache_free(kvcache *c) {
    free(c->k);
    free(c->v);
    c->k = c->v = NULL;
}

float *kvcache_k(const kvcache *c, int l, int pos) {
    return c->k + ((size_t)l * c->n_ctx + pos) * c->kv_dim;
}

float *kvcache_v(const kvcache *c, int l, int pos) {
    return c->v ? c->v + ((size_t)l * c->n_ctx + pos) * c->v_dim : NULL;
}

size_t kvcache_bytes_per_pos(const kvcache *c) {
    return (size_t)c->n_layer * (c->kv_dim + c->v_dim) * sizeof(float);
}

void kvcache_truncate(kvcache *c, int n_pos) {
    if (n_pos >= 0 && n_pos < c->n_pos) c->n_pos = n_pos;
}
