/* tokenizer_bpe.c - byte-level BPE ("gpt2"): not yet implemented. */
#include <stdlib.h>

#include "tokenizer_impl.h"

int bpe_load(tokenizer *t, const gguf_file *f, scarce_error *err) {
    return scarce_fail(err, "%s: tokenizer.ggml.model \"gpt2\" not implemented yet", f->path);
}
void bpe_free(tokenizer *t) { free(t->merges); free(t->special); }
int bpe_encode(const tokenizer *t, const char *text, int len, int *ids, int *n, int max_ids,
               scarce_error *err) {
    return scarce_fail(err, "tokenizer: BPE not implemented");
}
int bpe_piece(const tokenizer *t, int id, char *out, int cap) { return 0; }
