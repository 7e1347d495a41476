/* neon_install.c - puts the NEON kernels into the type table over the reference ones. */
#include "../../quant/types.h"
#include "neon.h"

static void set_dot(uint32_t id, vec_dot_fn dot) {
    quant_type *t = qtype_mut(id);
    if (t && dot) t->vec_dot = dot;
}

void neon_install(void) {
    set_dot(QT_F32, vec_dot_f32_neon);
    set_dot(QT_F16, vec_dot_f16_neon);
    set_dot(QT_Q8_0, vec_dot_q8_0_neon);
    set_dot(QT_Q4_0, vec_dot_q4_0_neon);
}
