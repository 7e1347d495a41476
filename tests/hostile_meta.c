/* hostile_meta.c - the lying GGUF files of hostile_meta.h, through the writer API. */
#include "hostile_meta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "shared_data.h"
#include "test.h"

const char *const hostile_base_names[N_BASES] = {"stories", "moe", "gemma3", "deepseek2",
                                                 "gpt-oss"};
#define MK_COMMON "--n-embd 64 --n-layer 2 --n-head 4 --n-ff 128 "
const char *const hostile_base_args[N_BASES] = {
    [BASE_GEMMA3] = "--arch gemma3 --n-embd 64 --n-layer 2 --n-head 2 --n-head-kv 1 --n-ff 128 "
                    "--swa 8 --head-dim 32",
    /* MLA (kv_lora_rank 16, heads of 16 + 8 rope), 4 experts in 2 groups, 1 dense layer */
    [BASE_DEEPSEEK2] = "--arch deepseek2 " MK_COMMON "--n-head-kv 4 --n-expert 4 "
                       "--n-expert-used 2 --kv-lora-rank 16 --head-dim 24 --n-rot 8 "
                       "--v-head-dim 16 --leading-dense 1 --expert-groups 2 "
                       "--expert-groups-used 1 --ctx 256 --yarn 4 --yarn-log-mul 0.1",
    /* attention sinks, every other layer windowed */
    [BASE_GPTOSS] = "--arch gpt-oss " MK_COMMON "--n-head-kv 2 --n-expert 4 --n-expert-used 2 "
                    "--swa 8 --n-rot 16",
};

