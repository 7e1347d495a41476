/* policy.c - per-tensor type choice: llama.cpp's rules for its mixes (looked up in
 * llama-quant.cpp, llama_tensor_get_type), our fallback when a row fits no block. */
#include "policy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "types.h"

/* Pure schemes: one per format that has a file type, named as the format, every matrix in
 * it (type_list.h gives its file_type). llama.cpp's output rule (output.weight gets Q6_K)
 * applies to its own quantized formats; float formats and ours are pure without exception.
 * Formats with no file type (-1: activation-only) are no scheme (skipped below). */
#define PURE_MIX(block, scarce) ((block) == 1 || (scarce) ? MIX_PURE : MIX_NONE)
static const quant_scheme schemes[] = {
#define QTYPE(NAME, fmt, id, block, bytes, ftype, scarce, dot, kind)                            \
    {#fmt, QT_##NAME, (uint32_t)(ftype), PURE_MIX(block, scarce)},
#include "type_list.h"
    /* llama.cpp's mixes */
    {"q2_k_m", QT_Q2_K, 10, MIX_Q2_K},
    {"q2_k_s", QT_Q2_K, 21, MIX_Q2_K_S},
    {"q3_k_s", QT_Q3_K, 11, MIX_Q3_K_S},
    {"q3_k_m", QT_Q3_K, 12, MIX_Q3_K_M},
    {"q3_k_l", QT_Q3_K, 13, MIX_Q3_K_L},
    {"q4_k_s", QT_Q4_K, 14, MIX_Q4_K_S},
    {"q4_k_m", QT_Q4_K, 15, MIX_Q4_K_M},
    {"q5_k_s", QT_Q5_K, 16, MIX_Q5_K_S},
    {"q5_k_m", QT_Q5_K, 17, MIX_Q5_K_M},
};
enum { N_SCHEMES = sizeof schemes / sizeof schemes[0] };

/* A format without a file type is no scheme. */
static int is_scheme(const quant_scheme *s) { return s->file_type != (uint32_t)-1; }

const quant_scheme *quant_scheme_at(int i) {
    for (int k = 0; k < N_SCHEMES; k++)
        if (is_scheme(&schemes[k]) && i-- == 0) return &schemes[k];
    return NULL;
}

const quant_scheme *quant_scheme_by_name(const char *name) {
    for (int i = 0; i < N_SCHEMES; i++)
        if (is_scheme(&schemes[i]) && !strcasecmp(schemes[i].name, name)) return &schemes[i];
    return NULL;
}

static int fits(uint32_t type, int64_t ne0) {
    const quant_type *t = qtype(type);
    return t && ne0 % t->block == 0;
}

uint32_t policy_fallback(uint32_t type, int64_t ne0) {
    if (fits(type, ne0)) return type;
    uint32_t next = QT_F16;
    switch (type) { /* llama.cpp's table: the block-32 type with at least the bits */
    case QT_Q2_K: case QT_Q3_K: next = QT_IQ4_NL; break;
    case QT_Q4_K: next = QT_Q5_0; break;
    case QT_Q5_K: next = QT_Q5_1; break;
    case QT_Q6_K: next = QT_Q8_0; break;
    default: break;
    }
    return fits(next, ne0) ? next : QT_F16;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third
 * layer in between get more bits in the _M mixes. */
static int use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static uint32_t attn_v_rule(int mix, const policy_model *pm, int i) {
    switch (mix) {
    case MIX_Q2_K: return pm->n_gqa >= 4 ? QT_Q4_K : QT_Q3_K;
    case MIX_Q2_K_S: return pm->n_gqa >= 4 ? QT_Q4_K : 0;
    case MIX_Q3_K_M: return i < 2 ? QT_Q5_K : QT_Q4_K;
    case MIX_Q3_K_L: return QT_Q5_K;
    case MIX_Q4_K_M: case MIX_Q5_K_M: return use_more_bits(i, pm->n_layer) ? QT_Q6_K : 0;
    case MIX_Q4_K_S: return i < 4 ? QT_Q5_K : 0;
    default: return 0;
    }
}

static uint32_t ffn_down_rule(const quant_scheme *s, const policy_model *pm, int i) {
    const int n = pm->n_layer;
    switch (s->mix) {
    case MIX_Q2_K: return QT_Q3_K;
    case MIX_Q2_K_S: return i < n / 8 ? QT_Q4_K : 0;
    case MIX_Q3_K_M: return i < n / 16 ? QT_Q5_K : QT_Q4_K;
    case MIX_Q3_K_L: return QT_Q5_K;
    case MIX_Q4_K_M: case MIX_Q5_K_M: return use_more_bits(i, n) ? QT_Q6_K : 0;
    case MIX_Q4_K_S: return i < n / 8 ? QT_Q5_K : 0;
    default: break;
    }
    if (s->base == QT_IQ4_NL && i < n / 8 && !pm->has_imatrix) return QT_Q5_K;
    if ((s->base == QT_Q4_0 || s->base == QT_Q5_0) && pm->has_imatrix && i < n / 8)
        return s->base == QT_Q4_0 ? QT_Q4_1 : QT_Q5_1;
    return 0;
}

static uint32_t attn_output_rule(int mix) {
    return mix == MIX_Q2_K ? QT_Q3_K : mix == MIX_Q3_K_M ? QT_Q4_K : mix == MIX_Q3_K_L ? QT_Q5_K : 0;
}

/* llama.cpp's upgrades of one tensor, or 0 for none; why in reason. */
static uint32_t mix_rule(const quant_scheme *s, const policy_model *pm, const char *name,
                         int64_t ne0, char *reason, size_t cap) {
    int layer = -1;
    sscanf(name, "blk.%d.", &layer);
    uint32_t t = 0;
    if (!strcmp(name, "output.weight") || (!pm->has_output && !strcmp(name, "token_embd.weight"))) {
        t = ne0 % qtype(s->base)->block ? QT_Q8_0 : s->base != QT_Q8_0 ? QT_Q6_K : 0;
        snprintf(reason, cap, "output");
    } else if (ends_with(name, "attn_v.weight") && layer >= 0) {
        if (s->base == QT_IQ4_NL && pm->n_gqa >= 4) t = QT_Q5_K;
        else t = attn_v_rule(s->mix, pm, layer);
        snprintf(reason, cap, "attn_v layer %d", layer);
    } else if (strstr(name, "ffn_down") && layer >= 0) {
        t = ffn_down_rule(s, pm, layer);
        snprintf(reason, cap, "ffn_down layer %d", layer);
    } else if (ends_with(name, "attn_output.weight")) {
        t = attn_output_rule(s->mix);
        snprintf(reason, cap, "attn_output");
    }
    if (!t || t == s->base) reason[0] = 0;
    return t == s->base ? 0 : t;
}

uint32_t policy_tensor_type(const quant_scheme *s, const policy_model *pm, const char *name,
                            int n_dims, int64_t ne0, char *reason, size_t cap) {
    reason[0] = 0;
    if (n_dims < 2) {
        snprintf(reason, cap, "1-D: kept f32");
        return QT_F32;
    }
    if (strstr(name, "ffn_gate_inp")) { /* the MoE router: small and decisive */
        snprintf(reason, cap, "router: kept f32");
        return QT_F32;
    }
    uint32_t want = s->base;
    if (s->mix != MIX_PURE && !pm->pure) {
        uint32_t up = mix_rule(s, pm, name, ne0, reason, cap);
        if (up) want = up;
    }
    uint32_t got = policy_fallback(want, ne0);
    if (got != want) {
        char rule[64];
        snprintf(rule, sizeof rule, "%s", reason);
        snprintf(reason, cap, "%s%sne0 %lld %% %d != 0: fallback %s -> %s", rule,
                 rule[0] ? "; " : "", (long long)ne0, qtype(want)->block, qtype(want)->name,
                 qtype(got)->name);
    } else if (reason[0]) {
        char rule[64];
        snprintf(rule, sizeof rule, "%s", reason);
        snprintf(reason, cap, "%s: %s", rule, qtype(got)->name);
    }
    return got;
}
