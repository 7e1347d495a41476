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
#define QTYPE(NAME, fmt, id, block, bytes, ftype, scarce, dot, kind)                               \
    {#fmt, QT_##NAME, (uint32_t)(ftype), PURE_MIX(block, scarce)},
#include "type_list.h"
    /* llama.cpp's mixes */
    {"q2_k_m", QT_Q2_K, 10, MIX_Q2_K},          {"q2_k_s", QT_Q2_K, 21, MIX_Q2_K_S},
    {"q3_k_s", QT_Q3_K, 11, MIX_Q3_K_S},        {"q3_k_m", QT_Q3_K, 12, MIX_Q3_K_M},
    {"q3_k_l", QT_Q3_K, 13, MIX_Q3_K_L},        {"q4_k_s", QT_Q4_K, 14, MIX_Q4_K_S},
    {"q4_k_m", QT_Q4_K, 15, MIX_Q4_K_M},        {"q5_k_s", QT_Q5_K, 16, MIX_Q5_K_S},
    {"q5_k_m", QT_Q5_K, 17, MIX_Q5_K_M},        {"iq2_m", QT_IQ2_S, 29, MIX_IQ2_M},
    {"iq3_xs", QT_IQ3_S, 22, MIX_IQ3_XS},       {"iq3_m", QT_IQ3_S, 27, MIX_IQ3_M},
    {"mxfp4_moe", QT_MXFP4, 38, MIX_MXFP4_MOE},
};
enum { N_SCHEMES = sizeof schemes / sizeof schemes[0] };

/* A format without a file type is no scheme. */
static int is_scheme(const quant_scheme *s) {
    return s->file_type != (uint32_t)-1;
}

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
    switch (type) { /* llama.cpp's table (tensor_type_fallback): a block-32 type */
    case QT_Q1_0:
        /* llama.cpp has no fallback for Q1_0 (it refuses the file: "no tensor type fallback
         * is defined for type q1_0"); ours is the next lowest standard type whose block fits,
         * Q2_0 (64, 2.25 bits), then Q2_0's own fallback, so a 1-bit file stays near 2 bits
         * on SmolLM2's 576-wide rows instead of keeping them in f16 (11.5 bits a weight) */
        next = fits(QT_Q2_0, ne0) ? QT_Q2_0 : QT_Q4_0;
        break;
    case QT_IQ1_S:
    case QT_IQ1_M:
    case QT_IQ2_XXS:
    case QT_IQ2_XS:
    case QT_IQ2_S:
    case QT_IQ3_XXS:
    case QT_IQ3_S:
    case QT_IQ4_XS:
        next = QT_IQ4_NL;
        break;
    case QT_Q2_0:
    case QT_Q2_K:
    case QT_Q3_K:
    case QT_TQ1_0:
    case QT_TQ2_0:
        next = QT_Q4_0;
        break;
    case QT_Q4_K:
        next = QT_Q5_0;
        break;
    case QT_Q5_K:
        next = QT_Q5_1;
        break;
    case QT_Q6_K:
        next = QT_Q8_0;
        break;
    default:
        break;
    }
    return fits(next, ne0) ? next : QT_F16;
}

/* llama.cpp's file types (LLAMA_FTYPE_MOSTLY_*), whose per-tensor rules are ported below */
enum {
    FT_NONE = 0,
    FT_Q4_0 = 2,
    FT_Q5_0 = 8,
    FT_Q2_K = 10,
    FT_Q3_K_S = 11,
    FT_Q3_K_M = 12,
    FT_Q3_K_L = 13,
    FT_Q4_K_S = 14,
    FT_Q4_K_M = 15,
    FT_Q5_K_S = 16,
    FT_Q5_K_M = 17,
    FT_IQ2_XXS = 19,
    FT_IQ2_XS = 20,
    FT_Q2_K_S = 21,
    FT_IQ3_XS = 22,
    FT_IQ3_XXS = 23,
    FT_IQ1_S = 24,
    FT_IQ4_NL = 25,
    FT_IQ3_S = 26,
    FT_IQ3_M = 27,
    FT_IQ2_S = 28,
    FT_IQ2_M = 29,
    FT_IQ4_XS = 30,
    FT_IQ1_M = 31,
    FT_TQ1_0 = 36,
    FT_TQ2_0 = 37,
    FT_MXFP4_MOE = 38,
    FT_Q2_0 = 41
};

