/* mkmodel_moe.c - the mixture-of-experts and latent-attention parts of scarce mkmodel:
 * tensor names, shapes and keys as llama.cpp's loaders want them (src/models/qwen3moe.cpp,
 * olmoe.cpp, qwen2moe.cpp, deepseek2.cpp; key names from src/llama-arch.cpp). */
#include <string.h>

#include "cli.h"
#include "mkmodel.h"

void mk_moe_usage(FILE *out) {
    fprintf(out,
            "  MoE: --n-ff-exp F (expert width; default --n-ff), --n-ff-shexp F (qwen2moe's\n"
            "  shared expert; default --n-ff), --n-expert-shared N (deepseek2; default 1),\n"
            "  --leading-dense N (deepseek2: first N layers dense), --gating 1|2 (deepseek2:\n"
            "  softmax|sigmoid), --expert-weights-norm 0|1, --expert-weights-scale X,\n"
            "  --expert-groups G --expert-groups-used U (group-limited routing),\n"
            "  --probs-bias 1 (exp_probs_b selection bias).\n"
            "  Latent attention (deepseek2): --kv-lora-rank R, --q-lora-rank Q (0: attn_q),\n"
            "  --head-dim = key_length_mla (nope + rope), --n-rot = rope part, --v-head-dim V.\n");
}

long *mk_moe_int_flag(mk_args *a, const char *flag, long *hi) {
    *hi = 1 << 20;
    if (!strcmp(flag, "--n-ff-exp")) return &a->n_ff_exp;
    if (!strcmp(flag, "--n-ff-shexp")) return &a->n_ff_shexp;
    if (!strcmp(flag, "--n-expert-shared")) return *hi = 64, &a->n_expert_shared;
    if (!strcmp(flag, "--leading-dense")) return *hi = 4096, &a->n_dense_lead;
    if (!strcmp(flag, "--gating")) return *hi = 2, &a->gating;
    if (!strcmp(flag, "--expert-weights-norm")) return *hi = 1, &a->weights_norm;
    if (!strcmp(flag, "--expert-groups")) return *hi = 1024, &a->n_group;
    if (!strcmp(flag, "--expert-groups-used")) return *hi = 1024, &a->n_group_used;
    if (!strcmp(flag, "--probs-bias")) return *hi = 1, &a->probs_bias;
    if (!strcmp(flag, "--kv-lora-rank")) return &a->kv_lora_rank;
    if (!strcmp(flag, "--q-lora-rank")) return &a->q_lora_rank;
    if (!strcmp(flag, "--v-head-dim")) return &a->v_head_dim;
    return NULL;
}

int mk_moe_zero_ok(const mk_args *a, const long *field) {
    return field == &a->n_dense_lead || field == &a->gating || field == &a->weights_norm ||
           field == &a->n_group || field == &a->n_group_used || field == &a->probs_bias ||
           field == &a->q_lora_rank;
}

int mk_moe_check(mk_args *a) {
    const unsigned flags = a->arch.flags;
    if ((flags & SCARCE_ARCH_EXPERTS) && a->n_expert < 1)
        return cli_error(CMD, EXIT_USAGE, "--arch %s needs --n-expert and --n-expert-used",
                         a->arch.name);
    const int reads_ff_exp = a->arch.moe_ff_per_used || a->arch.moe_reads_keys;
    if (a->n_ff_exp && a->n_ff_exp != a->n_ff && !reads_ff_exp)
        return cli_error(CMD, EXIT_USAGE, "--n-ff-exp: architecture %s's experts are --n-ff wide",
                         a->arch.name);
    if (!a->n_ff_exp) a->n_ff_exp = a->n_ff;
    if (!a->n_ff_shexp) a->n_ff_shexp = a->n_ff;
    if (!a->n_expert_shared) a->n_expert_shared = 1;
    if (!a->v_head_dim) a->v_head_dim = a->head_dim;
    if (a->n_dense_lead >= a->n_layer && a->n_expert > 0)
        return cli_error(CMD, EXIT_USAGE, "--leading-dense %ld leaves no MoE layer of %ld",
                         a->n_dense_lead, a->n_layer);
    if (a->n_group > 1 &&
        (a->n_expert % a->n_group || a->n_group_used < 1 || a->n_group_used >= a->n_group))
        return cli_error(CMD, EXIT_USAGE,
                         "--expert-groups %ld must divide --n-expert %ld and "
                         "--expert-groups-used be in [1, groups)",
                         a->n_group, a->n_expert);
    if ((flags & SCARCE_ARCH_QK_NORM_FULL) && a->n_head_kv != a->n_head)
        return cli_error(CMD, EXIT_USAGE,
                         "--arch %s: llama.cpp wants --n-head-kv = --n-head "
                         "(its k norm is n_embd wide)",
                         a->arch.name);
    if ((flags & SCARCE_ARCH_SINKS) && (!a->swa || a->n_rot != a->head_dim))
        return cli_error(CMD, EXIT_USAGE, "--arch %s needs --swa W and --n-rot = head dim",
                         a->arch.name);
    if (flags & SCARCE_ARCH_MLA) {
        if (a->kv_lora_rank < 1)
            return cli_error(CMD, EXIT_USAGE, "--arch %s needs --kv-lora-rank", a->arch.name);
        if (a->n_rot >= a->head_dim)
            return cli_error(CMD, EXIT_USAGE,
                             "--n-rot %ld must be < --head-dim %ld (the rest "
                             "is the no-rope part)",
                             a->n_rot, a->head_dim);
    }
    return 0;
}

