/* hostile_meta.c - the lying GGUF files of hostile_meta.h, through the writer API. */
#include "hostile_meta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"

const hostile_file hostile_files[] = {
    /* float32 score bits declared int32: ranks the merges by the bits */
    {"scores_i32.gguf", "stories", "tokenizer.ggml.scores", EDIT_RETYPE, GGUF_I32, 0, NULL,
     "tokenizer.ggml.scores["},
    {"scores_u32.gguf", "stories", "tokenizer.ggml.scores", EDIT_RETYPE, GGUF_U32, 0, NULL,
     "tokenizer.ggml.scores: expected array of int32 or float32, found array of uint32"},
    {"toktype_f32.gguf", "stories", "tokenizer.ggml.token_type", EDIT_RETYPE, GGUF_F32, 0, NULL,
     "tokenizer.ggml.token_type: expected array of int32, found array of float32"},
    {"toktype_u32.gguf", "stories", "tokenizer.ggml.token_type", EDIT_RETYPE, GGUF_U32, 0, NULL,
     "tokenizer.ggml.token_type: expected array of int32, found array of uint32"},
    {"tokens_str.gguf", "stories", "tokenizer.ggml.tokens", EDIT_STR, 0, 0, "<unk>",
     "tokenizer.ggml.tokens: expected array of string, found string"},
    {"byte_nonhex.gguf", "stories", "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 68, "<0xG1>",
     "tokenizer.ggml.tokens[68]"},
    {"byte_sign.gguf", "stories", "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 69, "<0x+A>",
     "tokenizer.ggml.tokens[69]"},
    {"byte_long.gguf", "stories", "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 70, "<0x041>",
     "tokenizer.ggml.tokens[70]"},
    {"byte_word.gguf", "stories", "tokenizer.ggml.tokens", EDIT_BYTE_PIECE, 0, 300, "hello",
     "tokenizer.ggml.tokens[300]"},
    {"bos_str.gguf", "stories", "tokenizer.ggml.bos_token_id", EDIT_STR, 0, 0, "1",
     "tokenizer.ggml.bos_token_id: expected an integer, found string"},
    {"bos_f32.gguf", "stories", "tokenizer.ggml.bos_token_id", EDIT_F32, 0, 1, NULL,
     "tokenizer.ggml.bos_token_id: expected an integer, found float32"},
    {"model_u32.gguf", "stories", "tokenizer.ggml.model", EDIT_U32, 0, 1, NULL,
     "tokenizer.ggml.model: expected string, found uint32"},
    {"name_u32.gguf", "stories", "general.name", EDIT_U32, 0, 3, NULL,
     "general.name: expected string, found uint32"},
    {"arch_u32.gguf", "stories", "general.architecture", EDIT_U32, 0, 1, NULL,
     "general.architecture: expected string, found uint32"},
    /* the bits of 1e-5f declared uint32 would read as 925353388 */
    {"eps_u32.gguf", "stories", "llama.attention.layer_norm_rms_epsilon", EDIT_RETYPE, GGUF_U32, 0,
     NULL, "llama.attention.layer_norm_rms_epsilon: expected float32, found uint32"},
    {"eps_nan.gguf", "stories", "llama.attention.layer_norm_rms_epsilon", EDIT_F32, 0, NAN, NULL,
     "llama.attention.layer_norm_rms_epsilon = nan"},
    {"eps_zero.gguf", "stories", "llama.attention.layer_norm_rms_epsilon", EDIT_F32, 0, 0, NULL,
     "llama.attention.layer_norm_rms_epsilon = 0"},
    {"ctx_f32.gguf", "stories", "llama.context_length", EDIT_RETYPE, GGUF_F32, 0, NULL,
     "llama.context_length: expected an integer, found float32"},
    {"heads_str.gguf", "stories", "llama.attention.head_count", EDIT_STR, 0, 0, "8",
     "llama.attention.head_count: expected an integer, found string"},
    {"blocks_more.gguf", "stories", "llama.block_count", EDIT_U32, 0, 7, NULL,
     "llama.block_count = 7,"},
    {"blocks_fewer.gguf", "stories", "llama.block_count", EDIT_U32, 0, 3, NULL,
     "llama.block_count = 3,"},
    {"blocks_huge.gguf", "stories", "llama.block_count", EDIT_U32, 0, 1 << 24, NULL,
     "llama.block_count = 16777216,"},
    {"heads_kv.gguf", "stories", "llama.attention.head_count_kv", EDIT_U32, 0, 8, NULL,
     "blk.0.attn_k.weight"},
    {"heads_q.gguf", "stories", "llama.attention.head_count", EDIT_U32, 0, 16, NULL,
     "llama.attention.head_count 16"},
    {"rope_dims.gguf", "stories", "llama.rope.dimension_count", EDIT_U32, 0, 9, NULL,
     "llama.rope.dimension_count 9"},
    {"rope_base_inf.gguf", "stories", "llama.rope.freq_base", EDIT_F32, 0, INFINITY, NULL,
     "llama.rope.freq_base = inf"},
    {"vocab_short.gguf", "stories", "tokenizer.ggml.tokens", EDIT_DROP_TOKEN, 0, 0, NULL,
     "tokenizer.ggml.tokens has 511 pieces, token_embd.weight 512 rows"},
    {"experts_more.gguf", "moe", "llama.expert_count", EDIT_U32, 0, 8, NULL,
     "blk.0.ffn_gate_inp.weight"},
    {"experts_fewer.gguf", "moe", "llama.expert_count", EDIT_U32, 0, 2, NULL,
     "blk.0.ffn_gate_inp.weight"},
    {"experts_used.gguf", "moe", "llama.expert_used_count", EDIT_U32, 0, 5, NULL,
     "expert_used_count 5"},
    {"window_wide.gguf", "gemma3", "gemma3.attention.sliding_window", EDIT_U32, 0, 1 << 20, NULL,
     "gemma3.attention.sliding_window = 1048576 is wider"},
    {"window_f32.gguf", "gemma3", "gemma3.attention.sliding_window", EDIT_RETYPE, GGUF_F32, 0, NULL,
     "gemma3.attention.sliding_window: expected an integer, found float32"},
    {"softcap_nan.gguf", "gemma3", "gemma3.final_logit_softcapping", EDIT_F32, 0, NAN, NULL,
     "gemma3.final_logit_softcapping = nan"},
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

int hostile_write_all(const char *dir, const char *stories, const char *moe, const char *gemma3) {
    const char *names[] = {"stories", "moe", "gemma3"}, *paths[] = {stories, moe, gemma3};
    int rc = 0;
    for (int b = 0; b < 3; b++) {
        if (!paths[b]) continue;
        scarce_error err = {0};
        gguf_file *f = gguf_open(paths[b], &err);
        if (!f) {
            fprintf(stderr, "    %s\n", err.msg);
            return -1;
        }
        for (int i = 0; i < n_hostile_files; i++) {
            if (strcmp(hostile_files[i].base, names[b])) continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, hostile_files[i].file);
            rc |= hostile_write_one(f, &hostile_files[i], path);
        }
        gguf_close(f);
    }
    return rc;
}
