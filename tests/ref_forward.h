/* ref_forward.h - an independent double-precision forward pass (llama, qwen2, qwen3,
 * gemma3, phi3, smollm3; MoE and latent attention through ref_moe.c) for tests: reads
 * the GGUF tensors itself (f32/f16/bf16 or any type through the type table's dequantize),
 * one token at a time, no batching, no shared code with engine/forward.c or kernels/. */
#ifndef SCARCE_REF_FORWARD_H
#define SCARCE_REF_FORWARD_H

#include "../engine/gguf.h"

typedef struct ref_model ref_model;

ref_model *ref_model_open(const gguf_file *f);
void ref_model_free(ref_model *r);
int ref_model_vocab(const ref_model *r);
/* The experts MoE layer l chose for the last token (by descending score); returns k, 0
 * for a dense layer (tests/ref_moe.c). */
int ref_model_chosen(const ref_model *r, int l, int *chosen);
/* Runs token at the next position; logits[n_vocab] (double). */
void ref_model_step(ref_model *r, int token, double *logits);

#endif
