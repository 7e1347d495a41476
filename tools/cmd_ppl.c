/* cmd_ppl.c - scarce ppl: perplexity of a text like llama-perplexity (non-overlapping
 * windows, BOS first, second half scored), and with --kl-base the KL divergence of the
 * model's next-token distributions against a base model's on the same windows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../include/scarce.h"
#include "api_setup.h"
#include "cli.h"
#include "ppl_run.h"
#include "readfile.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce ppl -m FILE -f TEXT [options]\n"
            "  -m FILE          GGUF model\n"
            "  -f TEXT          text file to score\n"
            "  -c N             window (context) length in tokens (default 256)\n"
            "  --chunks N       score only the first N windows (default: all)\n"
            "  -b N             tokens per forward call (default: the whole window)\n"
            "  -t N             threads (default: all cores)\n"
            "  --kl-base FILE   base model (same vocabulary), or a KL base file written by\n"
            "                   --kl-base-out or llama-perplexity --kl-divergence-base (then\n"
            "                   its tokens and -c are used, -f is not needed): KL(base || model)\n"
            "                   mean/median/p99/max, top-1 agreement, PPL ratio +/- error\n"
            "  --kl-base-out FILE  write the -m model's distributions on the text as a KL base\n"
            "                   file (llama-perplexity's format, 16-bit log-probabilities)\n"
            "Windows do not overlap; each starts with BOS; positions c/2 .. c-1 are scored.\n");
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The model at path on n_threads, or NULL with the error printed. */
static scarce_model *open_model(const char *cmd, const char *path, int n_threads) {
    const scarce_model_params mp = api_setup_model_params(n_threads > 0 ? n_threads : 1);
    scarce_model *m = NULL;
    char err[512];
    if (scarce_model_open(path, &mp, &m, err, sizeof err)) cli_error(cmd, EXIT_RUNTIME, "%s", err);
    return m;
}

/* The scorer of the job: its text's tokens, or those of the KL base file; NULL with the
 * error printed. */
static scarce_ppl *begin(const ppl_job *job, scarce_model *mod, scarce_model *base,
                         int base_is_file) {
    const char *cmd = job->cmd ? job->cmd : "ppl";
    scarce_ppl_params pp = {.n_ctx = base_is_file ? 0 : job->n_ctx,
                            .n_batch = job->n_batch,
                            .n_windows = job->n_chunks,
                            .base_model = base,
                            .base_file = base_is_file ? job->base : NULL,
                            .base_out = job->base_out,
                            .imatrix = job->imatrix_out != NULL};
    int32_t *ids = NULL;
    int n_ids = 0;
    char msg[512];
    if (!base_is_file && !(ids = read_text_ids(mod, job->text, &n_ids, msg)))
        return cli_error(cmd, EXIT_RUNTIME, "%s", msg), NULL;
    if (!base_is_file && n_ids < job->n_ctx) {
        cli_error(cmd, EXIT_RUNTIME, "%s: %d tokens, fewer than one window of %d (-c)", job->text,
                  n_ids, job->n_ctx);
        free(ids);
        return NULL;
    }
    scarce_ppl *ppl = NULL;
    if (scarce_ppl_begin(mod, ids, n_ids, &pp, &ppl))
        cli_error(cmd, EXIT_RUNTIME, "%s", scarce_model_error(mod));
    free(ids);
    return ppl;
}

/* Scores every window, printing the running PPL (and progress on a terminal). 0 or -1. */
static int score_windows(const ppl_job *job, scarce_ppl *ppl, const scarce_ppl_info *in) {
    const int tty = isatty(2) && !job->quiet;
    const double t0 = now_seconds();
    for (int c = 0; c < in->n_windows; c++) {
        scarce_ppl_window w;
        if (scarce_ppl_next(ppl, &w)) {
            cli_error(job->cmd ? job->cmd : "ppl", EXIT_RUNTIME, "window %d: %s", c,
                      scarce_ppl_error(ppl));
            return -1;
        }
        if (!job->quiet) printf("[%d]%.4f%s", c + 1, w.ppl, c + 1 < in->n_windows ? "," : "\n");
        fflush(stdout);
        if (tty) {
            const double dt = now_seconds() - t0;
            fprintf(stderr, "\r  window %d/%d, %.1f s, about %.0f s left   ", c + 1, in->n_windows,
                    dt, dt / (c + 1) * (in->n_windows - c - 1));
        }
    }
    if (tty) fputc('\n', stderr);
    return 0;
}

