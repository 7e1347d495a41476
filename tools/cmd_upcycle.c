/* cmd_upcycle.c - scarce upcycle: a mixture-of-experts model from a dense llama model
 * ("sparse upcycling", Komatsuzaki et al. 2022).
 *
 * Each layer's FFN (ffn_gate, ffn_up, ffn_down) is copied into N experts, written as
 * llama.cpp's 3-D tensors blk.L.ffn_{gate,up,down}_exps.weight [cols, rows, N]; a router
 * blk.L.ffn_gate_inp.weight [n_embd, N] of small random f32 weights is added. Every other
 * tensor and every key (tokenizer included) is copied; llama.expert_count and
 * llama.expert_used_count are set. With --noise 0 the experts are identical and Mixtral's
 * renormalised weights sum to 1, so the MoE computes the dense function whatever the router.
 * With --noise S, each expert's weights get Gaussian noise of std S x (std of that tensor).
 * Written streaming, tensor by tensor, through the atomic GGUF writer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../quant/types.h"
#include "cli.h"

#define CMD "upcycle"

typedef struct {
    const char *in, *out;
    long n_expert, n_used, seed;
    double noise;
} up_args;

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce upcycle IN.gguf OUT.gguf --experts N --used K [--noise S] [--seed S]\n"
            "  copies each layer's FFN of a dense llama model into N experts (top-K routing)\n"
            "  with a random f32 router; --noise S perturbs each expert by Gaussian noise of\n"
            "  std S x the tensor's std (default 0: the MoE computes the dense function).\n");
}

/* ---- random numbers: splitmix64 per stream, Box-Muller normals -------------------------- */