#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* cmd: NULL (run) unless given */
const hostile_file hostile_files[] = {
    /* float32 score bits declared int32: ranks the merges by the bits */
    {"scores_i32.gguf", BASE_STORIES, "tokenizer.ggml.scores", EDIT_RETYPE, GGUF_I32, 0, NULL,
     "tokenizer.ggml.scores["},
    {"scores_u32.gguf", BASE_STORIES, "tokenizer.ggml.scores", EDIT_RETYPE, GGUF_U32, 0, NULL,
     "tokenizer.ggml.scores: expected array of int32 or float32, found array of uint32"},
    {"toktype_f32.gguf", BASE_STORIES, "tokenizer.ggml.token_type", EDIT_RETYPE, GGUF_F32, 0, NULL,
     "tokenizer.ggml.token_type: expected array of int32, found array of float32"},
    {"toktype_u32.gguf", BASE_STORIES, "tokenizer.ggml.token_type", EDIT_RETYPE, GGUF_U32, 0, NULL,
     "tokenizer.ggml.token_type: expected array of int32, found array of uint32"},
    {"tokens_str.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_STR, 0, 0, "<unk>",
     "tokenizer.ggml.tokens: expected array of string, found string"},
    {"byte_nonhex.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 68, "<0xG1>",
     "tokenizer.ggml.tokens[68]"},
    {"byte_sign.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 69, "<0x+A>",
     "tokenizer.ggml.tokens[69]"},
    {"byte_long.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 70, "<0x041>",
     "tokenizer.ggml.tokens[70]"},
    {"byte_word.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 300, "hello",
     "tokenizer.ggml.tokens[300]"},
    {"bos_str.gguf", BASE_STORIES, "tokenizer.ggml.bos_token_id", EDIT_STR, 0, 0, "1",
     "tokenizer.ggml.bos_token_id: expected an integer, found string"},
    {"bos_f32.gguf", BASE_STORIES, "tokenizer.ggml.bos_token_id", EDIT_F32, 0, 1, NULL,
     "tokenizer.ggml.bos_token_id: expected an integer, found float32"},
    {"model_u32.gguf", BASE_STORIES, "tokenizer.ggml.model", EDIT_U32, 0, 1, NULL,
     "tokenizer.ggml.model: expected string, found uint32"},
    {"name_u32.gguf", BASE_STORIES, "general.name", EDIT_U32, 0, 3, NULL,
     "general.name: expected string, found uint32"},
    {"arch_u32.gguf", BASE_STORIES, "general.architecture", EDIT_U32, 0, 1, NULL,
     "general.architecture: expected string, found uint32"},
    /* the bits of 1e-5f declared uint32 would read as 925353388 */
    {"eps_u32.gguf", BASE_STORIES, "llama.attention.layer_norm_rms_epsilon", EDIT_RETYPE, GGUF_U32,
     0, NULL, "llama.attention.layer_norm_rms_epsilon: expected float32, found uint32"},
    {"eps_nan.gguf", BASE_STORIES, "llama.attention.layer_norm_rms_epsilon", EDIT_F32, 0, NAN, NULL,
     "llama.attention.layer_norm_rms_epsilon = nan"},
    {"eps_zero.gguf", BASE_STORIES, "llama.attention.layer_norm_rms_epsilon", EDIT_F32, 0, 0, NULL,
     "llama.attention.layer_norm_rms_epsilon = 0"},
    {"ctx_f32.gguf", BASE_STORIES, "llama.context_length", EDIT_RETYPE, GGUF_F32, 0, NULL,
     "llama.context_length: expected an integer, found float32"},
    {"heads_str.gguf", BASE_STORIES, "llama.attention.head_count", EDIT_STR, 0, 0, "8",
     "llama.attention.head_count: expected an integer, found string"},
    {"blocks_more.gguf", BASE_STORIES, "llama.block_count", EDIT_U32, 0, 7, NULL,
     "llama.block_count = 7,"},
    {"blocks_fewer.gguf", BASE_STORIES, "llama.block_count", EDIT_U32, 0, 3, NULL,
     "llama.block_count = 3,"},
    {"blocks_huge.gguf", BASE_STORIES, "llama.block_count", EDIT_U32, 0, 1 << 24, NULL,
     "llama.block_count = 16777216,"},
    {"heads_kv.gguf", BASE_STORIES, "llama.attention.head_count_kv", EDIT_U32, 0, 8, NULL,
     "blk.0.attn_k.weight"},
    {"heads_q.gguf", BASE_STORIES, "llama.attention.head_count", EDIT_U32, 0, 16, NULL,
     "llama.attention.head_count 16"},
    {"rope_dims.gguf", BASE_STORIES, "llama.rope.dimension_count", EDIT_U32, 0, 9, NULL,
     "llama.rope.dimension_count 9"},
    {"rope_base_inf.gguf", BASE_STORIES, "llama.rope.freq_base", EDIT_F32, 0, INFINITY, NULL,
     "llama.rope.freq_base = inf"},
    {"vocab_short.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_DROP_TOKEN, 0, 0, NULL,
     "tokenizer.ggml.tokens has 511 pieces, token_embd.weight 512 rows"},
    {"experts_more.gguf", BASE_MOE, "llama.expert_count", EDIT_U32, 0, 8, NULL,
     "blk.0.ffn_gate_inp.weight"},
    {"experts_fewer.gguf", BASE_MOE, "llama.expert_count", EDIT_U32, 0, 2, NULL,
     "blk.0.ffn_gate_inp.weight"},
    {"experts_used.gguf", BASE_MOE, "llama.expert_used_count", EDIT_U32, 0, 5, NULL,
     "expert_used_count 5"},
    {"window_wide.gguf", BASE_GEMMA3, "gemma3.attention.sliding_window", EDIT_U32, 0, 1 << 20, NULL,
     "gemma3.attention.sliding_window = 1048576 is wider"},
    {"window_f32.gguf", BASE_GEMMA3, "gemma3.attention.sliding_window", EDIT_RETYPE, GGUF_F32, 0,
     NULL, "gemma3.attention.sliding_window: expected an integer, found float32"},
    {"softcap_nan.gguf", BASE_GEMMA3, "gemma3.final_logit_softcapping", EDIT_F32, 0, NAN, NULL,
     "gemma3.final_logit_softcapping = nan"},
    /* counts that size allocations (a huge context_length does not: -c sizes the cache;
     * special ids out of the vocabulary are dropped with no token, as llama.cpp does) */
    {"kv_zero.gguf", BASE_STORIES, "llama.attention.head_count_kv", EDIT_U32, 0, 0, NULL,
     "llama.attention.head_count_kv"},
    {"embd_huge.gguf", BASE_STORIES, "llama.embedding_length", EDIT_U32, 0, 1 << 24, NULL,
     "token_embd.weight"},
    /* the newer architectures' counts and widths (issue 21 item 2) */
    {"lora_rank.gguf", BASE_DEEPSEEK2, "deepseek2.attention.kv_lora_rank", EDIT_U32, 0, 8, NULL,
     "kv_lora_rank"},
    {"lora_rank_f32.gguf", BASE_DEEPSEEK2, "deepseek2.attention.kv_lora_rank", EDIT_F32, 0, 16,
     NULL, "deepseek2.attention.kv_lora_rank: expected an integer, found float32"},
    {"mla_key.gguf", BASE_DEEPSEEK2, "deepseek2.attention.key_length_mla", EDIT_U32, 0, 40, NULL,
     "blk.0.attn_q.weight"},
    {"mla_value.gguf", BASE_DEEPSEEK2, "deepseek2.attention.value_length_mla", EDIT_U32, 0, 32,
     NULL, "blk.0.attn_v_b.weight"},
    {"q_lora.gguf", BASE_DEEPSEEK2, "deepseek2.attention.q_lora_rank", EDIT_U32, 0, 12, NULL,
     "blk.0.attn_q_a_norm.weight"},
    {"groups_uneven.gguf", BASE_DEEPSEEK2, "deepseek2.expert_group_count", EDIT_U32, 0, 3, NULL,
     "expert_group_count 3"},
    {"groups_used.gguf", BASE_DEEPSEEK2, "deepseek2.expert_group_used_count", EDIT_U32, 0, 2, NULL,
     "expert_group_used_count 2"},
    {"groups_many.gguf", BASE_DEEPSEEK2, "deepseek2.expert_group_count", EDIT_U32, 0, 1 << 20, NULL,
     "expert_group_count 1048576"},
    {"ds_experts.gguf", BASE_DEEPSEEK2, "deepseek2.expert_count", EDIT_U32, 0, 6, NULL,
     "ffn_gate_inp"},
    {"ds_used.gguf", BASE_DEEPSEEK2, "deepseek2.expert_used_count", EDIT_U32, 0, 0, NULL,
     "expert_used_count 0"},
    {"ds_shared.gguf", BASE_DEEPSEEK2, "deepseek2.expert_shared_count", EDIT_U32, 0, 3, NULL,
     "blk.1.ffn_gate_shexp.weight"},
    {"ds_ffexp.gguf", BASE_DEEPSEEK2, "deepseek2.expert_feed_forward_length", EDIT_U32, 0, 1 << 22,
     NULL, "ffn_"},
    {"ds_dense.gguf", BASE_DEEPSEEK2, "deepseek2.leading_dense_block_count", EDIT_U32, 0, 9, NULL,
     "leading_dense_block_count 9"},
    /* every layer dense: no tensor checks the expert widths the run state would be sized by
     * (found by fuzz_model: with expert_shared_count 107008 as well, a 3.5 GB calloc) */
    {"ds_all_dense.gguf", BASE_DEEPSEEK2, "deepseek2.leading_dense_block_count", EDIT_U32, 0, 2,
     NULL, "leading_dense_block_count 2 leaves no MoE layer of 2"},
    {"ds_gating.gguf", BASE_DEEPSEEK2, "deepseek2.expert_gating_func", EDIT_U32, 0, 7, NULL,
     "expert_gating_func = 7"},
    {"ds_scale.gguf", BASE_DEEPSEEK2, "deepseek2.expert_weights_scale", EDIT_F32, 0, INFINITY, NULL,
     "expert_weights_scale = inf"},
    {"ds_nextn.gguf", BASE_DEEPSEEK2, "deepseek2.nextn_predict_layers", EDIT_U32, 0, 2, NULL,
     "nextn_predict_layers 2"},
    {"yarn_factor.gguf", BASE_DEEPSEEK2, "deepseek2.rope.scaling.factor", EDIT_F32, 0, NAN, NULL,
     "deepseek2.rope.scaling.factor = nan, expected a finite number"},
    {"yarn_orig.gguf", BASE_DEEPSEEK2, "deepseek2.rope.scaling.original_context_length", EDIT_U32,
     0, 0, NULL, "rope.scaling.original_context_length"},
    {"yarn_logmul.gguf", BASE_DEEPSEEK2, "deepseek2.rope.scaling.yarn_log_multiplier", EDIT_F32, 0,
     NAN, NULL, "deepseek2.rope.scaling.yarn_log_multiplier = nan"},
    {"yarn_logmul_huge.gguf", BASE_DEEPSEEK2, "deepseek2.rope.scaling.yarn_log_multiplier",
     EDIT_F32, 0, 1e30, NULL, "yarn_log_multiplier give no finite positive scale"},
    {"yarn_type.gguf", BASE_DEEPSEEK2, "deepseek2.rope.scaling.type", EDIT_U32, 0, 2, NULL,
     "deepseek2.rope.scaling.type: expected string, found uint32"},
    {"sink_heads.gguf", BASE_GPTOSS, "gpt-oss.attention.head_count", EDIT_U32, 0, 8, NULL,
     "head_count"},
    {"oss_window.gguf", BASE_GPTOSS, "gpt-oss.attention.sliding_window", EDIT_U32, 0, 1 << 20, NULL,
     "gpt-oss.attention.sliding_window = 1048576 is wider"},
    {"oss_used.gguf", BASE_GPTOSS, "gpt-oss.expert_used_count", EDIT_U32, 0, 9, NULL,
     "expert_used_count 9"},
    {"oss_experts.gguf", BASE_GPTOSS, "gpt-oss.expert_count", EDIT_U32, 0, 1 << 16, NULL,
     "65536 experts with 2 used: at most"},
    /* keys read outside the model loader: the quantizer's policy, chat's template */
    {"q_arch_u32.gguf", BASE_STORIES, "general.architecture", EDIT_U32, 0, 1, NULL,
     "general.architecture: expected string, found uint32", "quantize"},
    {"q_heads_str.gguf", BASE_STORIES, "llama.attention.head_count", EDIT_STR, 0, 0, "8",
     "llama.attention.head_count: expected an integer, found string", "quantize"},
    {"q_kv_f32.gguf", BASE_STORIES, "llama.attention.head_count_kv", EDIT_F32, 0, 4, NULL,
     "llama.attention.head_count_kv: expected an integer, found float32", "quantize"},
    {"q_blocks_huge.gguf", BASE_STORIES, "llama.block_count", EDIT_U32, 0, 1u << 31, NULL,
     "llama.block_count = 2147483648 is out of range", "quantize"},
    {"chat_tpl_u32.gguf", BASE_STORIES, "tokenizer.chat_template", EDIT_U32, 0, 1, NULL,
     "tokenizer.chat_template: expected string, found uint32", "chat"},
};
const int n_hostile_files = sizeof hostile_files / sizeof hostile_files[0];

