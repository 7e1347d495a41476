/* cmd_ppl.c - scarce ppl: perplexity of a text like llama-perplexity (non-overlapping
 * windows, BOS first, second half scored), and with --kl-base the KL divergence of the
 * model's next-token distributions against a base model's on the same windows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/machine.h"
#include "../engine/ppl.h"
#include "../engine/tokenizer.h"
#include "cli.h"
#include "kernel_setup.h"
#include "report.h"
#include "textfile.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce ppl -m FILE -f TEXT [options]\n"
            "  -m FILE          GGUF model\n"
            "  -f TEXT          text file to score\n"
            "  -c N             window (context) length in tokens (default 256)\n"
            "  --chunks N       score only the first N windows (default: all)\n"
            "  -b N             tokens per forward call (default: the whole window)\n"
            "  -t N             threads (default: all cores)\n"
            "  --kl-base FILE   base model (same vocabulary): KL(base || model), top-1\n"
            "                   agreement and PPL ratio on the same positions\n"
            "Windows do not overlap; each starts with BOS; positions c/2 .. c-1 are scored.\n");
}

typedef struct {
    model *m;
    session s;
} loaded;

static int load(loaded *l, const char *path, int n_ctx, int n_threads, scarce_error *err) {
    memset(l, 0, sizeof *l);
    const model_options opts = kernel_setup_options(n_threads > 0 ? n_threads : 1);
    if (!(l->m = model_load(path, &opts, err))) return -1;
    if (session_init(&l->s, l->m, n_ctx, err)) {
        model_free(l->m);
        l->m = NULL;
        return -1;
    }
    return 0;
}

static void unload(loaded *l) {
    if (l->m) session_free(&l->s);
    model_free(l->m);
    memset(l, 0, sizeof *l);
}

int ppl_run(const ppl_job *job, ppl_result *res) {
    const char *cmd = job->cmd ? job->cmd : "ppl";
    scarce_error err = {0};
    loaded mod = {0}, base = {0};
    tokenizer *tok = NULL;
    int *ids = NULL, n_ids = 0, rc = EXIT_RUNTIME;
    ppl_acc acc = {0};
    memset(res, 0, sizeof *res);
    if (load(&mod, job->model, job->n_ctx, job->n_threads, &err) ||
        (job->base && load(&base, job->base, job->n_ctx, job->n_threads, &err)) ||
        !(tok = tokenizer_load(mod.m->file, &err)) ||
        !(ids = tokenize_file(job->text, tok, &n_ids, &err))) {
        cli_error(cmd, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    if (base.m && base.m->cfg.n_vocab != mod.m->cfg.n_vocab) {
        cli_error(cmd, EXIT_RUNTIME, "%s has %d tokens in its vocabulary, %s has %d: KL needs the same vocabulary",
                  job->base, base.m->cfg.n_vocab, job->model, mod.m->cfg.n_vocab);
        goto done;
    }
    int n_chunks = n_ids / job->n_ctx;
    if (job->n_chunks > 0 && job->n_chunks < n_chunks) n_chunks = job->n_chunks;
    if (n_chunks < 1) {
        cli_error(cmd, EXIT_RUNTIME, "%s: %d tokens, fewer than one window of %d (-c)", job->text,
                  n_ids, job->n_ctx);
        goto done;
    }
    const int tty = isatty(2) && !job->quiet;
    if (!job->quiet)
        fprintf(stderr, "%s: %d tokens, %d windows of %d, scoring %d positions each\n", job->text,
                n_ids, n_chunks, job->n_ctx, job->n_ctx - 1 - job->n_ctx / 2);
    const double t0 = now_seconds();
    for (int c = 0; c < n_chunks; c++) {
        if (ppl_window(&mod.s, base.m ? &base.s : NULL, ids + (size_t)c * job->n_ctx, job->n_ctx,
                       job->n_batch, tokenizer_bos(tok), &acc, &err)) {
            cli_error(cmd, EXIT_RUNTIME, "window %d: %s", c, err.msg);
            goto done;
        }
        if (!job->quiet) printf("[%d]%.4f%s", c + 1, ppl_estimate(&acc, NULL), c + 1 < n_chunks ? "," : "\n");
        fflush(stdout);
        if (tty) {
            const double dt = now_seconds() - t0;
            fprintf(stderr, "\r  window %d/%d, %.1f s, about %.0f s left   ", c + 1, n_chunks, dt,
                    dt / (c + 1) * (n_chunks - c - 1));
        }
    }
    if (tty) fputc('\n', stderr);
    res->chunks = n_chunks;
    res->scored = acc.n;
    res->ppl = ppl_estimate(&acc, &res->ppl_err);
    if (base.m) {
        res->base_ppl = ppl_base_estimate(&acc, NULL);
        res->has_kl = ppl_kl_summary(&acc, &res->kl) == 0;
    }
    rc = EXIT_OK;
done:
    ppl_acc_free(&acc);
    free(ids);
    tokenizer_free(tok);
    unload(&mod);
    unload(&base);
    return rc;
}

int cmd_ppl(int argc, char **argv) {
    ppl_job job = {.n_ctx = 256};
    long n, n_threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), EXIT_OK;
        if (!(v = cli_value("ppl", argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-m")) job.model = v;
        else if (!strcmp(f, "-f")) job.text = v;
        else if (!strcmp(f, "--kl-base")) job.base = v;
        else if (!strcmp(f, "-c")) { if (cli_int("ppl", f, v, 4, 1 << 20, &n)) return EXIT_USAGE; job.n_ctx = (int)n; }
        else if (!strcmp(f, "--chunks")) { if (cli_int("ppl", f, v, 1, 1 << 30, &n)) return EXIT_USAGE; job.n_chunks = (int)n; }
        else if (!strcmp(f, "-b")) { if (cli_int("ppl", f, v, 1, 1 << 20, &n)) return EXIT_USAGE; job.n_batch = (int)n; }
        else if (!strcmp(f, "-t")) { if (cli_int("ppl", f, v, 1, 1024, &n_threads)) return EXIT_USAGE; }
        else return cli_error("ppl", EXIT_USAGE, "unknown option %s (see scarce ppl -h)", f);
    }
    if (!job.model || !job.text) return cli_error("ppl", EXIT_USAGE, "-m FILE and -f TEXT are required");
    job.n_threads = (int)n_threads;
    ppl_result r;
    int rc = ppl_run(&job, &r);
    if (rc) return rc;
    printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
    if (r.has_kl)
        printf("KL divergence vs %s over %zu positions: mean %.6f, median %.6f, p99 %.6f, max %.6f\n"
               "top-1 agreement %.2f%%, PPL ratio %.4f (base PPL %.4f)\n",
               job.base, r.scored, r.kl.mean, r.kl.median, r.kl.p99, r.kl.max, r.kl.top1_agree_pct,
               r.kl.ppl_ratio, r.base_ppl);
    return EXIT_OK;
}
