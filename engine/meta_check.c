/* meta_check.c - cross-checks of metadata against metadata and tensors (meta_check.h). */
#include "meta_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The N of a "blk.N.<rest>" tensor name, or -1. */
static long layer_of(const char *name) {
    if (strncmp(name, "blk.", 4) != 0) return -1;
    long n = 0;
    const char *p = name + 4;
    for (; *p >= '0' && *p <= '9' && n <= (1L << 24); p++) n = n * 10 + (*p - '0');
    return p > name + 4 && *p == '.' ? n : -1;
}

int meta_check_block_count(const gguf_file *f, const model_config *c, scarce_error *err) {
    long last = -1;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        long l = layer_of(f->tensors[i].name);
        if (l > last) last = l;
    }
    if (last + 1 != c->n_layer)
        return scarce_fail(err,
                           "%s: %s.block_count = %d, but the tensors are of %ld layers "
                           "(blk.0 .. blk.%ld)",
                           f->path, c->arch, c->n_layer, last + 1, last);
    return 0;
}

/* "key = value" must hold lo <= value (or lo < value when open) and be finite */
static int check_float(const gguf_file *f, const model_config *c, const char *suffix, float v,
                       float lo, int open, scarce_error *err) {
    if (isfinite(v) && (open ? v > lo : v >= lo)) return 0;
    return scarce_fail(err, "%s: %s.%s = %g, expected a finite number %s %g", f->path, c->arch,
                       suffix, v, open ? ">" : ">=", lo);
}

/* Every float key of the architecture is a finite number: a NaN rope.scaling.factor would
 * otherwise read as "no scaling" (factor > 0 is false), a NaN yarn_log_multiplier would be
 * reported under the attn_factor it spoils. */
static int check_float_keys(const gguf_file *f, const model_config *c, scarce_error *err) {
    const size_t n = strlen(c->arch);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        if ((kv->type != GGUF_F32 && kv->type != GGUF_F64) || strncmp(kv->key, c->arch, n) ||
            kv->key[n] != '.' || isfinite(kv->f64))
            continue;
        return scarce_fail(err, "%s: %s = %g, expected a finite number", f->path, kv->key, kv->f64);
    }
    return 0;
}

int meta_check_config(const gguf_file *f, const model_config *c, scarce_error *err) {
    if (check_float_keys(f, c, err) ||
        check_float(f, c, "attention.layer_norm_rms_epsilon", c->rms_eps, 0.0f, 1, err) ||
        check_float(f, c, "rope.freq_base", c->rope_freq_base, 0.0f, 1, err) ||
        check_float(f, c, "rope.scaling.factor", c->rope_freq_scale, 0.0f, 1, err) ||
        check_float(f, c, "rope.scaling.attn_factor", c->rope_attn_factor, 0.0f, 1, err) ||
        check_float(f, c, "attn_logit_softcapping", c->attn_softcap, 0.0f, 0, err) ||
        check_float(f, c, "final_logit_softcapping", c->final_softcap, 0.0f, 0, err))
        return -1;
    /* finite keys can still multiply out of range: YaRN's mscale with a yarn_log_multiplier
     * of 1e30 squares to inf (found by test_hostile_sweep) */
    if (!(isfinite(c->attn_scale) && c->attn_scale > 0.0f && isfinite(c->rope_attn_factor)))
        return scarce_fail(err,
                           "%s: attention scale %g / rope attn_factor %g: %s.rope.scaling.factor, "
                           "attn_factor and yarn_log_multiplier give no finite positive scale",
                           f->path, c->attn_scale, c->rope_attn_factor, c->arch);
    char key[128];
    snprintf(key, sizeof key, "%s.attention.sliding_window", c->arch);
    if (gguf_find(f, key) && c->n_swa > c->n_ctx_train)
        return scarce_fail(err, "%s: %s = %d is wider than %s.context_length %d", f->path, key,
                           c->n_swa, c->arch, c->n_ctx_train);
    return 0;
}

int meta_check_vocab(const gguf_file *f, int64_t n_vocab, scarce_error *err) {
    const gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
    if (tokens && tokens->type == GGUF_ARRAY && tokens->arr_n != (uint64_t)n_vocab)
        return scarce_fail(err,
                           "%s: tokenizer.ggml.tokens has %llu pieces, token_embd.weight "
                           "%lld rows",
                           f->path, (unsigned long long)tokens->arr_n, (long long)n_vocab);
    return 0;
}