/* The value of kv with its type replaced: array elements or the scalar's bits kept. */
static void retype(gguf_writer *w, const gguf_kv *kv, uint32_t type) {
    if (kv->type == GGUF_ARRAY) {
        gguf_writer_set_arr(w, kv->key, type, kv->arr_data, kv->arr_n);
        return;
    }
    uint32_t bits = (uint32_t)kv->u64;
    if (kv->type == GGUF_F32) {
        float f = (float)kv->f64;
        memcpy(&bits, &f, 4);
    }
    if (type == GGUF_F32) {
        float f;
        memcpy(&f, &bits, 4);
        gguf_writer_set_f32(w, kv->key, f);
    } else {
        gguf_writer_set_u32(w, kv->key, bits);
    }
}

/* tokens (and scores, token types) with piece `at` replaced by text (type BYTE), or the last
 * one dropped when text is NULL */
static void edit_pieces(gguf_writer *w, const gguf_file *f, uint64_t at, const char *text) {
    const gguf_kv *tok = gguf_find(f, "tokenizer.ggml.tokens");
    const gguf_kv *sc = gguf_find(f, "tokenizer.ggml.scores");
    const gguf_kv *ty = gguf_find(f, "tokenizer.ggml.token_type");
    uint64_t n = text ? tok->arr_n : tok->arr_n - 1;
    const char **pieces = malloc(tok->arr_n * sizeof *pieces);
    int32_t *types = malloc(tok->arr_n * sizeof *types);
    for (uint64_t i = 0; i < tok->arr_n; i++) {
        pieces[i] = tok->arr_str[i];
        types[i] = (int32_t)gguf_arr_i64(ty, i);
    }
    if (text) pieces[at] = text, types[at] = 6;
    gguf_writer_set_arr_str(w, tok->key, pieces, n);
    gguf_writer_set_arr(w, ty->key, GGUF_I32, types, n);
    gguf_writer_set_arr(w, sc->key, sc->arr_type, sc->arr_data, n);
    free(pieces);
    free(types);
}

