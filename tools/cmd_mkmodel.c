/* cmd_mkmodel.c - scarce mkmodel: a llama-architecture GGUF of any shape with seeded random
 * weights and a real tokenizer, for tests and benchmarks of shapes we cannot download.
 *
 * The weights are streamed a chunk of rows at a time (memory stays a few MB whatever the
 * model size). Each row's random numbers come from its own generator seeded by (seed, tensor,
 * row), so the output is identical for a seed whatever the thread count. Written through the
 * public GGUF writer (scarce_gguf_writer) with the type and architecture tables of
 * include/scarce.h (scarce_type_*, scarce_arch_*). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "cli.h"
#include "mkmodel.h"

/* "llama, mixtral, ..." into buf (for usage and errors). */
static void arch_names(char *buf, size_t size) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; scarce_arch_name(i) && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", scarce_arch_name(i));
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce mkmodel -o OUT.gguf --vocab VOCAB.gguf --n-embd N --n-layer L\n"
            "         --n-head H --n-head-kv K --n-ff F [--seed S] [--type T] [--ctx C]\n"
            "         [--n-expert E --n-expert-used K] [--arch NAME] [--head-dim D]\n"
            "         [--n-rot R] [--swa W] [--rope-base B] [--rope-freqs 1] [--longrope 1]\n"
            "         [--random-norms 1] [--attn-softcap X] [--final-softcap X]\n"
            "  writes a GGUF with random weights (normal, std 0.02; norms 1.0, f32) and the\n"
            "  tokenizer of VOCAB.gguf, with the keys and tensor names llama.cpp expects for\n"
            "  --arch (default llama). --type: weight matrix type (default\n"
            "  f32). --head-dim: attention.key_length (default n_embd / n_head); --n-rot:\n"
            "  rope.dimension_count; --swa: attention.sliding_window (gemma3); --rope-freqs 1:\n"
            "  a Llama 3.1-style rope_freqs.weight; --longrope 1: Phi-3 rope_factors_long/short\n"
            "  (original context --ctx / 32); --random-norms 1: norms 1 + N(0, 0.1);\n"
            "  --attn-softcap, --final-softcap: gemma2's soft-capping keys; --yarn F: YaRN\n"
            "  rope scaling by F over an original context of --ctx / F (--yarn-log-mul M:\n"
            "  DeepSeek's mscale_all_dim).\n");
    mk_moe_usage(out);
    char names[256];
    arch_names(names, sizeof names);
    fprintf(out, "  architectures: %s\n", names);
}

/* ---- random numbers: splitmix64 seeds a xoshiro256** stream; Box-Muller for normals ---- */

typedef struct {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t tensor, uint64_t row) {
    uint64_t x = seed ^ (tensor * 0xd1b54a32d192ed03ull) ^ (row * 0x8cb92ba72f3d8dd7ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return out;
}

/* n normals of standard deviation std (Box-Muller: two per pair of uniforms). */
static void fill_normal(rng *r, float *x, int64_t n, float std) {
    for (int64_t i = 0; i < n; i += 2) {
        uint64_t bits = rng_next(r);
        float u1 = ((float)(bits >> 40) + 1.0f) * (1.0f / 16777217.0f); /* (0, 1]: log finite */
        float u2 = (float)((bits >> 16) & 0xffffff) * (1.0f / 16777216.0f);
        float rad = std * sqrtf(-2.0f * logf(u1));
        float a = 6.2831853f * u2;
        x[i] = rad * cosf(a);
        if (i + 1 < n) x[i + 1] = rad * sinf(a);
    }
}

/* ---- the tensor list ---------------------------------------------------------------------- */

int mk_add(tensor_list *l, const char *name, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        mk_tensor *p = realloc(l->t, l->cap * sizeof *p);
        if (!p) return -1;
        l->t = p;
    }
    mk_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2;
    t->is_norm = n_dims == 1;
    t->type = "f32";
    return 0;
}

