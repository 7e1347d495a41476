/* test_badinput.c - every subcommand against hostile input: a table, one row per case.
 *
 * Each row runs `scarce CMD ARGS` and expects: exit code 1 or 2 (never a signal), exactly
 * one line on stderr starting with "scarce CMD:", naming the cause (the `names` substring),
 * and no output file (nor its PATH.tmp.* temp file) left behind. Rows of commands that are
 * not built yet (`scarce CMD -h` does not exit 0) report SKIP and count as neither.
 * In ARGS: {M} a small good model, {T} the test's temp dir, {V} the vocabulary source. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../engine/gguf.h"
#include "hostile_meta.h"
#include "shared_data.h"
#include "test.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* rows omit what they do not need */

typedef struct {
    const char *cmd, *args;
    int code;           /* expected exit code: 1, 2, or 0 for "1 or 2" */
    const char *names;  /* the error line must contain this ({T} expanded) */
    const char *output; /* must not exist afterwards (nor OUTPUT.tmp.*), or NULL */
    const char *shell;  /* prefix inside the shell, e.g. "ulimit -f 64;", or NULL */
} bad_row;

#define RUN "-n 4 -m "
static const bad_row rows[] = {
    /* bad files: the same rows for every command that reads a model */
    {"run", RUN "{T}/missing.gguf", 1, "{T}/missing.gguf"},
    {"run", RUN "{T}", 1, "{T}"},
    {"run", RUN "{T}/empty.gguf", 1, "{T}/empty.gguf"},
    {"run", RUN "{T}/text.gguf", 1, "{T}/text.gguf"},
    {"run", RUN "{T}/half.gguf", 1, "{T}/half.gguf"},
    {"run", RUN "{T}/badtype.gguf", 1, "blk.0.attn_q.weight"},
    {"run", RUN "{T}/badshape.gguf", 1, "blk.0.ffn_up.weight"},
    {"run", RUN "{T}/novocab.gguf", 1, "tokenizer"},
    {"run", "-n abc -m {M}", 2, "-n"},
    {"run", "-n -1 -m {M}", 2, "-n"},
    {"run", "-c 0 -m {M}", 2, "-c"},
    {"run", "-c 1x -m {M}", 2, "-c"},
    {"run", "-t 0 -m {M}", 2, "-t"},
    {"run", "-t 99999999999999999999 -m {M}", 2, "-t"},
    {"run", "-t", 2, "-t"},
    {"run", "-c 8 -m {M} -p 'one two three four five six seven eight nine ten'", 1, "-c"},
    {"run", "--bogus 1 -m {M}", 2, "--bogus"},
    {"inspect", "{T}/missing.gguf", 1, "{T}/missing.gguf"},
    {"inspect", "{T}", 1, "{T}"},
    {"inspect", "{T}/empty.gguf", 1, "{T}/empty.gguf"},
    {"inspect", "{T}/text.gguf", 1, "{T}/text.gguf"},
    {"inspect", "{T}/half.gguf", 1, "{T}/half.gguf"},
    {"inspect", "{T}/badtype.gguf", 1, "blk.0.attn_q.weight"},
#define MK "mkmodel", "--vocab {V} --n-embd 64 --n-layer 1 --n-head 4 --n-head-kv 2 --n-ff 128 "
    {MK "-o /nonexistent-dir/out.gguf", 1, "/nonexistent-dir/out.gguf"},
    {MK "-o {T}", 1, "{T}"},
    {MK "-o {T}/text.gguf/out.gguf", 1, "{T}/text.gguf/out.gguf"},
    {MK "-o {T}/full.gguf", 1, "{T}/full.gguf", "{T}/full.gguf", "ulimit -f 64;"},
    {MK "-o {T}/x.gguf --n-embd abc", 2, "--n-embd", "{T}/x.gguf"},
    {MK "-o {T}/x.gguf --n-head 0", 2, "--n-head", "{T}/x.gguf"},
    {MK "-o {T}/x.gguf --n-head 5", 2, "--n-head", "{T}/x.gguf"},
    {MK "-o {T}/x.gguf --type nope", 2, "nope", "{T}/x.gguf"},
    {"mkmodel", "-o {T}/x.gguf --vocab {T}/text.gguf --n-embd 64 --n-layer 1 --n-head 4 "
                "--n-head-kv 2 --n-ff 128", 1, "{T}/text.gguf", "{T}/x.gguf"},
    /* moe (issue 17): MoE architectures' flags; their bad files are in test_moe_arch.c */
    {MK "-o {T}/x.gguf --arch qwen3moe", 2, "--n-expert", "{T}/x.gguf"},
    {MK "-o {T}/x.gguf --arch olmoe --n-expert 4 --n-expert-used 5", 2, "--n-expert-used", "{T}/x.gguf"},
    {MK "-o {T}/x.gguf --arch deepseek2 --n-expert 4 --n-expert-used 2", 2, "--kv-lora-rank", "{T}/x.gguf"},
    {MK "-o {T}/x.gguf --arch qwen3moe --n-expert 8 --n-expert-used 2 --expert-groups 3 "
        "--expert-groups-used 1", 2, "--expert-groups", "{T}/x.gguf"},
    /* commands arriving from other branches (SKIP until `scarce CMD -h` works) */
    {"quantize", "{T}/half.gguf {T}/q.gguf q8_0", 1, "{T}/half.gguf", "{T}/q.gguf"},
    {"quantize", "{M} /nonexistent-dir/q.gguf q8_0", 1, "/nonexistent-dir/q.gguf"},
    {"quantize", "{M} {T}/q.gguf q8_0", 1, "{T}/q.gguf", "{T}/q.gguf", "ulimit -f 16;"},
    {"quantize", "{M} {T}/q.gguf nosuchtype", 2, "nosuchtype", "{T}/q.gguf"},
    {"ppl", "-m {T}/missing.gguf -f {T}/text.gguf", 1, "{T}/missing.gguf"},
    {"ppl", "-m {T}/badtype.gguf -f {T}/text.gguf", 1, "blk.0.attn_q.weight"},
    {"ppl", "-m {M} -f {T}/missing.txt", 1, "{T}/missing.txt"},
    {"ppl", "-m {M} -f {T}/text.gguf -c abc", 2, "-c"},
    {"bench", "-m {T}/half.gguf", 1, "{T}/half.gguf"},
    {"bench", "-m {M} -t 0", 2, "-t"},
    {"sweep", "-m {T}/text.gguf -f {T}/text.gguf", 1, "{T}/text.gguf"},
    {"membw", "-t 0", 2, "-t"},
    {"upcycle", "{T}/half.gguf {T}/u.gguf --experts 4 --used 2", 1, "{T}/half.gguf", "{T}/u.gguf"},
    {"upcycle", "{M} /nonexistent-dir/u.gguf --experts 4 --used 2", 1, "/nonexistent-dir/u.gguf"},
    {"upcycle", "{M} {T}/u.gguf --experts 4 --used 9", 2, "--used", "{T}/u.gguf"},
    {"upcycle", "{M} {T}/u.gguf --experts 4 --used 2", 1, "{T}/u.gguf", "{T}/u.gguf", "ulimit -f 16;"},
    {"chat", "-m {T}/novocab.gguf", 1, "tokenizer"},
    /* issue 21 item 5: the newer subcommands and flags. Speculative decoding's inputs */
#define RUNP "-n 4 -p 'Once upon' -m {M} "
    {"run", RUNP "--lookup-file {T}/missing.txt", 1, "{T}/missing.txt"},
    {"run", RUNP "--lookup-file {T}/empty.gguf", 1, "{T}/empty.gguf: --lookup-file has 0 tokens"},
    {"run", RUNP "--lookup-file {T}/half.gguf", 1, "{T}/half.gguf: a NUL byte at offset"},
    {"run", RUNP "--lookup-file {T}", 1, "{T}"},
    {"run", RUNP "--lookup 0", 2, "--lookup"},
    {"run", RUNP "--lookup 4 --lookup-min 5", 2, "--lookup-min"},
    {"run", RUNP "--draft-quant nope", 0, "nope"},
    {"run", RUNP "-md {T}/text.gguf", 1, "{T}/text.gguf"},
    {"run", RUNP "-md {T}/half.gguf", 1, "{T}/half.gguf"},
    {"run", RUNP "--draft-layers 9", 1, "--draft-layers 9"},
    {"run", RUNP "--lookup 2 --draft-layers 1", 2, "exactly one of"},
    {"bench", "-m {M} --draft 4 -md {T}/text.gguf", 1, "{T}/text.gguf"},
    {"bench", "-m {M} --draft 4 --draft-quant nope", 1, "nope"},
    {"bench", "-m {M} --draft 4", 2, "--draft"},
    {"bench", "-m {M} --draft abc --lookup 2", 2, "--draft"},
    {"bench", "-m {M} --draft 4 --lookup 99", 2, "--lookup"},
    /* ppl's KL base: a file that is not one, and no partial --kl-base-out */
    {"ppl", "-m {M} -f {T}/long.txt -c 16 --kl-base {T}/text.gguf", 1, "{T}/text.gguf"},
    {"ppl", "-m {M} -f {T}/long.txt -c 16 --kl-base {T}/half.gguf", 1, "{T}/half.gguf"},
    {"ppl", "-m {M} -f {T}/long.txt -c 16 --kl-base {T}/empty.gguf", 1, "{T}/empty.gguf"},
    {"ppl", "-m {M} -f {T}/long.txt -c 16 --kl-base {T}/missing.kl", 1, "{T}/missing.kl"},
    {"ppl", "-m {M} -f {T}/half.gguf -c 16", 1, "{T}/half.gguf: a NUL byte"},
    {"ppl", "-m {M} --kl-base {T}/kl_vocab.kl", 1, "300"},
    {"ppl", "-m {M} --kl-base {T}/kl_token.kl", 1, "9999"},
    {"ppl", "-m {M} --kl-base {T}/kl_short.kl", 1, "{T}/kl_short.kl"},
    {"ppl", "-m {M} --kl-base {T}/kl_long.kl", 1, "{T}/kl_long.kl"},
    {"ppl", "-m {M} -f {T}/long.txt -c 16 --kl-base-out /nonexistent-dir/b.kl", 1,
     "/nonexistent-dir/b.kl"},
    {"ppl", "-m {T}/half.gguf -f {T}/long.txt -c 16 --kl-base-out {T}/b.kl", 1, "{T}/half.gguf",
     "{T}/b.kl"},
    {"ppl", "-m {M} -f {T}/long.txt -c 16 --kl-base-out {T}/b.kl", 1, "{T}/b.kl", "{T}/b.kl",
     "ulimit -f 1;"},
    /* quantize --imatrix: not an imatrix, or one whose keys lie; never an output file */
#define QI "quantize", "{M} {T}/q.gguf q4_0 --imatrix "
    {QI "{T}/text.gguf", 1, "{T}/text.gguf", "{T}/q.gguf"},
    {QI "{T}/half.gguf", 1, "{T}/half.gguf", "{T}/q.gguf"},
    {QI "{T}/empty.gguf", 1, "{T}/empty.gguf", "{T}/q.gguf"},
    {QI "{T}/missing.dat", 1, "{T}/missing.dat", "{T}/q.gguf"},
    {QI "{T}", 1, "{T}", "{T}/q.gguf"},
    {QI "{T}/im_chunks_str.gguf", 1, "imatrix.chunk_count: expected an integer, found string",
     "{T}/q.gguf"},
    {QI "{T}/im_chunks_neg.gguf", 1, "imatrix.chunk_count = -3 is out of range", "{T}/q.gguf"},
    {"imatrix", "-m {M} -f {T}/half.gguf -o {T}/im2.gguf", 1, "{T}/half.gguf", "{T}/im2.gguf"},
    {"imatrix", "-m {M} -f {T}/long.txt -c 16 -o /nonexistent-dir/im.gguf", 1,
     "/nonexistent-dir/im.gguf"},
};

