/* cmd_sweep.c - scarce sweep: quantize one F32/F16 model to every type the quantizer
 * supports, and for each measure accuracy (PPL, KL divergence vs the input model, top-1
 * agreement) and speed (decode tok/s); write sweep.md, .csv, .json and an SVG plot of
 * KL and tok/s against bits/weight with the Pareto fronts. Temporary models are removed
 * on every exit path, SIGINT/SIGTERM included. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/scarce.h"
#include "bench_rows.h"
#include "cli.h"
#include "ppl_run.h"
#include "summary.h"
#include "svg.h"

enum { MAX_TYPES = 48 }; /* rows; the formats are 30 today */

/* Temp files to remove: the one piece of global state, for the signal handler. */
static char temp_paths[MAX_TYPES + 2][512]; /* + the KL base and the importance matrix */
static volatile sig_atomic_t n_temp;

static void remove_temps(void) {
    for (int i = 0; i < n_temp; i++)
        if (temp_paths[i][0]) unlink(temp_paths[i]);
}

static void on_signal(int sig) {
    remove_temps(); /* unlink is async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

typedef struct {
    char type[16];
    int imatrix; /* quantized with an importance matrix */
    double bpw, ppl, ppl_err, kl_mean, kl_median, kl_p99, kl_max, top1_pct, tg_tok_s, tg_sd;
    double weight_mb_per_token;
} sweep_row;

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce sweep -m MODEL.gguf -f TEXT [options]\n"
            "  -m FILE      F32 or F16 model to quantize\n"
            "  -f TEXT      text for perplexity / KL divergence\n"
            "  -c N         window length (default 128)\n"
            "  --chunks N   windows scored per type (default 8)\n"
            "  -n N         decode steps of the speed test (default 32)\n"
            "  -t N         threads (default: all cores)\n"
            "  -o PREFIX    output files PREFIX.md .csv .json .svg (default: sweep)\n"
            "  --types A,B  only these types (default: every weight type)\n"
            "  --imatrix F  importance matrix for every type (scarce imatrix's file)\n"
            "  --pure       every matrix in the type, output and token embeddings too (as\n"
            "               quantize --pure): the bits/weight of the format itself\n"
            "The input's distributions are computed once (a KL base file, as ppl --kl-base-out\n"
            "writes) and every type is scored against it. Without --imatrix, the same pass over\n"
            "the text collects an importance matrix, used only for the types that cannot be\n"
            "written without one (iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq1_s, iq1_m: column\n"
            "'imatrix' says which).\n");
}

/* Bits per weight of a file: tensor bytes x 8 / elements. */
static double file_bpw(const char *path) {
    scarce_gguf *g = NULL;
    scarce_gguf_info info;
    if (scarce_gguf_open(path, &g, NULL, 0) || scarce_gguf_get_info(g, &info)) {
        scarce_gguf_close(g);
        return NAN;
    }
    double bits = 0, n = 0;
    for (uint64_t i = 0; i < info.n_tensors; i++) {
        scarce_gguf_tensor t;
        if (scarce_gguf_get_tensor(g, i, &t)) continue;
        double elems = 1;
        for (int d = 0; d < t.n_dims; d++) elems *= (double)t.ne[d];
        bits += 8.0 * t.bytes, n += elems;
    }
    scarce_gguf_close(g);
    return n > 0 ? bits / n : NAN;
}

/* base: the KL base file of the input (NULL for the input itself, which writes base_out). */
static int measure(const char *path, const char *base, const char *base_out,
                   const char *imatrix_out, const char *type, const char *text, int n_ctx,
                   int n_chunks, int n_gen, int n_threads, sweep_row *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->type, sizeof row->type, "%s", type);
    row->bpw = file_bpw(path);
    ppl_job job = {.cmd = "sweep",
                   .model = path,
                   .base = base,
                   .base_out = base_out,
                   .imatrix_out = imatrix_out,
                   .text = text,
                   .n_ctx = n_ctx,
                   .n_chunks = n_chunks,
                   .quiet = 1,
                   .n_threads = n_threads};
    scarce_ppl_result pr;
    if (ppl_run(&job, &pr)) return -1;
    row->ppl = pr.ppl, row->ppl_err = pr.ppl_err;
    row->kl_mean = pr.kl_mean, row->kl_median = pr.kl_median, row->kl_p99 = pr.kl_p99;
    row->kl_max = pr.kl_max, row->top1_pct = pr.has_kl ? pr.top1_agree_pct : 100;
    bench_result br[2];
    int n_rows;
    char msg[512] = "";
    if (bench_model(path, n_threads, 0, n_gen, 3, br, &n_rows, msg) || n_rows != 1)
        return cli_error("sweep", EXIT_RUNTIME, "%s", msg), -1;
    row->tg_tok_s = br[0].tok_s, row->tg_sd = br[0].tok_s_sd;
    row->weight_mb_per_token = br[0].weight_bytes_per_token / 1e6;
    return 0;
}