static void apply(gguf_writer *w, const gguf_file *f, const hostile_file *h) {
    const gguf_kv *kv = gguf_find(f, h->key);
    switch (h->edit) {
    case EDIT_RETYPE:
        retype(w, kv, h->type);
        break;
    case EDIT_U32:
        gguf_writer_set_u32(w, h->key, (uint32_t)h->num);
        break;
    case EDIT_F32:
        gguf_writer_set_f32(w, h->key, (float)h->num);
        break;
    case EDIT_I32:
        gguf_writer_set_i32(w, h->key, (int32_t)h->num);
        break;
    case EDIT_STR:
        gguf_writer_set_str(w, h->key, h->str);
        break;
    case EDIT_BYTE_PIECE:
        edit_pieces(w, f, (uint64_t)h->num, h->str);
        break;
    case EDIT_DROP_TOKEN:
        edit_pieces(w, f, 0, NULL);
        break;
    }
}

/* base with its keys copied, h applied, and its tensors as they are */
int hostile_write_one(const gguf_file *f, const hostile_file *h, const char *path) {
    scarce_error err = {0};
    if (h->edit == EDIT_RETYPE && !gguf_find(f, h->key)) {
        fprintf(stderr, "    %s: base has no key %s\n", h->file, h->key);
        return -1;
    }
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    apply(w, f, h);
    int rc = gguf_writer_write_tensors_of(w, f, path, &err);
    if (rc) fprintf(stderr, "    %s: %s\n", h->file, err.msg);
    gguf_writer_free(w);
    return rc ? -1 : 0;
}