/* s with {T} {M} {V} replaced; static buffer per slot */
static const char *expand(const char *s, int slot) {
    static char buf[4][2048];
    char *out = buf[slot], *o = out;
    for (; *s && o < out + sizeof buf[0] - 600; s++) {
        const char *with = NULL;
        if (s[0] == '{' && s[1] && s[2] == '}') {
            with = s[1] == 'T' ? test_tmpdir()
                 : s[1] == 'M' ? "{T}/good.gguf"
                 : s[1] == 'V' ? shared_path("models/stories260K.gguf") : NULL;
        }
        if (!with) { *o++ = *s; continue; }
        if (s[1] == 'M') o += sprintf(o, "%s/good.gguf", test_tmpdir());
        else o += sprintf(o, "%s", with);
        s += 2;
    }
    *o = 0;
    return out;
}

/* Offset of the tensor info of `name` in a GGUF header: right after its u64 length + bytes. */
static long tensor_info_at(const unsigned char *buf, size_t len, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i + 8 + n < len && i < (1u << 20); i++)
        if (!memcmp(buf + i + 8, name, n)) {
            uint64_t l;
            memcpy(&l, buf + i, 8);
            if (l == n) return (long)(i + 8 + n);
        }
    return -1;
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* good.gguf minus every tokenizer.* key, through the writer API */
static int write_novocab(const char *from, const char *to) {
    scarce_error err = {0};
    gguf_file *f = gguf_open(from, &err);
    if (!f) return -1;
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (strncmp(f->kv[i].key, "tokenizer.", 10)) gguf_writer_copy_kv(w, &f->kv[i]);
    int rc = gguf_writer_write_tensors_of(w, f, to, &err);
    if (rc) fprintf(stderr, "    novocab: %s\n", err.msg);
    gguf_writer_free(w);
    gguf_close(f);
    return rc ? -1 : 0;
}

