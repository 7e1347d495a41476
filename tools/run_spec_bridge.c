/* run_spec_bridge.c - tools/run_spec.c and tools/roofline.c behind include/scarce.h's
 * handles for cmd_run.c (see run_spec_bridge.h): the one file of `scarce run` that reads
 * the engine objects inside a scarce_context. */
#include "run_spec_bridge.h"

#include <stdlib.h>
#include <string.h>

#include "../engine/api_impl.h"
#include "cli.h"
#include "roofline.h"
#include "run_spec.h"

struct run_spec_cli {
    run_spec_args args;
    run_spec_result res;
};

run_spec_cli *run_spec_cli_new(void) {
    return calloc(1, sizeof(run_spec_cli));
}

void run_spec_cli_free(run_spec_cli *sc) {
    free(sc);
}

void run_spec_cli_usage(FILE *out) {
    run_spec_usage(out);
}

int run_spec_cli_parse(run_spec_cli *sc, int argc, char **argv, int *i) {
    return run_spec_parse(argc, argv, i, &sc->args);
}

int run_spec_cli_enabled(const run_spec_cli *sc) {
    return sc->args.enabled;
}

int run_spec_cli_run(run_spec_cli *sc, scarce_context *ctx, const int32_t *ids, int n,
                     long n_predict, FILE *text, volatile sig_atomic_t *interrupted,
                     const char **stop) {
    run_spec_result *r = &sc->res;
    const int rc = run_spec(&sc->args, ctx->model->m, ctx->model->tok, &ctx->s, &ctx->smp, ids, n,
                            n_predict, text, interrupted, r);
    *stop = r->stop ? r->stop : "error";
    /* the context's statistics become the run's, as scarce_generate_spec leaves them */
    ctx->run = (api_run){.valid = 1,
                         .prompt = r->prompt,
                         .decode = r->decode,
                         .t_prompt = r->t_prompt,
                         .t_decode = r->t_decode,
                         .is_spec = 1,
                         .spec = r->stats,
                         .has_quant = r->has_quant,
                         .quant = r->quant};
    return rc;
}

void run_spec_cli_text(FILE *out, const run_spec_cli *sc) {
    report_spec_text(out, &sc->res.spec);
}

void run_spec_cli_json(FILE *out, void *sc) {
    fputs(", ", out);
    report_spec_json(out, &((run_spec_cli *)sc)->res.spec);
}

int run_roofline_svg(const char *path, const char *type, int threads, const scarce_stats *st,
                     char *msg) {
    roofline_point pts[2];
    int n = 0;
    const uint64_t tokens[2] = {st->prompt_tokens, st->decode_tokens};
    const double tok_s[2] = {st->prompt_tok_s, st->decode_tok_s};
    const double flops[2] = {st->prompt_flops_per_token, st->decode_flops_per_token};
    const double bytes[2] = {st->prompt_weight_bytes_per_token + st->prompt_kv_bytes_per_token,
                             st->decode_weight_bytes_per_token + st->decode_kv_bytes_per_token};
    for (int k = 0; k < 2; k++) {
        if (!tokens[k] || !(tok_s[k] > 0) || !(flops[k] > 0)) continue;
        roofline_point *p = &pts[n++];
        *p = (roofline_point){.threads = threads,
                              .intensity = bytes[k] > 0 ? flops[k] / bytes[k] : 0,
                              .gflops = flops[k] * tok_s[k] / 1e9};
        snprintf(p->type, sizeof p->type, "%s", type);
        snprintf(p->test, sizeof p->test, "%s%llu", k ? "tg" : "pp", (unsigned long long)tokens[k]);
    }
    scarce_error err = {0};
    if (!n) scarce_fail(&err, "%s: nothing was timed to plot", path);
    if (!n || roofline_write(path, pts, n, &err)) {
        snprintf(msg, 512, "%s", err.msg);
        return -1;
    }
    return 0;
}
