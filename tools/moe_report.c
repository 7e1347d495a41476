/* moe_report.c - the text of scarce run --moe-stats and --trace-moe, and the JSON "moe"
 * object. */
#include "moe_report.h"

#include <math.h>
#include <unistd.h>

#include "summary.h"

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

/* Layer l of a tracking context; 0 when there is none */
static int layer_of(const scarce_context *ctx, int l, scarce_moe_layer *ml) {
    ml->size = sizeof *ml;
    return scarce_context_moe_layer(ctx, l, ml) == SCARCE_OK;
}

void moe_report_trace(FILE *out, scarce_model *m, const scarce_context *ctx, int32_t prev,
                      int32_t id) {
    /* on a terminal each expert has its own colour, so a route is seen at a glance */
    static const char *const colour[] = {"\033[31m", "\033[32m", "\033[33m",
                                         "\033[34m", "\033[35m", "\033[36m"};
    const int tty = isatty(fileno(out));
    char piece[256];
    int len = scarce_token_piece(m, prev, id, piece, sizeof piece);
    fputc('"', out);
    const int width = put_escaped(out, piece, len > 0 ? len : 0) + 2;
    fputc('"', out);
    fprintf(out, "%*s", width < PIECE_COLUMN ? PIECE_COLUMN - width : 0, "");
    scarce_moe_layer ml;
    for (int l = 0; layer_of(ctx, l, &ml); l++) {
        if (!ml.n_last) continue; /* a dense layer (DeepSeek's leading ones) */
        fprintf(out, " | L%d", l);
        for (int j = 0; j < ml.n_last; j++) {
            const float w = ml.last_weights[j];
            const int e = ml.last_experts[j];
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

void moe_report_stats(FILE *out, const scarce_moe_info *info, const scarce_context *ctx) {
    const int n_expert = info->n_expert, k = info->n_expert_used;
    const double uniform = log((double)n_expert), random_reuse = (double)k / n_expert;
    fprintf(
        out,
        "\nmixture of experts: %d experts, top-%d; per layer: share of choices per expert (%%),\n"
        "load balance (cv = std/mean of the counts, 0 = even; entropy H vs log N = %.3f),\n"
        "reuse = share of a token's experts also chosen by the previous token (random: %.3f)\n",
        n_expert, k, uniform, random_reuse);
    scarce_moe_layer ml;
    for (int l = 0; layer_of(ctx, l, &ml); l++) {
        if (!ml.tokens) continue; /* a dense layer */
        const double total = (double)ml.tokens * ml.k;
        fprintf(out, "L%-3d", l);
        for (int e = 0; e < ml.n_expert; e++)
            fprintf(out, " %5.1f", total ? 100.0 * ml.counts[e] / total : 0.0);
        fprintf(out, " | cv %.3f  H %.3f  reuse %.3f\n", ml.cv, ml.entropy, ml.reuse);
    }
}

void moe_report_bytes(FILE *out, const scarce_moe_info *info, const scarce_stats *st) {
    fprintf(out, "weights: %.2f MB total, %.2f MB active per token", info->total_bytes / 1e6,
            info->active_bytes_per_token / 1e6);
    fprintf(out, " (router + %d of %d experts, %s)", info->n_expert_used, info->n_expert,
            info->gating);
    if (st->decode_tokens)
        fprintf(out, "; this run read %.2f MB per token", st->decode_weight_bytes_per_token / 1e6);
    fputc('\n', out);
    if (info->mla_cache_width) { /* what the latent saves: per position, all layers */
        const double latent = 4.0 * info->n_layer * info->mla_cache_width;
        const double expanded = 4.0 * info->n_layer * info->mla_expanded_width;
        fprintf(out,
                "kv cache: latent attention keeps %d floats per layer and position "
                "(kv_lora_rank %d + rope %d) = %.0f bytes per token; the heads' own keys and "
                "values would be %.0f (%.1fx)\n",
                info->mla_cache_width, info->kv_lora_rank, info->n_rot, latent, expanded,
                expanded / latent);
    }
}

/* "key": [cv(0), cv(1), ...] over the layers; which: 0 cv, 1 entropy, 2 reuse */
static void layer_array(FILE *out, const char *key, const scarce_context *ctx, int which) {
    fprintf(out, ", \"%s\": [", key);
    scarce_moe_layer ml;
    for (int l = 0; layer_of(ctx, l, &ml); l++)
        fputs(l ? ", " : "", out), json_num(out, which == 0   ? ml.cv
                                                 : which == 1 ? ml.entropy
                                                              : ml.reuse);
    fputs("]", out);
}

void moe_report_json(FILE *out, const scarce_moe_info *info, const scarce_context *ctx) {
    fprintf(out,
            ", \"moe\": {\"n_expert\": %d, \"n_expert_used\": %d, \"gating\": ", info->n_expert,
            info->n_expert_used);
    json_str(out, info->gating);
    fprintf(out,
            ", \"active_bytes_per_token\": %llu, \"total_expert_bytes\": %llu, "
            "\"total_weight_bytes\": %llu",
            (unsigned long long)info->active_bytes_per_token,
            (unsigned long long)info->total_expert_bytes, (unsigned long long)info->total_bytes);
    scarce_moe_layer ml;
    if (ctx && layer_of(ctx, 0, &ml)) {
        fputs(", \"tokens_routed\": [", out);
        for (int l = 0; layer_of(ctx, l, &ml); l++)
            fprintf(out, "%s%llu", l ? ", " : "", (unsigned long long)ml.tokens);
        fputs("], \"expert_counts\": [", out);
        for (int l = 0; layer_of(ctx, l, &ml); l++) {
            fputs(l ? ", [" : "[", out);
            for (int e = 0; e < ml.n_expert; e++)
                fprintf(out, "%s%llu", e ? ", " : "", (unsigned long long)ml.counts[e]);
            fputs("]", out);
        }
        fputs("]", out);
        layer_array(out, "cv", ctx, 0);
        layer_array(out, "entropy", ctx, 1);
        layer_array(out, "reuse", ctx, 2);
    }
    fputs("}", out);
}
