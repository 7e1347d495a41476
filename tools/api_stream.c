/* api_stream.c - streaming generation over include/scarce.h. */
#include "api_stream.h"

/* 1 when token ends the reply: end of generation, BOS, or the caller's end_id. */
static int ends(scarce_model *m, int32_t token, int end_id) {
    return token == end_id || scarce_token_is_eog(m, token) == 1 || token == scarce_token_bos(m);
}

static int put_piece(scarce_model *m, int32_t prev, int32_t token, FILE *out) {
    char piece[256];
    int len = scarce_token_piece(m, prev, token, piece, sizeof piece);
    if (len < 0) return len;
    fwrite(piece, 1, (size_t)len, out);
    fflush(out);
    return 0;
}

int api_stream(scarce_context *ctx, scarce_model *m, const int32_t *ids, int n, long n_predict,
               int end_id, FILE *out, volatile sig_atomic_t *interrupted, stream_result *res,
               char *msg) {
    *res = (stream_result){.n_prompt = n, .last = -1, .stop = "-n tokens generated"};
    const int n_ctx = scarce_context_n_ctx(ctx), n_pos = scarce_context_n_pos(ctx);
    if (n_pos + n > n_ctx)
        return snprintf(msg, 512,
                        "prompt is %d tokens, %d positions are left in the context of %d (-c)", n,
                        n_ctx - n_pos, n_ctx),
               -1;
    const float *logits;
    if (scarce_eval(ctx, ids, n, 0, &logits)) goto fail;
    int32_t prev = ids[n - 1], next;
    while (res->n_gen < n_predict) {
        if (interrupted && *interrupted) {
            res->stop = "interrupted (SIGINT)";
            break;
        }
        if (scarce_sample(ctx, logits, &next)) goto fail;
        res->last = next;
        if (ends(m, next, end_id)) {
            res->stop = "end of text";
            break;
        }
        if (put_piece(m, prev, next, out))
            return snprintf(msg, 512, "%s", scarce_model_error(m)), -1;
        res->n_gen++;
        prev = next;
        if (res->n_gen == n_predict) break;
        if (scarce_context_n_pos(ctx) >= n_ctx) {
            res->stop = "context full (-c)";
            break;
        }
        if (scarce_eval(ctx, &next, 1, 0, &logits)) goto fail;
        res->last = -1;
    }
    return 0;
fail:
    snprintf(msg, 512, "%s", scarce_context_error(ctx));
    return -1;
}
