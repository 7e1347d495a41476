/* quantize_run.c - see quantize_run.h */
#include "quantize_run.h"

#include <stdlib.h>
#include <string.h>

#include "test.h"

#define PROMPT "Once upon a time"

char *quantize_and_run(const char *in, const char *out, const char *type, int n_tokens) {
    char cmd[2048], *text = NULL, *errs = NULL;
    snprintf(cmd, sizeof cmd, "%s quantize %s %s %s", scarce_bin(), in, out, type);
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
    for (int k = 0; k < n_types; k++) {
        snprintf(out_path, sizeof out_path, "%s/%s.gguf", test_tmpdir(), types[k]);
        char *text = quantize_and_run(f32, out_path, types[k], 16);
        ran += text != NULL;
        free(text);
    }
    return ran;
}
