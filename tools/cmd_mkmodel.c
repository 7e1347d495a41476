/* cmd_mkmodel.c - scarce mkmodel: a llama-architecture GGUF of any shape with seeded random
 * weights and a real tokenizer, for tests and benchmarks of shapes we cannot download.
 *
 * The weights are streamed a chunk of rows at a time (memory stays a few MB whatever the
 * model size). Each row's random numbers come from its own generator seeded by (seed, tensor,
 * row), so the output is identical for a seed whatever the thread count. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../quant/types.h"
#include "cli.h"

#define CMD "mkmodel"

typedef struct {
    const char *out, *vocab, *type_name;
    long n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx, n_expert, n_expert_used, seed;
} mk_args;

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce mkmodel -o OUT.gguf --vocab VOCAB.gguf --n-embd N --n-layer L\n"
            "         --n-head H --n-head-kv K --n-ff F [--seed S] [--type T] [--ctx C]\n"
            "         [--n-expert E --n-expert-used K]\n"
            "  writes a llama GGUF with random weights (normal, std 0.02; norms 1.0, f32) and\n"
            "  the tokenizer of VOCAB.gguf. --type: weight matrix type (default f32).\n");
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

typedef struct {
    char name[64];
    uint32_t type;
    int n_dims;
    int64_t ne[3];
    int is_norm; /* all ones */
} mk_tensor;

typedef struct {
    mk_tensor *t;
    int n, cap;
} tensor_list;

static int add(tensor_list *l, const char *name, int n_dims, int64_t ne0, int64_t ne1,
               int64_t ne2) {
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
    t->type = QT_F32;
    return 0;
}

/* llama.cpp's tensor names and GGUF shapes (ne[0] = row length = input features). */
static int build_tensors(const mk_args *a, int64_t n_vocab, tensor_list *l) {
    int64_t head_dim = a->n_embd / a->n_head, n_kv = a->n_head_kv * head_dim;
    char nm[64];
    int rc = add(l, "token_embd.weight", 2, a->n_embd, n_vocab, 1);
    rc |= add(l, "output_norm.weight", 1, a->n_embd, 1, 1);
    rc |= add(l, "output.weight", 2, a->n_embd, n_vocab, 1);
    for (long i = 0; i < a->n_layer && !rc; i++) {
#define T(suffix, nd, x, y, z) (snprintf(nm, sizeof nm, "blk.%ld." suffix, i), rc |= add(l, nm, nd, x, y, z))
        T("attn_norm.weight", 1, a->n_embd, 1, 1);
        T("attn_q.weight", 2, a->n_embd, a->n_embd, 1);
        T("attn_k.weight", 2, a->n_embd, n_kv, 1);
        T("attn_v.weight", 2, a->n_embd, n_kv, 1);
        T("attn_output.weight", 2, a->n_embd, a->n_embd, 1);
        T("ffn_norm.weight", 1, a->n_embd, 1, 1);
        if (a->n_expert > 0) {
            T("ffn_gate_inp.weight", 2, a->n_embd, a->n_expert, 1);
            T("ffn_gate_exps.weight", 3, a->n_embd, a->n_ff, a->n_expert);
            T("ffn_up_exps.weight", 3, a->n_embd, a->n_ff, a->n_expert);
            T("ffn_down_exps.weight", 3, a->n_ff, a->n_embd, a->n_expert);
        } else {
            T("ffn_gate.weight", 2, a->n_embd, a->n_ff, 1);
            T("ffn_up.weight", 2, a->n_embd, a->n_ff, 1);
            T("ffn_down.weight", 2, a->n_ff, a->n_embd, 1);
        }
#undef T
    }
    return rc;
}

/* Weight matrices get the requested type when their rows fit its block, else f16 (noted);
 * norms and the MoE router stay f32 (small, and llama.cpp keeps the router unquantized). */
static void assign_types(tensor_list *l, const quant_type *qt) {
    for (int i = 0; i < l->n; i++) {
        mk_tensor *t = &l->t[i];
        if (t->is_norm || strstr(t->name, "ffn_gate_inp")) continue;
        if (t->ne[0] % qt->block == 0) {
            t->type = qt->id;
        } else {
            t->type = QT_F16;
            fprintf(stderr, "scarce mkmodel: note: %s has rows of %lld, not a multiple of %s's "
                    "block %d: written as f16\n", t->name, (long long)t->ne[0], qt->name, qt->block);
        }
    }
}