static int command_exists(const char *cmd);

/* im.gguf (a good imatrix) with imatrix.chunk_count replaced: a string, or a negative int */
static int write_lying_imatrix(const char *T) {
    char from[700], to[700];
    snprintf(from, sizeof from, "%s/im.gguf", T);
    scarce_error err = {0};
    gguf_file *f = gguf_open(from, &err);
    if (!f) return -1;
    int rc = 0;
    for (int k = 0; k < 2; k++) {
        gguf_writer *w = gguf_writer_new();
        for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
        if (k == 0) gguf_writer_set_str(w, "imatrix.chunk_count", "16");
        else gguf_writer_set_i32(w, "imatrix.chunk_count", -3);
        snprintf(to, sizeof to, "%s/%s", T, k == 0 ? "im_chunks_str.gguf" : "im_chunks_neg.gguf");
        rc |= gguf_writer_write_tensors_of(w, f, to, &err);
        gguf_writer_free(w);
    }
    gguf_close(f);
    return rc ? -1 : 0;
}

/* A KL base file (llama-perplexity's "_logits_" format: n_ctx, n_vocab, n_chunk, the
 * tokens, then a row of 2 * ((n_vocab + 1) / 2) + 4 u16 per scored position) with one
 * window of 16 tokens, all `token`, and its size off by `extra` bytes. */