int hostile_write_all(const char *dir, const char *const base_paths[N_BASES]) {
    int rc = 0;
    for (int b = 0; b < N_BASES; b++) {
        if (!base_paths[b]) continue;
        scarce_error err = {0};
        gguf_file *f = gguf_open(base_paths[b], &err);
        if (!f) {
            fprintf(stderr, "    %s\n", err.msg);
            return -1;
        }
        for (int i = 0; i < n_hostile_files; i++) {
            if (hostile_files[i].base != (enum hostile_base)b) continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, hostile_files[i].file);
            rc |= hostile_write_one(f, &hostile_files[i], path);
        }
        gguf_close(f);
    }
    return rc;
}

int hostile_make_bases(const char *dir, const char *paths[N_BASES]) {
    static char made[N_BASES][700];
    const char *stories = shared_path("models/stories260K.gguf");
    int rc = 0;
    for (int b = 0; b < N_BASES; b++) paths[b] = NULL;
    if (!test_need_file(stories)) return -1;
    paths[BASE_STORIES] = stories;
    paths[BASE_MOE] = shared_moe_model();
    for (int b = 0; b < N_BASES; b++) {
        if (!hostile_base_args[b]) continue;
        char cmd[8192];
        snprintf(made[b], sizeof made[b], "%s/base-%s.gguf", dir, hostile_base_names[b]);
        snprintf(cmd, sizeof cmd,
                 "%s mkmodel -o %s --vocab %s %s && %s run -n 4 -p 'Once upon' -m %s", scarce_bin(),
                 made[b], stories, hostile_base_args[b], scarce_bin(), made[b]);
        if (run_cmd(cmd, NULL, NULL) == 0) paths[b] = made[b];
    }
    for (int b = 0; b < N_BASES; b++) rc |= !paths[b];
    return rc ? -1 : 0;
}
