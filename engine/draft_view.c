/* draft_view.c - the draft model with a shortlisted head on shared kernels (draft_view.h). */
#include "draft_view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

static int grow_shape(qmatrix *w, void *arg) {
    kernel_shape_add(arg, w);
    return 0;
}

static kernel_shape shape_of(const model *m) {
    kernel_shape s = {.max_batch = FORWARD_BATCH_CAP};
    /* only reads the matrices: the walk takes a mutable model for other callers */
    model_each_matmul_weight((model *)m, grow_shape, &s);
    return s;
}

/* The target's kernel context serves the draft when it was sized for the draft's
 * matrices and runs the same configuration (ISA, repack, threads...). */
static int kernels_fit(const model *draft, const model *target) {
    if (draft->kernels == target->kernels) return 1;
    const kernel_shape d = shape_of(draft), t = shape_of(target);
    return d.max_cols <= t.max_cols && d.max_row_bytes <= t.max_row_bytes &&
           !memcmp(kernel_ctx_config(draft->kernels), kernel_ctx_config(target->kernels),
                   sizeof(kernel_config));
}

/* m.output = the first n rows, and the bytes a pass reads with it */
static void point_output(draft_view *v) {
    v->m.output.rows = v->n;
    v->m.global_pass_bytes = v->other_pass_bytes + (uint64_t)v->n * v->full->row_bytes;
}

int draft_view_init(draft_view *v, const model *draft, const model *target, int n_short,
                    int n_text, const qmatrix *coarse, scarce_error *err) {
    memset(v, 0, sizeof *v);
    v->m = *draft;
    v->full = &draft->output;
    if (kernels_fit(draft, target)) v->m.kernels = target->kernels, v->shared_kernels = 1;
    const int n_vocab = (int)draft->output.rows;
    const uint64_t full = (uint64_t)draft->output.rows * draft->output.row_bytes;
    const uint64_t other = draft->global_pass_bytes > full ? draft->global_pass_bytes - full : 0;
    if ((n_short <= 0 || n_short >= n_vocab) && coarse && coarse->rows == n_vocab &&
        coarse->cols == draft->output.cols) {
        v->m.output = *coarse, v->coarse = 1;
        v->m.global_pass_bytes = other + (uint64_t)coarse->rows * coarse->row_bytes +
                                 (uint64_t)COARSE_TOP * draft->output.row_bytes;
        return 0;
    }
    if (n_short <= 0 || n_short >= n_vocab) return 0; /* the whole head */
    v->cap = n_short + (n_text < n_vocab - n_short ? n_text : n_vocab - n_short);
    const size_t row_bytes = draft->output.row_bytes;
    v->rows = malloc((size_t)v->cap * row_bytes);
    v->ids = malloc((size_t)v->cap * sizeof *v->ids);
    v->listed = calloc((size_t)n_vocab, 1);
    if (!v->rows || !v->ids || !v->listed) {
        draft_view_free(v);
        return scarce_fail(err, "out of memory for the draft's %d-row head", v->cap);
    }
    memcpy(v->rows, draft->output.data, (size_t)n_short * row_bytes);
    for (int i = 0; i < n_short; i++) v->ids[i] = i, v->listed[i] = 1;
    v->n = n_short;
    v->other_pass_bytes = other;
    v->m.output.data = v->rows;
    v->m.output.packed = NULL; /* the gathered rows are in the file layout */
    point_output(v);
    return 0;
}

void draft_view_free(draft_view *v) {
    free(v->rows), free(v->ids), free(v->listed);
    memset(v, 0, sizeof *v);
}

void draft_view_add(draft_view *v, const int *tokens, int n) {
    if (!v->rows) return;
    const size_t row_bytes = v->full->row_bytes;
    const uint8_t *from = v->full->data;
    for (int i = 0; i < n && v->n < v->cap; i++) {
        const int t = tokens[i];
        if (t < 0 || t >= v->full->rows || v->listed[t]) continue;
        memcpy(v->rows + (size_t)v->n * row_bytes, from + (size_t)t * row_bytes, row_bytes);
        v->ids[v->n++] = t, v->listed[t] = 1;
    }
    point_output(v);
}

/* top[0..n) = the ids of the n largest logits (n <= COARSE_TOP), largest first. */
static int top_ids(const float *logits, int n_vocab, int *top) {
    float best[COARSE_TOP];
    int n = 0;
    for (int i = 0; i < n_vocab; i++) {
        if (n == COARSE_TOP && !(logits[i] > best[n - 1])) continue;
        int j = n < COARSE_TOP ? n++ : n - 1;
        for (; j > 0 && logits[i] > best[j - 1]; j--) best[j] = best[j - 1], top[j] = top[j - 1];
        best[j] = logits[i], top[j] = i;
    }
    return n;
}

/* The full head's score of token t against hidden: its row dequantized, an f32 dot. */
static float full_score(const qmatrix *full, int t, const float *hidden, float *row) {
    qmatrix_row(full, t, row);
    double sum = 0;
    for (int64_t i = 0; i < full->cols; i++) sum += (double)row[i] * hidden[i];
    return (float)sum;
}

int draft_view_argmax(const draft_view *v, const float *logits, const float *hidden) {
    if (v->coarse && hidden) {
        int top[COARSE_TOP] = {0};
        const int n = top_ids(logits, (int)v->full->rows, top);
        float *row = malloc((size_t)v->full->cols * sizeof *row);
        if (!row) return top[0]; /* out of memory: the coarse argmax, still a proposal */
        int best = top[0];
        float best_score = -INFINITY;
        for (int j = 0; j < n; j++) {
            const float s = full_score(v->full, top[j], hidden, row);
            if (s > best_score) best_score = s, best = top[j];
        }
        free(row);
        return best;
    }
    if (!v->rows) return argmax(logits, (int)v->full->rows);
    return v->ids[argmax(logits, v->n)];
}
