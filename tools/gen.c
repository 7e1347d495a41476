/* gen.c - `scarce run`'s streaming generation through include/scarce.h. */
#include "gen.h"

#include <string.h>

#include "api_setup.h"

enum { MSG_CAP = 512 };

int gen_ctx_open(gen_ctx *g, const gen_opts *o, char *msg) {
    memset(g, 0, sizeof *g);
    /* n_threads 0: one thread per physical core (see gen_opts_default); more than the
     * kernels run on: as many as they do */
    const int threads = o->n_threads > SCARCE_MAX_THREADS ? SCARCE_MAX_THREADS : (int)o->n_threads;
    const scarce_model_params mp = api_setup_model_params(threads);
    if (scarce_model_open(o->model_path, &mp, &g->model, msg, MSG_CAP)) return -1;
    scarce_context_params cp = o->sp;
    cp.n_ctx = (int)o->n_ctx; /* 0: the model's training context, at most 4096 */
    if (scarce_context_new(g->model, &cp, &g->ctx)) {
        snprintf(msg, MSG_CAP, "%s", scarce_model_error(g->model));
        gen_ctx_close(g);
        return -1;
    }
    g->n_ctx = scarce_context_n_ctx(g->ctx);
    return 0;
}

void gen_ctx_close(gen_ctx *g) {
    scarce_context_free(g->ctx);
    scarce_model_close(g->model);
    memset(g, 0, sizeof *g);
}

typedef struct {
    scarce_context *ctx;
    int n_ctx;
    FILE *out;
    volatile sig_atomic_t *interrupted;
    int stopped; /* by *interrupted */
    gen_token_fn on_token;
    void *user;
    int32_t before, prev; /* the two tokens last run */
    int n;                /* tokens given to the callback */
    int full;             /* the context was full when the last token came: it ends there */
} stream_state;

/* scarce_generate runs a token through the model just before it samples the next one:
 * so when token k arrives, token k-1 has run and the hook sees it, before k is printed
 * (the order of the lines of --trace-moe and the text). */
static int on_piece(void *user, int32_t token, const char *piece, size_t len) {
    stream_state *st = user;
    if (st->n && st->on_token) st->on_token(st->user, st->before, st->prev);
    if (st->interrupted && *st->interrupted) return st->stopped = 1;
    fwrite(piece, 1, len, st->out);
    fflush(st->out);
    st->before = st->prev, st->prev = token, st->n++;
    st->full = scarce_context_n_pos(st->ctx) >= st->n_ctx;
    return 0;
}

int gen_stream(gen_ctx *g, const char *prompt, int32_t last_prompt_id, long n_predict, FILE *out,
               volatile sig_atomic_t *interrupted, gen_token_fn on_token, void *user,
               gen_result *res, char *msg) {
    stream_state st = {.ctx = g->ctx,
                       .n_ctx = g->n_ctx,
                       .out = out,
                       .interrupted = interrupted,
                       .on_token = on_token,
                       .user = user,
                       .prev = last_prompt_id};
    int n_gen = 0;
    const int n = n_predict > 1 << 30 ? 1 << 30 : (int)n_predict;
    if (scarce_generate(g->ctx, prompt, n, on_piece, &st, &n_gen)) {
        snprintf(msg, MSG_CAP, "%s", scarce_context_error(g->ctx));
        return -1;
    }
    *res = (gen_result){.n_gen = st.n, .stop = "end of text"};
    if (st.stopped)
        res->stop = "interrupted (SIGINT)";
    else if (n_gen == n)
        res->stop = "-n tokens generated";
    else if (st.full)
        res->stop = "context full (-c)";
    /* an end-of-generation token was sampled after the last token had run */
    if (!st.stopped && res->stop[0] == 'e' && st.n && on_token) on_token(user, st.before, st.prev);
    return 0;
}
