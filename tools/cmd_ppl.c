/* cmd_ppl.c - scarce ppl: perplexity of a text like llama-perplexity (non-overlapping
 * windows, BOS first, second half scored), and with --kl-base the KL divergence of the
 * model's next-token distributions against a base model's on the same windows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/kl_base.h"
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
            "  --kl-base FILE   base model (same vocabulary), or a KL base file written by\n"
            "                   --kl-base-out or llama-perplexity --kl-divergence-base (then\n"
            "                   its tokens and -c are used, -f is not needed): KL(base || model)\n"
            "                   mean/median/p99/max, top-1 agreement, PPL ratio +/- error\n"
            "  --kl-base-out FILE  write the -m model's distributions on the text as a KL base\n"
            "                   file (llama-perplexity's format, 16-bit log-probabilities)\n"
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

/* The tokens to score: the text's, or those stored in a KL base file (then its n_ctx). */
static int *job_tokens(const ppl_job *job, tokenizer *tok, kl_base_file *in, int *n_ids, int *n_ctx,
                       scarce_error *err) {
    if (!in) return tokenize_file(job->text, tok, n_ids, err);
    const kl_base_info bi = kl_base_get_info(in);
    int *ids = malloc((size_t)bi.n_ctx * bi.n_chunk * sizeof *ids);
    if (!ids) return scarce_fail(err, "out of memory for %d tokens", bi.n_ctx * bi.n_chunk), NULL;
    memcpy(ids, bi.tokens, (size_t)bi.n_ctx * bi.n_chunk * sizeof *ids);
    *n_ids = bi.n_ctx * bi.n_chunk, *n_ctx = bi.n_ctx;
    return ids;
}

int ppl_run(const ppl_job *job, ppl_result *res) {
    const char *cmd = job->cmd ? job->cmd : "ppl";
    scarce_error err = {0};
    loaded mod = {0}, base = {0};
    tokenizer *tok = NULL;
    kl_base_file *in = NULL, *out = NULL;
    int *ids = NULL, n_ids = 0, n_ctx = job->n_ctx, rc = EXIT_RUNTIME;
    ppl_acc acc = {0};
    memset(res, 0, sizeof *res);
    const int base_is_file = job->base && kl_base_is_file(job->base);
    if (base_is_file && (in = kl_base_open(job->base, &err))) n_ctx = kl_base_get_info(in).n_ctx;
    if ((base_is_file && !in) || load(&mod, job->model, n_ctx, job->n_threads, &err) ||
        (job->base && !in && load(&base, job->base, n_ctx, job->n_threads, &err)) ||
        !(tok = tokenizer_load(mod.m->file, &err)) ||
        !(ids = job_tokens(job, tok, in, &n_ids, &n_ctx, &err))) {
        cli_error(cmd, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    if (base.m && base.m->cfg.n_vocab != mod.m->cfg.n_vocab) {
        cli_error(cmd, EXIT_RUNTIME,
                  "%s has %d tokens in its vocabulary, %s has %d: KL needs the same vocabulary",
                  job->base, base.m->cfg.n_vocab, job->model, mod.m->cfg.n_vocab);
        goto done;
    }
    int n_chunks = n_ids / n_ctx;
    if (job->n_chunks > 0 && job->n_chunks < n_chunks) n_chunks = job->n_chunks;
    if (n_chunks < 1) {
        cli_error(cmd, EXIT_RUNTIME, "%s: %d tokens, fewer than one window of %d (-c)", job->text,
                  n_ids, n_ctx);
        goto done;
    }
    if (job->base_out &&
        !(out = kl_base_create(job->base_out, n_ctx, mod.m->cfg.n_vocab, n_chunks, ids, &err))) {
        cli_error(cmd, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    const int tty = isatty(2) && !job->quiet;
    if (!job->quiet)
        fprintf(stderr, "%s: %d tokens, %d windows of %d, scoring %d positions each\n",
                in ? job->base : job->text, n_ids, n_chunks, n_ctx, n_ctx - 1 - n_ctx / 2);
    const double t0 = now_seconds();
    const ppl_base pb = {.s = base.m ? &base.s : NULL, .in = in, .out = out};
    for (int c = 0; c < n_chunks; c++) {
        if (ppl_window_base(&mod.s, &pb, ids + (size_t)c * n_ctx, n_ctx, job->n_batch,
                            tokenizer_bos(tok), &acc, &err)) {
            cli_error(cmd, EXIT_RUNTIME, "window %d: %s", c, err.msg);
            goto done;
        }
        if (!job->quiet)
            printf("[%d]%.4f%s", c + 1, ppl_estimate(&acc, NULL), c + 1 < n_chunks ? "," : "\n");
        fflush(stdout);
        if (tty) {
            const double dt = now_seconds() - t0;
            fprintf(stderr, "\r  window %d/%d, %.1f s, about %.0f s left   ", c + 1, n_chunks, dt,
                    dt / (c + 1) * (n_chunks - c - 1));
        }
    }
    if (tty) fputc('\n', stderr);
    if (out && kl_base_commit(out, &err)) {
        cli_error(cmd, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    res->chunks = n_chunks;
    res->scored = acc.n;
    res->ppl = ppl_estimate(&acc, &res->ppl_err);
    if (acc.has_base) {
        res->base_ppl = ppl_base_estimate(&acc, NULL);
        res->has_kl = ppl_kl_summary(&acc, &res->kl) == 0;
    }
    rc = EXIT_OK;
done:
    kl_base_close(in);
    kl_base_close(out); /* removes the temporary file unless committed */
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
    if (!job.model || (!job.text && !(job.base && kl_base_is_file(job.base))))
        return cli_error("ppl", EXIT_USAGE,
                         "-m FILE and -f TEXT (or --kl-base with a KL base file) are required");
    if (job.base && job.base_out)
        return cli_error(
            "ppl", EXIT_USAGE,
            "--kl-base-out writes the -m model's own distributions: no --kl-base with it");
    job.n_threads = (int)n_threads;
    ppl_result r;
    int rc = ppl_run(&job, &r);
    if (rc) return rc;
    printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
    if (r.has_kl)
        printf(
            "KL divergence vs %s over %zu positions: mean %.6f, median %.6f, p99 %.6f, max %.6f\n"
            "same top p (top-1 agreement) %.2f%%, PPL ratio %.4f +/- %.4f (base PPL %.4f)\n",
            job.base, r.scored, r.kl.mean, r.kl.median, r.kl.p99, r.kl.max, r.kl.top1_agree_pct,
            r.kl.ppl_ratio, r.kl.ppl_ratio_err, r.base_ppl);
    if (job.base_out)
        printf("wrote %s (llama-perplexity --kl-divergence-base format)\n", job.base_out);
    return EXIT_OK;
}