/* Attention tensors of layer i as the architecture's files hold them. */
static int attention_tensors(const mk_args *a, long i, tensor_list *l) {
    const unsigned flags = a->arch.flags;
    const int64_t q_dim = a->n_head * a->head_dim, kv_dim = a->n_head_kv * a->head_dim;
    char nm[64];
    int rc = 0;
#define T(suffix, nd, x, y) (snprintf(nm, sizeof nm, "blk.%ld." suffix, i), rc |= mk_add(l, nm, nd, x, y, 1))
    if (flags & SCARCE_ARCH_MLA) return mk_mla_tensors(a, i, l);
    T("attn_norm.weight", 1, a->n_embd, 1);
    if (flags & SCARCE_ARCH_FUSED_QKV) {
        T("attn_qkv.weight", 2, a->n_embd, q_dim + 2 * kv_dim);
    } else {
        T("attn_q.weight", 2, a->n_embd, q_dim);
        T("attn_k.weight", 2, a->n_embd, kv_dim);
        T("attn_v.weight", 2, a->n_embd, kv_dim);
    }
    if (flags & SCARCE_ARCH_QKV_BIAS) { /* random values, not norms */
        T("attn_q.bias", 1, q_dim, 1), l->t[l->n - 1].is_norm = 0;
        T("attn_k.bias", 1, kv_dim, 1), l->t[l->n - 1].is_norm = 0;
        T("attn_v.bias", 1, kv_dim, 1), l->t[l->n - 1].is_norm = 0;
    }
    if (flags & SCARCE_ARCH_QK_NORM) { /* per head, or over all heads (OLMoE) */
        T("attn_q_norm.weight", 1, flags & SCARCE_ARCH_QK_NORM_FULL ? q_dim : a->head_dim, 1);
        T("attn_k_norm.weight", 1, flags & SCARCE_ARCH_QK_NORM_FULL ? kv_dim : a->head_dim, 1);
    }
    T("attn_output.weight", 2, q_dim, a->n_embd);
    if (flags & SCARCE_ARCH_POST_NORMS) T("post_attention_norm.weight", 1, a->n_embd, 1);
    if (flags & SCARCE_ARCH_SINKS) { /* gpt-oss: random sinks and output bias */
        T("attn_sinks.weight", 1, a->n_head, 1), l->t[l->n - 1].is_norm = 0;
        T("attn_output.bias", 1, a->n_embd, 1), l->t[l->n - 1].is_norm = 0;
    }
#undef T
    return rc;
}

/* FFN tensors of layer i: experts, a fused gate+up, or gate/up/down. */
static int ffn_tensors(const mk_args *a, long i, tensor_list *l) {
    char nm[64];
    int rc = 0;
#define T(suffix, nd, x, y, z) (snprintf(nm, sizeof nm, "blk.%ld." suffix, i), rc |= mk_add(l, nm, nd, x, y, z))
    if (a->arch.flags & SCARCE_ARCH_SINKS) /* gpt-oss's name for the FFN's input norm */
        T("post_attention_norm.weight", 1, a->n_embd, 1, 1);
    else
        T("ffn_norm.weight", 1, a->n_embd, 1, 1);
    if (a->n_expert > 0 && i >= a->n_dense_lead) {
        rc |= mk_moe_ffn_tensors(a, i, l);
    } else if (a->arch.flags & SCARCE_ARCH_FUSED_UP) {
        T("ffn_up.weight", 2, a->n_embd, 2 * a->n_ff, 1);
        T("ffn_down.weight", 2, a->n_ff, a->n_embd, 1);
    } else {
        T("ffn_gate.weight", 2, a->n_embd, a->n_ff, 1);
        T("ffn_up.weight", 2, a->n_embd, a->n_ff, 1);
        T("ffn_down.weight", 2, a->n_ff, a->n_embd, 1);
    }
    if (a->arch.flags & SCARCE_ARCH_POST_NORMS) T("post_ffw_norm.weight", 1, a->n_embd, 1, 1);
#undef T
    return rc;
}

