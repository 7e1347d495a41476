/* install.c - puts the scalar reference kernels into the type table: the base every ISA
 * starts from (an ISA replaces only the entries it has faster versions of). */
#include "../../quant/types.h"
#include "ref.h"

static void set_dot(uint32_t id, vec_dot_fn dot, from_float_fn from_float) {
    quant_type *t = qtype_mut(id);
    if (!t) return;
    t->vec_dot = dot;
    t->from_float = from_float;
}

void ref_install(void) {
    set_dot(QT_F32, vec_dot_f32_ref, NULL);
    set_dot(QT_F16, vec_dot_f16_ref, NULL);
    set_dot(QT_BF16, vec_dot_bf16_ref, NULL);
}