#define T(suffix, nd, x, y, z)                                                                     \
    (snprintf(nm, sizeof nm, "blk.%ld." suffix, i), rc |= mk_add(l, nm, nd, x, y, z))
#define RANDOM_VECTOR() (l->t[l->n - 1].is_norm = 0) /* a 1-D tensor that is not a norm */

int mk_moe_ffn_tensors(const mk_args *a, long i, tensor_list *l) {
    const unsigned flags = a->arch.flags;
    char nm[64];
    int rc = 0;
    T("ffn_gate_inp.weight", 2, a->n_embd, a->n_expert, 1);
    if (a->probs_bias && !rc) T("exp_probs_b.bias", 1, a->n_expert, 1, 1), RANDOM_VECTOR();
    T("ffn_gate_exps.weight", 3, a->n_embd, a->n_ff_exp, a->n_expert);
    T("ffn_up_exps.weight", 3, a->n_embd, a->n_ff_exp, a->n_expert);
    T("ffn_down_exps.weight", 3, a->n_ff_exp, a->n_embd, a->n_expert);
    if ((flags & SCARCE_ARCH_SINKS) && !rc) { /* gpt-oss: biases of the router and the experts */
        T("ffn_gate_inp.bias", 1, a->n_expert, 1, 1), RANDOM_VECTOR();
        T("ffn_gate_exps.bias", 2, a->n_ff_exp, a->n_expert, 1);
        T("ffn_up_exps.bias", 2, a->n_ff_exp, a->n_expert, 1);
        T("ffn_down_exps.bias", 2, a->n_embd, a->n_expert, 1);
    }
    if (!(flags & SCARCE_ARCH_SHEXP)) return rc;
    const long shexp = flags & SCARCE_ARCH_MLA ? a->n_ff_exp * a->n_expert_shared : a->n_ff_shexp;
    if ((flags & SCARCE_ARCH_SHEXP_GATE) && !rc)
        T("ffn_gate_inp_shexp.weight", 1, a->n_embd, 1, 1), RANDOM_VECTOR();
    T("ffn_gate_shexp.weight", 2, a->n_embd, shexp, 1);
    T("ffn_up_shexp.weight", 2, a->n_embd, shexp, 1);
    T("ffn_down_shexp.weight", 2, shexp, a->n_embd, 1);
    return rc;
}

int mk_mla_tensors(const mk_args *a, long i, tensor_list *l) {
    const long nope = a->head_dim - a->n_rot;
    char nm[64];
    int rc = 0;
    T("attn_norm.weight", 1, a->n_embd, 1, 1);
    if (a->q_lora_rank > 0) {
        T("attn_q_a_norm.weight", 1, a->q_lora_rank, 1, 1);
        T("attn_q_a.weight", 2, a->n_embd, a->q_lora_rank, 1);
        T("attn_q_b.weight", 2, a->q_lora_rank, a->n_head * a->head_dim, 1);
    } else {
        T("attn_q.weight", 2, a->n_embd, a->n_head * a->head_dim, 1);
    }
    T("attn_kv_a_norm.weight", 1, a->kv_lora_rank, 1, 1);
    T("attn_kv_a_mqa.weight", 2, a->n_embd, a->kv_lora_rank + a->n_rot, 1);
    T("attn_k_b.weight", 3, nope, a->kv_lora_rank, a->n_head);
    T("attn_v_b.weight", 3, a->kv_lora_rank, a->v_head_dim, a->n_head);
    T("attn_output.weight", 2, a->n_head * a->v_head_dim, a->n_embd, 1);
    return rc;
}

void mk_moe_keys(scarce_gguf_writer *w, const mk_args *a) {
    const scarce_arch_info *d = &a->arch;
    if (d->moe_ff_per_used || d->moe_reads_keys)
        arch_u32(w, a, "expert_feed_forward_length", a->n_ff_exp);
    if ((d->flags & SCARCE_ARCH_SHEXP) && !d->moe_reads_keys)
        arch_u32(w, a, "expert_shared_feed_forward_length", a->n_ff_shexp);
    if (a->n_group > 1) {
        arch_u32(w, a, "expert_group_count", a->n_group);
        arch_u32(w, a, "expert_group_used_count", a->n_group_used);
    }
    if (!d->moe_reads_keys) return;
    char key[128];
    arch_u32(w, a, "expert_shared_count", a->n_expert_shared);
    arch_u32(w, a, "leading_dense_block_count", a->n_dense_lead);
    if (a->gating) arch_u32(w, a, "expert_gating_func", a->gating);
    snprintf(key, sizeof key, "%s.expert_weights_norm", d->name);
    scarce_gguf_writer_set_bool(w, key, (int)a->weights_norm);
    if (a->weights_scale > 0) arch_f32(w, a, "expert_weights_scale", (float)a->weights_scale);
}