/* llama.cpp's tensor names and GGUF shapes (ne[0] = row length = input features). */
static int build_tensors(const mk_args *a, int64_t n_vocab, tensor_list *l) {
    int rc = mk_add(l, "token_embd.weight", 2, a->n_embd, n_vocab, 1);
    rc |= mk_add(l, "output_norm.weight", 1, a->n_embd, 1, 1);
    if (!(a->arch.flags & SCARCE_ARCH_TIED_OUTPUT)) rc |= mk_add(l, "output.weight", 2, a->n_embd, n_vocab, 1);
    if (!rc && a->rope_freqs) {
        rc |= mk_add(l, "rope_freqs.weight", 1, a->n_rot / 2, 1, 1);
        if (!rc) l->t[l->n - 1].is_norm = 0, l->t[l->n - 1].is_rope_freqs = 1;
    }
    if (!rc && a->longrope) { /* Phi-3: factors for contexts past the original, and within */
        rc |= mk_add(l, "rope_factors_long.weight", 1, a->n_rot / 2, 1, 1);
        if (!rc) l->t[l->n - 1].is_norm = 0, l->t[l->n - 1].longrope = 0.5f;
        rc |= mk_add(l, "rope_factors_short.weight", 1, a->n_rot / 2, 1, 1);
        if (!rc) l->t[l->n - 1].is_norm = 0, l->t[l->n - 1].longrope = 0.05f;
    }
    for (long i = 0; i < a->n_layer && !rc; i++)
        rc |= attention_tensors(a, i, l) || ffn_tensors(a, i, l);
    return rc;
}

/* Weight matrices get the requested type when their rows fit its block, else f16 (noted);
 * norms and the MoE router stay f32 (small, and llama.cpp keeps the router unquantized). */
static void assign_types(tensor_list *l, const scarce_type_info *qt) {
    for (int i = 0; i < l->n; i++) {
        mk_tensor *t = &l->t[i];
        if (t->n_dims == 1 || strstr(t->name, "ffn_gate_inp") || strstr(t->name, ".bias")) continue;
        if (t->ne[0] % qt->block == 0) {
            t->type = qt->name;
        } else {
            t->type = "f16";
            fprintf(stderr, "scarce mkmodel: note: %s has rows of %lld, not a multiple of %s's "
                    "block %d: written as f16\n", t->name, (long long)t->ne[0], qt->name, qt->block);
        }
    }
}

/* ---- metadata ----------------------------------------------------------------------------- */

/* (a failed set fails scarce_gguf_writer_open, which says why) */
void arch_u32(scarce_gguf_writer *w, const mk_args *a, const char *suffix, long v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", a->arch.name, suffix);
    scarce_gguf_writer_set_u32(w, key, (uint32_t)v);
}

void arch_f32(scarce_gguf_writer *w, const mk_args *a, const char *suffix, float v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", a->arch.name, suffix);
    scarce_gguf_writer_set_f32(w, key, v);
}

