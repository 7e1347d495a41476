/* cmd_quantize.c - scarce quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]:
 * prints what scarce_model_quantize did, tensor by tensor; --compare reads two files
 * through scarce_gguf_*. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../include/scarce.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: scarce quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]\n"
                 "  TYPE:");
    for (int i = 0; scarce_quant_scheme(i); i++) fprintf(out, " %s", scarce_quant_scheme(i));
    fprintf(out,
            "\n  q2_k..q6_k are the plain K-quants; q2_k_m, q3_k_m, q4_k_m ... are llama.cpp's\n"
            "  mixes (its Q2_K is our q2_k_m); iq2_m, iq3_xs, iq3_m, mxfp4_moe are its mixes\n"
            "  of those names, and the other IQ/TQ names follow its rules for that file type\n"
            "  (iq2_xxs .. iq1_m need --imatrix, as in llama.cpp; iq2_s keeps IQ2_S where\n"
            "  llama.cpp's IQ2_S file puts IQ2_XS). 1-D tensors stay f32; a tensor whose rows fit\n"
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

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* SIGINT/SIGTERM: the quantization stops at its next chunk and removes its temporary file;
 * a second signal ends the process at once. */
static volatile sig_atomic_t interrupted;

/* The progress line (when stderr is a terminal): tensor i/n, source MB read per second
 * since the start, and the time left at that rate. Also where a signal stops the run. */
typedef struct {
    double t0, last;
    int show;
} progress_clock;

static int progress_line(void *user, int tensor, int n_tensors, const char *name,
                         int64_t bytes_done, int64_t bytes_total) {
    progress_clock *c = user;
    if (interrupted) return 1;
    const double now = now_s(), dt = now - c->t0;
    const int last = bytes_done == bytes_total;
    if (!c->show || (!last && now - c->last < 0.2)) return 0; /* a few updates a second */
    c->last = now;
    const double mb = bytes_done / 1e6, rate = dt > 0 ? mb / dt : 0;
    const double left = rate > 0 ? (bytes_total / 1e6 - mb) / rate : 0;
    fprintf(stderr, "\r%5.1f%% tensor %d/%d %-28.28s %7.1f MB/s  ETA %4.0f s ",
            bytes_total ? 100.0 * bytes_done / bytes_total : 100.0, tensor + 1, n_tensors, name,
            rate, left);
    if (last) fputc('\n', stderr);
    return 0;
}

static void on_interrupt(int sig) {
    interrupted = 1;
    signal(sig, SIG_DFL);
}

static void print_report(const scarce_quantize_report *rep) {
    double e2 = 0;
    for (int i = 0; i < rep->n_tensors; i++)
        e2 += rep->tensors[i].rmse * rep->tensors[i].rmse * (double)rep->tensors[i].n_elements;
    printf("%-28s %-9s %-9s %10s %11s %9s  %s\n", "tensor", "from", "type", "bytes", "rmse", "rel",
           "reason");
    for (int i = 0; i < rep->n_tensors; i++) {
        const scarce_quant_tensor *t = &rep->tensors[i];
        printf("%-28s %-9s %-9s %10llu %11.4g %9.4g  %s%s\n", t->name, t->from_type, t->type,
               (unsigned long long)t->bytes, t->rmse,
               t->rms_source > 0 ? t->rmse / t->rms_source : 0.0, t->reason,
               t->has_importance ? (t->reason[0] ? " (imatrix)" : "(imatrix)") : "");
    }
    printf("total: %llu bytes (%.2f MiB), %lld weights, %.4f bits/weight, rmse %.5g, "
           "general.file_type %u\n",
           (unsigned long long)rep->total_bytes, rep->total_bytes / 1048576.0,
           (long long)rep->n_elements, rep->bits_per_weight,
           rep->n_elements ? sqrt(e2 / (double)rep->n_elements) : 0.0, rep->file_type);
}

/* RMSE of tensor j of b against tensor i of a (same shape), both dequantized row by row;
 * -1 when a row cannot be read. */
static double tensor_rmse(const scarce_gguf *a, uint64_t i, const scarce_gguf *b, uint64_t j,
                          const scarce_gguf_tensor *t, double *rms_a) {
    const int64_t ne0 = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3];
    float *ra = malloc(sizeof(float) * ne0), *rb = malloc(sizeof(float) * ne0);
    double e2 = 0, x2 = 0;
    int rc = ra && rb ? 0 : -1;
    for (int64_t r = 0; !rc && r < rows; r++) {
        if ((rc = scarce_gguf_tensor_row(a, i, r, ra)) ||
            (rc = scarce_gguf_tensor_row(b, j, r, rb)))
            break;
        for (int64_t k = 0; k < ne0; k++)
            e2 += (double)(rb[k] - ra[k]) * (rb[k] - ra[k]), x2 += (double)ra[k] * ra[k];
    }
    free(ra), free(rb);
    *rms_a = sqrt(x2 / (double)(ne0 * rows));
    return rc ? -1 : sqrt(e2 / (double)(ne0 * rows));
}