typedef struct {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A stream per (seed, tensor, expert) so the output does not depend on the write order. */
static rng rng_for(uint64_t seed, uint64_t tensor, uint64_t expert) {
    rng r = {seed ^ (tensor * 0xd1b54a32d192ed03ull) ^ (expert * 0x8cb92ba72f3d8dd7ull)};
    rng_next(&r);
    return r;
}

static float rng_normal(rng *r) {
    double u1 = ((rng_next(r) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1]: log finite */
    double u2 = (rng_next(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- the plan: what each output tensor is made of ------------------------------------------ */

enum { COPY, EXPERTS, ROUTER };

typedef struct {
    int kind;
    const gguf_tensor *src; /* COPY, EXPERTS */
    char name[96];
} out_tensor;

/* "blk.L.ffn_gate.weight" -> what = "ffn_gate", layer L; 0 when not a dense FFN matrix. */
static int dense_ffn(const char *name, int *layer, char what[16]) {
    int n = 0;
    if (sscanf(name, "blk.%d.%15[a-z_].weight%n", layer, what, &n) != 2 || name[n]) return 0;
    return !strcmp(what, "ffn_gate") || !strcmp(what, "ffn_up") || !strcmp(what, "ffn_down");
}

/* Declares the output tensors in the input's order, a router before each layer's ffn_gate. */
static int plan(const gguf_file *f, const up_args *a, int64_t n_embd, gguf_writer *w,
                out_tensor *t, int *n_out, scarce_error *err) {
    int n = 0, n_ffn = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *src = &f->tensors[i];
        int layer;
        char what[16];
        if (!dense_ffn(src->name, &layer, what)) {
            t[n] = (out_tensor){COPY, src, ""};
            snprintf(t[n].name, sizeof t[n].name, "%s", src->name);
            if (gguf_writer_add_tensor(w, src->name, src->type, src->n_dims, src->ne, err)) return -1;
            n++;
            continue;
        }
        if (src->n_dims != 2)
            return scarce_fail(err, "tensor %s: expected a matrix, got %d dims", src->name, src->n_dims);
        n_ffn++;
        if (!strcmp(what, "ffn_gate")) {
            t[n] = (out_tensor){ROUTER, NULL, ""};
            snprintf(t[n].name, sizeof t[n].name, "blk.%d.ffn_gate_inp.weight", layer);
            int64_t ne[2] = {n_embd, a->n_expert};
            if (gguf_writer_add_tensor(w, t[n].name, QT_F32, 2, ne, err)) return -1;
            n++;
        }
        t[n] = (out_tensor){EXPERTS, src, ""};
        snprintf(t[n].name, sizeof t[n].name, "blk.%d.%s_exps.weight", layer, what);
        int64_t ne[3] = {src->ne[0], src->ne[1], a->n_expert};
        if (gguf_writer_add_tensor(w, t[n].name, src->type, 3, ne, err)) return -1;
        n++;
    }
    if (n_ffn == 0) return scarce_fail(err, "%s: no blk.L.ffn_{gate,up,down}.weight tensors", f->path);
    *n_out = n;
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* std of all elements of a tensor (dequantized), in double. */
static double tensor_std(const gguf_tensor *t, float *row) {
    const quant_type *qt = qtype(t->type);
    size_t row_bytes = qtype_row_bytes(t->type, t->ne[0]);
    int64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3];
    double sum = 0, sum2 = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        qt->dequantize((const char *)t->data + r * row_bytes, row, t->ne[0]);
        for (int64_t j = 0; j < t->ne[0]; j++) sum += row[j], sum2 += (double)row[j] * row[j];
    }
    double n = (double)n_rows * t->ne[0], mean = sum / n;
    return sqrt(fmax(sum2 / n - mean * mean, 0));
}

/* N copies of src, each perturbed by its own noise when std_noise > 0. */
static int write_experts(gguf_writer *w, const out_tensor *t, int index, const up_args *a,
                         float *row, void *qrow, scarce_error *err) {
    const gguf_tensor *src = t->src;
    const quant_type *qt = qtype(src->type);
    if (a->noise > 0 && (!qt || !qt->quantize || !qt->dequantize))
        return scarce_fail(err, "tensor %s: type %s cannot be re-quantized for --noise", src->name,
                           qt ? qt->name : "unknown");
    const double std_noise = a->noise > 0 ? a->noise * tensor_std(src, row) : 0;
    size_t row_bytes = qtype_row_bytes(src->type, src->ne[0]);
    for (long e = 0; e < a->n_expert; e++) {
        if (std_noise == 0) {
            if (gguf_writer_write(w, src->data, src->bytes, err)) return -1;
            continue;
        }
        rng r = rng_for((uint64_t)a->seed, (uint64_t)index, (uint64_t)e);
        for (int64_t i = 0; i < src->ne[1]; i++) {
            qt->dequantize((const char *)src->data + i * row_bytes, row, src->ne[0]);
            for (int64_t j = 0; j < src->ne[0]; j++) row[j] += (float)std_noise * rng_normal(&r);
            qt->quantize(row, qrow, src->ne[0], NULL);
            if (gguf_writer_write(w, qrow, row_bytes, err)) return -1;
        }
    }
    return 0;
}

/* Router rows of std 1/sqrt(n_embd): logits of order 1 for unit-rms inputs. */
static int write_router(gguf_writer *w, int index, const up_args *a, int64_t n_embd, float *row,
                        scarce_error *err) {
    rng r = rng_for((uint64_t)a->seed, (uint64_t)index, 0x7f7f);
    for (long e = 0; e < a->n_expert; e++) {
        for (int64_t j = 0; j < n_embd; j++) row[j] = rng_normal(&r) / sqrtf((float)n_embd);
        if (gguf_writer_write(w, row, (size_t)n_embd * sizeof(float), err)) return -1;
    }
    return 0;
}

static int get_key(const gguf_file *f, const char *key, int64_t *v) {
    scarce_error err = {{0}};
    if (gguf_get_i64(f, key, v, &err) || *v < 1)
        return cli_error(CMD, EXIT_RUNTIME, "%s: %s", f->path, err.msg[0] ? err.msg : "bad value");
    return 0;
}

static int upcycle(const up_args *a, gguf_file *f) {
    scarce_error err = {{0}};
    const char *arch = NULL;
    if (gguf_find(f, "general.architecture") &&
        gguf_get_string(f, "general.architecture", &arch, &err))
        return cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
    if (!arch || strcmp(arch, "llama"))
        return cli_error(CMD, EXIT_RUNTIME, "%s: general.architecture is '%s', expected 'llama'",
                         a->in, arch ? arch : "(missing)");
    int64_t n_embd, n_expert_in = 0;
    if (get_key(f, "llama.embedding_length", &n_embd)) return EXIT_RUNTIME;
    if (gguf_find(f, "llama.expert_count") && !gguf_get_i64(f, "llama.expert_count", &n_expert_in, &err) &&
        n_expert_in > 0)
        return cli_error(CMD, EXIT_RUNTIME, "%s: already a mixture of %lld experts", a->in,
                         (long long)n_expert_in);
    gguf_writer *w = gguf_writer_new();
    out_tensor *t = calloc(2 * f->n_tensors + 1, sizeof *t);
    float *row = NULL;
    void *qrow = NULL;
    int n_out = 0, rc = EXIT_RUNTIME;
    if (!w || !t) {
        cli_error(CMD, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    gguf_writer_set_u32(w, "llama.expert_count", (uint32_t)a->n_expert);
    gguf_writer_set_u32(w, "llama.expert_used_count", (uint32_t)a->n_used);
    if (plan(f, a, n_embd, w, t, &n_out, &err)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    int64_t max_ne0 = n_embd;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].ne[0] > max_ne0) max_ne0 = f->tensors[i].ne[0];
    row = malloc((size_t)max_ne0 * sizeof(float));
    qrow = malloc((size_t)max_ne0 * sizeof(float) + 64); /* no type is wider than f32 */
    if (!row || !qrow) {
        cli_error(CMD, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    if (gguf_writer_open(w, a->out, &err)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    for (int i = 0; i < n_out; i++) {
        int r = t[i].kind == COPY      ? gguf_writer_write(w, t[i].src->data, t[i].src->bytes, &err)
                : t[i].kind == ROUTER  ? write_router(w, i, a, n_embd, row, &err)
                                       : write_experts(w, &t[i], i, a, row, qrow, &err);
        if (r) {
            cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
            goto done;
        }
    }
    if (gguf_writer_finish(w, &err)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    rc = EXIT_OK;
done:
    gguf_writer_free(w); /* before finish: removes the temp file */
    free(t);
    free(row);
    free(qrow);
    return rc;
}

static int parse_args(int argc, char **argv, up_args *a) {
    *a = (up_args){.seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            usage(stdout);
            return 1;
        }
        if (f[0] != '-') {
            if (!a->in) a->in = f;
            else if (!a->out) a->out = f;
            else return cli_error(CMD, EXIT_USAGE, "unexpected argument '%s'", f);
            continue;
        }
        if (!(v = cli_value(CMD, argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "--experts")) { if (cli_int(CMD, f, v, 2, 256, &a->n_expert)) return EXIT_USAGE; }
        else if (!strcmp(f, "--used")) { if (cli_int(CMD, f, v, 1, 16, &a->n_used)) return EXIT_USAGE; }
        else if (!strcmp(f, "--seed")) { if (cli_int(CMD, f, v, 0, 0x7fffffffL, &a->seed)) return EXIT_USAGE; }
        else if (!strcmp(f, "--noise")) { if (cli_float(CMD, f, v, 0, 100, &a->noise)) return EXIT_USAGE; }
        else return cli_error(CMD, EXIT_USAGE, "unknown option %s (see scarce upcycle -h)", f);
    }
    if (!a->in || !a->out) return cli_error(CMD, EXIT_USAGE, "IN.gguf and OUT.gguf are required");
    if (!a->n_expert || !a->n_used) return cli_error(CMD, EXIT_USAGE, "--experts and --used are required");
    if (a->n_used > a->n_expert)
        return cli_error(CMD, EXIT_USAGE, "--used %ld is more than --experts %ld", a->n_used, a->n_expert);
    return 0;
}

int cmd_upcycle(int argc, char **argv) {
    up_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc == 1 ? EXIT_OK : rc;
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(a.in, &err);
    if (!f) return cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
    rc = upcycle(&a, f);
    gguf_close(f);
    return rc;
}
