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
    char inp_path[1100], out_path[1100];
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

/* $env/file when $env names a folder holding it, else local/file when local is given and
 * holds it, else ../shared/<shared_dir>/file. */
static const char *find_data(const char *env, const char *local, const char *shared_dir,
                             const char *file) {
    static char buf[1024];
    const char *dir = getenv(env);
    if (dir && *dir) {
        snprintf(buf, sizeof buf, "%s/%s", dir, file);
        if (file_exists(buf)) return buf;
    }
    if (local) {
        snprintf(buf, sizeof buf, "%s/%s", local, file);
        if (file_exists(buf)) return buf;
    }
    snprintf(buf, sizeof buf, "%s/%s", shared_dir, file);
    return shared_path(buf);
}

/* A llama.cpp vocabulary test file (ggml-vocab-NAME.gguf) from $SCARCE_LLAMA_VOCAB_DIR
 * (llama.cpp's models/ folder) or ../shared/models/vocab. */
static const char *vocab_path(const char *name) {
    char file[256];
    snprintf(file, sizeof file, "ggml-vocab-%s.gguf", name);
    return find_data("SCARCE_LLAMA_VOCAB_DIR", NULL, "models/vocab", file);
}

/* The vocabulary of path loaded as if its tokenizer.ggml.pre were pre. */
static tokenizer *load_with_pre(const char *path, const char *pre_name, gguf_file **f,
                                scarce_error *err) {
    if (!(*f = gguf_open(path, err))) return NULL;
    gguf_kv *pre = NULL;
    for (uint64_t i = 0; i < (*f)->n_kv; i++)
        if (strcmp((*f)->kv[i].key, "tokenizer.ggml.pre") == 0) pre = &(*f)->kv[i];
    if (!pre) return NULL;
    char *saved = pre->str, name[64];
    uint64_t saved_len = pre->str_len;
    snprintf(name, sizeof name, "%s", pre_name);
    pre->str = name;
    pre->str_len = strlen(name);
    tokenizer *t = tokenizer_load(*f, err);
    pre->str = saved;
    pre->str_len = saved_len;
    return t;
}

