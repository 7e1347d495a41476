/* cmd_tokenize.c - scarce tokenize: the ids (and pieces) a model's vocabulary gives a text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../engine/tokenizer.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: scarce tokenize -m FILE -p TEXT [--no-bos] [--ids]\n"
                 "  prints one line per token: id and piece; --ids prints the ids on one line\n"
                 "  as [1, 2, 3] (llama-tokenize --ids); --no-bos leaves BOS out\n");
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *text = NULL;
    int no_bos = 0, ids_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout), EXIT_OK;
        if (!strcmp(argv[i], "--no-bos"))
            no_bos = 1;
        else if (!strcmp(argv[i], "--ids"))
            ids_only = 1;
        else if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "-p")) {
            const char *v = cli_value("tokenize", argc, argv, &i);
            if (!v) return EXIT_USAGE;
            *(argv[i - 1][1] == 'm' ? &path : &text) = v;
        } else {
            return cli_error("tokenize", EXIT_USAGE, "unknown option %s", argv[i]);
        }
    }
    if (!path || !text)
        return cli_error("tokenize", EXIT_USAGE, "-m FILE and -p TEXT are required");
    scarce_error err = {0};
    gguf_file *f = gguf_open(path, &err);
    if (!f) return cli_error("tokenize", EXIT_RUNTIME, "%s", err.msg);
    tokenizer *tok = tokenizer_load(f, &err);
    size_t cap = strlen(text) + 3;
    int *ids = malloc(cap * sizeof(int)), n = -1;
    /* BOS and EOS as the file says (llama-tokenize's add_special), --no-bos drops BOS */
    int flags = tok ? tokenizer_file_flags(tok) & ~(no_bos ? TOKENIZE_BOS : 0) : 0;
    if (tok && ids) n = tokenizer_encode(tok, text, flags, ids, (int)cap, &err);
    if (n < 0) {
        free(ids);
        tokenizer_free(tok);
        gguf_close(f);
        return cli_error("tokenize", EXIT_RUNTIME, "%s", ids ? err.msg : "out of memory");
    }
    const gguf_kv *pieces = gguf_find(f, "tokenizer.ggml.tokens");
    if (ids_only) putchar('[');
    for (int i = 0; i < n; i++) {
        if (ids_only)
            printf("%s%d", i ? ", " : "", ids[i]);
        else
            printf("%6d -> '%s'\n", ids[i], pieces->arr_str[ids[i]]);
    }
    if (ids_only) puts("]");
    free(ids);
    tokenizer_free(tok);
    gguf_close(f);
    return EXIT_OK;
}
