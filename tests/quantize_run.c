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
