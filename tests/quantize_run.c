/* quantize_run.c - see quantize_run.h */
#include "quantize_run.h"

#include <stdlib.h>
#include <string.h>

#include "../quant/policy.h"
#include "test.h"

#define PROMPT "Once upon a time"

/* quantize_and_run with `extra` options for quantize ("" for none) */
static char *quantize_and_run_with(const char *in, const char *out, const char *type,
                                   const char *extra, int n_tokens) {
    char cmd[2048], *text = NULL, *errs = NULL;
    snprintf(cmd, sizeof cmd, "%s quantize %s %s %s %s", scarce_bin(), in, out, type, extra);
    int rc = run_cmd(cmd, NULL, &errs);
    if (rc) {
        test_fail_at(__FILE__, __LINE__, "quantize %s: exit %d: %s", type, rc, errs ? errs : "");
        free(errs);
        return NULL;
    }
    free(errs), errs = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -n %d --temp 0 -t 1 -p \"" PROMPT "\"", scarce_bin(),
             out, n_tokens);
    rc = run_cmd(cmd, &text, &errs);
    if (rc || !text || strncmp(text, PROMPT, strlen(PROMPT)) || strlen(text) <= strlen(PROMPT)) {
        test_fail_at(__FILE__, __LINE__, "run %s: exit %d, printed '%s' / '%s'", type, rc,
                     text ? text : "", errs ? errs : "");
        free(text), text = NULL;
    }
    free(errs);
    return text;
}

char *quantize_and_run(const char *in, const char *out, const char *type, int n_tokens) {
    return quantize_and_run_with(in, out, type, "", n_tokens);
}

/* An importance matrix of the model `in` over a few sentences, for the types llama.cpp
 * will not write without one (policy_needs_imatrix); 0 on success. */
static int make_imatrix(const char *in, const char *path) {
    char text[512], cmd[2048];
    snprintf(text, sizeof text, "%s/imatrix.txt", test_tmpdir());
    FILE *f = fopen(text, "w");
    if (!f) return -1;
    for (int i = 0; i < 8; i++)
        fputs("Once upon a time there was a little girl who loved to play in the park. One day "
              "she saw a big dog and they became friends.\n",
              f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s imatrix -m %s -f %s -c 64 -o %s", scarce_bin(), in, text, path);
    return run_cmd(cmd, NULL, NULL);
}

int synthetic_model_runs(const char *const *types, int n_types, int n_ff, int seed) {
    const char *vocab = shared_path("models/stories260K.gguf");
    if (!file_exists(vocab)) return -1;
    char f32[512], out_path[512], cmd[2048];
    snprintf(f32, sizeof f32, "%s/syn_%s.gguf", test_tmpdir(), types[0]);
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 256 --n-layer 1 --n-head 4 --n-head-kv 4 "
             "--n-ff %d --seed %d",
             scarce_bin(), f32, vocab, n_ff, seed);
    if (run_cmd(cmd, NULL, NULL) != 0) {
        test_fail_at(__FILE__, __LINE__, "%s failed", cmd);
        return 0;
    }
    int ran = 0;
    char imatrix[512], extra[600];
    snprintf(imatrix, sizeof imatrix, "%s/syn_%s.imatrix", test_tmpdir(), types[0]);
    int have_imatrix = 0;
    for (int k = 0; k < n_types; k++) {
        snprintf(out_path, sizeof out_path, "%s/%s.gguf", test_tmpdir(), types[k]);
        const quant_scheme *s = quant_scheme_by_name(types[k]);
        extra[0] = 0;
        if (s && policy_needs_imatrix(s, "blk.0.ffn_up.weight", s->base)) {
            if (!have_imatrix && make_imatrix(f32, imatrix)) {
                test_fail_at(__FILE__, __LINE__, "imatrix of %s failed", f32);
                continue;
            }
            have_imatrix = 1;
            snprintf(extra, sizeof extra, "--imatrix %s", imatrix);
        }
        char *text = quantize_and_run_with(f32, out_path, types[k], extra, 16);
        ran += text != NULL;
        free(text);
    }
    return ran;
}
