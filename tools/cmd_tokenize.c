/* cmd_tokenize.c - scarce tokenize: the ids (and pieces) a model's vocabulary gives a text.
 * It uses include/scarce.h only: the way the other commands are to go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
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
    /* through include/scarce.h alone: the vocabulary, not the weights, is loaded */
    char err[512];
    scarce_model *vocab;
    scarce_model_params mp = scarce_model_default_params();
    mp.vocab_only = 1;
    if (scarce_model_open(path, &mp, &vocab, err, sizeof err))
        return cli_error("tokenize", EXIT_RUNTIME, "%s", err);
    const size_t cap = 3 * strlen(text) + 5; /* tokenizer_max_ids(): 3-byte spaces, BOS, EOS */
    int32_t *ids = cap < (size_t)1 << 30 ? malloc(cap * sizeof *ids) : NULL;
    /* BOS and EOS as the file says (llama-tokenize's add_special), --no-bos drops BOS */
    const int flags = scarce_token_add_flags(vocab) & ~(no_bos ? SCARCE_ADD_BOS : 0);
    const int n = ids ? scarce_tokenize(vocab, text, flags, ids, (int)cap) : SCARCE_ERR_MEMORY;
    if (n < 0) {
        int rc = cli_error("tokenize", EXIT_RUNTIME, "%s",
                           ids ? scarce_model_error(vocab) : "out of memory");
        free(ids);
        scarce_model_close(vocab);
        return rc;
    }
    if (ids_only) putchar('[');
    for (int i = 0; i < n; i++) {
        if (ids_only)
            printf("%s%d", i ? ", " : "", ids[i]);
        else
            printf("%6d -> '%s'\n", ids[i], scarce_token_text(vocab, ids[i]));
    }
    if (ids_only) puts("]");
    free(ids);
    scarce_model_close(vocab);
    return EXIT_OK;
}
