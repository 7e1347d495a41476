/* types.c - the type table. One designated-initialiser row per format. */
#include "types.h"

#include <strings.h>

#include "formats.h"

static quant_type table[] = {
    {.name = "f32", .id = QT_F32, .block = 1, .block_bytes = 4, .dequantize = dequantize_f32,
     .quantize = quantize_f32, .dot_type = QT_F32},
    {.name = "f16", .id = QT_F16, .block = 1, .block_bytes = 2, .dequantize = dequantize_f16,
     .quantize = quantize_f16, .dot_type = QT_F32},
    {.name = "bf16", .id = QT_BF16, .block = 1, .block_bytes = 2, .dequantize = dequantize_bf16,
     .quantize = quantize_bf16, .dot_type = QT_F32},
};

enum { N_TYPES = sizeof table / sizeof table[0] };

quant_type *qtype_mut(uint32_t id) {
    for (int i = 0; i < N_TYPES; i++)
        if (table[i].id == id) return &table[i];
    return NULL;
}

const quant_type *qtype(uint32_t id) { return qtype_mut(id); }

const quant_type *qtype_by_name(const char *name) {
    for (int i = 0; i < N_TYPES; i++)
        if (strcasecmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const quant_type *qtype_at(int i) { return i >= 0 && i < N_TYPES ? &table[i] : NULL; }

size_t qtype_row_bytes(uint32_t id, int64_t n) {
    const quant_type *t = qtype(id);
    if (!t || n < 0 || n % t->block) return 0;
    return (size_t)(n / t->block) * t->block_bytes;
}

double qtype_bpw(uint32_t id) {
    const quant_type *t = qtype(id);
    return t ? 8.0 * (double)t->block_bytes / t->block : 0.0;
}
