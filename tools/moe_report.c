/* moe_report.c - the text of scarce run --moe-stats and --trace-moe. */
#include "moe_report.h"

#include <math.h>

#include "../engine/mla.h"
#include <unistd.h>

/* The piece with control characters escaped, so a trace line stays one line; returns the
 * number of characters written. */
static int put_escaped(FILE *out, const char *s, int len) {
    int n = 0;
    for (int i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            n += fprintf(out, "\\n");
        else if (ch == '"' || ch == '\\')
            n += fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            n += fprintf(out, "\\x%02x", ch);
        else
            n += fputc(ch, out) != EOF, n -= (ch & 0xc0) == 0x80; /* UTF-8: count characters */
    }
    return n;
}

enum { PIECE_COLUMN = 12 }; /* the layers start in the same column on every line */

void moe_report_trace(FILE *out, const tokenizer *tok, int prev, int id, const moe_stats *st) {
    /* on a terminal each expert has its own colour, so a route is seen at a glance */
    static const char *const colour[] = {"\033[31m", "\033[32m", "\033[33m",
                                         "\033[34m", "\033[35m", "\033[36m"};
    const int tty = isatty(fileno(out));
    char piece[256];
    int len = tokenizer_piece(tok, prev, id, piece, sizeof piece);
    fputc('"', out);
    const int width = put_escaped(out, piece, len) + 2;
    fputc('"', out);
    fprintf(out, "%*s", width < PIECE_COLUMN ? PIECE_COLUMN - width : 0, "");
    for (int l = 0; l < st->n_layer; l++) {
        if (!st->has_last[l]) continue; /* a dense layer (DeepSeek's leading ones) */
        fprintf(out, " | L%d", l);
        for (int j = 0; j < st->k; j++) {
            const float w = st->last_weight[(size_t)l * st->k + j];
            const int e = st->last_chosen[(size_t)l * st->k + j];
            if (tty) fputs(colour[e % 6], out);
            /* ".62" as in the papers' figures; 1.0 when a single expert takes it all,
             * more when the rule scales the weights (DeepSeek's expert_weights_scale) */
            if (w >= 0.995f)
                fprintf(out, " %d:%.1f", e, w);
            else
                fprintf(out, " %d:.%02d", e, (int)lrintf(w * 100));
            if (tty) fputs("\033[0m", out);
        }
    }
    fputc('\n', out);
}

void moe_report_stats(FILE *out, const moe_stats *st) {
    const double uniform = log((double)st->n_expert), random_reuse = (double)st->k / st->n_expert;
    fprintf(
        out,
        "\nmixture of experts: %d experts, top-%d; per layer: share of choices per expert (%%),\n"
        "load balance (cv = std/mean of the counts, 0 = even; entropy H vs log N = %.3f),\n"
        "reuse = share of a token's experts also chosen by the previous token (random: %.3f)\n",
        st->n_expert, st->k, uniform, random_reuse);
    for (int l = 0; l < st->n_layer; l++) {
        const uint64_t *n = st->chosen + (size_t)l * st->n_expert;
        if (!st->tokens[l]) continue; /* a dense layer */
        double total = (double)st->tokens[l] * st->k;
        fprintf(out, "L%-3d", l);
        for (int e = 0; e < st->n_expert; e++)
            fprintf(out, " %5.1f", total ? 100.0 * n[e] / total : 0.0);
        fprintf(out, " | cv %.3f  H %.3f  reuse %.3f\n", moe_stats_cv(st, l),
                moe_stats_entropy(st, l), moe_stats_reuse(st, l));
    }
}

void moe_report_bytes(FILE *out, const model *m, const run_stats *rs) {
    const model_config *c = &m->cfg;
    double total = (double)model_weight_bytes(m), active = (double)moe_active_bytes(m);
    fprintf(out, "weights: %.2f MB total, %.2f MB active per token", total / 1e6, active / 1e6);
    if (c->n_expert)
        fprintf(out, " (router + %d of %d experts, %s)", c->n_expert_used, c->n_expert,
                c->route_name);
    if (rs->tokens)
        fprintf(out, "; this run read %.2f MB per token", rs->weight_bytes / 1e6 / rs->tokens);
    fputc('\n', out);
    if (c->desc->flags & ARCH_MLA) { /* what the latent saves: per position, all layers */
        const double latent = 4.0 * c->n_layer * mla_cache_width(c);
        const double expanded = 4.0 * c->n_layer * mla_expanded_width(c);
        fprintf(out, "kv cache: latent attention keeps %d floats per layer and position "
                "(kv_lora_rank %d + rope %d) = %.0f bytes per token; the heads' own keys and "
                "values would be %.0f (%.1fx)\n", mla_cache_width(c), c->n_lora_kv, c->n_rot,
                latent, expanded, expanded / latent);
    }
}
