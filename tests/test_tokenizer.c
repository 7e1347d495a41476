/* test_tokenizer.c - SentencePiece and BPE against llama.cpp's vocabulary test files
 * (ggml-vocab-*.gguf.inp/.out, as test-tokenizer-0 reads them), round trips, llama2.c's
 * stories260K rule, bad input. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/gguf.h"
#include "../engine/tokenizer.h"
#include "test.h"

typedef struct {
    char **text; /* cases of the .inp: separated by "\n__ggml_vocab_test__\n" */
    char **ids;  /* lines of the .out */
    int n;
} vocab_cases;

static void free_cases(vocab_cases *c) {
    for (int i = 0; i < c->n; i++) {
        free(c->text[i]);
        free(c->ids[i]);
    }
    free(c->text);
    free(c->ids);
}

/* 0 ok; -1 when the files are missing or disagree on the number of cases. */
static int load_cases(const char *vocab, vocab_cases *c) {
    char inp_path[512], out_path[512];
    snprintf(inp_path, sizeof inp_path, "%s.inp", vocab);
    snprintf(out_path, sizeof out_path, "%s.out", vocab);
    size_t inp_len, out_len;
    char *inp = read_file(inp_path, &inp_len), *out = read_file(out_path, &out_len);
    memset(c, 0, sizeof *c);
    if (!inp || !out) {
        free(inp);
        free(out);
        return -1;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    c->text = calloc(inp_len + 1, sizeof *c->text);
    c->ids = calloc(inp_len + 1, sizeof *c->ids);
    for (char *p = inp, *end; (end = strstr(p, sep)) != NULL; p = end + strlen(sep))
        c->text[c->n++] = strndup(p, (size_t)(end - p));
    int n_lines = 0;
    for (char *p = out, *nl; (nl = strchr(p, '\n')) != NULL && n_lines < c->n; p = nl + 1)
        c->ids[n_lines++] = strndup(p, (size_t)(nl - p));
    free(inp);
    free(out);
    return n_lines == c->n && c->n > 0 ? 0 : -1;
}

static int parse_ids(const char *line, int *ids, int max) {
    int n = 0;
    for (char *end; *line && n < max; line = end) {
        long v = strtol(line, &end, 10);
        if (end == line) break;
        ids[n++] = (int)v;
    }
    return n;
}

static void print_ids(const char *what, const int *ids, int n) {
    fprintf(stderr, "      %s:", what);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

static tokenizer *open_vocab(const char *path, gguf_file **f) {
    scarce_error err = {{0}};
    *f = gguf_open(path, &err);
    if (!*f) {
        fprintf(stderr, "    %s\n", err.msg);
        return NULL;
    }
    tokenizer *t = tokenizer_load(*f, &err);
    if (!t) fprintf(stderr, "    %s\n", err.msg);
    return t;
}

/* Every case encodes to the .out ids (no BOS) and decodes back to its text. */
static void check_vocab_file(const char *name) {
    const char *path = shared_path(name);
    vocab_cases c;
    NEED_FILE(path);
    if (load_cases(path, &c) != 0) SKIP("%s.inp/.out missing", path);
    gguf_file *f;
    tokenizer *t = open_vocab(path, &f);
    REQUIRE(t);
    int ids[4096], want[4096], n_pass = 0;
    char back[16384];
    for (int i = 0; i < c.n; i++) {
        scarce_error err = {{0}};
        int n = tokenizer_encode(t, c.text[i], 0, ids, 4096, &err);
        int n_want = parse_ids(c.ids[i], want, 4096);
        int same = n == n_want && memcmp(ids, want, sizeof(int) * (size_t)(n > 0 ? n : 0)) == 0;
        CHECK_MSG(same, "%s case %d \"%s\": ids differ (%s)", name, i, c.text[i], err.msg);
        if (!same) {
            print_ids("got ", ids, n);
            print_ids("want", want, n_want);
        }
        int len = n >= 0 ? tokenizer_decode(t, ids, n, back, sizeof back) : -1;
        int round = len >= 0 && strcmp(back, c.text[i]) == 0;
        CHECK_MSG(round, "%s case %d: decode(encode(\"%s\")) = \"%s\"", name, i, c.text[i],
                  len >= 0 ? back : "(error)");
        n_pass += same && round;
    }
    fprintf(stderr, "    %s: %d/%d cases pass\n", name, n_pass, c.n);
    tokenizer_free(t);
    gguf_close(f);
    free_cases(&c);
}

TEST(tokenizer_llama_spm_vocab_cases) { check_vocab_file("models/vocab/ggml-vocab-llama-spm.gguf"); }

/* ---- stories260K: llama2.c's rule, checked with llama2.c's own tok512.bin -------------- */

typedef struct {
    char **piece;
    float *score;
    int n;
} llama2c_vocab;

/* tok512.bin: u32 max_token_length, then per token f32 score, i32 len, bytes. */
static int llama2c_load(const char *path, int n_vocab, llama2c_vocab *v) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned max_len;
    v->piece = calloc((size_t)n_vocab, sizeof *v->piece);
    v->score = calloc((size_t)n_vocab, sizeof *v->score);
    v->n = 0;
    int ok = fread(&max_len, 4, 1, f) == 1;
    for (int i = 0; ok && i < n_vocab; i++) {
        int len;
        ok = fread(&v->score[i], 4, 1, f) == 1 && fread(&len, 4, 1, f) == 1 && len >= 0 &&
             len < 1024 && (v->piece[i] = calloc((size_t)len + 1, 1)) &&
             fread(v->piece[i], 1, (size_t)len, f) == (size_t)len;
        v->n += ok;
    }
    fclose(f);
    return ok ? 0 : -1;
}

static int llama2c_find(const llama2c_vocab *v, const char *s) {
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->piece[i], s) == 0) return i;
    return -1;
}

