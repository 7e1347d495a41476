/* shared_data.c - see shared_data.h. */
#include "shared_data.h"

#include "../kernels/cpu.h"
#include "test.h"

model *shared_model(const char *relative) {
    const char *path = shared_path(relative);
    if (!test_need_file(path)) return NULL;
    scarce_error err = {{0}};
    kernels_init(NULL, NULL);
    model *m = model_load(path, &err);
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
