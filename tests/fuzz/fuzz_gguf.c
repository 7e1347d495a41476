/* fuzz_gguf.c - the whole load path on arbitrary bytes: gguf_open, tokenizer_load,
 * model_from_gguf, and a short encode/decode when the vocabulary loads.
 *
 * The bytes go into a memfd that gguf_open reads as /proc/self/fd/N, so the reader is
 * fuzzed through its real entry point (open + fstat + mmap), no extra API. Every failure
 * must come back as NULL with a non-empty one-line message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../engine/gguf.h"
#include "../../engine/model.h"
#include "../../engine/tokenizer.h"
#include "../../kernels/cpu.h"

static void check_message(const scarce_error *err, const char *what) {
    size_t n = strnlen(err->msg, sizeof err->msg);
    if (n == 0 || n == sizeof err->msg || memchr(err->msg, '\n', n)) {
        fprintf(stderr, "%s failed without a one-line message: '%.*s'\n", what, (int)n,
                err->msg);
        abort();
    }
}

static void exercise_tokenizer(const gguf_file *f) {
    scarce_error err = {0};
    tokenizer *t = tokenizer_load(f, &err);
    if (!t) {
        check_message(&err, "tokenizer_load");
        return;
    }
    int n_vocab = tokenizer_n_vocab(t);
    if (n_vocab <= 0) abort();
    static const char *texts[] = {"Once upon a time", " \xe2\x96\x81 \xff\xfe x\xc3", ""};
    int ids[64];
    char out[1024];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int n = tokenizer_encode(t, texts[i], 1, ids, 64, &err);
        if (n < 0) {
            check_message(&err, "tokenizer_encode");
            continue;
        }
        for (int k = 0; k < n; k++)
            if (ids[k] < 0 || ids[k] >= n_vocab) abort();
        tokenizer_decode(t, ids, n, out, sizeof out);
    }
    /* every id, including the special ones, must have a printable piece */
    int limit = n_vocab < 4096 ? n_vocab : 4096;
    for (int id = 0; id < limit; id++) tokenizer_piece(t, id ? id - 1 : -1, id, out, 64);
    tokenizer_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_gguf", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) abort();

    scarce_error err = {0};
    gguf_file *f = gguf_open(path, &err);
    if (!f) {
        check_message(&err, "gguf_open");
        return 0;
    }
    exercise_tokenizer(f);
    /* with kernels installed the tensors bind and the cross-checks against them run (without,
     * every model stopped at token_embd: "cannot be computed with"); no repacking */
    static int kernels_ready;
    if (!kernels_ready && kernels_init(NULL, NULL) == 0) kernels_ready = 1;
    model_options opts = model_options_default();
    opts.kernels.repack = 0;
    model *m = model_from_gguf(f, &opts, &err);
    if (m) {
        model_free(m); /* owns f now */
    } else {
        check_message(&err, "model_from_gguf");
        gguf_close(f);
    }
    return 0;
}