/* llama2.c's encode, written plainly: BOS, " " + text split into UTF-8 characters (bytes
 * + 3 when a character is not a piece), then repeatedly merge the best-scoring pair. */
static int llama2c_encode(const llama2c_vocab *v, const char *text, int *ids) {
    int n = 0;
    ids[n++] = 1;
    char buf[2048];
    snprintf(buf, sizeof buf, " %s", text);
    for (const char *p = buf; *p;) {
        int cl = 1;
        while (p[cl] && ((unsigned char)p[cl] & 0xC0) == 0x80 && cl < 4) cl++;
        char ch[8] = {0};
        memcpy(ch, p, (size_t)cl);
        int id = llama2c_find(v, ch);
        if (id >= 0) ids[n++] = id;
        else
            for (int k = 0; k < cl; k++) ids[n++] = (unsigned char)p[k] + 3;
        p += cl;
    }
    for (;;) {
        float best = -1e10f;
        int best_id = -1, best_i = -1;
        for (int i = 1; i + 1 < n; i++) {
            snprintf(buf, sizeof buf, "%s%s", v->piece[ids[i]], v->piece[ids[i + 1]]);
            int id = llama2c_find(v, buf);
            if (id >= 0 && v->score[id] > best) {
                best = v->score[id];
                best_id = id;
                best_i = i;
            }
        }
        if (best_i < 0) break;
        ids[best_i] = best_id;
        memmove(&ids[best_i + 1], &ids[best_i + 2], sizeof(int) * (size_t)(n - best_i - 2));
        n--;
    }
    return n;
}

TEST(tokenizer_stories260k_matches_llama2c) {
    const char *model = shared_path("models/stories260K.gguf");
    const char *tok512 = shared_path("models/llama2c/tok512.bin");
    NEED_FILE(model);
    NEED_FILE(tok512); /* the comparison this test is named after */
    gguf_file *f;
    tokenizer *t = open_vocab(model, &f);
    REQUIRE(t);
    CHECK_EQ_INT(tokenizer_n_vocab(t), 512);
    CHECK_EQ_INT(tokenizer_bos(t), 1);
    CHECK(tokenizer_add_bos(t));
    const char *texts[] = {"Once upon a time", "Once upon a time, there was a little girl named "
                           "Lily. She liked to play outside.", "Tom said: \"Hi!\" 123 ü ☃"};
    for (int c = 0; c < 3; c++) {
        int ids[512], n = tokenizer_encode(t, texts[c], 1, ids, 512, NULL);
        REQUIRE(n > 1);
        CHECK_EQ_INT(ids[0], 1);
        char text[2048], piece[64];
        CHECK(tokenizer_decode(t, ids, n, text, sizeof text) >= 0);
        CHECK_MSG(strcmp(text, texts[c]) == 0, "decode = \"%s\"", text);
        /* the first piece after BOS starts with the dummy-prefix space, which is dropped */
        CHECK(t && tokenizer_piece(t, 1, ids[1], piece, sizeof piece) >= 0 && piece[0] != ' ');
        char spaced[64];
        tokenizer_piece(t, ids[1], ids[1], spaced, sizeof spaced);
        CHECK_MSG(spaced[0] == ' ' && strcmp(spaced + 1, piece) == 0, "\"%s\" / \"%s\"", spaced,
                  piece);
        llama2c_vocab v;
        if (llama2c_load(tok512, 512, &v) != 0) {
            CHECK_MSG(0, "%s: cannot load", tok512);
            continue;
        }
        int want[512], n_want = llama2c_encode(&v, texts[c], want);
        int same = n == n_want && memcmp(ids, want, sizeof(int) * (size_t)n) == 0;
        CHECK_MSG(same, "\"%s\" differs from llama2.c's encode", texts[c]);
        if (!same) {
            print_ids("got ", ids, n);
            print_ids("want", want, n_want);
        }
        for (int i = 0; i < v.n; i++) free(v.piece[i]);
        free(v.piece);
        free(v.score);
    }
    tokenizer_free(t);
    gguf_close(f);
}