/* The index of the tensor called name in g, or -1. */
static int64_t find_tensor(const scarce_gguf *g, uint64_t n, const char *name,
                           scarce_gguf_tensor *t) {
    for (uint64_t i = 0; i < n; i++)
        if (!scarce_gguf_get_tensor(g, i, t) && !strcmp(t->name, name)) return (int64_t)i;
    return -1;
}

static int compare(const char *ref, const char *other) {
    char msg[512];
    scarce_gguf *a = NULL, *b = NULL;
    if (scarce_gguf_open(ref, &a, msg, sizeof msg) ||
        scarce_gguf_open(other, &b, msg, sizeof msg)) {
        scarce_gguf_close(a);
        return cli_error("quantize", EXIT_RUNTIME, "%s", msg);
    }
    scarce_gguf_info ia, ib;
    scarce_gguf_get_info(a, &ia), scarce_gguf_get_info(b, &ib);
    double e2 = 0, n_all = 0;
    uint64_t bytes = 0;
    printf("%-28s %-9s %10s %11s %9s\n", "tensor", "type", "bytes", "rmse", "rel");
    for (uint64_t i = 0; i < ia.n_tensors; i++) {
        scarce_gguf_tensor ta, tb;
        scarce_gguf_get_tensor(a, i, &ta);
        const int64_t j = find_tensor(b, ib.n_tensors, ta.name, &tb);
        double rms, rmse = -1;
        if (j >= 0 && !memcmp(ta.ne, tb.ne, sizeof ta.ne) && strcmp(ta.type, "?") &&
            strcmp(tb.type, "?"))
            rmse = tensor_rmse(a, i, b, (uint64_t)j, &ta, &rms);
        if (rmse < 0) {
            printf("%-28s missing or of another shape/type in %s\n", ta.name, other);
            continue;
        }
        double n = (double)ta.ne[0] * ta.ne[1] * ta.ne[2] * ta.ne[3];
        e2 += rmse * rmse * n, n_all += n, bytes += tb.bytes;
        printf("%-28s %-9s %10llu %11.4g %9.4g\n", ta.name, tb.type, (unsigned long long)tb.bytes,
               rmse, rms > 0 ? rmse / rms : 0.0);
    }
    printf("total: %llu bytes, %.4f bits/weight, rmse %.5g\n", (unsigned long long)bytes,
           8.0 * bytes / n_all, sqrt(e2 / n_all));
    scarce_gguf_close(a), scarce_gguf_close(b);
    return EXIT_OK;
}

/* 1 when name is one of scarce_quant_scheme's */
static int known_scheme(const char *name) {
    for (int i = 0; scarce_quant_scheme(i); i++)
        if (!strcmp(scarce_quant_scheme(i), name)) return 1;
    return 0;
}

int cmd_quantize(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--compare")) return compare(argv[2], argv[3]);
    const char *pos[3] = {0};
    int n_pos = 0;
    scarce_quantize_params opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--imatrix")) {
            if (!(opts.imatrix = cli_value("quantize", argc, argv, &i))) return EXIT_USAGE;
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
    if (!known_scheme(pos[2])) {
        usage(stderr);
        return cli_error("quantize", EXIT_USAGE, "unknown type '%s'", pos[2]);
    }
    progress_clock clock = {now_s(), 0, isatty(STDERR_FILENO)};
    opts.progress = progress_line, opts.progress_user = &clock;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    signal(SIGXFSZ, SIG_IGN); /* over a file size limit: a write error, not a kill */
    scarce_quantize_report rep;
    char msg[512];
    if (scarce_model_quantize(pos[0], pos[1], pos[2], &opts, &rep, msg, sizeof msg))
        return cli_error("quantize", EXIT_RUNTIME, "%s", msg);
    if (rep.dequantized_input)
        fprintf(stderr,
                "scarce quantize: warning: %s holds quantized tensors; they were "
                "dequantized first (errors add up)\n",
                pos[0]);
    if (opts.imatrix)
        fprintf(stderr, "scarce quantize: imatrix %s (%d chunks): importance for %d tensors\n",
                opts.imatrix, rep.imatrix_chunks, rep.n_imatrix_used);
    print_report(&rep);
    printf("wrote %s\n", pos[1]);
    scarce_quantize_report_free(&rep);
    return EXIT_OK;
}