static int write_kl_base(const char *path, int32_t n_vocab, int32_t token, long extra) {
    const uint32_t n_ctx = 16;
    const int32_t n_chunk = 1;
    const long rows = n_ctx - 1 - n_ctx / 2, row_len = 2 * ((n_vocab + 1) / 2) + 4;
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    fwrite("_logits_", 1, 8, fp);
    fwrite(&n_ctx, 4, 1, fp), fwrite(&n_vocab, 4, 1, fp), fwrite(&n_chunk, 4, 1, fp);
    for (uint32_t i = 0; i < n_ctx; i++) fwrite(&token, 4, 1, fp);
    for (long i = 0; i < 2 * row_len * rows + extra; i++) fputc(0, fp);
    return fclose(fp) ? -1 : 0;
}

/* long.txt: enough text for windows of 16 tokens; im.gguf: its imatrix */
static int make_text_fixtures(const char *T) {
    char path[700], cmd[4096];
    snprintf(path, sizeof path, "%s/long.txt", T);
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    for (int i = 0; i < 40; i++) fputs("Once upon a time there was a little girl who liked cats. ", fp);
    if (fclose(fp)) return -1;
    const struct { const char *name; int32_t n_vocab, token; long extra; } kl[] = {
        {"kl_vocab.kl", 300, 1, 0}, {"kl_token.kl", 512, 9999, 0}, {"kl_short.kl", 512, 1, -7},
        {"kl_long.kl", 512, 1, 5}};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", T, kl[i].name);
        if (write_kl_base(path, kl[i].n_vocab, kl[i].token, kl[i].extra)) return -1;
    }
    snprintf(path, sizeof path, "%s/long.txt", T);
    snprintf(cmd, sizeof cmd, "%s imatrix -m %s/good.gguf -f %s -c 16 -o %s/im.gguf", scarce_bin(),
             T, path, T);
    if (!command_exists("imatrix")) return 0; /* its rows skip */
    if (run_cmd(cmd, NULL, NULL) != 0) return -1;
    return write_lying_imatrix(T);
}

