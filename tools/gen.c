/* gen.c - generation options and the streaming generation loop shared by run and chat. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/machine.h"
#include "cli.h"
#include "kernel_setup.h"

void gen_opts_default(gen_opts *o) {
    /* one thread per physical core: SMT siblings share the core's load/FMA units, and
     * decode is bound by memory that one thread per core already saturates */
    *o = (gen_opts){.n_predict = 256, .n_threads = cpu_physical_cores(),
                    .sp = {.temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f}};
    if (o->n_threads > KERNEL_MAX_THREADS) o->n_threads = KERNEL_MAX_THREADS;
}

void gen_opts_usage(FILE *out) {
    fprintf(out,
            "  -m FILE        GGUF model\n"
            "  -n N           tokens to generate (default 256)\n"
            "  -t N           threads (default: the physical cores this process may use)\n"
            "  -c N           context length (default: the model's, at most 4096)\n"
            "  --temp T       temperature, 0 = greedy (default 0.8)\n"
            "  --top-k K      keep the K most likely tokens, 0 = off (default 40)\n"
            "  --top-p P      nucleus sampling, 1 = off (default 0.95)\n"
            "  --min-p P      drop tokens below P x the top probability, 0 = off (default 0.05)\n"
            "  --seed S       random seed (default: from the clock)\n");
}

int gen_opts_parse(const char *cmd, int argc, char **argv, int *i, gen_opts *o) {
    static const char *flags[] = {"-m", "-n", "-t", "-c", "--temp", "--top-k", "--top-p",
                                  "--min-p", "--seed"};
    const char *f = argv[*i], *v;
    size_t k = 0;
    while (k < sizeof flags / sizeof *flags && strcmp(f, flags[k])) k++;
    if (k == sizeof flags / sizeof *flags) return 0;
    if (!(v = cli_value(cmd, argc, argv, i))) return -1;
    long n;
    double d;
    switch (k) {
    case 0: o->model_path = v; return 1;
    case 1: return cli_int(cmd, f, v, 0, 1 << 30, &o->n_predict) ? -1 : 1;
    case 2: return cli_int(cmd, f, v, 1, 1024, &o->n_threads) ? -1 : 1;
    case 3: return cli_int(cmd, f, v, 1, 1 << 24, &o->n_ctx) ? -1 : 1;
    case 4: if (cli_float(cmd, f, v, 0, 100, &d)) return -1; o->sp.temp = (float)d; return 1;
    case 5: if (cli_int(cmd, f, v, 0, 1 << 30, &n)) return -1; o->sp.top_k = (int)n; return 1;
    case 6: if (cli_float(cmd, f, v, 0, 1, &d)) return -1; o->sp.top_p = (float)d; return 1;
    case 7: if (cli_float(cmd, f, v, 0, 1, &d)) return -1; o->sp.min_p = (float)d; return 1;
    default: {
        char *end;
        o->sp.seed = strtoull(v, &end, 10);
        if (*end || end == v || *v == '-') {
            cli_error(cmd, EXIT_USAGE, "--seed expects a non-negative integer, got '%s'", v);
            return -1;
        }
        o->seed_given = 1;
        return 1;
    }
    }
}

int gen_opts_finish(const char *cmd, gen_opts *o) {
    if (!o->model_path) {
        cli_error(cmd, EXIT_USAGE, "-m FILE is required");
        return -1;
    }
    if (!o->seed_given) o->sp.seed = (uint64_t)time(NULL);
    return 0;
}

int gen_ctx_open(gen_ctx *g, const gen_opts *o, scarce_error *err) {
    memset(g, 0, sizeof *g);
    const model_options opts = kernel_setup_options((int)o->n_threads);
    if (!(g->m = model_load(o->model_path, &opts, err))) return -1;
    if (!(g->tok = tokenizer_load(g->m->file, err))) goto fail;
    if (tokenizer_n_vocab(g->tok) != g->m->cfg.n_vocab) {
        scarce_fail(err, "%s: vocabulary has %d tokens, token_embd.weight %d rows",
                    o->model_path, tokenizer_n_vocab(g->tok), g->m->cfg.n_vocab);
        goto fail;
    }
    g->n_ctx = o->n_ctx ? (int)o->n_ctx
                        : (g->m->cfg.n_ctx_train < 4096 ? g->m->cfg.n_ctx_train : 4096);
    if (session_init(&g->s, g->m, g->n_ctx, err)) goto fail;
    if (sampler_init(&g->smp, &o->sp, g->m->cfg.n_vocab)) {
        scarce_fail(err, "out of memory for the sampler");
        goto fail;
    }
    return 0;
fail:
    gen_ctx_close(g);
    return -1;
}

void gen_ctx_close(gen_ctx *g) {
    sampler_free(&g->smp);
    if (g->s.m) session_free(&g->s);
    tokenizer_free(g->tok);
    model_free(g->m);
    memset(g, 0, sizeof *g);
}

static void put_piece(const tokenizer *tok, int prev, int id, FILE *out) {
    char piece[256];
    int len = tokenizer_piece(tok, prev, id, piece, sizeof piece);
    fwrite(piece, 1, (size_t)len, out);
    fflush(out);
}

int gen_stream(gen_ctx *g, const int *ids, int n, long n_predict, int end_id, FILE *out,
               volatile sig_atomic_t *interrupted, gen_result *res, scarce_error *err) {
    *res = (gen_result){.n_prompt = n, .last = -1, .stop = "-n tokens generated"};
    if (g->s.cache.n_pos + n > g->n_ctx)
        return scarce_fail(err, "prompt is %d tokens, %d positions are left in the context of %d (-c)",
                           n, g->n_ctx - g->s.cache.n_pos, g->n_ctx);
    double t0 = now_seconds();
    const float *logits = forward(&g->s, ids, n, 0, err);
    res->t_prompt = now_seconds() - t0;
    if (!logits) return -1;
    int prev = ids[n - 1];
    double t1 = now_seconds();
    while (res->n_gen < n_predict) {
        if (interrupted && *interrupted) {
            res->stop = "interrupted (SIGINT)";
            break;
        }
        int next = sampler_sample(&g->smp, logits);
        res->last = next;
        if (next == end_id || tokenizer_is_eog(g->tok, next) || next == tokenizer_bos(g->tok)) {
            res->stop = "end of text";
            break;
        }
        put_piece(g->tok, prev, next, out);
        res->n_gen++;
        int before = prev;
        prev = next;
        if (res->n_gen == n_predict) break;
        if (g->s.cache.n_pos >= g->n_ctx) {
            res->stop = "context full (-c)";
            break;
        }
        if (!(logits = forward(&g->s, &next, 1, 0, err))) return -1;
        res->last = -1;
        if (g->on_token) g->on_token(g->on_token_user, g, before, next);
    }
    res->t_gen = now_seconds() - t1;
    return 0;
}
