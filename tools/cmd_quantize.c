/* cmd_quantize.c - scarce quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]:
 * prints what engine/quantize_model.c did, tensor by tensor. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/gguf.h"
#include "../engine/machine.h"
#include "../engine/quantize_model.h"
#include "../quant/policy.h"
#include "../quant/types.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: scarce quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]\n"
                 "  TYPE:");
    for (int i = 0; quant_scheme_at(i); i++) fprintf(out, " %s", quant_scheme_at(i)->name);
    fprintf(out,
            "\n  q2_k..q6_k are the plain K-quants; q2_k_m, q3_k_m, q4_k_m ... are llama.cpp's\n"
            "  mixes (its Q2_K is our q2_k_m). 1-D tensors stay f32; a tensor whose rows fit\n"
            "  no block of its type falls back to the nearest type with at least as many\n"
            "  bits (f16 when none fits) and the table says so. fp8_e4m3, fp8_e5m2 and q2_0_32\n"
            "  are scarce's own types: other readers refuse such files (scarce.types).\n"
            "  --imatrix FILE  column importances (weights the error): scarce imatrix's file,\n"
            "                  llama-imatrix's GGUF (in_sum2/counts) or its legacy .dat\n"
            "  --pure          no per-tensor upgrades (output, attn_v, ffn_down ...)\n"
            "  -t N            threads (default: all)\n"
            "       scarce quantize --compare REF.gguf OTHER.gguf\n"
            "  prints the RMSE of every tensor of OTHER (any types, e.g. written by\n"
            "  llama-quantize) against the same tensor of REF, both dequantized\n");
}

/* The progress line (stderr is a terminal): tensor i/n, source MB read per second since the
 * start, and the time left at that rate. */
typedef struct {
    double t0, last;
} progress_clock;

static void progress_line(void *ctx, const quantize_progress *p) {
    progress_clock *c = ctx;
    const double now = now_seconds(), dt = now - c->t0;
    const int last = p->bytes_done == p->bytes_total;
    if (!last && now - c->last < 0.2) return; /* a few updates a second are enough */
    c->last = now;
    const double mb = p->bytes_done / 1e6, rate = dt > 0 ? mb / dt : 0;
    const double left = rate > 0 ? (p->bytes_total / 1e6 - mb) / rate : 0;
    fprintf(stderr, "\r%5.1f%% tensor %d/%d %-28.28s %7.1f MB/s  ETA %4.0f s ",
            p->bytes_total ? 100.0 * p->bytes_done / p->bytes_total : 100.0, p->tensor + 1,
            p->n_tensors, p->name, rate, left);
    if (last) fputc('\n', stderr);
}

/* SIGINT/SIGTERM: quantize_model stops at its next chunk and removes its temporary file;
 * a second signal ends the process at once. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
    interrupted = 1;
    signal(sig, SIG_DFL);
}

static void print_report(const quantize_report *rep) {
    double e2 = 0;
    for (int i = 0; i < rep->n_tensors; i++)
        e2 += rep->tensors[i].rmse * rep->tensors[i].rmse * (double)rep->tensors[i].n_elements;
    printf("%-28s %-9s %-9s %10s %11s %9s  %s\n", "tensor", "from", "type", "bytes", "rmse", "rel",
           "reason");
    for (int i = 0; i < rep->n_tensors; i++) {
        const quantize_tensor_info *t = &rep->tensors[i];
        printf("%-28s %-9s %-9s %10zu %11.4g %9.4g  %s%s\n", t->name, qtype(t->src_type)->name,
               qtype(t->type)->name, t->bytes, t->rmse,
               t->rms_source > 0 ? t->rmse / t->rms_source : 0.0, t->reason,
               t->has_importance ? (t->reason[0] ? " (imatrix)" : "(imatrix)") : "");
    }
    printf("total: %zu bytes (%.2f MiB), %lld weights, %.4f bits/weight, rmse %.5g, "
           "general.file_type %u\n",
           rep->total_bytes, rep->total_bytes / 1048576.0, (long long)rep->n_elements,
           rep->bits_per_weight, rep->n_elements ? sqrt(e2 / (double)rep->n_elements) : 0.0,
           rep->file_type);
}

/* RMSE of tensor b against tensor a (same shape), both dequantized row by row. */
static double tensor_rmse(const gguf_tensor *a, const gguf_tensor *b, double *rms_a) {
    const int64_t ne0 = a->ne[0], rows = a->ne[1] * a->ne[2] * a->ne[3];
    float *ra = malloc(sizeof(float) * ne0), *rb = malloc(sizeof(float) * ne0);
    const size_t ba = qtype_row_bytes(a->type, ne0), bb = qtype_row_bytes(b->type, ne0);
    double e2 = 0, x2 = 0;
    for (int64_t r = 0; ra && rb && r < rows; r++) {
        qtype(a->type)->dequantize((const unsigned char *)a->data + r * ba, ra, ne0);
        qtype(b->type)->dequantize((const unsigned char *)b->data + r * bb, rb, ne0);
        for (int64_t j = 0; j < ne0; j++)
            e2 += (double)(rb[j] - ra[j]) * (rb[j] - ra[j]), x2 += (double)ra[j] * ra[j];
    }
    free(ra), free(rb);
    *rms_a = sqrt(x2 / (double)(ne0 * rows));
    return sqrt(e2 / (double)(ne0 * rows));
}