static void set_keys(scarce_gguf_writer *w, const mk_args *a, const scarce_type_info *qt) {
    char name[96];
    /* no architecture in the name: llama.cpp's vocabulary loader gives "phi3" names
     * Phi-3's special tokens, which a borrowed vocabulary lacks */
    snprintf(name, sizeof name, "scarce-mkmodel-%ldx%ld%s", a->n_embd, a->n_layer,
             a->n_expert > 0 ? "-moe" : "");
    scarce_gguf_writer_set_str(w, "general.architecture", a->arch.name);
    scarce_gguf_writer_set_str(w, "general.name", name);
    arch_u32(w, a, "context_length", a->n_ctx);
    arch_u32(w, a, "embedding_length", a->n_embd);
    arch_u32(w, a, "block_count", a->n_layer);
    arch_u32(w, a, "feed_forward_length", a->n_ff);
    arch_u32(w, a, "attention.head_count", a->n_head);
    /* latent attention is one shared key/value head for llama.cpp (its converter writes 1) */
    arch_u32(w, a, "attention.head_count_kv", a->arch.flags & SCARCE_ARCH_MLA ? 1 : a->n_head_kv);
    if (a->arch.flags & SCARCE_ARCH_MLA) { /* the cached latent's widths, then the heads' */
        arch_u32(w, a, "attention.key_length", a->kv_lora_rank + a->n_rot);
        arch_u32(w, a, "attention.value_length", a->kv_lora_rank);
        arch_u32(w, a, "attention.key_length_mla", a->head_dim);
        arch_u32(w, a, "attention.value_length_mla", a->v_head_dim);
        arch_u32(w, a, "attention.q_lora_rank", a->q_lora_rank);
        arch_u32(w, a, "attention.kv_lora_rank", a->kv_lora_rank);
    } else if (a->head_dim != a->n_embd / a->n_head || (a->arch.flags & SCARCE_ARCH_QK_NORM)) {
        arch_u32(w, a, "attention.key_length", a->head_dim); /* as the Qwen3/Gemma converters */
        arch_u32(w, a, "attention.value_length", a->head_dim);
    }
    arch_u32(w, a, "rope.dimension_count", a->n_rot);
    arch_f32(w, a, "rope.freq_base", (float)a->rope_base);
    arch_f32(w, a, "attention.layer_norm_rms_epsilon", 1e-5f);
    if (a->swa) arch_u32(w, a, "attention.sliding_window", a->swa);
    if (a->attn_softcap > 0) arch_f32(w, a, "attn_logit_softcapping", (float)a->attn_softcap);
    if (a->final_softcap > 0) arch_f32(w, a, "final_logit_softcapping", (float)a->final_softcap);
    if (a->yarn > 1) { /* YaRN over an original context of --ctx / factor */
        char key[128];
        snprintf(key, sizeof key, "%s.rope.scaling.type", a->arch.name);
        scarce_gguf_writer_set_str(w, key, "yarn");
        arch_f32(w, a, "rope.scaling.factor", (float)a->yarn);
        const long orig = (long)(a->n_ctx / a->yarn);
        arch_u32(w, a, "rope.scaling.original_context_length", orig > 0 ? orig : 1);
        if (a->yarn_log_mul > 0) /* the DeepSeek converter stores 0.1 mscale_all_dim */
            arch_f32(w, a, "rope.scaling.yarn_log_multiplier", (float)(0.1 * a->yarn_log_mul));
    }
    if (a->longrope) { /* Phi-3 128k: trained on 1/32 of the context, attention rescaled */
        const long orig = a->n_ctx / 32 > 0 ? a->n_ctx / 32 : 1;
        arch_u32(w, a, "rope.scaling.original_context_length", orig);
        arch_f32(w, a, "rope.scaling.attn_factor",
                 orig > 1 ? sqrtf(1.0f + logf((float)a->n_ctx / orig) / logf((float)orig)) : 1.0f);
    }
    if (a->n_expert > 0) {
        arch_u32(w, a, "expert_count", a->n_expert);
        arch_u32(w, a, "expert_used_count", a->n_expert_used);
        mk_moe_keys(w, a);
    }
    /* the type table's file type of a file of qt (llama.cpp's LLAMA_FTYPE_*, ours >= 200) */
    if (qt->file_type >= 0)
        scarce_gguf_writer_set_u32(w, "general.file_type", (uint32_t)qt->file_type);
    if (qt->own) { /* our own type ids: other readers must fail with "unknown type" */
        const char *names[1] = {qt->name};
        scarce_gguf_writer_set_arr_str(w, "scarce.types", names, 1);
    }
}

