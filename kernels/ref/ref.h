/* ref.h - scalar reference kernels: the spec every SIMD kernel is tested against.
 * vec_dot_<weight>_ref(n, s, w, a): s = dot(w, a), w a row of <weight>, a in its dot_type. */
#ifndef SCARCE_REF_H
#define SCARCE_REF_H

#include <stdint.h>

void vec_dot_f32_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_ref(int64_t n, float *s, const void *w, const void *a);

/* Fills every type's vec_dot / from_float with the reference kernels. */
void ref_install(void);

#endif
