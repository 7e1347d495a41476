/* hostile_meta.h - GGUF files whose metadata lies, built by our writer from a good file
 * (stories260K, its MoE upcycle, mkmodel gemma3 / deepseek2 / gpt-oss): one edit of one key
 * per file. The
 * bad-input matrix (test_badinput.c) runs commands on them; the edits are the classes of
 * issue 21 (type-confused arrays and scalars, forged byte pieces, counts that disagree
 * with the tensors). */
#ifndef SCARCE_HOSTILE_META_H
#define SCARCE_HOSTILE_META_H

#include <stdint.h>

#include "../engine/gguf.h"

enum hostile_edit {
    EDIT_RETYPE,     /* same elements, element (or scalar) type `type`: the type lies */
    EDIT_U32,        /* scalar uint32 = num */
    EDIT_F32,        /* scalar float32 = num */
    EDIT_STR,        /* string = str */
    EDIT_BYTE_PIECE, /* tokenizer.ggml.tokens[num] = str, its token_type BYTE */
    EDIT_DROP_TOKEN, /* the last piece (and its score and type) removed */
    EDIT_I32,        /* scalar int32 = num */
};

/* The good files the edits start from (hostile_base_args: how test_badinput makes them). */
enum hostile_base { BASE_STORIES, BASE_MOE, BASE_GEMMA3, BASE_DEEPSEEK2, BASE_GPTOSS, N_BASES };
extern const char *const hostile_base_names[N_BASES];
/* mkmodel arguments after -o/--vocab for a base made by mkmodel; NULL for stories and its
 * upcycle (moe), which come from elsewhere. */
extern const char *const hostile_base_args[N_BASES];

typedef struct {
    const char *file; /* written to DIR/file */
    enum hostile_base base;
    const char *key;
    enum hostile_edit edit;
    uint32_t type;
    double num;
    const char *str;
    const char *names; /* what the one-line error must contain */
    const char *cmd;   /* the command that must refuse it: NULL run, or "quantize", "chat" */
} hostile_file;

extern const hostile_file hostile_files[];
extern const int n_hostile_files;

/* Makes the bases into dir (base-NAME.gguf by `scarce mkmodel`; stories and its upcycle
 * from the shared data), each checked to run; paths[b] NULL for a base that could not
 * be made. 0 when all were made. */
int hostile_make_bases(const char *dir, const char *paths[N_BASES]);

/* Writes every file of the table into dir from the bases (paths; NULL skips its rows).
 * 0 ok; -1 with the reason printed. */
int hostile_write_all(const char *dir, const char *const base_paths[N_BASES]);

/* base f with h's edit applied, written to path; 0 ok. */
int hostile_write_one(const gguf_file *f, const hostile_file *h, const char *path);

#endif