/* Whose rules a scheme follows: a mix its own file type's; a plain scheme of a llama.cpp
 * format the file type of that name (q4_0, iq2_xxs, tq1_0 ...: llama.cpp's file type of the
 * same name is that format plus these rules), except the plain K-quants and mxfp4, whose
 * llama.cpp namesakes are mixes (q2_k_m, q4_k_m, mxfp4_moe): output rule only. */
static int rules_of(const quant_scheme *s) {
    if (s->mix != MIX_NONE) return (int)s->file_type;
    switch (s->base) {
    case QT_Q2_K:
    case QT_Q3_K:
    case QT_Q4_K:
    case QT_Q5_K:
    case QT_Q6_K:
    case QT_MXFP4:
        return FT_NONE;
    default:
        return (int)s->file_type;
    }
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third
 * layer in between get more bits in the _M mixes. */
static int use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* llama.cpp's tensor categories (tensor_get_category: the first match in this order) */
enum {
    C_OTHER,
    C_OUTPUT,
    C_TOKEN_EMBD,
    C_ATTN_V,
    C_ATTN_K,
    C_ATTN_Q,
    C_ATTN_OUT,
    C_FFN_UP,
    C_FFN_GATE,
    C_FFN_DOWN
};

static int category(const char *name) {
    if (!strcmp(name, "output.weight")) return C_OUTPUT;
    if (!strcmp(name, "token_embd.weight")) return C_TOKEN_EMBD;
    /* attn_qkv and attn_kv_b are "attn_v-like": the same rules as attn_v */
    if (strstr(name, "attn_qkv.weight") || strstr(name, "attn_kv_b.weight") ||
        strstr(name, "attn_v.weight"))
        return C_ATTN_V;
    if (strstr(name, "attn_k.weight")) return C_ATTN_K;
    if (strstr(name, "attn_q.weight")) return C_ATTN_Q;
    if (strstr(name, "attn_output.weight")) return C_ATTN_OUT;
    if (strstr(name, "ffn_up")) return C_FFN_UP;
    if (strstr(name, "ffn_gate")) return C_FFN_GATE;
    if (strstr(name, "ffn_down")) return C_FFN_DOWN;
    return C_OTHER;
}

static int is_ft(int ft, const int *list, int n) {
    for (int i = 0; i < n; i++)
        if (list[i] == ft) return 1;
    return 0;
}
#define FT_IN(ft, ...)                                                                             \
    is_ft(ft, (const int[]){__VA_ARGS__}, sizeof((int[]){__VA_ARGS__}) / sizeof(int))

/* the 1-2 bit IQ file types, which share their rules for attn_v, ffn_down, attn_output */
static int low_iq(int ft) {
    return FT_IN(ft, FT_IQ2_XXS, FT_IQ2_XS, FT_IQ1_S, FT_IQ2_S, FT_IQ2_M, FT_IQ1_M);
}

static uint32_t output_rule(int ft, uint32_t base, int64_t ne0) {
    if (ft == FT_MXFP4_MOE || ne0 % qtype(base)->block) return QT_Q8_0;
    if (FT_IN(ft, FT_IQ2_XXS, FT_IQ2_XS, FT_IQ3_XXS, FT_IQ1_S, FT_IQ2_S, FT_IQ2_M, FT_IQ1_M))
        return QT_Q5_K;
    return base != QT_Q8_0 ? QT_Q6_K : 0;
}

static uint32_t token_embd_rule(int ft) {
    if (FT_IN(ft, FT_IQ2_XXS, FT_IQ2_XS, FT_IQ1_S, FT_IQ1_M)) return QT_Q2_K;
    if (FT_IN(ft, FT_IQ2_S, FT_IQ2_M, FT_IQ3_XXS)) return QT_IQ3_S;
    if (FT_IN(ft, FT_TQ1_0, FT_TQ2_0, FT_Q2_0)) return QT_Q4_K;
    return 0;
}

/* attn_v, ffn_down and attn_output of the 1-2 bit IQ file types */
static uint32_t low_iq_rule(int ft, int cat, const policy_model *pm, int layer) {
    const int s_or_m = ft == FT_IQ2_S || ft == FT_IQ2_M;
    switch (cat) {
    case C_ATTN_V:
        return pm->n_gqa >= 4 || pm->n_expert >= 4 ? QT_Q4_K : s_or_m ? QT_IQ3_S : QT_Q2_K;
    case C_ATTN_K:
        return pm->n_expert == 8 ? QT_Q4_K : 0;
    case C_FFN_DOWN:
        return layer < pm->n_layer / 8 ? (s_or_m ? QT_IQ3_S : QT_Q2_K) : 0;
    case C_ATTN_OUT:
        if (pm->n_expert == 8) return QT_Q5_K;
        return ft == FT_IQ1_S || ft == FT_IQ1_M ? QT_IQ2_XXS : s_or_m ? QT_IQ3_S : 0;
    default:
        return 0;
    }
}

static uint32_t attn_v_rule(int ft, const policy_model *pm, int i) {
    const int gqa4 = pm->n_gqa >= 4;
    uint32_t t = 0;
    if (ft == FT_Q2_K)
        t = gqa4 ? QT_Q4_K : QT_Q3_K;
    else if (ft == FT_Q2_K_S && gqa4)
        t = QT_Q4_K;
    else if (ft == FT_IQ3_XXS)
        t = gqa4 ? QT_Q4_K : !pm->has_imatrix ? QT_IQ3_S : 0;
    else if (FT_IN(ft, FT_IQ3_XS, FT_IQ3_S) && gqa4)
        t = QT_Q4_K;
    else if (ft == FT_IQ3_M)
        t = QT_Q4_K;
    else if (ft == FT_Q3_K_M)
        t = i < 2 ? QT_Q5_K : QT_Q4_K;
    else if (ft == FT_Q3_K_L)
        t = QT_Q5_K;
    else if (FT_IN(ft, FT_IQ4_NL, FT_IQ4_XS) && gqa4)
        t = QT_Q5_K;
    else if (FT_IN(ft, FT_Q4_K_M, FT_Q5_K_M) && use_more_bits(i, pm->n_layer))
        t = QT_Q6_K;
    else if (ft == FT_Q4_K_S && i < 4)
        t = QT_Q5_K;
    /* (llama.cpp also lifts Q3_K/Q4_K to Q5_K on 70B models: a model-size class we do not
     * read) */
    return pm->n_expert == 8 ? QT_Q8_0 : t;
}

static uint32_t ffn_down_rule(int ft, const policy_model *pm, int i) {
    const int n = pm->n_layer;
    switch (ft) {
    case FT_Q2_K:
        return QT_Q3_K;
    case FT_Q2_K_S:
        return i < n / 8 ? QT_Q4_K : 0;
    case FT_IQ3_XXS:
        return pm->has_imatrix ? 0 : i < n / 8 ? QT_Q4_K : QT_Q3_K;
    case FT_Q3_K_M:
        return i < n / 16 ? QT_Q5_K : QT_Q4_K;
    case FT_IQ3_M:
        return i < n / 8 || (pm->n_expert == 8 && use_more_bits(i, n)) ? QT_Q4_K : 0;
    case FT_Q3_K_L:
        return QT_Q5_K;
    case FT_Q4_K_M:
        return use_more_bits(i, n) ? QT_Q6_K : 0;
    case FT_IQ4_NL:
    case FT_IQ4_XS:
        return i < n / 8 && !pm->has_imatrix ? QT_Q5_K : 0;
    case FT_Q5_K_M:
        return use_more_bits(i, n) ? QT_Q6_K : 0;
    case FT_Q4_K_S:
        return i < n / 8 ? QT_Q5_K : 0;
    case FT_Q4_0:
        return pm->has_imatrix && i < n / 8 ? QT_Q4_1 : 0;
    case FT_Q5_0:
        return pm->has_imatrix && i < n / 8 ? QT_Q5_1 : 0;
    default:
        return 0;
    }
}

static uint32_t attn_output_rule(int ft, const policy_model *pm) {
    if (pm->n_expert == 8)
        return FT_IN(ft, FT_Q2_K, FT_IQ3_XS, FT_IQ3_XXS, FT_Q3_K_S, FT_Q3_K_M, FT_IQ4_NL, FT_Q4_K_S,
                     FT_Q4_K_M, FT_IQ3_S, FT_IQ3_M, FT_IQ4_XS)
                   ? QT_Q5_K
                   : 0;
    switch (ft) {
    case FT_Q2_K:
        return QT_Q3_K;
    case FT_IQ3_XXS:
        return QT_IQ3_S;
    case FT_Q3_K_M:
    case FT_IQ3_M:
        return QT_Q4_K;
    case FT_Q3_K_L:
        return QT_Q5_K;
    default:
        return 0;
    }
}

/* "blk.3.attn_v.weight" -> "attn_v layer 3" */
static void layer_reason(const char *name, int layer, char *reason, size_t cap) {
    const char *dot = strchr(name, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    if (dot)
        snprintf(reason, cap, "%.*s layer %d", (int)strcspn(dot + 1, "."), dot + 1, layer);
    else
        snprintf(reason, cap, "layer %d", layer);
}

/* llama.cpp's choice for one tensor (llama_tensor_get_type_impl), 0 for the base; why in
 * reason. */
static uint32_t mix_rule(const quant_scheme *s, const policy_model *pm, const char *name,
                         int n_dims, int64_t ne0, char *reason, size_t cap) {
    const int ft = rules_of(s), cat = category(name);
    int layer = -1;
    sscanf(name, "blk.%d.", &layer);
    uint32_t t = 0;
    if (cat == C_OUTPUT || (!pm->has_output && cat == C_TOKEN_EMBD)) {
        t = output_rule(ft, s->base, ne0);
        snprintf(reason, cap, "output");
    } else if (ft == FT_MXFP4_MOE) { /* experts (3-D) in MXFP4, the rest in Q8_0 */
        t = n_dims == 3 ? QT_MXFP4 : QT_Q8_0;
        snprintf(reason, cap, n_dims == 3 ? "expert" : "not an expert");
    } else if (cat == C_TOKEN_EMBD) {
        t = token_embd_rule(ft);
        snprintf(reason, cap, "token_embd");
    } else if (layer >= 0 && low_iq(ft)) {
        t = low_iq_rule(ft, cat, pm, layer);
        layer_reason(name, layer, reason, cap);
    } else if (layer >= 0) {
        switch (cat) {
        case C_ATTN_V:
            t = attn_v_rule(ft, pm, layer);
            break;
        case C_ATTN_K:
            t = pm->n_expert == 8  ? QT_Q8_0
                : ft == FT_IQ3_XS  ? QT_IQ3_XXS
                : ft == FT_IQ3_XXS ? QT_IQ2_S
                                   : 0;
            break;
        case C_ATTN_Q:
            t = ft == FT_IQ3_XS ? QT_IQ3_XXS : ft == FT_IQ3_XXS ? QT_IQ2_S : 0;
            break;
        case C_FFN_DOWN:
            t = ffn_down_rule(ft, pm, layer);
            break;
        case C_ATTN_OUT:
            t = attn_output_rule(ft, pm);
            break;
        case C_FFN_GATE:
        case C_FFN_UP:
            t = ft == FT_IQ3_XS && layer >= pm->n_layer / 8 && layer < 7 * pm->n_layer / 8
                    ? QT_IQ3_XXS
                    : 0;
            break;
        default:
            break;
        }
        layer_reason(name, layer, reason, cap);
    }
    if (!t || t == s->base) reason[0] = 0;
    return t == s->base ? 0 : t;
}

int policy_needs_imatrix(const quant_scheme *s, const char *name, uint32_t type) {
    const int cat = category(name);
    if (cat == C_OUTPUT || cat == C_TOKEN_EMBD) return 0;
    switch (type) {
    case QT_IQ3_XXS:
    case QT_IQ2_XXS:
    case QT_IQ2_XS:
    case QT_IQ2_S:
    case QT_IQ1_M:
    case QT_IQ1_S:
        return 1;
    case QT_Q2_K:
        return s->mix == MIX_Q2_K_S;
    default:
        return 0;
    }
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
        uint32_t up = mix_rule(s, pm, name, n_dims, ne0, reason, cap);
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