/* Every tokenizer.* key of the vocabulary file; the token count is the model's n_vocab. */
static int copy_tokenizer(scarce_gguf_writer *w, const char *path, int64_t *n_vocab) {
    char msg[512];
    scarce_gguf *v = NULL;
    if (scarce_gguf_open(path, &v, msg, sizeof msg)) return cli_error(CMD, EXIT_RUNTIME, "%s", msg);
    scarce_gguf_info info;
    scarce_gguf_kv tokens, kv;
    scarce_gguf_get_info(v, &info);
    const int64_t i_tokens = scarce_gguf_find_key(v, "tokenizer.ggml.tokens");
    if (i_tokens < 0 || scarce_gguf_get_kv(v, (uint64_t)i_tokens, &tokens) ||
        tokens.type != SCARCE_GGUF_ARRAY || tokens.elem_type != SCARCE_GGUF_STRING ||
        tokens.n == 0) {
        scarce_gguf_close(v);
        return cli_error(CMD, EXIT_RUNTIME, "%s: no tokenizer.ggml.tokens string array", path);
    }
    *n_vocab = (int64_t)tokens.n;
    for (uint64_t i = 0; i < info.n_kv; i++)
        if (!scarce_gguf_get_kv(v, i, &kv) && !strncmp(kv.key, "tokenizer.", 10))
            scarce_gguf_writer_copy_kv(w, v, i);
    scarce_gguf_close(v);
    return 0;
}

/* ---- weights ------------------------------------------------------------------------------ */

enum { CHUNK_FLOATS = 1 << 18 }; /* 1 MiB of f32 per chunk of rows */

/* Quantized types: rows drawn from a pool of POOL_ROWS quantized random rows. The
 * error-minimising quantizers cost about a microsecond per weight (a TinyLlama-shape model
 * would take many minutes); every row is still its own bytes in the file and is streamed
 * from memory like any other, which is all speed and bandwidth benchmarks need. */
enum { POOL_ROWS = 64 };

/* The writer's message into msg (512 bytes); -1. */
static int writer_failed(const scarce_gguf_writer *w, char *msg) {
    snprintf(msg, 512, "%s", scarce_gguf_writer_error(w));
    return -1;
}

static int write_pooled(scarce_gguf_writer *w, const mk_tensor *t, int index, uint64_t seed,
                        float *src, uint8_t *dst, char *msg) {
    int64_t ne0 = t->ne[0], n_rows = t->ne[1] * t->ne[2];
    size_t row_bytes = scarce_type_row_bytes(t->type, ne0);
    uint8_t *pool = malloc(POOL_ROWS * row_bytes);
    if (!pool) return snprintf(msg, 512, "out of memory for tensor %s", t->name), -1;
    const int64_t fit = ne0 >= CHUNK_FLOATS ? 1 : CHUNK_FLOATS / ne0; /* rows src holds */
    for (int64_t p0 = 0; p0 < POOL_ROWS; p0 += fit) {
        int64_t np = POOL_ROWS - p0 < fit ? POOL_ROWS - p0 : fit;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < np; r++) {
            float *x = src + r * ne0;
            rng g;
            rng_seed(&g, seed, (uint64_t)index, (uint64_t)(p0 + r));
            fill_normal(&g, x, ne0, 0.02f);
            scarce_type_quantize(t->type, x, ne0, pool + (p0 + r) * row_bytes);
        }
    }
    int64_t chunk = (int64_t)(CHUNK_FLOATS * sizeof(float) / row_bytes);
    if (chunk < 1) chunk = 1;
    rng pick;
    rng_seed(&pick, seed, (uint64_t)index, UINT64_MAX);
    int rc = 0;
    for (int64_t r0 = 0; r0 < n_rows && !rc; r0 += chunk) {
        int64_t nr = n_rows - r0 < chunk ? n_rows - r0 : chunk;
        for (int64_t r = 0; r < nr; r++)
            memcpy(dst + r * row_bytes, pool + (rng_next(&pick) % POOL_ROWS) * row_bytes, row_bytes);
        if (scarce_gguf_writer_write(w, dst, (size_t)nr * row_bytes)) rc = writer_failed(w, msg);
    }
    free(pool);
    return rc;
}

/* Llama 3.1's rope scaling as frequency divisors (the converter's rope_freqs.weight):
 * factor 8 for wavelengths above the original context (here --ctx), 1 below a quarter
 * of it, a smooth blend between. */
