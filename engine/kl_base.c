/* kl_base.c - llama-perplexity's KL-divergence base file (see kl_base.h). */
#include "kl_base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};

struct kl_base_file {
    FILE *fp;
    char *path, *tmp; /* tmp: the writer's temporary name until committed */
    kl_base_info info;
    int *tokens;
};

int kl_base_row_len(int n_vocab) {
    return 2 * ((n_vocab + 1) / 2) + 4;
}

kl_base_info kl_base_get_info(const kl_base_file *f) {
    return f->info;
}

int kl_base_is_file(const char *path) {
    char head[8];
    FILE *fp = fopen(path, "rb");
    int yes = fp && fread(head, 1, 8, fp) == 8 && !memcmp(head, MAGIC, 8);
    if (fp) fclose(fp);
    return yes;
}

static kl_base_file *new_file(const char *path) {
    kl_base_file *f = calloc(1, sizeof *f);
    if (f && !(f->path = strdup(path))) free(f), f = NULL;
    return f;
}

kl_base_file *kl_base_open(const char *path, scarce_error *err) {
    kl_base_file *f = new_file(path);
    if (!f) return scarce_fail(err, "%s: out of memory", path), NULL;
    char head[8];
    uint32_t n_ctx = 0;
    int32_t n_vocab = 0, n_chunk = 0;
    struct stat st;
    if (!(f->fp = fopen(path, "rb")) || fstat(fileno(f->fp), &st)) {
        scarce_fail(err, "%s: cannot open", path);
        goto fail;
    }
    if (fread(head, 1, 8, f->fp) != 8 || memcmp(head, MAGIC, 8) ||
        fread(&n_ctx, 4, 1, f->fp) != 1 || fread(&n_vocab, 4, 1, f->fp) != 1 ||
        fread(&n_chunk, 4, 1, f->fp) != 1) {
        scarce_fail(err, "%s: not a KL base file (expected \"_logits_\" and three counts)", path);
        goto fail;
    }
    if (n_ctx < 4 || n_ctx > (1u << 20) || n_vocab < 2 || n_vocab > (1 << 24) || n_chunk < 1) {
        scarce_fail(err, "%s: n_ctx %u, n_vocab %d, n_chunk %d out of range", path, n_ctx, n_vocab,
                    n_chunk);
        goto fail;
    }
    const double rows = (double)(n_ctx - 1 - n_ctx / 2) * n_chunk;
    const double want =
        20.0 + 4.0 * n_ctx * (double)n_chunk + 2.0 * kl_base_row_len(n_vocab) * rows;
    if ((double)st.st_size != want) {
        scarce_fail(err, "%s: %lld bytes, expected %.0f for %d chunks of %u x %d", path,
                    (long long)st.st_size, want, n_chunk, n_ctx, n_vocab);
        goto fail;
    }
    const size_t n_tok = (size_t)n_ctx * (size_t)n_chunk;
    if (!(f->tokens = malloc(n_tok * sizeof *f->tokens)) ||
        fread(f->tokens, sizeof *f->tokens, n_tok, f->fp) != n_tok) {
        scarce_fail(err, "%s: cannot read %zu tokens", path, n_tok);
        goto fail;
    }
    for (size_t i = 0; i < n_tok; i++)
        if (f->tokens[i] < 0 || f->tokens[i] >= n_vocab) {
            scarce_fail(err, "%s: token %zu is %d, outside the vocabulary of %d", path, i,
                        f->tokens[i], n_vocab);
            goto fail;
        }
    f->info = (kl_base_info){(int)n_ctx, n_vocab, n_chunk, f->tokens};
    return f;
fail:
    kl_base_close(f);
    return NULL;
}

kl_base_file *kl_base_create(const char *path, int n_ctx, int n_vocab, int n_chunk,
                             const int *tokens, scarce_error *err) {
    kl_base_file *f = new_file(path);
    const size_t len = strlen(path) + 32;
    if (!f || !(f->tmp = malloc(len))) {
        kl_base_close(f);
        return scarce_fail(err, "%s: out of memory", path), NULL;
    }
    snprintf(f->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    const uint32_t c = (uint32_t)n_ctx;
    const int32_t v = n_vocab, k = n_chunk;
    const size_t n_tok = (size_t)n_ctx * (size_t)n_chunk;
    if (!(f->fp = fopen(f->tmp, "wb")) || fwrite(MAGIC, 1, 8, f->fp) != 8 ||
        fwrite(&c, 4, 1, f->fp) != 1 || fwrite(&v, 4, 1, f->fp) != 1 ||
        fwrite(&k, 4, 1, f->fp) != 1 || fwrite(tokens, sizeof *tokens, n_tok, f->fp) != n_tok) {
        scarce_fail(err, "%s: cannot write", f->tmp);
        kl_base_close(f);
        return NULL;
    }
    f->info = (kl_base_info){n_ctx, n_vocab, n_chunk, tokens};
    return f;
}

int kl_base_read_row(kl_base_file *f, uint16_t *row, scarce_error *err) {
    const size_t nv = (size_t)kl_base_row_len(f->info.n_vocab);
    if (fread(row, sizeof *row, nv, f->fp) != nv)
        return scarce_fail(err, "%s: truncated log-probability row", f->path);
    return 0;
}

void kl_base_encode(const float *logits, int n_vocab, uint16_t *row) {
    float max = logits[0], lo = logits[0];
    for (int v = 1; v < n_vocab; v++) max = fmaxf(max, logits[v]), lo = fminf(lo, logits[v]);
    lo = fmaxf(lo, max - 16);
    double sum = 0;
    for (int v = 0; v < n_vocab; v++) sum += expf(logits[v] - max);
    const float lse = (float)log(sum), scale = (max - lo) / 65535.f;
    const float head[2] = {scale, lo - max - lse};
    memcpy(row, head, sizeof head);
    uint16_t *u = row + 4;
    const float inv = scale > 0 ? 1 / scale : 0;
    for (int v = 0; v < n_vocab; v++)
        u[v] = logits[v] > lo && scale > 0 ? (uint16_t)lrintf(inv * (logits[v] - lo)) : 0;
    for (int v = n_vocab; v < kl_base_row_len(n_vocab) - 4; v++) u[v] = 0;
}

int kl_base_write_row(kl_base_file *f, const float *logits, uint16_t *row, scarce_error *err) {
    const size_t nv = (size_t)kl_base_row_len(f->info.n_vocab);
    kl_base_encode(logits, f->info.n_vocab, row);
    if (fwrite(row, sizeof *row, nv, f->fp) != nv)
        return scarce_fail(err, "%s: write failed", f->tmp);
    return 0;
}

int kl_base_commit(kl_base_file *f, scarce_error *err) {
    FILE *fp = f->fp;
    f->fp = NULL;
    int bad = fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(f->tmp, f->path)) {
        unlink(f->tmp);
        return scarce_fail(err, "%s: cannot complete the file", f->path);
    }
    free(f->tmp);
    f->tmp = NULL;
    return 0;
}

void kl_base_close(kl_base_file *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    if (f->tmp) unlink(f->tmp); /* a writer that was not committed */
    free(f->tmp), free(f->path), free(f->tokens);
    free(f);
}