/* ---- metadata ----------------------------------------------------------------------------- */

static void set_keys(gguf_writer *w, const mk_args *a, const quant_type *qt) {
    char name[96];
    snprintf(name, sizeof name, "scarce-mkmodel-%ldx%ld%s", a->n_embd, a->n_layer,
             a->n_expert > 0 ? "-moe" : "");
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", name);
    gguf_writer_set_u32(w, "llama.context_length", (uint32_t)a->n_ctx);
    gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)a->n_embd);
    gguf_writer_set_u32(w, "llama.block_count", (uint32_t)a->n_layer);
    gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)a->n_ff);
    gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)a->n_head);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)a->n_head_kv);
    gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)(a->n_embd / a->n_head));
    gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (a->n_expert > 0) {
        gguf_writer_set_u32(w, "llama.expert_count", (uint32_t)a->n_expert);
        gguf_writer_set_u32(w, "llama.expert_used_count", (uint32_t)a->n_expert_used);
    }
    /* the type table's file type of a file of qt (llama.cpp's LLAMA_FTYPE_*, ours >= 200) */
    if (qt->file_type >= 0) gguf_writer_set_u32(w, "general.file_type", (uint32_t)qt->file_type);
    if (qt->is_scarce) { /* our own type ids: other readers must fail with "unknown type" */
        const char *names[1] = {qt->name};
        gguf_writer_set_arr_str(w, "scarce.types", names, 1);
    }
}

/* Every tokenizer.* key of the vocabulary file; the token count is the model's n_vocab. */
static int copy_tokenizer(gguf_writer *w, const char *path, int64_t *n_vocab) {
    scarce_error err = {{0}};
    gguf_file *v = gguf_open(path, &err);
    if (!v) return cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
    const gguf_kv *tokens = gguf_find(v, "tokenizer.ggml.tokens");
    if (!tokens || tokens->type != GGUF_ARRAY || tokens->arr_type != GGUF_STRING ||
        tokens->arr_n == 0) {
        gguf_close(v);
        return cli_error(CMD, EXIT_RUNTIME, "%s: no tokenizer.ggml.tokens string array", path);
    }
    *n_vocab = (int64_t)tokens->arr_n;
    for (uint64_t i = 0; i < v->n_kv; i++)
        if (!strncmp(v->kv[i].key, "tokenizer.", 10)) gguf_writer_copy_kv(w, &v->kv[i]);
    gguf_close(v);
    return 0;
}

/* ---- weights ------------------------------------------------------------------------------ */

enum { CHUNK_FLOATS = 1 << 18 }; /* 1 MiB of f32 per chunk of rows */

/* Quantized types: rows drawn from a pool of POOL_ROWS quantized random rows. The
 * error-minimising quantizers cost about a microsecond per weight (a TinyLlama-shape model
 * would take many minutes); every row is still its own bytes in the file and is streamed
 * from memory like any other, which is all speed and bandwidth benchmarks need. */
enum { POOL_ROWS = 64 };

static int write_pooled(gguf_writer *w, const mk_tensor *t, int index, uint64_t seed,
                        float *src, uint8_t *dst, scarce_error *err) {
    const quant_type *qt = qtype(t->type);
    int64_t ne0 = t->ne[0], n_rows = t->ne[1] * t->ne[2];
    size_t row_bytes = qtype_row_bytes(t->type, ne0);
    uint8_t *pool = malloc(POOL_ROWS * row_bytes);
    if (!pool) return scarce_fail(err, "out of memory for tensor %s", t->name);
    const int64_t fit = ne0 >= CHUNK_FLOATS ? 1 : CHUNK_FLOATS / ne0; /* rows src holds */
    for (int64_t p0 = 0; p0 < POOL_ROWS; p0 += fit) {
        int64_t np = POOL_ROWS - p0 < fit ? POOL_ROWS - p0 : fit;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < np; r++) {
            float *x = src + r * ne0;
            rng g;
            rng_seed(&g, seed, (uint64_t)index, (uint64_t)(p0 + r));
            fill_normal(&g, x, ne0, 0.02f);
            qt->quantize(x, pool + (p0 + r) * row_bytes, ne0, NULL);
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
        rc = gguf_writer_write(w, dst, (size_t)nr * row_bytes, err);
    }
    free(pool);
    return rc;
}