static int compare(const char *ref, const char *other) {
    scarce_error err;
    gguf_file *a = gguf_open(ref, &err), *b = a ? gguf_open(other, &err) : NULL;
    if (!b) {
        gguf_close(a);
        return cli_error("quantize", EXIT_RUNTIME, "%s", err.msg);
    }
    double e2 = 0, n_all = 0;
    size_t bytes = 0;
    printf("%-28s %-9s %10s %11s %9s\n", "tensor", "type", "bytes", "rmse", "rel");
    for (uint64_t i = 0; i < a->n_tensors; i++) {
        const gguf_tensor *ta = &a->tensors[i], *tb = gguf_find_tensor(b, ta->name);
        if (!tb || memcmp(ta->ne, tb->ne, sizeof ta->ne) || !qtype(tb->type) || !qtype(ta->type)) {
            printf("%-28s missing or of another shape/type in %s\n", ta->name, other);
            continue;
        }
        double rms, rmse = tensor_rmse(ta, tb, &rms);
        double n = (double)ta->ne[0] * ta->ne[1] * ta->ne[2] * ta->ne[3];
        e2 += rmse * rmse * n, n_all += n, bytes += tb->bytes;
        printf("%-28s %-9s %10zu %11.4g %9.4g\n", ta->name, qtype(tb->type)->name, tb->bytes, rmse,
               rms > 0 ? rmse / rms : 0.0);
    }
    printf("total: %zu bytes, %.4f bits/weight, rmse %.5g\n", bytes, 8.0 * bytes / n_all,
           sqrt(e2 / n_all));
    gguf_close(a), gguf_close(b);
    return EXIT_OK;
}

int cmd_quantize(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--compare")) return compare(argv[2], argv[3]);
    const char *pos[3] = {0};
    int n_pos = 0;
    quantize_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--imatrix")) {
            if (!(opts.imatrix_path = cli_value("quantize", argc, argv, &i))) return EXIT_USAGE;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            const char *v = cli_value("quantize", argc, argv, &i);
            long n;
            if (!v || cli_int("quantize", a, v, 1, 1024, &n)) return EXIT_USAGE;
            opts.n_threads = (int)n;
        } else if (!strcmp(a, "--pure")) {
            opts.pure = 1;
        } else if (a[0] == '-' && a[1]) {
            usage(stderr);
            return cli_error("quantize", EXIT_USAGE, "unknown option %s", a);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            return cli_error("quantize", EXIT_USAGE, "unexpected argument %s", a);
        }
    }
    if (n_pos != 3) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!quant_scheme_by_name(pos[2])) {
        usage(stderr);
        return cli_error("quantize", EXIT_USAGE, "unknown type '%s'", pos[2]);
    }
    progress_clock clock = {now_seconds(), 0};
    if (isatty(STDERR_FILENO)) opts.progress = progress_line, opts.progress_ctx = &clock;
    opts.cancel = &interrupted;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    signal(SIGXFSZ, SIG_IGN); /* over a file size limit: a write error, not a kill */
    quantize_report rep;
    scarce_error err;
    if (quantize_model(pos[0], pos[1], pos[2], &opts, &rep, &err))
        return cli_error("quantize", EXIT_RUNTIME, "%s", err.msg);
    if (rep.dequantized_input)
        fprintf(stderr,
                "scarce quantize: warning: %s holds quantized tensors; they were "
                "dequantized first (errors add up)\n",
                pos[0]);
    if (opts.imatrix_path)
        fprintf(stderr, "scarce quantize: imatrix %s (%d chunks): importance for %d tensors\n",
                opts.imatrix_path, rep.imatrix_chunks, rep.n_imatrix_used);
    print_report(&rep);
    printf("wrote %s\n", pos[1]);
    quantize_report_free(&rep);
    return EXIT_OK;
}