/* 1 when name is one of the comma-separated list's items */
static int in_list(const char *list, const char *name) {
    const size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        const size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && !strncmp(p, name, n)) return 1;
        p += n + (end != NULL);
    }
    return 0;
}

static FILE *open_out(const char *prefix, const char *ext) {
    char path[600];
    snprintf(path, sizeof path, "%s.%s", prefix, ext);
    FILE *f = fopen(path, "w");
    if (!f) cli_error("sweep", EXIT_RUNTIME, "%s: cannot write", path);
    return f;
}

static int write_tables(const char *prefix, const char *model, const sweep_row *r, int n) {
    FILE *md = open_out(prefix, "md"), *csv = open_out(prefix, "csv"),
         *js = open_out(prefix, "json");
    if (!md || !csv || !js) {
        if (md) fclose(md);
        if (csv) fclose(csv);
        if (js) fclose(js);
        return -1;
    }
    fprintf(
        md,
        "| type | imatrix | bits/weight | PPL | KL mean | KL median | KL p99 | KL max | top-1 %% | "
        "decode tok/s | weight MB/token "
        "|\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    fprintf(csv, "type,imatrix,bpw,ppl,ppl_err,kl_mean,kl_median,kl_p99,kl_max,top1_pct,tg_tok_s,"
                 "tg_tok_s_sd,"
                 "weight_mb_per_token\n");
    fputs("{\"model\": ", js), json_str(js, model), fputs(", \"types\": [", js);
    for (int i = 0; i < n; i++) {
        fprintf(md,
                "| %s | %s | %.3f | %.4f ± %.4f | %.6f | %.6f | %.6f | %.6f | %.2f | %.1f ± %.1f | "
                "%.3f "
                "|\n",
                r[i].type, r[i].imatrix ? "yes" : "no", r[i].bpw, r[i].ppl, r[i].ppl_err,
                r[i].kl_mean, r[i].kl_median, r[i].kl_p99, r[i].kl_max, r[i].top1_pct,
                r[i].tg_tok_s, r[i].tg_sd, r[i].weight_mb_per_token);
        fprintf(csv, "%s,%d,%.4f,%.6f,%.6f,%.8f,%.8f,%.8f,%.8f,%.3f,%.3f,%.3f,%.4f\n", r[i].type,
                r[i].imatrix, r[i].bpw, r[i].ppl, r[i].ppl_err, r[i].kl_mean, r[i].kl_median,
                r[i].kl_p99, r[i].kl_max, r[i].top1_pct, r[i].tg_tok_s, r[i].tg_sd,
                r[i].weight_mb_per_token);
        fprintf(js, "%s\n  {\"type\": ", i ? "," : ""), json_str(js, r[i].type);
        fprintf(js, ", \"imatrix\": %s", r[i].imatrix ? "true" : "false");
        const double v[] = {
            r[i].bpw,    r[i].ppl,    r[i].ppl_err,  r[i].kl_mean,  r[i].kl_median,
            r[i].kl_p99, r[i].kl_max, r[i].top1_pct, r[i].tg_tok_s, r[i].weight_mb_per_token};
        const char *k[] = {"bpw",    "ppl",    "ppl_err",  "kl_mean",  "kl_median",
                           "kl_p99", "kl_max", "top1_pct", "tg_tok_s", "weight_mb_per_token"};
        for (int j = 0; j < 10; j++) fprintf(js, ", \"%s\": ", k[j]), json_num(js, v[j]);
        fputc('}', js);
    }
    fputs("\n]}\n", js);
    int bad = fclose(md) | fclose(csv) | fclose(js);
    return bad ? -1 : 0;
}

static int write_plot(const char *prefix, const sweep_row *r, int n) {
    svg_point kl[MAX_TYPES + 1], speed[MAX_TYPES + 1];
    int n_kl = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].kl_mean > 0) kl[n_kl++] = (svg_point){r[i].bpw, r[i].kl_mean, r[i].type};
        speed[i] = (svg_point){r[i].bpw, r[i].tg_tok_s, r[i].type};
    }
    const svg_panel panels[2] = {
        {"Accuracy", "bits per weight", "KL divergence vs input (nats, log)", 1, 0, kl, n_kl},
        {"Speed", "bits per weight", "decode speed (tokens/s)", 0, 1, speed, n},
    };
    char path[600];
    snprintf(path, sizeof path, "%s.svg", prefix);
    char msg[512];
    if (svg_write(path, "scarce sweep: accuracy and speed vs bits/weight (red: Pareto front)",
                  panels, 2, msg))
        return cli_error("sweep", EXIT_RUNTIME, "%s", msg), -1;
    return 0;
}