static float llama3_rope_factor(const mk_args *a, int i) {
    const double factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
    const double freq = pow((double)a->rope_base, -2.0 * i / a->n_rot);
    const double wavelen = 2 * M_PI / freq, orig = (double)a->n_ctx;
    if (wavelen < orig / high_freq_factor) return 1.0f;
    if (wavelen > orig / low_freq_factor) return (float)factor;
    const double smooth = (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
    return (float)(1.0 / ((1 - smooth) / factor + smooth));
}

/* A 1-D tensor: norm weights (ones, or 1 + N(0, 0.1) with --random-norms), rope
 * frequency factors, or a bias (N(0, 0.2): large enough to matter in the tests). */
static void fill_vector(const mk_args *a, const mk_tensor *t, int index, float *x) {
    rng g;
    rng_seed(&g, (uint64_t)a->seed, (uint64_t)index, 0);
    if (t->is_rope_freqs) {
        for (int64_t j = 0; j < t->ne[0]; j++) x[j] = llama3_rope_factor(a, (int)j);
    } else if (t->longrope > 0) {
        for (int64_t j = 0; j < t->ne[0]; j++) x[j] = 1.0f + t->longrope * (float)j;
    } else if (t->is_norm) {
        fill_normal(&g, x, t->ne[0], 0.1f);
        for (int64_t j = 0; j < t->ne[0]; j++) x[j] = a->random_norms ? 1.0f + x[j] : 1.0f;
    } else {
        fill_normal(&g, x, t->ne[0], 0.2f);
    }
}

/* Generates and writes one tensor, a chunk of rows at a time; 0, or -1 with msg (512) set. */
static int write_tensor(scarce_gguf_writer *w, const mk_args *a, const mk_tensor *t, int index,
                        float *src, uint8_t *dst, char *msg) {
    scarce_type_info qt;
    scarce_type_get_info(t->type, &qt);
    const uint64_t seed = (uint64_t)a->seed;
    int64_t ne0 = t->ne[0], n_rows = t->ne[1] * t->ne[2];
    if (t->n_dims == 1) {
        fill_vector(a, t, index, src);
        scarce_type_quantize(t->type, src, ne0, dst);
        if (scarce_gguf_writer_write(w, dst, scarce_type_row_bytes(t->type, ne0)))
            return writer_failed(w, msg);
        return 0;
    }
    if (qt.block > 1 && n_rows > POOL_ROWS)
        return write_pooled(w, t, index, seed, src, dst, msg);
    size_t row_bytes = scarce_type_row_bytes(t->type, ne0);
    int64_t chunk = ne0 >= CHUNK_FLOATS ? 1 : CHUNK_FLOATS / ne0;
    for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
        int64_t nr = n_rows - r0 < chunk ? n_rows - r0 : chunk;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < nr; r++) {
            float *x = src + r * ne0;
            rng g;
            rng_seed(&g, seed, (uint64_t)index, (uint64_t)(r0 + r));
            fill_normal(&g, x, ne0, 0.02f);
            scarce_type_quantize(t->type, x, ne0, dst + r * row_bytes);
        }
        if (scarce_gguf_writer_write(w, dst, (size_t)nr * row_bytes)) return writer_failed(w, msg);
    }
    return 0;
}