/* The bad files of the table, all derived from a small mkmodel output. */
static int make_fixtures(void) {
    char cmd[4096], path[600];
    const char *T = test_tmpdir();
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s/good.gguf --vocab %s --n-embd 64 --n-layer 1 "
             "--n-head 4 --n-head-kv 2 --n-ff 128", scarce_bin(), T,
             shared_path("models/stories260K.gguf"));
    if (run_cmd(cmd, NULL, NULL) != 0) return -1;
    snprintf(cmd, sizeof cmd, "%s/good.gguf", T);
    size_t len;
    unsigned char *good = (unsigned char *)read_file(cmd, &len);
    if (!good) return -1;
    int rc = 0;
    snprintf(path, sizeof path, "%s/empty.gguf", T);
    rc |= write_bytes(path, "", 0);
    snprintf(path, sizeof path, "%s/text.gguf", T);
    rc |= write_bytes(path, "this is not a GGUF file\n", 24);
    snprintf(path, sizeof path, "%s/half.gguf", T);
    rc |= write_bytes(path, good, len / 2);
    long at = tensor_info_at(good, len, "blk.0.attn_q.weight");
    if (at < 0) return -1;
    uint32_t n_dims;
    memcpy(&n_dims, good + at, 4);
    unsigned char *bad = malloc(len);
    memcpy(bad, good, len);
    uint32_t type = 99; /* no such ggml type */
    memcpy(bad + at + 4 + 8 * n_dims, &type, 4);
    snprintf(path, sizeof path, "%s/badtype.gguf", T);
    rc |= write_bytes(path, bad, len);
    /* ffn_up [n_embd, n_ff] -> [n_ff, n_embd]: same bytes, wrong shape */
    memcpy(bad, good, len);
    at = tensor_info_at(good, len, "blk.0.ffn_up.weight");
    if (at < 0) return -1;
    int64_t ne[2];
    memcpy(ne, good + at + 4, 16);
    int64_t swapped[2] = {ne[1], ne[0]};
    memcpy(bad + at + 4, swapped, 16);
    snprintf(path, sizeof path, "%s/badshape.gguf", T);
    rc |= write_bytes(path, bad, len);
    free(bad);
    free(good);
    snprintf(cmd, sizeof cmd, "%s/good.gguf", T);
    snprintf(path, sizeof path, "%s/novocab.gguf", T);
    rc |= write_novocab(cmd, path);
    rc |= make_text_fixtures(T);
    return rc ? -1 : 0;
}

/* 1 when PATH or PATH.tmp.* exists */
static int output_left(const char *path) {
    if (access(path, F_OK) == 0) return 1;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = 0;
    const char *base = slash + 1;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, base, strlen(base)) && strstr(e->d_name + strlen(base), ".tmp."))
            found = 1;
    closedir(d);
    return found;
}

static int command_exists(const char *cmd) {
    char line[512];
    snprintf(line, sizeof line, "%s %s -h", scarce_bin(), cmd);
    return run_cmd(line, NULL, NULL) == 0;
}

