/* ref_forward.h - an independent double-precision forward pass (llama, qwen2, qwen3,
 * gemma3, phi3, smollm3) for tests: reads
 * the GGUF tensors itself (f32/f16/bf16 or any type through the type table's dequantize),
 * one token at a time, no batching, no shared code with engine/forward.c or kernels/. */
#ifndef SCARCE_REF_FORWARD_H
#define SCARCE_REF_FORWARD_H

#include "../engine/gguf.h"

typedef struct ref_model ref_model;

ref_model *ref_model_open(const gguf_file *f);
void ref_model_free(ref_model *r);
int ref_model_vocab(const ref_model *r);
/* Runs token at the next position; logits[n_vocab] (double). */
void ref_model_step(ref_model *r, int token, double *logits);

#endif