/* SIGINT between tensors ends the write cleanly: the writer then removes its temp file. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = sig; }

static int write_model(const mk_args *a, const scarce_type_info *qt) {
    scarce_gguf_writer *w = NULL;
    tensor_list l = {0};
    float *src = NULL;
    uint8_t *dst = NULL;
    int64_t n_vocab = 0;
    char msg[512];
    if (scarce_gguf_writer_new(&w)) return cli_error(CMD, EXIT_RUNTIME, "out of memory");
    signal(SIGINT, on_sigint);
    set_keys(w, a, qt);
    int rc = copy_tokenizer(w, a->vocab, &n_vocab);
    if (rc) goto done;
    if (build_tensors(a, n_vocab, &l)) {
        rc = cli_error(CMD, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    assign_types(&l, qt);
    int64_t max_ne0 = 0;
    for (int i = 0; i < l.n; i++) {
        int64_t ne[3] = {l.t[i].ne[0], l.t[i].ne[1], l.t[i].ne[2]};
        if (l.t[i].ne[0] > max_ne0) max_ne0 = l.t[i].ne[0];
        if (scarce_gguf_writer_add_tensor(w, l.t[i].name, l.t[i].type, l.t[i].n_dims, ne)) {
            rc = cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
            goto done;
        }
    }
    size_t floats = max_ne0 > CHUNK_FLOATS ? (size_t)max_ne0 : CHUNK_FLOATS + (size_t)max_ne0;
    src = malloc(floats * sizeof *src);
    dst = malloc(floats * sizeof *src); /* no type is wider than f32 */
    if (!src || !dst) {
        rc = cli_error(CMD, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    if (scarce_gguf_writer_open(w, a->out)) {
        rc = cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
        goto done;
    }
    for (int i = 0; i < l.n && !rc; i++)
        if (interrupted)
            rc = cli_error(CMD, EXIT_RUNTIME, "%s: interrupted (SIGINT), nothing written", a->out);
        else if (write_tensor(w, a, &l.t[i], i, src, dst, msg))
            rc = cli_error(CMD, EXIT_RUNTIME, "%s", msg);
    if (!rc && scarce_gguf_writer_finish(w))
        rc = cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
done:
    scarce_gguf_writer_free(w); /* before finish: removes the temp file */
    free(l.t);
    free(src);
    free(dst);
    return rc;
}

/* ---- arguments ---------------------------------------------------------------------------- */

/* Numeric flag -> its field, and the range allowed. */
static long *int_flag(mk_args *a, const char *flag, long *hi) {
    *hi = 1 << 20;
    if (!strcmp(flag, "--n-embd")) return &a->n_embd;
    if (!strcmp(flag, "--n-layer")) return *hi = 4096, &a->n_layer;
    if (!strcmp(flag, "--n-head")) return &a->n_head;
    if (!strcmp(flag, "--n-head-kv")) return &a->n_head_kv;
    if (!strcmp(flag, "--n-ff")) return &a->n_ff;
    if (!strcmp(flag, "--ctx")) return *hi = 1 << 24, &a->n_ctx;
    if (!strcmp(flag, "--n-expert")) return *hi = 1024, &a->n_expert;
    if (!strcmp(flag, "--n-expert-used")) return *hi = 1024, &a->n_expert_used;
    if (!strcmp(flag, "--seed")) return *hi = 0x7fffffffL, &a->seed;
    if (!strcmp(flag, "--head-dim")) return &a->head_dim;
    if (!strcmp(flag, "--n-rot")) return &a->n_rot;
    if (!strcmp(flag, "--swa")) return &a->swa;
    if (!strcmp(flag, "--rope-base")) return *hi = 1L << 30, &a->rope_base;
    if (!strcmp(flag, "--rope-freqs")) return *hi = 1, &a->rope_freqs;
    if (!strcmp(flag, "--longrope")) return *hi = 1, &a->longrope;
    if (!strcmp(flag, "--random-norms")) return *hi = 1, &a->random_norms;
    return mk_moe_int_flag(a, flag, hi);
}

/* The architecture and what it allows: head size, rope dimensions, window, experts. */
static int check_arch_args(mk_args *a) {
    if (scarce_arch_get_info(a->arch_name, &a->arch)) {
        char names[256];
        arch_names(names, sizeof names);
        return cli_error(CMD, EXIT_USAGE, "--arch %s: not one of %s", a->arch_name, names);
    }
    if (!a->head_dim) a->head_dim = a->n_embd / a->n_head;
    if (!a->n_rot) a->n_rot = a->head_dim;
    if (a->n_rot > a->head_dim || a->n_rot % 2)
        return cli_error(CMD, EXIT_USAGE, "--n-rot %ld must be even and <= head dim %ld",
                         a->n_rot, a->head_dim);
    if (a->swa && !a->arch.swa_pattern)
        return cli_error(CMD, EXIT_USAGE, "--swa: architecture %s has no sliding window",
                         a->arch.name);
    if (a->n_expert > 0 && !(a->arch.flags & SCARCE_ARCH_MOE))
        return cli_error(CMD, EXIT_USAGE, "--n-expert: architecture %s has no experts here",
                         a->arch.name);
    return mk_moe_check(a);
}

static int parse_args(int argc, char **argv, mk_args *a) {
    *a = (mk_args){.type_name = "f32", .arch_name = "llama", .n_ctx = 2048, .seed = 42,
                   .rope_base = 10000};
    for (int i = 1; i < argc; i++) {
        long hi, *field = int_flag(a, argv[i], &hi);
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 1;
        }
        if (!(v = cli_value(CMD, argc, argv, &i))) return EXIT_USAGE;
        long lo = field == &a->seed || field == &a->n_expert || field == &a->n_expert_used ||
                          field == &a->swa || field == &a->rope_freqs || field == &a->longrope ||
                          field == &a->random_norms || mk_moe_zero_ok(a, field)
                      ? 0
                      : 1;
        if (field) {
            if (cli_int(CMD, argv[i - 1], v, lo, hi, field)) return EXIT_USAGE;
        } else if (!strcmp(argv[i - 1], "-o")) a->out = v;
        else if (!strcmp(argv[i - 1], "--vocab")) a->vocab = v;
        else if (!strcmp(argv[i - 1], "--type")) a->type_name = v;
        else if (!strcmp(argv[i - 1], "--arch")) a->arch_name = v;
        else if (!strcmp(argv[i - 1], "--expert-weights-scale") ||
                 !strcmp(argv[i - 1], "--yarn") || !strcmp(argv[i - 1], "--yarn-log-mul")) {
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x > 0) || x > 1e3)
                return cli_error(CMD, EXIT_USAGE, "%s %s: expected a number in (0, 1000]",
                                 argv[i - 1], v);
            *(argv[i - 1][2] == 'e' ? &a->weights_scale
              : argv[i - 1][6] == 0 ? &a->yarn : &a->yarn_log_mul) = x;
        }
        else if (!strcmp(argv[i - 1], "--attn-softcap") || !strcmp(argv[i - 1], "--final-softcap")) {
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x > 0) || x > 1e6)
                return cli_error(CMD, EXIT_USAGE, "%s %s: expected a number > 0", argv[i - 1], v);
            *(argv[i - 1][2] == 'a' ? &a->attn_softcap : &a->final_softcap) = x;
        }
        else return cli_error(CMD, EXIT_USAGE, "unknown option %s", argv[i - 1]);
    }
    if (!a->out || !a->vocab) return cli_error(CMD, EXIT_USAGE, "-o and --vocab are required");
    if (!a->n_embd || !a->n_layer || !a->n_head || !a->n_head_kv || !a->n_ff)
        return cli_error(CMD, EXIT_USAGE,
                         "--n-embd, --n-layer, --n-head, --n-head-kv and --n-ff are required");
    if (a->n_embd % a->n_head)
        return cli_error(CMD, EXIT_USAGE, "--n-head %ld does not divide --n-embd %ld", a->n_head,
                         a->n_embd);
    if (a->n_head % a->n_head_kv)
        return cli_error(CMD, EXIT_USAGE, "--n-head-kv %ld does not divide --n-head %ld",
                         a->n_head_kv, a->n_head);
    if (a->n_expert > 0 && (a->n_expert_used < 1 || a->n_expert_used > a->n_expert))
        return cli_error(CMD, EXIT_USAGE, "--n-expert-used must be in [1, --n-expert %ld]",
                         a->n_expert);
    if (a->n_expert == 0 && a->n_expert_used)
        return cli_error(CMD, EXIT_USAGE, "--n-expert-used needs --n-expert");
    return check_arch_args(a);
}

int cmd_mkmodel(int argc, char **argv) {
    mk_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc == 1 ? EXIT_OK : rc;
    scarce_type_info qt;
    /* activation-only formats hold no matrices */
    if (scarce_type_get_info(a.type_name, &qt) || !qt.weights)
        return cli_error(CMD, EXIT_USAGE, "--type %s: unknown type or one that cannot be written",
                         a.type_name);
    return write_model(&a, &qt);
}
