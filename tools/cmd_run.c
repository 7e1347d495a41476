/* cmd_run.c - scarce run: load a model, encode the prompt, prefill it in batches, then
 * decode token by token, streaming the text to stdout. Statistics go to stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../engine/forward.h"
#include "../engine/sampler.h"
#include "../engine/tokenizer.h"
#include "../kernels/cpu.h"
#include "cli.h"
#include "report.h"

typedef struct {
    const char *model_path, *prompt;
    long n_predict, n_threads, n_ctx;
    sampler_params sp;
    int seed_given;
    int json; /* summary as JSON on stdout, generated text on stderr */
} run_args;

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = sig; }
static FILE *text_out; /* stdout, or stderr with --json */

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce run -m FILE [options]\n"
            "  -m FILE        GGUF model\n"
            "  -p TEXT        prompt (default: start from BOS alone)\n"
            "  -n N           tokens to generate after the prompt (default 256)\n"
            "  -t N           threads (default: all cores)\n"
            "  -c N           context length (default: the model's, at most 4096)\n"
            "  --temp T       temperature, 0 = greedy (default 0.8)\n"
            "  --top-k K      keep the K most likely tokens, 0 = off (default 40)\n"
            "  --top-p P      nucleus sampling, 1 = off (default 0.95)\n"
            "  --min-p P      drop tokens below P x the top probability, 0 = off (default 0.05)\n"
            "  --seed S       random seed (default: from the clock)\n"
            "  --json         summary as one JSON object on stdout (the text goes to stderr)\n"
            "Text goes to stdout; the summary (tokens, tok/s) to stderr.\n");
}

static int parse_args(int argc, char **argv, run_args *a) {
    *a = (run_args){.n_predict = 256, .n_threads = sysconf(_SC_NPROCESSORS_ONLN),
                    .sp = {.temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f}};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        long n;
        double d;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            usage(stdout);
            exit(EXIT_OK);
        }
        if (!strcmp(f, "--json")) { a->json = 1; continue; }
        if (!(v = cli_value("run", argc, argv, &i))) return -1;
        if (!strcmp(f, "-m")) a->model_path = v;
        else if (!strcmp(f, "-p")) a->prompt = v;
        else if (!strcmp(f, "-n")) { if (cli_int("run", f, v, 0, 1 << 30, &a->n_predict)) return -1; }
        else if (!strcmp(f, "-t")) { if (cli_int("run", f, v, 1, 1024, &a->n_threads)) return -1; }
        else if (!strcmp(f, "-c")) { if (cli_int("run", f, v, 1, 1 << 24, &a->n_ctx)) return -1; }
        else if (!strcmp(f, "--temp")) { if (cli_float("run", f, v, 0, 100, &d)) return -1; a->sp.temp = (float)d; }
        else if (!strcmp(f, "--top-k")) { if (cli_int("run", f, v, 0, 1 << 30, &n)) return -1; a->sp.top_k = (int)n; }
        else if (!strcmp(f, "--top-p")) { if (cli_float("run", f, v, 0, 1, &d)) return -1; a->sp.top_p = (float)d; }
        else if (!strcmp(f, "--min-p")) { if (cli_float("run", f, v, 0, 1, &d)) return -1; a->sp.min_p = (float)d; }
        else if (!strcmp(f, "--seed")) {
            char *end;
            a->sp.seed = strtoull(v, &end, 10);
            if (*end || end == v) return cli_error("run", EXIT_USAGE, "--seed expects an integer, got '%s'", v), -1;
            a->seed_given = 1;
        } else {
            cli_error("run", EXIT_USAGE, "unknown option %s (see scarce run -h)", f);
            return -1;
        }
    }
    if (!a->model_path) return cli_error("run", EXIT_USAGE, "-m FILE is required"), -1;
    if (!a->seed_given) a->sp.seed = (uint64_t)time(NULL);
    return 0;
}

static void put_piece(const tokenizer *tok, int prev, int id) {
    char piece[256];
    int len = tokenizer_piece(tok, prev, id, piece, sizeof piece);
    fwrite(piece, 1, (size_t)len, text_out);
    fflush(text_out);
}

