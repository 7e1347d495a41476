/* avx2_install.c - puts the AVX2 kernels into the type table over the reference ones. */
#include "../../quant/types.h"
#include "avx2.h"

static void set_dot(uint32_t id, vec_dot_fn dot) {
    quant_type *t = qtype_mut(id);
    if (t && dot) t->vec_dot = dot;
}

static void set_from_float(uint32_t id, from_float_fn from_float) {
    quant_type *t = qtype_mut(id);
    if (t && from_float) t->from_float = from_float;
}

void avx2_install(void) {
    set_dot(QT_F32, vec_dot_f32_avx2);
    set_dot(QT_F16, vec_dot_f16_avx2);
    set_dot(QT_BF16, vec_dot_bf16_avx2);
    (void)set_from_float;
}
