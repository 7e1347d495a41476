/* test_textfile.c - tools/textfile.c, the tools' one whole-file reader and a text file's
 * token ids (readfile.h, linked from libtools.a). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/readfile.h"
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
        char err[512] = "";
        size_t len = 12345;
        char *text = read_file_text(path, &len, err);
        CHECK_MSG(text, "%zu bytes: %s", sizes[k], err);
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
    char err[512] = "";
    CHECK(!read_file_text(missing, NULL, err));
    CHECK_MSG(strstr(err, missing) && strstr(err, "cannot open"), "%s", err);
    CHECK(!read_file_text(test_tmpdir(), NULL, err)); /* a directory opens, cannot be read */
    CHECK_MSG(strstr(err, test_tmpdir()), "%s", err);
}

/* read_text_ids (what ppl, imatrix and run --lookup-file read): the ids of encoding the text
 * with BOS first, as ppl and imatrix score it; errors name the path. */
TEST(textfile_tokens_equal_encoding_the_text) {
    gguf_file *f;
    tokenizer *tok = shared_tokenizer("models/stories260K.gguf", &f);
    if (!tok) return;
    scarce_model_params mp = scarce_model_default_params();
    mp.vocab_only = 1;
    scarce_model *m = NULL;
    char err[512] = "";
    REQUIRE(scarce_model_open(shared_path("models/stories260K.gguf"), &mp, &m, err, sizeof err) ==
            SCARCE_OK);
    const char *text = "Once upon a time, there was a little cat.\nIt liked milk.";
    char path[600];
    snprintf(path, sizeof path, "%s/story.txt", test_tmpdir());
    FILE *out = fopen(path, "wb");
    REQUIRE(out);
    fputs(text, out);
    REQUIRE(fclose(out) == 0);
    int n = 0, want[256];
    scarce_error e = {{0}};
    int32_t *ids = read_text_ids(m, path, &n, err);
    const int n_want = tokenizer_encode(tok, text, tokenizer_add_bos(tok), want, 256, &e);
    REQUIRE(ids && n_want > 1);
    CHECK_EQ_INT(n, n_want);
    CHECK(n == n_want && !memcmp(ids, want, sizeof(int) * (size_t)n));
    CHECK_EQ_INT(ids[0], tokenizer_bos(tok));
    free(ids);
    snprintf(path, sizeof path, "%s/none.txt", test_tmpdir());
    CHECK(!read_text_ids(m, path, &n, err) && strstr(err, path));
    /* a NUL byte would end the text early, silently: refused with its offset */
    snprintf(path, sizeof path, "%s/binary.txt", test_tmpdir());
    out = fopen(path, "wb");
    REQUIRE(out);
    fwrite("ab\0cd", 1, 5, out);
    REQUIRE(fclose(out) == 0);
    CHECK(!read_text_ids(m, path, &n, err));
    CHECK_MSG(strstr(err, path) && strstr(err, "offset 2"), "%s", err);
    scarce_model_close(m);
    tokenizer_free(tok);
    gguf_close(f);
}