/* Every case encodes to the .out ids (no BOS) and decodes back to its text. */
static void check_vocab_file(const char *vocab) {
    const char *path = vocab_path(vocab), *name = vocab;
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

TEST(tokenizer_llama_spm_vocab_cases) {
    check_vocab_file("llama-spm");
}

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
        if (id >= 0)
            ids[n++] = id;
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
    const char *texts[] = {"Once upon a time",
                           "Once upon a time, there was a little girl named "
                           "Lily. She liked to play outside.",
                           "Tom said: \"Hi!\" 123 ü ☃"};
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

TEST(tokenizer_gpt2_vocab_cases) {
    check_vocab_file("gpt-2");
}
TEST(tokenizer_llama_bpe_vocab_cases) {
    check_vocab_file("llama-bpe");
}
TEST(tokenizer_qwen2_vocab_cases) {
    check_vocab_file("qwen2");
}
TEST(tokenizer_phi3_vocab_cases) {
    check_vocab_file("phi-3");
}
TEST(tokenizer_starcoder_vocab_cases) {
    check_vocab_file("starcoder");
}
TEST(tokenizer_refact_vocab_cases) {
    check_vocab_file("refact");
}

/* An unknown tokenizer.ggml.pre is an error naming the key; invalid UTF-8 round-trips. */
TEST(tokenizer_gpt2_unknown_pre_and_invalid_utf8) {
    const char *path = shared_path("models/vocab/ggml-vocab-gpt-2.gguf");
    NEED_FILE(path);
    gguf_file *f;
    tokenizer *t = open_vocab(path, &f);
    REQUIRE(t);
    const char *bad[] = {"\xff", "a\xc3 b", "\xe2\x96", "x\x80\x80y \xf0\x9f\xa6",
                         "<|endoftext|>x"};
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
    gguf_close(f);
    /* the same vocabulary under a pre-tokenizer name nobody knows */
    scarce_error err = {{0}};
    CHECK(load_with_pre(path, "no-such-pre", &f, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer.ggml.pre") && strstr(err.msg, "no-such-pre"), "%s",
              err.msg);
    gguf_close(f);
}

/* gpt-4o's split (Phi-4-mini, Llama 4), on the GPT-2 vocabulary with tokenizer.ggml.pre set
 * to "gpt-4o": BPE never merges across words, so the ids of a text are the ids of its words
 * encoded one by one. The words are what llama.cpp's adapted gpt-4o regex gives (a letter
 * other than a-z is "upper", other than A-Z "lower": À is both). */
TEST(tokenizer_gpt4o_split) {
    const char *path = vocab_path("gpt-2");
    NEED_FILE(path);
    scarce_error err = {{0}};
    gguf_file *f;
    tokenizer *t = load_with_pre(path, "gpt-4o", &f, &err);
    CHECK_MSG(t, "%s", err.msg);
    if (!t) {
        gguf_close(f);
        return;
    }
    static const char *const cases[][8] = {
        {"HelloWorld", "Hello", "World"},
        {"HELLO world's", "HELLO", " world's"},
        {"iPhone 12345", "i", "Phone", " ", "123", "45"},
        {"\xc3\x80"
         "BC",
         "\xc3\x80", "BC"}, /* ÀBC */
        {"x.../\nand", "x", ".../\n", "and"},
        {"  (Yes)\n\n", " ", " (", "Yes", ")\n\n"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int whole[64], words[64], n_words = 0;
        int n = tokenizer_encode(t, cases[c][0], 0, whole, 64, &err);
        for (int w = 1; w < 8 && cases[c][w]; w++) {
            int k = tokenizer_encode(t, cases[c][w], 0, words + n_words, 64 - n_words, &err);
            REQUIRE(k > 0);
            n_words += k;
        }
        int same = n == n_words && memcmp(whole, words, sizeof(int) * (size_t)n) == 0;
        CHECK_MSG(same, "case %zu \"%s\": not split as expected", c, cases[c][0]);
        if (!same) {
            print_ids("got ", whole, n);
            print_ids("want", words, n_words);
        }
    }
    tokenizer_free(t);
    gguf_close(f);
}

/* ---- real model files: our ids equal llama.cpp's --------------------------------------
 * The ids below were recorded with llama.cpp's tokenizer (BOS/EOS as the file says, special
 * tokens parsed, the text byte for byte):
 *   printf '%s' "$TEXT" > p.txt
 *   llama-tokenize -m MODEL.gguf -f p.txt --no-escape --ids --log-disable
 * (llama.cpp built from the llama_cpp_python 0.3.36 sources). A model that is not there
 * (models/, $SCARCE_MODELS or ../shared/models; models/fetch.sh NAME) skips its test. */

typedef struct {
    const char *text, *ids;
} token_case;

/* Every case of a model (or vocabulary) file encodes to llama.cpp's ids. hint: how to get
 * the file, for the skip message. */
static void check_model_cases(const char *path, const char *hint, const token_case *cases,
                              int n_cases) {
    const char *file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!file_exists(path)) SKIP("%s not found (%s)", path, hint);
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
static const token_case gemma3_270m_cases[] = {
    {"Hello world", "2 9259 1902"},
    {"The capital of France is", "2 818 5279 529 7001 563"},
    {" leading space and  double  spaces   ", "2 5830 2557 532 138 7902 138 35220 139"},
    {"Line one\nLine two\n\n\nTabs\there\r\nend",
     "2 4539 886 107 4539 1156 109 76222 255968 8472 251 107 643"},
    {"<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
     "2 105 2364 107 3689 563 236743 236778 236862 236778 236881 106 107 105 4368 107"},
    {"Numbers 1234567 and 3.14159, prices $5.99! Isn't it 100%?",
     "2 37091 236743 236770 236778 236800 236812 236810 236825 236832 532 236743 236800 236761 "
     "236770 236812 236770 236810 236819 236764 6527 609 236810 236761 236819 236819 236888 70594 "
     "236789 236745 625 236743 236770 236771 236771 236908 236881"},
    {"\xc3\xbcn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99 emoji "
     "\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1",
     "2 5701 238527 236755 55515 236859 33375 238582 236743 478 397 404 391 64334 20306 73035 "
     "7099"},
    {"<b>bold</b> and <unused0> or <|endoftext|> literal",
     "2 200 15640 209 532 236743 6 653 655 236909 643 1340 1005 111038 37087"},
    {"code:\n    def f(x):\n        return x*2\n",
     "2 3970 236787 107 140 2063 517 236769 236781 1473 107 144 2060 1123 236829 236778 107"},
    {"   ", "2 139"},
};
TEST(tokenizer_gemma3_270m_ids_equal_llama_cpp) {
    check_model_cases(find_data("SCARCE_MODELS", "models", "models", "gemma-3-270m-q4_k_m.gguf"),
                      "models/fetch.sh gemma3-270m", gemma3_270m_cases,
                      (int)(sizeof gemma3_270m_cases / sizeof gemma3_270m_cases[0]));
}
static const token_case smollm2_135m_cases[] = {
    {"Hello world", "19556 905"},
    {"The capital of France is", "504 3575 282 4649 314"},
    {" leading space and  double  spaces   ", "2899 1898 284 216 5561 216 5600 333"},
    {"Line one\nLine two\n\n\nTabs\there\r\nend",
     "11907 582 198 11907 827 1116 198 68 7366 197 1531 201 198 486"},
    {"<|im_start|>system\nYou are brief.<|im_end|>\n<|im_start|>user\nWhat is "
     "2+2?<|im_end|>\n<|im_start|>assistant\n",
     "1 9690 198 2683 359 5453 30 2 198 1 4093 198 1780 314 216 34 27 34 47 2 198 1 520 9531 198"},
    {"Numbers 1234567 and 3.14159, prices $5.99! Isn't it 100%?",
     "39006 216 33 34 35 36 37 38 39 284 216 35 30 33 36 33 37 41 28 5770 1885 37 30 41 41 17 "
     "25606 982 357 216 33 32 32 21 47"},
    {"\xc3\xbcn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99 emoji "
     "\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1",
     "47682 25972 83 7466 84 2756 17097 241 115 40993 179 120 248 15107 116 243 649 33777 5664 235 "
     "25760 48438 11517 8998"},
    {"<b>bold</b> and <unused0> or <|endoftext|> literal",
     "44 82 46 30471 9617 82 46 284 2067 419 3447 32 46 355 216 0 19620"},
    {"code:\n    def f(x):\n        return x*2\n",
     "4635 42 472 753 275 24 104 727 448 1003 1792 26 34 198"},
    {"   ", "333"},
};
TEST(tokenizer_smollm2_135m_ids_equal_llama_cpp) {
    check_model_cases(
        find_data("SCARCE_MODELS", "models", "models", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        "models/fetch.sh smollm2-135m", smollm2_135m_cases,
        (int)(sizeof smollm2_135m_cases / sizeof smollm2_135m_cases[0]));
}
static const token_case qwen2_cases[] = {
    {"Hello world", "9707 1879"},
    {"The capital of France is", "785 6722 315 9625 374"},
    {" leading space and  double  spaces   ", "6388 3550 323 220 1990 220 12621 262"},
    {"Line one\nLine two\n\n\nTabs\there\r\nend",
     "2460 825 198 2460 1378 1406 36985 197 6739 319 408"},
    {"<|im_start|>system\nYou are brief.<|im_end|>\n<|im_start|>user\nWhat is "
     "2+2?<|im_end|>\n<|im_start|>assistant\n",
     "151644 8948 198 2610 525 9814 13 151645 198 151644 872 198 3838 374 220 17 10 17 30 151645 "
     "198 151644 77091 198"},
    {"Numbers 1234567 and 3.14159, prices $5.99! Isn't it 100%?",
     "27237 220 16 17 18 19 20 21 22 323 220 18 13 16 19 16 20 24 11 7576 400 20 13 24 24 0 52196 "
     "944 432 220 16 15 15 4 30"},
    {"\xc3\xbcn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99 emoji "
     "\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1",
     "16074 37572 66 2956 128505 75402 21894 102819 11162 99 247 42365 7851 239 88538 72930 33269 "
     "18945"},
    {"<b>bold</b> and <unused0> or <|endoftext|> literal",
     "33177 29 14824 522 65 29 323 366 24713 15 29 476 220 151643 23141"},
    {"code:\n    def f(x):\n        return x*2\n",
     "1851 510 262 707 282 2075 982 286 470 856 9 17 198"},
    {"   ", "262"},
};
TEST(tokenizer_qwen2_ids_equal_llama_cpp) {
    check_model_cases(vocab_path("qwen2"), "$SCARCE_LLAMA_VOCAB_DIR: llama.cpp's models/",
                      qwen2_cases, (int)(sizeof qwen2_cases / sizeof qwen2_cases[0]));
}
static const token_case llama3_cases[] = {
    {"Hello world", "128000 9906 1917"},
    {"The capital of France is", "128000 791 6864 315 9822 374"},
    {" leading space and  double  spaces   ", "128000 6522 3634 323 220 2033 220 12908 262"},
    {"Line one\nLine two\n\n\nTabs\there\r\nend",
     "128000 2519 832 198 2519 1403 1432 38085 197 6881 319 408"},
    {"<|start_header_id|>user<|end_header_id|>\n\nWhat is "
     "2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
     "128000 128006 882 128007 271 3923 374 220 17 10 17 30 128009 128006 78191 128007 271"},
    {"Numbers 1234567 and 3.14159, prices $5.99! Isn't it 100%?",
     "128000 28336 220 4513 10961 22 323 220 18 13 9335 2946 11 7729 400 20 13 1484 0 53296 956 "
     "433 220 1041 4 30"},
    {"\xc3\xbcn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99 emoji "
     "\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1",
     "128000 16461 38672 66 3029 67 978 105180 102158 11410 99 247 43465 124328"},
    {"<b>bold</b> and <unused0> or <|endoftext|> literal",
     "128000 34277 29 15168 524 65 29 323 366 25743 15 29 477 83739 8862 728 428 91 29 24016"},
    {"code:\n    def f(x):\n        return x*2\n",
     "128000 1889 512 262 711 282 2120 997 286 471 865 9 17 198"},
    {"   ", "128000 262"},
};
TEST(tokenizer_llama3_ids_equal_llama_cpp) {
    check_model_cases(vocab_path("llama-bpe"), "$SCARCE_LLAMA_VOCAB_DIR: llama.cpp's models/",
                      llama3_cases, (int)(sizeof llama3_cases / sizeof llama3_cases[0]));
}
static const token_case phi3_cases[] = {
    {"Hello world", "1 15043 3186"},
    {"The capital of France is", "1 450 7483 310 3444 338"},
    {" leading space and  double  spaces   ", "1 29871 8236 2913 322 29871 3765 29871 8162 1678"},
    {"Line one\nLine two\n\n\nTabs\there\r\nend",
     "1 7407 697 13 3542 1023 13 13 13 29911 6897 12 4150 30004 13 355"},
    {"<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n",
     "1 32010 1724 338 29871 29906 29974 29906 29973 32007 32001"},
    {"Numbers 1234567 and 3.14159, prices $5.99! Isn't it 100%?",
     "1 11848 2596 29871 29896 29906 29941 29946 29945 29953 29955 322 29871 29941 29889 29896 "
     "29946 29896 29945 29929 29892 26094 395 29945 29889 29929 29929 29991 29489 29915 29873 372 "
     "29871 29896 29900 29900 29995 29973"},
    {"\xc3\xbcn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99 emoji "
     "\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1",
     "1 2505 29876 30085 29883 9289 29948 29871 30325 30346 30968 29871 243 162 169 156 953 29877 "
     "2397 29871 30292 30209 30280 30133 30110"},
    {"<b>bold</b> and <unused0> or <|endoftext|> literal",
     "1 529 29890 29958 8934 829 29890 29958 322 529 348 3880 29900 29958 470 29871 32000 29871 "
     "16333"},
    {"code:\n    def f(x):\n        return x*2\n",
     "1 775 29901 13 1678 822 285 29898 29916 1125 13 4706 736 921 29930 29906 13"},
    {"   ", "1 268"},
};
TEST(tokenizer_phi3_ids_equal_llama_cpp) {
    check_model_cases(vocab_path("phi-3"), "$SCARCE_LLAMA_VOCAB_DIR: llama.cpp's models/",
                      phi3_cases, (int)(sizeof phi3_cases / sizeof phi3_cases[0]));
}
