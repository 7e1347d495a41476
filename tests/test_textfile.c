/* test_textfile.c - tools/textfile.c, the tools' one whole-file reader (linked from
 * libtools.a). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/textfile.h"
#include "shared_data.h"
#include "test.h"

/* Writes n bytes of a repeating pattern to dir/name; returns the path (static). */
static const char *write_pattern(const char *name, size_t n) {
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    for (size_t i = 0; i < n; i++) fputc('a' + (int)(i * 7 % 26), f);
    return fclose(f) ? NULL : path;
}

TEST(textfile_reads_whole_files) {
    const size_t sizes[] = {0, 1, 65535, 65536, 200001}; /* around the first buffer */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const char *path = write_pattern("f.txt", sizes[k]);
        REQUIRE(path);
        scarce_error err = {{0}};
        size_t len = 12345;
        char *text = read_whole_file(path, &len, &err);
        CHECK_MSG(text, "%zu bytes: %s", sizes[k], err.msg);
        if (!text) continue;
        CHECK_EQ_INT(len, sizes[k]);
        CHECK_EQ_INT(strlen(text), sizes[k]); /* NUL-terminated right after the data */
        size_t bad = 0;
        for (size_t i = 0; i < len; i++) bad += text[i] != 'a' + (int)(i * 7 % 26);
        CHECK_EQ_INT(bad, 0);
        free(text);
    }
}

TEST(textfile_errors_name_the_path) {
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such.txt", test_tmpdir());
    scarce_error err = {{0}};
    CHECK(!read_whole_file(missing, NULL, &err));
    CHECK_MSG(strstr(err.msg, missing) && strstr(err.msg, "cannot open"), "%s", err.msg);
    CHECK(!read_whole_file(test_tmpdir(), NULL, &err)); /* a directory opens, cannot be read */
    CHECK_MSG(strstr(err.msg, test_tmpdir()), "%s", err.msg);
}

TEST(textfile_tokens_equal_encoding_the_text) {
    gguf_file *f;
    tokenizer *tok = shared_tokenizer("models/stories260K.gguf", &f);
    if (!tok) return;
    scarce_error err = {{0}};
    const char *text = "Once upon a time, there was a little cat.\nIt liked milk.";
    char path[600];
    snprintf(path, sizeof path, "%s/story.txt", test_tmpdir());
    FILE *out = fopen(path, "wb");
    REQUIRE(out);
    fputs(text, out);
    REQUIRE(fclose(out) == 0);
    int n = 0, want[256];
    int *ids = tokenize_file(path, tok, &n, &err);
    const int n_want = tokenizer_encode(tok, text, tokenizer_add_bos(tok), want, 256, &err);
    REQUIRE(ids && n_want > 1);
    CHECK_EQ_INT(n, n_want);
    CHECK(n == n_want && !memcmp(ids, want, sizeof(int) * (size_t)n));
    CHECK_EQ_INT(ids[0], tokenizer_bos(tok)); /* BOS first, as ppl and imatrix score it */
    free(ids);
    snprintf(path, sizeof path, "%s/none.txt", test_tmpdir());
    CHECK(!tokenize_file(path, tok, &n, &err) && strstr(err.msg, path));
    tokenizer_free(tok);
    gguf_close(f);
}