/* Checks one row; returns 1 passed, 0 failed, -1 skipped. */
static int check_row(const bad_row *r) {
    if (!command_exists(r->cmd)) return -1;
    const char *args = expand(r->args, 0), *names = expand(r->names, 1);
    const char *output = r->output ? expand(r->output, 2) : NULL;
    char line[4096], *err = NULL;
    snprintf(line, sizeof line, "%s %s %s %s", r->shell ? r->shell : "", scarce_bin(), r->cmd,
             args);
    int code = run_cmd(line, NULL, &err);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "scarce %s: ", r->cmd);
    int n_lines = 0, ok = 1;
    const char *msg = "";
    for (char *s = err ? err : ""; *s;) {
        char *nl = strchr(s, '\n');
        if (!strncmp(s, "scarce", 6)) n_lines++, msg = s;
        if (!nl) break;
        s = nl + 1;
    }
    char first[1024] = "";
    sscanf(msg, "%1023[^\n]", first);
    if (r->code ? code != r->code : code != 1 && code != 2) ok = 0;
    if (n_lines != 1 || strncmp(first, prefix, strlen(prefix)) || !strstr(first, names)) ok = 0;
    if (output && output_left(output)) ok = 0;
    if (!ok)
        test_fail_at(__FILE__, __LINE__, "scarce %s %s: exit %d (want %d), %d error lines, "
                     "'%s' (want '%s'), output %s", r->cmd, args, code, r->code, n_lines, first,
                     names, output && output_left(output) ? "LEFT BEHIND" : "none");
    printf("      %s %-5s %s %s\n", ok ? "ok  " : "FAIL", r->cmd, args, ok ? "" : first);
    free(err);
    return ok;
}

TEST(badinput_matrix) {
    NEED_SHARED("models/stories260K.gguf");
    if (!command_exists("mkmodel")) SKIP("scarce mkmodel not built");
    REQUIRE(make_fixtures() == 0);
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int r = check_row(&rows[i]);
        r > 0 ? passed++ : r == 0 ? failed++ : skipped++;
    }
    printf("      bad-input rows: %d ok, %d failed, %d skipped (command not built)\n", passed,
           failed, skipped);
}

/* The command line that must refuse hostile file h (in dir T). */
static void hostile_row(const hostile_file *h, const char *T, char *args, size_t size,
                        char *out, size_t out_size) {
    out[0] = 0;
    if (h->cmd && !strcmp(h->cmd, "quantize")) {
        snprintf(out, out_size, "%s/q-%s", T, h->file);
        snprintf(args, size, "%s/%s %s q8_0", T, h->file, out);
    } else if (h->cmd && !strcmp(h->cmd, "chat")) {
        snprintf(args, size, "-n 4 -m %s/%s </dev/null", T, h->file);
    } else {
        snprintf(args, size, "-n 4 -p 'Once upon' -m %s/%s", T, h->file);
    }
}

/* Metadata that lies (tests/hostile_meta.c): each file gives its command (run unless the
 * row says) exit 1 and one line naming the key, the piece or the tensor that disagrees.
 * The files are built by our writer from stories260K, its MoE upcycle and mkmodel files of
 * the architectures with their own keys (gemma3, deepseek2, gpt-oss). */
