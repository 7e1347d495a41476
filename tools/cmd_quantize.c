/* cmd_quantize.c - scarce quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]:
 * prints what engine/quantize_model.c did, tensor by tensor. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../engine/quantize_model.h"
#include "../quant/policy.h"
#include "../quant/types.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: scarce quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [-t N] [--pure]\n"
                 "  TYPE:");
    for (int i = 0; quant_scheme_at(i); i++) fprintf(out, " %s", quant_scheme_at(i)->name);
    fprintf(out, "\n  q2_k..q6_k are the plain K-quants; q2_k_m, q3_k_m, q4_k_m ... are llama.cpp's\n"
                 "  mixes (its Q2_K is our q2_k_m). 1-D tensors stay f32; a tensor whose rows fit\n"
                 "  no block of its type falls back to the nearest type with at least as many\n"
                 "  bits (f16 when none fits) and the table says so. fp8_e4m3, fp8_e5m2 and q2_0\n"
                 "  are scarce's own types: other readers refuse such files (scarce.types).\n"
                 "  --imatrix FILE  column importances from scarce imatrix (weights the error)\n"
                 "  --pure          no per-tensor upgrades (output, attn_v, ffn_down ...)\n"
                 "  -t N            threads (default: all)\n");
}

static void progress_bar(void *ctx, int done, int total, const char *name) {
    (void)ctx;
    const int width = 30, filled = done * width / total;
    fprintf(stderr, "\r[%.*s%*s] %d/%d %-32.32s", filled, "##############################",
            width - filled, "", done, total, name);
    if (done == total) fputc('\n', stderr);
}

static void print_report(const quantize_report *rep) {
    printf("%-28s %-9s %-9s %10s %11s %9s  %s\n", "tensor", "from", "type", "bytes", "rmse",
           "rel", "reason");
    for (int i = 0; i < rep->n_tensors; i++) {
        const quantize_tensor_info *t = &rep->tensors[i];
        printf("%-28s %-9s %-9s %10zu %11.4g %9.4g  %s%s\n", t->name, qtype(t->src_type)->name,
               qtype(t->type)->name, t->bytes, t->rmse,
               t->rms_source > 0 ? t->rmse / t->rms_source : 0.0, t->reason,
               t->has_importance ? (t->reason[0] ? " (imatrix)" : "(imatrix)") : "");
    }
    printf("total: %zu bytes (%.2f MiB), %lld weights, %.4f bits/weight, general.file_type %u\n",
           rep->total_bytes, rep->total_bytes / 1048576.0, (long long)rep->n_elements,
           rep->bits_per_weight, rep->file_type);
}

int cmd_quantize(int argc, char **argv) {
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
    if (isatty(STDERR_FILENO)) opts.progress = progress_bar;
    quantize_report rep;
    scarce_error err;
    if (quantize_model(pos[0], pos[1], pos[2], &opts, &rep, &err))
        return cli_error("quantize", EXIT_RUNTIME, "%s", err.msg);
    if (rep.dequantized_input)
        fprintf(stderr, "scarce quantize: warning: %s holds quantized tensors; they were "
                        "dequantized first (errors add up)\n", pos[0]);
    if (opts.imatrix_path)
        fprintf(stderr, "scarce quantize: imatrix %s (%d chunks): importance for %d tensors\n",
                opts.imatrix_path, rep.imatrix_chunks, rep.n_imatrix_used);
    print_report(&rep);
    printf("wrote %s\n", pos[1]);
    quantize_report_free(&rep);
    return EXIT_OK;
}