int ppl_run(const ppl_job *job, scarce_ppl_result *res) {
    const char *cmd = job->cmd ? job->cmd : "ppl";
    scarce_model *mod = NULL, *base = NULL;
    scarce_ppl *ppl = NULL;
    int rc = EXIT_RUNTIME;
    memset(res, 0, sizeof *res);
    const int base_is_file = job->base && scarce_ppl_is_base_file(job->base);
    if (!(mod = open_model(cmd, job->model, job->n_threads)) ||
        (job->base && !base_is_file && !(base = open_model(cmd, job->base, job->n_threads))))
        goto done;
    if (base && scarce_model_n_vocab(base) != scarce_model_n_vocab(mod)) {
        cli_error(cmd, EXIT_RUNTIME,
                  "%s has %d tokens in its vocabulary, %s has %d: KL needs the same vocabulary",
                  job->base, scarce_model_n_vocab(base), job->model, scarce_model_n_vocab(mod));
        goto done;
    }
    if (!(ppl = begin(job, mod, base, base_is_file))) goto done;
    scarce_ppl_info in;
    scarce_ppl_get_info(ppl, &in);
    if (!job->quiet)
        fprintf(stderr, "%s: %d tokens, %d windows of %d, scoring %d positions each\n",
                base_is_file ? job->base : job->text, in.n_tokens, in.n_windows, in.n_ctx,
                in.scored_per_window);
    if (score_windows(job, ppl, &in)) goto done;
    if (job->base_out && scarce_ppl_save_base(ppl)) {
        cli_error(cmd, EXIT_RUNTIME, "%s", scarce_ppl_error(ppl));
        goto done;
    }
    if (job->imatrix_out && scarce_ppl_save_imatrix(ppl, job->imatrix_out, job->text)) {
        cli_error(cmd, EXIT_RUNTIME, "%s", scarce_ppl_error(ppl));
        goto done;
    }
    scarce_ppl_get_result(ppl, res);
    rc = EXIT_OK;
done:
    scarce_ppl_free(ppl); /* removes an unsaved base_out */
    scarce_model_close(mod);
    scarce_model_close(base);
    return rc;
}

int cmd_ppl(int argc, char **argv) {
    ppl_job job = {.n_ctx = 256};
    long n, n_threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), EXIT_OK;
        if (!(v = cli_value("ppl", argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-m"))
            job.model = v;
        else if (!strcmp(f, "-f"))
            job.text = v;
        else if (!strcmp(f, "--kl-base"))
            job.base = v;
        else if (!strcmp(f, "--kl-base-out"))
            job.base_out = v;
        else if (!strcmp(f, "-c")) {
            if (cli_int("ppl", f, v, 4, 1 << 20, &n)) return EXIT_USAGE;
            job.n_ctx = (int)n;
        } else if (!strcmp(f, "--chunks")) {
            if (cli_int("ppl", f, v, 1, 1 << 30, &n)) return EXIT_USAGE;
            job.n_chunks = (int)n;
        } else if (!strcmp(f, "-b")) {
            if (cli_int("ppl", f, v, 1, 1 << 20, &n)) return EXIT_USAGE;
            job.n_batch = (int)n;
        } else if (!strcmp(f, "-t")) {
            if (cli_int("ppl", f, v, 1, 1024, &n_threads)) return EXIT_USAGE;
        } else
            return cli_error("ppl", EXIT_USAGE, "unknown option %s (see scarce ppl -h)", f);
    }
    if (!job.model || (!job.text && !(job.base && scarce_ppl_is_base_file(job.base))))
        return cli_error("ppl", EXIT_USAGE,
                         "-m FILE and -f TEXT (or --kl-base with a KL base file) are required");
    if (job.base && job.base_out)
        return cli_error(
            "ppl", EXIT_USAGE,
            "--kl-base-out writes the -m model's own distributions: no --kl-base with it");
    job.n_threads = (int)n_threads;
    scarce_ppl_result r;
    int rc = ppl_run(&job, &r);
    if (rc) return rc;
    printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
    if (r.has_kl)
        printf(
            "KL divergence vs %s over %zu positions: mean %.6f, median %.6f, p99 %.6f, max %.6f\n"
            "same top p (top-1 agreement) %.2f%%, PPL ratio %.4f +/- %.4f (base PPL %.4f)\n",
            job.base, (size_t)r.n_scored, r.kl_mean, r.kl_median, r.kl_p99, r.kl_max,
            r.top1_agree_pct, r.ppl_ratio, r.ppl_ratio_err, r.base_ppl);
    if (job.base_out)
        printf("wrote %s (llama-perplexity --kl-divergence-base format)\n", job.base_out);
    return EXIT_OK;
}