TEST(badinput_hostile_metadata) {
    const char *stories = shared_path("models/stories260K.gguf");
    NEED_FILE(stories);
    if (!command_exists("mkmodel")) SKIP("scarce mkmodel not built");
    const char *T = test_tmpdir();
    char cmd[4096];
    const char *paths[N_BASES];
    /* the control: each base runs as it is (hostile_make_bases runs each) */
    CHECK_MSG(hostile_make_bases(T, paths) == 0, "a base could not be made or does not run");
    REQUIRE(hostile_write_all(T, paths) == 0);
    /* the control: the same copy with an edit that does not lie runs */
    const hostile_file same = {"same.gguf", BASE_STORIES, "llama.block_count", EDIT_U32, 0, 5};
    scarce_error err = {0};
    gguf_file *f = gguf_open(stories, &err);
    REQUIRE(f);
    char path[700];
    snprintf(path, sizeof path, "%s/same.gguf", T);
    int wrote = hostile_write_one(f, &same, path);
    gguf_close(f);
    REQUIRE(wrote == 0);
    snprintf(cmd, sizeof cmd, "%s run -n 4 -p 'Once upon' -m %s", scarce_bin(), path);
    CHECK_MSG(run_cmd(cmd, NULL, NULL) == 0, "%s: the unedited copy does not run", path);
    int passed = 0;
    for (int i = 0; i < n_hostile_files; i++) {
        const hostile_file *h = &hostile_files[i];
        char args[1400], out[700];
        hostile_row(h, T, args, sizeof args, out, sizeof out);
        const bad_row row = {h->cmd ? h->cmd : "run", args, 1, h->names, out[0] ? out : NULL};
        passed += check_row(&row) > 0;
    }
    printf("      hostile metadata files: %d of %d refused as expected\n", passed, n_hostile_files);
}

/* ---- SIGINT ----------------------------------------------------------------------------------
 * Starts `sh -c "exec CMD"` (so the pid is scarce's), waits until `ready` (if not NULL) has
 * bytes (the command got to its main loop), waits delay_s more, sends SIGINT, and returns the status. */
static int interrupt_after(const char *cmd, const char *ready, double delay_s, int *signaled) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; ready && i < 2000 && (stat(ready, &st) || st.st_size == 0); i++) usleep(5000);
    struct timespec ts = {(time_t)delay_s, (long)((delay_s - (time_t)delay_s) * 1e9)};
    nanosleep(&ts, NULL);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    *signaled = WIFSIGNALED(status) || WCOREDUMP(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(badinput_sigint_run) {
    const char *vocab = shared_path("models/stories260K.gguf");
    NEED_FILE(vocab);
    char cmd[2048], out[600], err[600], model[600];
    snprintf(out, sizeof out, "%s/out.txt", test_tmpdir());
    snprintf(err, sizeof err, "%s/err.txt", test_tmpdir());
    snprintf(model, sizeof model, "%s/m.gguf", test_tmpdir());
    /* stories260K itself samples EOS within 0.1 s; this random model decoded greedily does
     * not (seed fixed), and -c is large so the context cannot fill before the signal */
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s --vocab %s --n-embd 256 --n-layer 4 --n-head 4 "
             "--n-head-kv 4 --n-ff 768 --seed 1", scarce_bin(), model, vocab);
    if (run_cmd(cmd, NULL, NULL) != 0) SKIP("scarce mkmodel not built");
    snprintf(cmd, sizeof cmd, "exec %s run -m %s -n 100000 -c 60000 --temp 0 >%s 2>%s",
             scarce_bin(), model, out, err);
    int signaled, code = interrupt_after(cmd, out, 0.3, &signaled);
    char *msg = read_file(err, NULL);
    CHECK_MSG(!signaled && code == 1, "exit %d (signal: %d), want 1", code, signaled);
    CHECK_MSG(msg && strstr(msg, "interrupted") && strstr(msg, "decode:"),
              "stderr has no summary: %s", msg ? msg : "(none)");
    free(msg);
}

TEST(badinput_sigint_mkmodel) {
    const char *vocab = shared_path("models/stories260K.gguf");
    NEED_FILE(vocab);
    char cmd[2048], outp[600], err[600];
    snprintf(outp, sizeof outp, "%s/big.gguf", test_tmpdir());
    snprintf(err, sizeof err, "%s/err.txt", test_tmpdir());
    /* 32 layers of 1024 x 4096 f32: ~2 GB, far from done after 0.3 s */
    snprintf(cmd, sizeof cmd, "exec %s mkmodel -o %s --vocab %s --n-embd 1024 --n-layer 32 "
             "--n-head 8 --n-head-kv 8 --n-ff 4096 2>%s", scarce_bin(), outp, vocab, err);
    int signaled, code = interrupt_after(cmd, NULL, 0.3, &signaled);
    char *msg = read_file(err, NULL);
    CHECK_MSG(!signaled && code == 1, "exit %d (signal: %d), want 1", code, signaled);
    CHECK_MSG(msg && !strncmp(msg, "scarce mkmodel: ", 16) && strstr(msg, outp),
              "stderr: %s", msg ? msg : "(none)");
    CHECK_MSG(!output_left(outp), "%s or its temp file left behind", outp);
    free(msg);
}

