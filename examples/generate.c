/* generate.c - the smallest program on include/scarce.h: greedy text from a prompt.
 *   cc -Iinclude examples/generate.c libscarce.a -fopenmp -lm   (or pkg-config scarce)
 *   ./generate MODEL.gguf "Once upon a time" 64 */
#include <stdio.h>
#include <stdlib.h>

#include "scarce.h"

static int print_piece(void *user, int32_t token, const char *piece, size_t len) {
    (void)user, (void)token;
    fwrite(piece, 1, len, stdout);
    return 0; /* non-zero would stop generation */
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_TOKENS]\n", argv[0]);
        return 2;
    }
    char err[512];
    scarce_model *model;
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 1;
    if (scarce_model_open(argv[1], &mp, &model, err, sizeof err)) {
        fprintf(stderr, "generate: %s\n", err);
        return 1;
    }
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0; /* greedy: the same text as `scarce run --temp 0` */
    scarce_context *ctx;
    int rc = scarce_context_new(model, &cp, &ctx);
    if (!rc) {
        printf("%s", argv[2]);
        rc = scarce_generate(ctx, argv[2], argc > 3 ? atoi(argv[3]) : 64, print_piece, NULL, NULL);
        printf("\n");
    }
    if (rc)
        fprintf(stderr, "generate: %s: %s\n", scarce_status_name(rc),
                ctx ? scarce_context_error(ctx) : scarce_model_error(model));
    scarce_context_free(ctx);
    scarce_model_close(model);
    return rc ? 1 : 0;
}
