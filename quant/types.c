/* types.c - the type table: one row per line of type_list.h. */
#include "types.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "formats.h"

static const quant_type table[QT_COUNT] = {
#define QTYPE(NAME, fmt, id_, block_, bytes, ftype, scarce, dot, kind_)                            \
    [QT_INDEX_##NAME] = {.name = #fmt,                                                             \
                         .id = id_,                                                                \
                         .block = block_,                                                          \
                         .block_bytes = bytes,                                                     \
                         .file_type = ftype,                                                       \
                         .is_scarce = scarce,                                                      \
                         .kind = QT_KIND_##kind_,                                                  \
                         .dequantize = dequantize_##fmt,                                           \
                         .quantize = quantize_##fmt,                                               \
                         .dot_type = QT_##dot},
#include "type_list.h"
};

/* id -> index + 1 (0: unknown) */
static const uint8_t index_of[QT_MAX_ID] = {
#define QTYPE(NAME, fmt, id, ...) [id] = QT_INDEX_##NAME + 1,
#include "type_list.h"
};
_Static_assert(QT_COUNT < 255, "index_of holds index + 1 in a byte");

int qtype_index(uint32_t id) {
    return id < QT_MAX_ID ? (int)index_of[id] - 1 : -1;
}

const quant_type *qtype(uint32_t id) {
    int i = qtype_index(id);
    return i >= 0 ? &table[i] : NULL;
}

const quant_type *qtype_by_name(const char *name) {
    for (int i = 0; i < QT_COUNT; i++)
        if (strcasecmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const quant_type *qtype_at(int i) {
    return i >= 0 && i < QT_COUNT ? &table[i] : NULL;
}

size_t qtype_row_bytes(uint32_t id, int64_t n) {
    const quant_type *t = qtype(id);
    if (!t || n < 0 || n % t->block) return 0;
    return (size_t)(n / t->block) * t->block_bytes;
}

double qtype_bpw(uint32_t id) {
    const quant_type *t = qtype(id);
    return t ? 8.0 * (double)t->block_bytes / t->block : 0.0;
}

/* 64 values at a time by their exponent bits (all ones: NaN or infinity) in SIMD lanes, the
 * element search only in the 64 that hold one: the element loop, one compare and exit
 * branch a value, was 1.5% of a q4_0 run (Xeon SPR perf). */
int quant_check_finite(const float *x, int64_t n) {
    enum { STEP = 64 };
    int64_t i = 0;
    for (; i + STEP <= n; i += STEP) {
        uint32_t bad = 0;
#pragma omp simd reduction(| : bad)
        for (int k = 0; k < STEP; k++) {
            uint32_t u;
            memcpy(&u, x + i + k, sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (bad) break;
    }
    for (; i < n; i++)
        if (!isfinite(x[i])) return i > INT32_MAX ? INT32_MAX : (int)i;
    return -1;
}
