/* arch.c - the architecture table (see arch.h). */
#include "arch.h"

#include <stdio.h>
#include <string.h>

static const arch_desc table[] = {
    /* Llama 1/2/3.x, SmolLM2, TinyLlama; Llama 3.x rope scaling comes as rope_freqs.weight */
    {.name = "llama", .flags = ARCH_MOE, .rope = ROPE_NORM, .moe_norm = 1},
    {.name = "mixtral", .flags = ARCH_MOE, .rope = ROPE_NORM, .moe_norm = 1},
    {.name = "qwen2", .flags = ARCH_QKV_BIAS, .rope = ROPE_NEOX},
    {.name = "qwen3", .flags = ARCH_QK_NORM, .rope = ROPE_NEOX},
    /* Gemma 2: local and global layers alternate (window 4096 unless the file says),
     * both with the global rope; scores capped at 50, logits at 30 */
    {.name = "gemma2",
     .flags = ARCH_POST_NORMS | ARCH_EMBD_SCALE | ARCH_TIED_OUTPUT,
     .rope = ROPE_NEOX,
     .ffn = FFN_GELU_TANH,
     .attn_scale_embd_layers = 46,
     .swa_pattern = 2,
     .swa_window = 4096,
     .reads_softcap = 1,
     .attn_softcap = 50.0f,
     .final_softcap = 30.0f},
    /* Gemma 3: five local layers (rope base 10000) for one global; no score capping */
    {.name = "gemma3",
     .flags = ARCH_QK_NORM | ARCH_POST_NORMS | ARCH_EMBD_SCALE | ARCH_TIED_OUTPUT,
     .rope = ROPE_NEOX,
     .ffn = FFN_GELU_TANH,
     .attn_scale_embd_layers = 62,
     .swa_pattern = 6,
     .swa_rope_base = 10000.0f,
     .reads_softcap = 1},
    /* llama.cpp ignores Phi-3's attention.sliding_window (SWA disabled for phi3), so do we */
    {.name = "phi3", .flags = ARCH_FUSED_QKV | ARCH_FUSED_UP, .rope = ROPE_NEOX},
    {.name = "smollm3", .rope = ROPE_NORM, .no_rope_step = 4},
    /* Mixture-of-experts families (llama.cpp src/models/<arch>.cpp, build_moe_ffn's
     * arguments): softmax over the experts, top-k, then renormalised (Qwen3-MoE's
     * norm_topk_prob) or used as they are (OLMoE, Qwen2-MoE) */
    {.name = "qwen3moe",
     .flags = ARCH_QK_NORM | ARCH_MOE | ARCH_EXPERTS,
     .rope = ROPE_NEOX,
     .moe_norm = 1,
     .moe_ff_per_used = 1},
    {.name = "olmoe",
     .flags = ARCH_QK_NORM | ARCH_QK_NORM_FULL | ARCH_MOE | ARCH_EXPERTS,
     .rope = ROPE_NEOX},
    {.name = "qwen2moe",
     .flags = ARCH_QKV_BIAS | ARCH_MOE | ARCH_EXPERTS | ARCH_SHEXP | ARCH_SHEXP_GATE,
     .rope = ROPE_NEOX,
     .moe_ff_per_used = 1},
    /* DeepSeek-V2/V3 (and Moonlight, GLM-4.7-Flash...): latent attention, shared experts,
     * leading dense layers; the file states its routing (softmax or sigmoid, renormalised
     * or not, scale, groups). Rope on consecutive pairs. */
    {.name = "deepseek2",
     .flags = ARCH_MLA | ARCH_MOE | ARCH_EXPERTS | ARCH_SHEXP,
     .rope = ROPE_NORM,
     .moe_reads_keys = 1},
    /* gpt-oss: every other layer local (even ones, window attention.sliding_window) with the
     * global rope (YaRN), sinks, biases everywhere, top-k of the logits then softmax */
    {.name = "gpt-oss",
     .flags = ARCH_QKV_BIAS | ARCH_MOE | ARCH_EXPERTS | ARCH_SINKS,
     .rope = ROPE_NEOX,
     .ffn = FFN_SWIGLU_OAI,
     .swa_pattern = 2,
     .moe_gating = MOE_GATING_SOFTMAX_WEIGHT,
     .moe_ff_per_used = 1},
};

enum { N_ARCH = sizeof table / sizeof *table };

const arch_desc *arch_find(const char *name) {
    for (int i = 0; name && i < N_ARCH; i++)
        if (!strcmp(table[i].name, name)) return &table[i];
    return NULL;
}

const arch_desc *arch_at(int i) {
    return i >= 0 && i < N_ARCH ? &table[i] : NULL;
}

void arch_names(char *buf, size_t size) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < N_ARCH && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", table[i].name);
}