/* Found by fuzz_gguf: a key with a newline in its name made a two-line error message. */
TEST(badinput_error_one_line) {
    scarce_error err = {0};
    scarce_fail(&err, "key '%s': bad", "a\nb\x1b[2J");
    CHECK(strchr(err.msg, '\n') == NULL && strchr(err.msg, '\x1b') == NULL);
    CHECK(strstr(err.msg, "a?b?[2J") != NULL);
}

/* Found while building the --lookup-file rows: an invalid UTF-8 lead byte before a space
 * (SentencePiece's 3-byte "\u2581") makes more ids than bytes, and every caller sized its
 * ids as len + 3: such a prompt or text file was refused ("needs more than N ids"). */
TEST(badinput_prompt_more_ids_than_bytes) {
    const char *stories = shared_path("models/stories260K.gguf");
    NEED_FILE(stories);
    char prompt[400] = "", cmd[4096], path[700];
    for (int i = 0; i < 40; i++) strcat(prompt, "\\345  "); /* octal for the shell's printf */
    snprintf(cmd, sizeof cmd, "%s run -n 1 -m %s -p \"$(printf '%s%s%s%s')\"", scarce_bin(),
             stories, prompt, prompt, prompt, prompt);
    char *err = NULL;
    int rc = run_cmd(cmd, NULL, &err);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, err ? err : "");
    free(err);
    snprintf(path, sizeof path, "%s/spaces.txt", test_tmpdir());
    snprintf(cmd, sizeof cmd, "printf '%s%s%s%s' > %s && %s run -n 1 -m %s -p 'Once' --lookup-file %s",
             prompt, prompt, prompt, prompt, path, scarce_bin(), stories, path);
    err = NULL;
    rc = run_cmd(cmd, NULL, &err);
    CHECK_MSG(rc == 0, "--lookup-file: exit %d: %s", rc, err ? err : "");
    free(err);
    scarce_error e = {0};
    gguf_file *f = gguf_open(stories, &e);
    REQUIRE(f);
    tokenizer *t = tokenizer_load(f, &e);
    REQUIRE(t);
    const char text[] = "\xe5 \xe5 \xe5 \xe5 ";
    int ids[64];
    const int n = tokenizer_encode(t, text, TOKENIZE_BOS, ids, (int)tokenizer_max_ids(8), &e);
    CHECK_MSG(n > 8 + 3, "%d ids for 8 bytes: the case this test is about no longer arises", n);
    tokenizer_free(t);
    gguf_close(f);
}

/* The other side of the strict byte pieces: lower-case hex digits are a byte piece too
 * (llama.cpp reads them with strtol), so "<0x0a>" decodes to a newline. */
TEST(badinput_byte_piece_lower_case) {
    const char *stories = shared_path("models/stories260K.gguf");
    NEED_FILE(stories);
    scarce_error err = {0};
    gguf_file *f = gguf_open(stories, &err);
    REQUIRE(f);
    const hostile_file lower = {"lower.gguf", BASE_STORIES, "tokenizer.ggml.tokens", EDIT_BYTE_PIECE,
                                0, 3 + 0x0a, "<0x0a>"};
    char path[700];
    snprintf(path, sizeof path, "%s/lower.gguf", test_tmpdir());
    int wrote = hostile_write_one(f, &lower, path);
    gguf_close(f);
    REQUIRE(wrote == 0);
    REQUIRE((f = gguf_open(path, &err)));
    tokenizer *t = tokenizer_load(f, &err);
    CHECK_MSG(t, "%s", err.msg);
    if (t) {
        char out[16];
        CHECK(tokenizer_piece(t, 5, 3 + 0x0a, out, sizeof out) == 1 && out[0] == '\n');
        tokenizer_free(t);
    }
    gguf_close(f);
}