/* Generates and writes one tensor, a chunk of rows at a time. */
static int write_tensor(gguf_writer *w, const mk_tensor *t, int index, uint64_t seed,
                        float *src, uint8_t *dst, scarce_error *err) {
    const quant_type *qt = qtype(t->type);
    int64_t ne0 = t->ne[0], n_rows = t->ne[1] * t->ne[2];
    if (qt->block > 1 && n_rows > POOL_ROWS && !t->is_norm)
        return write_pooled(w, t, index, seed, src, dst, err);
    size_t row_bytes = qtype_row_bytes(t->type, ne0);
    int64_t chunk = ne0 >= CHUNK_FLOATS ? 1 : CHUNK_FLOATS / ne0;
    for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
        int64_t nr = n_rows - r0 < chunk ? n_rows - r0 : chunk;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < nr; r++) {
            float *x = src + r * ne0;
            if (t->is_norm) {
                for (int64_t j = 0; j < ne0; j++) x[j] = 1.0f;
            } else {
                rng g;
                rng_seed(&g, seed, (uint64_t)index, (uint64_t)(r0 + r));
                fill_normal(&g, x, ne0, 0.02f);
            }
            qt->quantize(x, dst + r * row_bytes, ne0, NULL);
        }
        if (gguf_writer_write(w, dst, (size_t)nr * row_bytes, err)) return -1;
    }
    return 0;
}

/* SIGINT between tensors ends the write cleanly: the writer then removes its temp file. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = sig; }

static int write_model(const mk_args *a, const quant_type *qt) {
    gguf_writer *w = gguf_writer_new();
    tensor_list l = {0};
    float *src = NULL;
    uint8_t *dst = NULL;
    int64_t n_vocab = 0;
    scarce_error err = {{0}};
    if (!w) return cli_error(CMD, EXIT_RUNTIME, "out of memory");
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
        if (gguf_writer_add_tensor(w, l.t[i].name, l.t[i].type, l.t[i].n_dims, ne, &err)) {
            rc = cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
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
    if (gguf_writer_open(w, a->out, &err)) {
        rc = cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    for (int i = 0; i < l.n && !rc; i++)
        if (interrupted)
            rc = cli_error(CMD, EXIT_RUNTIME, "%s: interrupted (SIGINT), nothing written", a->out);
        else if (write_tensor(w, &l.t[i], i, (uint64_t)a->seed, src, dst, &err))
            rc = cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
    if (!rc && gguf_writer_finish(w, &err)) rc = cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
done:
    gguf_writer_free(w); /* before finish: removes the temp file */
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
    return NULL;
}

static int parse_args(int argc, char **argv, mk_args *a) {
    *a = (mk_args){.type_name = "f32", .n_ctx = 2048, .seed = 42};
    for (int i = 1; i < argc; i++) {
        long hi, *field = int_flag(a, argv[i], &hi);
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 1;
        }
        if (!(v = cli_value(CMD, argc, argv, &i))) return EXIT_USAGE;
        long lo = field == &a->seed || field == &a->n_expert || field == &a->n_expert_used ? 0 : 1;
        if (field) {
            if (cli_int(CMD, argv[i - 1], v, lo, hi, field)) return EXIT_USAGE;
        } else if (!strcmp(argv[i - 1], "-o")) a->out = v;
        else if (!strcmp(argv[i - 1], "--vocab")) a->vocab = v;
        else if (!strcmp(argv[i - 1], "--type")) a->type_name = v;
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
    return 0;
}

int cmd_mkmodel(int argc, char **argv) {
    mk_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc == 1 ? EXIT_OK : rc;
    const quant_type *qt = qtype_by_name(a.type_name);
    if (!qt || !(qt->kind & QT_KIND_W)) /* activation-only formats hold no matrices */
        return cli_error(CMD, EXIT_USAGE, "--type %s: unknown type or one that cannot be written",
                         a.type_name);
    return write_model(&a, qt);
}