/* Invalid UTF-8 must not crash and comes back byte for byte through <0xXX> tokens. */
TEST(tokenizer_spm_invalid_utf8_round_trips) {
    const char *path = shared_path("models/vocab/ggml-vocab-llama-spm.gguf");
    NEED_FILE(path);
    gguf_file *f;
    tokenizer *t = open_vocab(path, &f);
    REQUIRE(t);
    const char *bad[] = {"\xff", "a\xc3", "\xe2\x96", "x\x80\x80y \xf0\x9f\xa6", "\xc0\xaf z"};
    for (int c = 0; c < 5; c++) {
        int ids[64];
        char back[256];
        int n = tokenizer_encode(t, bad[c], 0, ids, 64, NULL);
        REQUIRE(n > 0);
        CHECK(tokenizer_decode(t, ids, n, back, sizeof back) >= 0);
        CHECK_MSG(strcmp(back, bad[c]) == 0, "case %d", c);
    }
    int ids[4];
    scarce_error err = {{0}};
    CHECK_EQ_INT(tokenizer_encode(t, "Hello world, this is long", 1, ids, 4, &err), -1);
    CHECK(strstr(err.msg, "4") != NULL);
    char small[4];
    int hello[2] = {15043, 3186};
    CHECK_EQ_INT(tokenizer_decode(t, hello, 2, small, sizeof small), -1);
    tokenizer_free(t);
    gguf_close(f);
}

/* The whole TinyStories validation text (~800 KB) in one call: round trip, and the speed. */
TEST(tokenizer_spm_large_text_speed) {
    const char *model = shared_path("models/stories260K.gguf");
    const char *data = shared_path("data/tinystories-valid.txt");
    NEED_FILE(model);
    NEED_FILE(data);
    size_t len;
    char *text = read_file(data, &len);
    REQUIRE(text);
    gguf_file *f;
    tokenizer *t = open_vocab(model, &f);
    REQUIRE(t);
    int max = (int)len + 2, *ids = malloc(sizeof(int) * (size_t)max);
    char *back = malloc(len + 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = tokenizer_encode(t, text, 1, ids, max, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "    %zu bytes -> %d tokens in %.3f s: %.0f tokens/s\n", len, n, s, n / s);
    CHECK(n > 0 && n < (int)len);
    CHECK(n > 0 && tokenizer_decode(t, ids, n, back, len + 1) == (int)len);
    CHECK(n > 0 && memcmp(back, text, len) == 0);
    free(ids);
    free(back);
    free(text);
    tokenizer_free(t);
    gguf_close(f);
}

TEST(tokenizer_gpt2_vocab_cases) { check_vocab_file("models/vocab/ggml-vocab-gpt-2.gguf"); }

/* An unknown tokenizer.ggml.pre is an error naming the key; invalid UTF-8 round-trips. */
TEST(tokenizer_gpt2_unknown_pre_and_invalid_utf8) {
    const char *path = shared_path("models/vocab/ggml-vocab-gpt-2.gguf");
    NEED_FILE(path);
    gguf_file *f;
    tokenizer *t = open_vocab(path, &f);
    REQUIRE(t);
    const char *bad[] = {"\xff", "a\xc3 b", "\xe2\x96", "x\x80\x80y \xf0\x9f\xa6", "<|endoftext|>x"};
    for (int c = 0; c < 5; c++) {
        int ids[64];
        char back[256];
        int n = tokenizer_encode(t, bad[c], 0, ids, 64, NULL);
        REQUIRE(n > 0);
        CHECK(tokenizer_decode(t, ids, n, back, sizeof back) >= 0);
        CHECK_MSG(strcmp(back, c < 4 ? bad[c] : "x") == 0, "case %d", c);
        if (c == 4) CHECK_EQ_INT(ids[0], tokenizer_eos(t));
    }
    tokenizer_free(t);
    /* the same vocabulary under a pre-tokenizer name nobody knows */
    gguf_kv *pre = NULL;
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->kv[i].key, "tokenizer.ggml.pre") == 0) pre = &f->kv[i];
    REQUIRE(pre);
    char *saved = pre->str, fake[] = "no-such-pre";
    uint64_t saved_len = pre->str_len;
    pre->str = fake;
    pre->str_len = strlen(fake);
    scarce_error err = {{0}};
    CHECK(tokenizer_load(f, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer.ggml.pre") && strstr(err.msg, "no-such-pre"), "%s",
              err.msg);
    pre->str = saved;
    pre->str_len = saved_len;
    gguf_close(f);
}
