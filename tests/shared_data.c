/* shared_data.c - see shared_data.h. */
#include "shared_data.h"

#include <stdio.h>
#include <stdlib.h>

#include "../kernels/cpu.h"
#include "test.h"

model *shared_model(const char *relative) {
    const char *path = shared_path(relative);
    if (!test_need_file(path)) return NULL;
    scarce_error err = {{0}};
    kernels_init(NULL, NULL);
    model *m = model_load(path, NULL, &err);
    if (!m) test_fail_at(__FILE__, __LINE__, "%s", err.msg);
    return m;
}

tokenizer *shared_tokenizer(const char *relative, gguf_file **file) {
    const char *path = shared_path(relative);
    *file = NULL;
    if (!test_need_file(path)) return NULL;
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    tokenizer *tok = f ? tokenizer_load(f, &err) : NULL;
    if (!tok) {
        test_fail_at(__FILE__, __LINE__, "%s", err.msg);
        gguf_close(f);
        return NULL;
    }
    *file = f;
    return tok;
}

const char *shared_moe_model(void) {
    static char path[1024];
    const char *dense = shared_path("models/stories260K.gguf");
    if (!test_need_file(dense)) return NULL;
    char cmd[3072], *err = NULL;
    snprintf(path, sizeof path, "%s/stories260K-moe4.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s upcycle %s %s --experts 4 --used 2", scarce_bin(), dense, path);
    const int rc = run_cmd(cmd, NULL, &err);
    if (rc) test_fail_at(__FILE__, __LINE__, "upcycle: exit %d: %s", rc, err ? err : "");
    free(err);
    return rc ? NULL : path;
}

const char *real_model_path(const char *file) {
    static char buf[1024];
    const char *dir = getenv("SCARCE_MODELS");
    if (dir && *dir) {
        snprintf(buf, sizeof buf, "%s/%s", dir, file);
        if (file_exists(buf)) return buf;
    }
    snprintf(buf, sizeof buf, "models/%s", file);
    return file_exists(buf) ? buf : NULL;
}
