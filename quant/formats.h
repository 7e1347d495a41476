/* formats.h - the scalar reference quantize/dequantize of every format (one .c each).
 * Internal to quant/: everything else reaches them through the type table (types.h). */
#ifndef SCARCE_FORMATS_H
#define SCARCE_FORMATS_H

#include <stdint.h>

#define DECLARE_FORMAT(fmt)                                                   \
    void dequantize_##fmt(const void *src, float *dst, int64_t n);            \
    void quantize_##fmt(const float *src, void *dst, int64_t n, const float *importance);

DECLARE_FORMAT(f32)
DECLARE_FORMAT(f16)
DECLARE_FORMAT(bf16)

#endif
