/* test_tokenizer_models.c - our token ids for real model files equal llama.cpp's.
 *
 * The ids below were recorded with llama.cpp's tokenizer (BOS/EOS as the file says, special
 * tokens parsed, the text byte for byte):
 *   printf '%s' "$TEXT" > p.txt
 *   llama-tokenize -m MODEL.gguf -f p.txt --no-escape --ids --log-disable
 * (llama.cpp b8xxx, built from the llama_cpp_python 0.3.36 sources). A model that is not
 * there (models/ or $SCARCE_MODELS; models/fetch.sh NAME) skips its test. */
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../engine/tokenizer.h"
#include "test.h"

typedef struct {
    const char *text, *ids;
} token_case;

/* The model file: $SCARCE_MODELS/file, else models/file, else ../shared/models/file. */
static const char *model_path(const char *file) {
    static char buf[1024];
    const char *dir = getenv("SCARCE_MODELS");
    if (dir && *dir) {
        snprintf(buf, sizeof buf, "%s/%s", dir, file);
        if (file_exists(buf)) return buf;
    }
    snprintf(buf, sizeof buf, "models/%s", file);
    if (file_exists(buf)) return buf;
    snprintf(buf, sizeof buf, "models/%s", file);
    return shared_path(buf);
}

static void check_model_cases(const char *file, const char *fetch_name, const token_case *cases,
                              int n_cases) {
    const char *path = model_path(file);
    if (!file_exists(path))
        SKIP("%s not found (models/fetch.sh %s, or set $SCARCE_MODELS)", file, fetch_name);
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    REQUIRE(f);
    tokenizer *t = tokenizer_load(f, &err);
    CHECK_MSG(t, "%s", err.msg);
    if (!t) {
        gguf_close(f);
        return;
    }
    int ids[512], want[512];
    char back[4096];
    for (int c = 0; c < n_cases; c++) {
        int n = tokenizer_encode(t, cases[c].text, tokenizer_file_flags(t), ids, 512, &err);
        int n_want = 0;
        for (const char *p = cases[c].ids; *p && n_want < 512;) {
            char *end;
            want[n_want++] = (int)strtol(p, &end, 10);
            p = end;
            while (*p == ' ') p++;
        }
        int same = n == n_want && memcmp(ids, want, sizeof(int) * (size_t)n_want) == 0;
        CHECK_MSG(same, "%s case %d \"%s\": ids differ from llama.cpp's (%s)", file, c,
                  cases[c].text, n < 0 ? err.msg : "");
        if (!same) {
            fprintf(stderr, "      got :");
            for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n      want: %s\n", cases[c].ids);
        }
        /* decoding gives the text back, special tokens aside (they print nothing) */
        if (n > 0 && !strchr(cases[c].text, '<')) {
            int len = tokenizer_decode(t, ids, n, back, sizeof back);
            CHECK_MSG(len >= 0 && strcmp(back, cases[c].text) == 0, "%s case %d: decoded \"%s\"",
                      file, c, len >= 0 ? back : "(error)");
        }
    }
    tokenizer_free(t);
    gguf_close(f);
}

/* CASES */
