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
 * Written streaming, tensor by tensor, through the atomic GGUF writer (scarce_gguf_writer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
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
    uint64_t src;           /* COPY, EXPERTS: the input tensor */
    scarce_gguf_tensor in;  /* ... its name, format and shape */
    char name[96];
} out_tensor;

/* "blk.L.ffn_gate.weight" -> what = "ffn_gate", layer L; 0 when not a dense FFN matrix. */
static int dense_ffn(const char *name, int *layer, char what[16]) {
    int n = 0;
    if (sscanf(name, "blk.%d.%15[a-z_].weight%n", layer, what, &n) != 2 || name[n]) return 0;
    return !strcmp(what, "ffn_gate") || !strcmp(what, "ffn_up") || !strcmp(what, "ffn_down");
}

/* Declares the output tensors in the input's order, a router before each layer's ffn_gate.
 * 0, or an exit code with the error printed. */
static int plan(const scarce_gguf *g, uint64_t n_tensors, const up_args *a, int64_t n_embd,
                scarce_gguf_writer *w, out_tensor *t, int *n_out) {
    int n = 0, n_ffn = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        scarce_gguf_tensor src;
        int layer;
        char what[16];
        scarce_gguf_get_tensor(g, i, &src);
        if (!dense_ffn(src.name, &layer, what)) {
            t[n] = (out_tensor){COPY, i, src, ""};
            snprintf(t[n].name, sizeof t[n].name, "%s", src.name);
            if (scarce_gguf_writer_add_tensor(w, src.name, src.type, src.n_dims, src.ne))
                return cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
            n++;
            continue;
        }
        if (src.n_dims != 2)
            return cli_error(CMD, EXIT_RUNTIME, "tensor %s: expected a matrix, got %d dims",
                             src.name, src.n_dims);
        n_ffn++;
        if (!strcmp(what, "ffn_gate")) {
            t[n] = (out_tensor){ROUTER, 0, {0}, ""};
            snprintf(t[n].name, sizeof t[n].name, "blk.%d.ffn_gate_inp.weight", layer);
            int64_t ne[2] = {n_embd, a->n_expert};
            if (scarce_gguf_writer_add_tensor(w, t[n].name, "f32", 2, ne))
                return cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
            n++;
        }
        t[n] = (out_tensor){EXPERTS, i, src, ""};
        snprintf(t[n].name, sizeof t[n].name, "blk.%d.%s_exps.weight", layer, what);
        int64_t ne[3] = {src.ne[0], src.ne[1], a->n_expert};
        if (scarce_gguf_writer_add_tensor(w, t[n].name, src.type, 3, ne))
            return cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
        n++;
    }
    if (n_ffn == 0)
        return cli_error(CMD, EXIT_RUNTIME, "%s: no blk.L.ffn_{gate,up,down}.weight tensors",
                         a->in);
    *n_out = n;
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* The next bytes of the file; 0, or an exit code with the writer's error printed. */
static int write_bytes(scarce_gguf_writer *w, const void *data, size_t bytes) {
    if (!scarce_gguf_writer_write(w, data, bytes)) return 0;
    return cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
}

/* std of all elements of a tensor (dequantized), in double. */
static double tensor_std(const scarce_gguf_tensor *t, const char *data, float *row) {
    size_t row_bytes = scarce_type_row_bytes(t->type, t->ne[0]);
    int64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3];
    double sum = 0, sum2 = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        scarce_type_dequantize(t->type, data + r * row_bytes, t->ne[0], row);
        for (int64_t j = 0; j < t->ne[0]; j++) sum += row[j], sum2 += (double)row[j] * row[j];
    }
    double n = (double)n_rows * t->ne[0], mean = sum / n;
    return sqrt(fmax(sum2 / n - mean * mean, 0));
}

/* N copies of the input tensor, each perturbed by its own noise when std_noise > 0. 0, or
 * an exit code with the error printed (as every writing step below). */
static int write_experts(scarce_gguf_writer *w, const scarce_gguf *g, const out_tensor *t,
                         int index, const up_args *a, float *row, void *qrow) {
    const scarce_gguf_tensor *src = &t->in;
    const char *data = scarce_gguf_tensor_data(g, t->src);
    scarce_type_info qt;
    const int known = scarce_type_get_info(src->type, &qt) == SCARCE_OK;
    if (a->noise > 0 && (!known || !qt.can_quantize || !qt.can_dequantize))
        return cli_error(CMD, EXIT_RUNTIME, "tensor %s: type %s cannot be re-quantized for --noise",
                         src->name, known ? qt.name : "unknown");
    const double std_noise = a->noise > 0 ? a->noise * tensor_std(src, data, row) : 0;
    size_t row_bytes = scarce_type_row_bytes(src->type, src->ne[0]);
    for (long e = 0; e < a->n_expert; e++) {
        if (std_noise == 0) {
            if (write_bytes(w, data, src->bytes)) return EXIT_RUNTIME;
            continue;
        }
        rng r = rng_for((uint64_t)a->seed, (uint64_t)index, (uint64_t)e);
        for (int64_t i = 0; i < src->ne[1]; i++) {
            scarce_type_dequantize(src->type, data + i * row_bytes, src->ne[0], row);
            for (int64_t j = 0; j < src->ne[0]; j++) row[j] += (float)std_noise * rng_normal(&r);
            scarce_type_quantize(src->type, row, src->ne[0], qrow);
            if (write_bytes(w, qrow, row_bytes)) return EXIT_RUNTIME;
        }
    }
    return 0;
}