int cmd_run(int argc, char **argv) {
    run_args a;
    if (parse_args(argc, argv, &a)) return EXIT_USAGE;
    kernels_set_threads((int)a.n_threads);
    text_out = a.json ? stderr : stdout;
    scarce_error err = {0};
    int rc = EXIT_RUNTIME, *ids = NULL;
    session s = {0};
    sampler smp = {0};
    tokenizer *tok = NULL;
    model *m = model_load(a.model_path, &err);
    if (!m) return cli_error("run", EXIT_RUNTIME, "%s", err.msg);
    if (!(tok = tokenizer_load(m->file, &err))) {
        cli_error("run", EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    if (tokenizer_n_vocab(tok) != m->cfg.n_vocab) {
        cli_error("run", EXIT_RUNTIME, "%s: vocabulary has %d tokens, token_embd.weight %d rows",
                  a.model_path, tokenizer_n_vocab(tok), m->cfg.n_vocab);
        goto done;
    }
    int n_ctx = a.n_ctx ? (int)a.n_ctx : (m->cfg.n_ctx_train < 4096 ? m->cfg.n_ctx_train : 4096);
    const char *prompt = a.prompt ? a.prompt : "";
    size_t max_ids = strlen(prompt) + 3;
    ids = malloc(max_ids * sizeof(int));
    int n_prompt = ids ? tokenizer_encode(tok, prompt, tokenizer_add_bos(tok) || !*prompt, ids,
                                          (int)max_ids, &err)
                       : -1;
    if (n_prompt < 0) {
        cli_error("run", EXIT_RUNTIME, "prompt: %s", ids ? err.msg : "out of memory");
        goto done;
    }
    if (n_prompt == 0) {
        cli_error("run", EXIT_RUNTIME, "%s: empty prompt and no BOS token to start from", a.model_path);
        goto done;
    }
    if (n_prompt > n_ctx) {
        cli_error("run", EXIT_RUNTIME, "prompt is %d tokens, longer than the context of %d (-c)",
                  n_prompt, n_ctx);
        goto done;
    }
    if (session_init(&s, m, n_ctx, &err) || sampler_init(&smp, &a.sp, m->cfg.n_vocab)) {
        cli_error("run", EXIT_RUNTIME, "%s", err.msg[0] ? err.msg : "out of memory");
        goto done;
    }
    signal(SIGINT, on_sigint);
    for (int i = 0; i < n_prompt; i++) put_piece(tok, i ? ids[i - 1] : -1, ids[i]);

    double t0 = now_seconds();
    const float *logits = forward(&s, ids, n_prompt, 0, &err);
    double t_prompt = now_seconds() - t0;
    if (!logits) {
        cli_error("run", EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    const run_stats after_prompt = s.stats;
    int prev = ids[n_prompt - 1], n_gen = 0;
    const char *stop = "-n tokens generated";
    double t1 = now_seconds();
    while (n_gen < a.n_predict) {
        if (interrupted) { stop = "interrupted (SIGINT)"; break; }
        int next = sampler_sample(&smp, logits);
        if (next == tokenizer_eos(tok) || next == tokenizer_bos(tok)) { stop = "end of text"; break; }
        put_piece(tok, prev, next);
        n_gen++;
        prev = next;
        if (n_gen == a.n_predict) break;
        if (s.cache.n_pos >= n_ctx) { stop = "context full (-c)"; break; }
        if (!(logits = forward(&s, &next, 1, 0, &err))) {
            cli_error("run", EXIT_RUNTIME, "%s", err.msg);
            goto done;
        }
    }
    double t_gen = now_seconds() - t1;
    fputc('\n', text_out);
    fflush(text_out);
    fprintf(stderr, "\nstopped: %s\n", stop);
    run_summary sum = {.model_path = a.model_path, .type_name = model_type_name(m->file),
                       .isa = kernels_isa_name(kernels_isa()), .threads = (int)a.n_threads,
                       .model_bytes = model_weight_bytes(m), .prompt = after_prompt,
                       .decode = stats_delta(&s.stats, &after_prompt), .t_prompt = t_prompt,
                       .t_decode = t_gen};
    report_run_text(stderr, &sum);
    if (a.json) report_run_json(stdout, &sum);
    rc = interrupted ? EXIT_RUNTIME : EXIT_OK;
done:
    sampler_free(&smp);
    session_free(&s);
    free(ids);
    tokenizer_free(tok);
    model_free(m);
    return rc;
}