int cmd_sweep(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *prefix = "sweep", *types = NULL, *imatrix = NULL;
    long n_ctx = 128, n_chunks = 8, n_gen = 32, n_threads = sysconf(_SC_NPROCESSORS_ONLN);
    int pure = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), EXIT_OK;
        if (!strcmp(f, "--pure")) {
            pure = 1;
            continue;
        }
        if (!(v = cli_value("sweep", argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-m"))
            model = v;
        else if (!strcmp(f, "-f"))
            text = v;
        else if (!strcmp(f, "-o"))
            prefix = v;
        else if (!strcmp(f, "--types"))
            types = v;
        else if (!strcmp(f, "--imatrix"))
            imatrix = v;
        else if (!strcmp(f, "-c")) {
            if (cli_int("sweep", f, v, 4, 1 << 20, &n_ctx)) return EXIT_USAGE;
        } else if (!strcmp(f, "--chunks")) {
            if (cli_int("sweep", f, v, 1, 1 << 30, &n_chunks)) return EXIT_USAGE;
        } else if (!strcmp(f, "-n")) {
            if (cli_int("sweep", f, v, 1, 1 << 16, &n_gen)) return EXIT_USAGE;
        } else if (!strcmp(f, "-t")) {
            if (cli_int("sweep", f, v, 1, 1024, &n_threads)) return EXIT_USAGE;
        } else
            return cli_error("sweep", EXIT_USAGE, "unknown option %s (see scarce sweep -h)", f);
    }
    if (!model || !text) return cli_error("sweep", EXIT_USAGE, "-m FILE and -f TEXT are required");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sweep_row rows[MAX_TYPES + 1];
    int n = 0, rc = EXIT_RUNTIME;
    /* the input's distributions are computed once, into a KL base file every type reads */
    char *kl_base = temp_paths[n_temp];
    snprintf(kl_base, sizeof temp_paths[0], "%s/scarce-sweep-%d-base.kl",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    n_temp++;
    fprintf(stderr, "sweep: %s (input)\n", model);
    /* without --imatrix, the input's pass also collects one, for the types that need it */
    char *own_imatrix = NULL;
    if (!imatrix) {
        own_imatrix = temp_paths[n_temp];
        snprintf(own_imatrix, sizeof temp_paths[0], "%s/scarce-sweep-%d.imatrix",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        n_temp++;
    }
    if (measure(model, NULL, kl_base, own_imatrix, "input", text, (int)n_ctx, (int)n_chunks,
                (int)n_gen, (int)n_threads, &rows[n]))
        goto done;
    n++;
    for (int i = 0; scarce_quant_scheme(i) && n < MAX_TYPES; i++) {
        /* every weight format but the f32 input: the schemes named as their format (the
         * others are llama.cpp's mixes of several) */
        const char *type = scarce_quant_scheme(i);
        if (strcmp(type, scarce_quant_scheme_type(type)) || !strcmp(type, "f32")) continue;
        if (types && !in_list(types, type)) continue;
        char *tmp = temp_paths[n_temp];
        snprintf(tmp, sizeof temp_paths[0], "%s/scarce-sweep-%d-%s.gguf",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), type);
        n_temp++;
        char msg[512];
        fprintf(stderr, "sweep: %s\n", type);
        /* the text's own importance matrix only where the type cannot do without one */
        const char *im = imatrix ? imatrix
                         : scarce_quant_scheme_needs_imatrix(type) == 1 ? own_imatrix
                                                                        : NULL;
        const scarce_quantize_params qp = {.n_threads = (int)n_threads, .imatrix = im, .pure = pure};
        const int rc_q = scarce_model_quantize(model, tmp, type, &qp, NULL, msg, sizeof msg);
        if (rc_q) {
            fprintf(stderr, "sweep: %s skipped: %s\n", type, msg);
            continue;
        }
        if (measure(tmp, kl_base, NULL, NULL, type, text, (int)n_ctx, (int)n_chunks, (int)n_gen,
                    (int)n_threads, &rows[n]))
            goto done;
        rows[n].imatrix = qp.imatrix != NULL;
        n++;
        unlink(tmp);
    }
    if (write_tables(prefix, model, rows, n) || write_plot(prefix, rows, n)) goto done;
    fprintf(stderr, "sweep: %d types, wrote %s.md .csv .json .svg\n", n - 1, prefix);
    rc = EXIT_OK;
done:
    remove_temps();
    return rc;
}
