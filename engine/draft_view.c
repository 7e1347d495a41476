/* draft_view.c - the draft model with a shortlisted head on shared kernels (draft_view.h). */
#include "draft_view.h"

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
                    int n_text, scarce_error *err) {
    memset(v, 0, sizeof *v);
    v->m = *draft;
    v->full = &draft->output;
    if (kernels_fit(draft, target)) v->m.kernels = target->kernels, v->shared_kernels = 1;
    const int n_vocab = (int)draft->output.rows;
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
    const uint64_t full = (uint64_t)draft->output.rows * draft->output.row_bytes;
    v->other_pass_bytes = draft->global_pass_bytes > full ? draft->global_pass_bytes - full : 0;
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

int draft_view_argmax(const draft_view *v, const float *logits) {
    if (!v->rows) return argmax(logits, (int)v->full->rows);
    return v->ids[argmax(logits, v->n)];
}
