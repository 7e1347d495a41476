/* api_formats.c - include/scarce.h's view of the two tables a model file is written against:
 * the weight formats (quant/types.h) and the architectures (engine/arch.h), for programs that
 * build model files tensor by tensor (scarce mkmodel, upcycle). */
#include <string.h>

#include "../quant/types.h"
#include "api_impl.h"
#include "arch.h"

/* ---- weight formats ------------------------------------------------------------------- */

const char *scarce_type_name(int i) {
    const quant_type *qt = i >= 0 ? qtype_at(i) : NULL;
    return qt ? qt->name : NULL;
}

int scarce_type_get_info(const char *name, scarce_type_info *out) {
    const quant_type *qt = name ? qtype_by_name(name) : NULL;
    if (!qt || !out) return SCARCE_ERR_ARGUMENT;
    *out = (scarce_type_info){.name = qt->name,
                              .id = qt->id,
                              .block = qt->block,
                              .block_bytes = qt->block_bytes,
                              .file_type = qt->file_type,
                              .own = qt->is_scarce,
                              .weights = (qt->kind & QT_KIND_W) != 0,
                              .can_quantize = qt->quantize != NULL,
                              .can_dequantize = qt->dequantize != NULL};
    return SCARCE_OK;
}

size_t scarce_type_row_bytes(const char *type, int64_t n) {
    const quant_type *qt = type ? qtype_by_name(type) : NULL;
    return qt && n >= 0 ? qtype_row_bytes(qt->id, n) : 0;
}

/* The format named when a row of n fits it; NULL otherwise. */
static const quant_type *row_type(const char *type, int64_t n) {
    const quant_type *qt = type ? qtype_by_name(type) : NULL;
    return qt && n > 0 && n % qt->block == 0 ? qt : NULL;
}

int scarce_type_quantize(const char *type, const float *x, int64_t n, void *out) {
    const quant_type *qt = row_type(type, n);
    if (!qt || !qt->quantize || !x || !out) return SCARCE_ERR_ARGUMENT;
    qt->quantize(x, out, n, NULL);
    return SCARCE_OK;
}

int scarce_type_dequantize(const char *type, const void *data, int64_t n, float *out) {
    const quant_type *qt = row_type(type, n);
    if (!qt || !qt->dequantize || !data || !out) return SCARCE_ERR_ARGUMENT;
    qt->dequantize(data, out, n);
    return SCARCE_OK;
}

/* ---- architectures -------------------------------------------------------------------- */

#define SAME_FLAG(f) _Static_assert((int)SCARCE_##f == (int)f, "scarce.h's " #f " is arch.h's")
SAME_FLAG(ARCH_QKV_BIAS);
SAME_FLAG(ARCH_QK_NORM);
SAME_FLAG(ARCH_POST_NORMS);
SAME_FLAG(ARCH_EMBD_SCALE);
SAME_FLAG(ARCH_FUSED_QKV);
SAME_FLAG(ARCH_FUSED_UP);
SAME_FLAG(ARCH_MOE);
SAME_FLAG(ARCH_TIED_OUTPUT);
SAME_FLAG(ARCH_QK_NORM_FULL);
SAME_FLAG(ARCH_EXPERTS);
SAME_FLAG(ARCH_SHEXP);
SAME_FLAG(ARCH_SHEXP_GATE);
SAME_FLAG(ARCH_MLA);
SAME_FLAG(ARCH_SINKS);
/* a flag added to arch.h after ARCH_SINKS needs its SCARCE_ARCH_ twin */
#define ARCH_FLAGS_KNOWN ((unsigned)SCARCE_ARCH_SINKS * 2 - 1)

const char *scarce_arch_name(int i) {
    const arch_desc *d = arch_at(i);
    return d ? d->name : NULL;
}

int scarce_arch_get_info(const char *name, scarce_arch_info *out) {
    const arch_desc *d = arch_find(name);
    if (!d || !out) return SCARCE_ERR_ARGUMENT;
    *out = (scarce_arch_info){.name = d->name,
                              .flags = d->flags & ARCH_FLAGS_KNOWN,
                              .swa_pattern = d->swa_pattern,
                              .moe_ff_per_used = d->moe_ff_per_used,
                              .moe_reads_keys = d->moe_reads_keys};
    return SCARCE_OK;
}