/* Router rows of std 1/sqrt(n_embd): logits of order 1 for unit-rms inputs. */
static int write_router(scarce_gguf_writer *w, int index, const up_args *a, int64_t n_embd,
                        float *row) {
    rng r = rng_for((uint64_t)a->seed, (uint64_t)index, 0x7f7f);
    for (long e = 0; e < a->n_expert; e++) {
        for (int64_t j = 0; j < n_embd; j++) row[j] = rng_normal(&r) / sqrtf((float)n_embd);
        if (write_bytes(w, row, (size_t)n_embd * sizeof(float))) return EXIT_RUNTIME;
    }
    return 0;
}

static int get_key(scarce_gguf *g, const up_args *a, const char *key, int64_t *v) {
    const int rc = scarce_gguf_get_int(g, key, v);
    if (rc || *v < 1)
        return cli_error(CMD, EXIT_RUNTIME, "%s: %s", a->in, rc ? scarce_gguf_error(g) : "bad value");
    return 0;
}

/* Every key of the input, then the expert counts. */
static void copy_keys(scarce_gguf_writer *w, const scarce_gguf *g, uint64_t n_kv,
                      const up_args *a) {
    for (uint64_t i = 0; i < n_kv; i++) scarce_gguf_writer_copy_kv(w, g, i);
    scarce_gguf_writer_set_u32(w, "llama.expert_count", (uint32_t)a->n_expert);
    scarce_gguf_writer_set_u32(w, "llama.expert_used_count", (uint32_t)a->n_used);
}

static int upcycle(const up_args *a, scarce_gguf *g) {
    const char *arch = NULL;
    if (scarce_gguf_find_key(g, "general.architecture") >= 0 &&
        scarce_gguf_get_str(g, "general.architecture", &arch))
        return cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_error(g));
    if (!arch || strcmp(arch, "llama"))
        return cli_error(CMD, EXIT_RUNTIME, "%s: general.architecture is '%s', expected 'llama'",
                         a->in, arch ? arch : "(missing)");
    int64_t n_embd, n_expert_in = 0;
    if (get_key(g, a, "llama.embedding_length", &n_embd)) return EXIT_RUNTIME;
    if (scarce_gguf_find_key(g, "llama.expert_count") >= 0 &&
        !scarce_gguf_get_int(g, "llama.expert_count", &n_expert_in) && n_expert_in > 0)
        return cli_error(CMD, EXIT_RUNTIME, "%s: already a mixture of %lld experts", a->in,
                         (long long)n_expert_in);
    scarce_gguf_info info;
    scarce_gguf_get_info(g, &info);
    scarce_gguf_writer *w = NULL;
    scarce_gguf_writer_new(&w);
    out_tensor *t = calloc(2 * info.n_tensors + 1, sizeof *t);
    float *row = NULL;
    void *qrow = NULL;
    int n_out = 0, rc = EXIT_RUNTIME;
    if (!w || !t) {
        cli_error(CMD, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    copy_keys(w, g, info.n_kv, a);
    if (plan(g, info.n_tensors, a, n_embd, w, t, &n_out)) goto done;
    int64_t max_ne0 = n_embd;
    for (uint64_t i = 0; i < info.n_tensors; i++) {
        scarce_gguf_tensor ten;
        scarce_gguf_get_tensor(g, i, &ten);
        if (ten.ne[0] > max_ne0) max_ne0 = ten.ne[0];
    }
    row = malloc((size_t)max_ne0 * sizeof(float));
    qrow = malloc((size_t)max_ne0 * sizeof(float) + 64); /* no type is wider than f32 */
    if (!row || !qrow) {
        cli_error(CMD, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    if (scarce_gguf_writer_open(w, a->out)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
        goto done;
    }
    for (int i = 0; i < n_out; i++) {
        const out_tensor *o = &t[i];
        const int r = o->kind == COPY ? write_bytes(w, scarce_gguf_tensor_data(g, o->src), o->in.bytes)
                      : o->kind == ROUTER ? write_router(w, i, a, n_embd, row)
                                          : write_experts(w, g, o, i, a, row, qrow);
        if (r) goto done; /* the error is printed */
    }
    if (scarce_gguf_writer_finish(w)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", scarce_gguf_writer_error(w));
        goto done;
    }
    rc = EXIT_OK;
done:
    scarce_gguf_writer_free(w); /* before finish: removes the temp file */
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
    char msg[512];
    scarce_gguf *g = NULL;
    if (scarce_gguf_open(a.in, &g, msg, sizeof msg)) return cli_error(CMD, EXIT_RUNTIME, "%s", msg);
    rc = upcycle(&a, g);
    scarce_gguf_close(g);
    return rc;
}
