/* api_quant.c - include/scarce.h's quantization: engine/quantize_model.c behind the public
 * types, and the dequantization of one GGUF tensor row (scarce quantize --compare). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../quant/policy.h"
#include "../quant/types.h"
#include "api_impl.h"
#include "quantize_model.h"

int scarce_gguf_tensor_row(const scarce_gguf *g, uint64_t i, int64_t row, float *out) {
    if (!g || !out || i >= g->f->n_tensors) return SCARCE_ERR_ARGUMENT;
    const gguf_tensor *t = &g->f->tensors[i];
    const quant_type *qt = qtype(t->type);
    const int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    if (!qt || !qt->dequantize || row < 0 || row >= rows) return SCARCE_ERR_ARGUMENT;
    const size_t row_bytes = qtype_row_bytes(t->type, t->ne[0]);
    qt->dequantize((const unsigned char *)t->data + (size_t)row * row_bytes, out, t->ne[0]);
    return SCARCE_OK;
}

const char *scarce_quant_scheme(int i) {
    const quant_scheme *s = i >= 0 ? quant_scheme_at(i) : NULL;
    return s ? s->name : NULL;
}

static const char *type_name(uint32_t type) {
    const quant_type *qt = qtype(type);
    return qt ? qt->name : "?";
}

const char *scarce_quant_scheme_type(const char *scheme) {
    const quant_scheme *s = scheme ? quant_scheme_by_name(scheme) : NULL;
    return s ? type_name(s->base) : NULL;
}

int scarce_quant_scheme_needs_imatrix(const char *scheme) {
    const quant_scheme *s = scheme ? quant_scheme_by_name(scheme) : NULL;
    /* a block weight matrix of the scheme's base type (token_embd and output never need one) */
    return s ? policy_needs_imatrix(s, "blk.0.ffn_up.weight", s->base) : SCARCE_ERR_ARGUMENT;
}

/* The caller's progress callback, and the flag quantize_model polls to stop. */
typedef struct {
    const scarce_quantize_params *p;
    volatile sig_atomic_t stop;
} progress_bridge;

static void on_progress(void *ctx, const quantize_progress *q) {
    progress_bridge *b = ctx;
    if (b->p->progress(b->p->progress_user, q->tensor, q->n_tensors, q->name, q->bytes_done,
                       q->bytes_total))
        b->stop = 1;
}

static void report_of(quantize_report *rep, scarce_quantize_report *out) {
    memset(out, 0, sizeof *out);
    quantize_report *kept = malloc(sizeof *kept);
    scarce_quant_tensor *t = calloc((size_t)rep->n_tensors + 1, sizeof *t);
    if (!kept || !t) { /* the figures without the table */
        free(kept), free(t);
        quantize_report_free(rep);
        kept = NULL, t = NULL;
    } else {
        *kept = *rep;
        for (int i = 0; i < rep->n_tensors; i++) {
            const quantize_tensor_info *s = &rep->tensors[i];
            t[i] = (scarce_quant_tensor){.name = s->name,
                                         .from_type = type_name(s->src_type),
                                         .type = type_name(s->type),
                                         .reason = s->reason,
                                         .n_dims = s->n_dims,
                                         .n_elements = s->n_elements,
                                         .bytes = s->bytes,
                                         .rmse = s->rmse,
                                         .rms_source = s->rms_source,
                                         .has_importance = s->has_importance};
            memcpy(t[i].ne, s->ne, sizeof t[i].ne);
        }
        out->n_tensors = rep->n_tensors, out->tensors = t, out->impl = kept;
    }
    out->file_type = rep->file_type, out->total_bytes = rep->total_bytes;
    out->n_elements = rep->n_elements, out->bits_per_weight = rep->bits_per_weight;
    out->dequantized_input = rep->dequantized_input;
    out->imatrix_chunks = rep->imatrix_chunks, out->n_imatrix_used = rep->n_imatrix_used;
}

int scarce_model_quantize(const char *in, const char *out, const char *scheme,
                          const scarce_quantize_params *params, scarce_quantize_report *report,
                          char *errbuf, size_t errcap) {
    char msg[API_ERROR_CAP] = "";
    int rc = SCARCE_OK;
    if (report) memset(report, 0, sizeof *report);
    if (!in || !out || !scheme) {
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "scarce_model_quantize: %s is NULL",
                      !in    ? "in"
                      : !out ? "out"
                             : "scheme");
    } else if (!quant_scheme_by_name(scheme)) {
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "unknown quantization scheme '%s'", scheme);
    } else {
        const scarce_quantize_params none = {0};
        const scarce_quantize_params *p = params ? params : &none;
        progress_bridge bridge = {.p = p};
        const quantize_opts opts = {.n_threads = p->n_threads,
                                    .imatrix_path = p->imatrix,
                                    .pure = p->pure,
                                    .progress = p->progress ? on_progress : NULL,
                                    .progress_ctx = &bridge,
                                    .cancel = &bridge.stop};
        quantize_report rep;
        scarce_error err = {0};
        if (quantize_model(in, out, scheme, &opts, &rep, &err)) {
            /* the input that cannot be read is an I/O error; the rest says what it is */
            rc = api_fail_err(msg, access(in, R_OK) ? SCARCE_ERR_IO : SCARCE_ERR_RUNTIME, &err);
        } else if (report) {
            report_of(&rep, report);
        } else {
            quantize_report_free(&rep);
        }
    }
    if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? msg : "");
    return rc;
}

void scarce_quantize_report_free(scarce_quantize_report *report) {
    if (!report) return;
    if (report->impl) quantize_report_free(report->impl);
    free(report->impl);
    free(report->tensors);
    memset(report, 0, sizeof *report);
}
