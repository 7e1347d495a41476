/* gguf_write.c - GGUF v3 writer: keys in insertion order, tensors streamed in declaration
 * order, each aligned; the file appears under its name only when complete (temp + fsync +
 * rename), so an interrupted write never leaves a half file behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../quant/types.h"
#include "gguf.h"

/* One key: its value is kept already encoded (everything after the u32 type). */
typedef struct {
    char *key;
    uint32_t type;
    uint8_t *blob;
    size_t blob_len;
} wkv;

typedef struct {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t offset, bytes;
} wtensor;

struct gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
    int oom; /* a setter failed to allocate: open() reports it */
    /* open file state */
    FILE *fp;
    char *path, *tmp_path;
    size_t alignment;
    size_t cur;          /* tensor being written */
    uint64_t cur_done;   /* its bytes written so far */
    uint64_t data_end;   /* offsets are laid out up to here */
    uint64_t written;    /* bytes handed to the file so far */
    uint64_t flushed;    /* of which write-back has been started up to here */
};

/* ---- growable byte buffer used to encode values ------------------------------------------ */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} bytes_buf;

static void put(bytes_buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(bytes_buf *b, uint32_t v) {
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, le, 4);
}

static void put_u64(bytes_buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(bytes_buf *b, const char *s, uint64_t len) {
    put_u64(b, len);
    put(b, s, len);
}

/* ---- keys -------------------------------------------------------------------------------- */

gguf_writer *gguf_writer_new(void) { return calloc(1, sizeof(gguf_writer)); }

static wkv *find_wkv(gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) return &w->kv[i];
    return NULL;
}

/* Stores an encoded value under key: replaces in place or appends. Takes the buffer. */
static void set_blob(gguf_writer *w, const char *key, uint32_t type, bytes_buf *b) {
    if (b->oom || w->fp || !key || !*key) { /* keys are fixed once the header is written */
        w->oom = 1;
        free(b->p);
        return;
    }
    wkv *kv = find_wkv(w, key);
    if (!kv) {
        if (w->n_kv == w->cap_kv) {
            size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
            wkv *p = realloc(w->kv, cap * sizeof *p);
            if (!p) {
                w->oom = 1;
                free(b->p);
                return;
            }
            w->kv = p, w->cap_kv = cap;
        }
        kv = &w->kv[w->n_kv];
        *kv = (wkv){.key = strdup(key)};
        if (!kv->key) {
            w->oom = 1;
            free(b->p);
            return;
        }
        w->n_kv++;
    }
    free(kv->blob);
    kv->type = type;
    kv->blob = b->p;
    kv->blob_len = b->len;
}

static void set_scalar(gguf_writer *w, const char *key, uint32_t type, uint64_t raw) {
    bytes_buf b = {0};
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(raw >> (8 * i));
    put(&b, le, gguf_vtype_size(type));
    set_blob(w, key, type, &b);
}

void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    set_scalar(w, key, GGUF_U32, v);
}
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    set_scalar(w, key, GGUF_I32, (uint32_t)v);
}
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) {
    set_scalar(w, key, GGUF_U64, v);
}
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    set_scalar(w, key, GGUF_F32, u);
}
void gguf_writer_set_bool(gguf_writer *w, const char *key, int v) {
    set_scalar(w, key, GGUF_BOOL, v != 0);
}

void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v) {
    bytes_buf b = {0};
    put_str(&b, v, strlen(v));
    set_blob(w, key, GGUF_STRING, &b);
}

static void set_arr_str_len(gguf_writer *w, const char *key, char *const *v,
                            const uint64_t *len, uint64_t n) {
    bytes_buf b = {0};
    put_u32(&b, GGUF_STRING);
    put_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) put_str(&b, v[i], len ? len[i] : strlen(v[i]));
    set_blob(w, key, GGUF_ARRAY, &b);
}

void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, uint64_t n) {
    set_arr_str_len(w, key, (char *const *)v, NULL, n);
}

void gguf_writer_set_arr(gguf_writer *w, const char *key, uint32_t type, const void *data,
                         uint64_t n) {
    bytes_buf b = {0};
    size_t sz = gguf_vtype_size(type);
    if (!sz || n > SIZE_MAX / sz) b.oom = 1;
    put_u32(&b, type);
    put_u64(&b, n);
    if (!b.oom) put(&b, data, n * sz);
    set_blob(w, key, GGUF_ARRAY, &b);
}

void gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv) {
    bytes_buf b = {0};
    if (kv->type == GGUF_STRING) {
        put_str(&b, kv->str, kv->str_len);
    } else if (kv->type == GGUF_ARRAY && kv->arr_type == GGUF_STRING) {
        set_arr_str_len(w, kv->key, kv->arr_str, kv->arr_str_len, kv->arr_n);
        return;
    } else if (kv->type == GGUF_ARRAY) {
        gguf_writer_set_arr(w, kv->key, kv->arr_type, kv->arr_data, kv->arr_n);
        return;
    } else if (kv->type == GGUF_F32) {
        float f = (float)kv->f64;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_u32(&b, u);
    } else if (kv->type == GGUF_F64) {
        uint64_t u;
        memcpy(&u, &kv->f64, 8);
        put_u64(&b, u);
    } else { /* integers and bool: the low bytes of the two's complement value */
        uint64_t raw = kv->u64;
        uint8_t le[8];
        for (int i = 0; i < 8; i++) le[i] = (uint8_t)(raw >> (8 * i));
        if (!gguf_vtype_size(kv->type)) b.oom = 1;
        put(&b, le, gguf_vtype_size(kv->type));
    }
    set_blob(w, kv->key, kv->type, &b);
}

void gguf_writer_remove(gguf_writer *w, const char *key) {
    wkv *kv = find_wkv(w, key);
    if (!kv || w->fp) return;
    free(kv->key);
    free(kv->blob);
    size_t i = (size_t)(kv - w->kv);
    memmove(kv, kv + 1, (w->n_kv - i - 1) * sizeof *kv);
    w->n_kv--;
}

/* ---- tensors ----------------------------------------------------------------------------- */

int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, int n_dims,
                           const int64_t *ne, scarce_error *err) {
    if (w->fp) return scarce_fail(err, "tensor %s: added after the file was opened", name);
    if (!name || !*name) return scarce_fail(err, "tensor name is empty");
    const quant_type *qt = qtype(type);
    if (!qt) return scarce_fail(err, "tensor %s: unknown type id %u", name, type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return scarce_fail(err, "tensor %s: n_dims %d, expected 1..%d", name, n_dims,
                           GGUF_MAX_DIMS);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name))
            return scarce_fail(err, "tensor %s: declared twice", name);
    wtensor t = {.type = type, .n_dims = n_dims, .ne = {1, 1, 1, 1}};
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0) return scarce_fail(err, "tensor %s: ne[%d] = %lld", name, d, (long long)ne[d]);
        t.ne[d] = ne[d];
    }
    if (t.ne[0] % qt->block)
        return scarce_fail(err, "tensor %s: row length %lld is not a multiple of %s's block %d",
                           name, (long long)t.ne[0], qt->name, qt->block);
    t.bytes = qtype_row_bytes(type, t.ne[0]);
    for (int d = 1; d < GGUF_MAX_DIMS; d++) {
        if (t.ne[d] && t.bytes > UINT64_MAX / 2 / (uint64_t)t.ne[d])
            return scarce_fail(err, "tensor %s: size overflows", name);
        t.bytes *= (uint64_t)t.ne[d];
    }
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        wtensor *p = realloc(w->tensors, cap * sizeof *p);
        if (!p) return scarce_fail(err, "tensor %s: out of memory", name);
        w->tensors = p, w->cap_tensors = cap;
    }
    if (!(t.name = strdup(name))) return scarce_fail(err, "tensor %s: out of memory", name);
    w->tensors[w->n_tensors++] = t;
    return 0;
}

/* ---- file -------------------------------------------------------------------------------- */

enum { WRITEBACK_BYTES = 8 << 20 };

static int write_all(gguf_writer *w, const void *p, size_t n, scarce_error *err) {
    if (n && fwrite(p, 1, n, w->fp) != n)
        return scarce_fail(err, "%s: write failed: %s", w->tmp_path, strerror(errno));
    w->written += n;
    return 0;
}

/* Starts the write-back of what was written since the last call, every WRITEBACK_BYTES,
 * without waiting for it, so that the fsync at the end finds most of the file on disk
 * already and the disk works while the quantizer does (a hint: its failure changes
 * nothing, the fsync still decides). */
static void start_writeback(gguf_writer *w) {
#ifdef SYNC_FILE_RANGE_WRITE
    if (w->written - w->flushed < WRITEBACK_BYTES || fflush(w->fp) != 0) return;
    sync_file_range(fileno(w->fp), (off_t)w->flushed, (off_t)(w->written - w->flushed),
                    SYNC_FILE_RANGE_WRITE);
    w->flushed = w->written;
#else
    (void)w;
#endif
}

static int write_padding(gguf_writer *w, uint64_t pos, scarce_error *err) {
    static const uint8_t zeros[256];
    size_t pad = (w->alignment - pos % w->alignment) % w->alignment;
    while (pad) {
        size_t n = pad < sizeof zeros ? pad : sizeof zeros;
        if (write_all(w, zeros, n, err)) return -1;
        pad -= n;
    }
    return 0;
}

/* Alignment from general.alignment when set (as a u32 power of two, at most
 * MAX_WRITE_ALIGNMENT), else the default. The cap: each tensor pads up to the alignment, and a
 * fuzzed 2^31 had the writer put gigabytes of zeros on disk (fuzz_model timed out in write);
 * files in the wild use 32. */
#define MAX_WRITE_ALIGNMENT (1u << 20)
static int writer_alignment(gguf_writer *w, scarce_error *err) {
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    wkv *kv = find_wkv(w, "general.alignment");
    if (!kv) return 0;
    uint32_t a = 0;
    if (kv->type == GGUF_U32) a = (uint32_t)kv->blob[0] | (uint32_t)kv->blob[1] << 8 |
                                  (uint32_t)kv->blob[2] << 16 | (uint32_t)kv->blob[3] << 24;
    if (!a || (a & (a - 1)))
        return scarce_fail(err, "%s: general.alignment must be a u32 power of two", w->path);
    if (a > MAX_WRITE_ALIGNMENT)
        return scarce_fail(err, "%s: general.alignment %u is above the %u this writer pads to",
                           w->path, a, MAX_WRITE_ALIGNMENT);
    w->alignment = a;
    return 0;
}

/* Header, keys and tensor infos, with offsets laid out in declaration order. */
static int write_header(gguf_writer *w, scarce_error *err) {
    bytes_buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, w->n_tensors);
    put_u64(&b, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(&b, w->kv[i].key, strlen(w->kv[i].key));
        put_u32(&b, w->kv[i].type);
        put(&b, w->kv[i].blob, w->kv[i].blob_len);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        put_str(&b, t->name, strlen(t->name));
        put_u32(&b, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&b, (uint64_t)t->ne[d]);
        put_u32(&b, t->type);
        t->offset = offset;
        put_u64(&b, offset);
        offset += t->bytes + (w->alignment - t->bytes % w->alignment) % w->alignment;
    }
    int rc = b.oom ? scarce_fail(err, "%s: out of memory", w->path)
                   : write_all(w, b.p, b.len, err);
    if (!rc) rc = write_padding(w, b.len, err);
    free(b.p);
    return rc;
}

int gguf_writer_open(gguf_writer *w, const char *path, scarce_error *err) {
    if (w->fp) return scarce_fail(err, "%s: writer already open", path);
    if (w->oom) return scarce_fail(err, "%s: out of memory or invalid key while setting keys", path);
    size_t n = strlen(path) + 32;
    w->path = strdup(path);
    w->tmp_path = malloc(n);
    if (!w->path || !w->tmp_path) return scarce_fail(err, "%s: out of memory", path);
    snprintf(w->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    if (writer_alignment(w, err)) return -1;
    int fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return scarce_fail(err, "%s: cannot create: %s", w->tmp_path, strerror(errno));
    w->fp = fdopen(fd, "wb");
    if (!w->fp) {
        close(fd);
        unlink(w->tmp_path);
        return scarce_fail(err, "%s: fdopen failed", w->tmp_path);
    }
    setvbuf(w->fp, NULL, _IOFBF, 1 << 20);
    w->cur = 0, w->cur_done = 0, w->written = 0, w->flushed = 0;
    return write_header(w, err);
}

int gguf_writer_write(gguf_writer *w, const void *data, size_t bytes, scarce_error *err) {
    if (!w->fp) return scarce_fail(err, "gguf writer: write before open");
    const char *p = data;
    while (bytes) {
        if (w->cur >= w->n_tensors)
            return scarce_fail(err, "%s: %zu bytes written after the last tensor", w->path, bytes);
        wtensor *t = &w->tensors[w->cur];
        uint64_t left = t->bytes - w->cur_done;
        size_t n = bytes < left ? bytes : (size_t)left;
        if (write_all(w, p, n, err)) return -1;
        p += n, bytes -= n, w->cur_done += n;
        if (w->cur_done == t->bytes) { /* tensor complete: pad so the next one is aligned */
            if (write_padding(w, t->bytes, err)) return -1;
            w->cur++, w->cur_done = 0;
        }
        /* a zero-byte tensor is complete without data */
        while (w->cur < w->n_tensors && w->tensors[w->cur].bytes == 0) w->cur++;
    }
    start_writeback(w);
    return 0;
}

static int fsync_dir(const char *path) {
    char *dir = strdup(path);
    if (!dir) return -1;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int gguf_writer_finish(gguf_writer *w, scarce_error *err) {
    if (!w->fp) return scarce_fail(err, "gguf writer: finish before open");
    while (w->cur < w->n_tensors && w->tensors[w->cur].bytes == 0) w->cur++;
    if (w->cur < w->n_tensors)
        return scarce_fail(err, "%s: tensor %s has %llu of its %llu bytes", w->path,
                           w->tensors[w->cur].name, (unsigned long long)w->cur_done,
                           (unsigned long long)w->tensors[w->cur].bytes);
    FILE *fp = w->fp;
    w->fp = NULL;
    int bad = fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(w->tmp_path, w->path) != 0) {
        int e = errno;
        unlink(w->tmp_path);
        return scarce_fail(err, "%s: cannot complete the file: %s", w->path, strerror(e));
    }
    free(w->tmp_path);
    w->tmp_path = NULL; /* renamed: nothing to remove any more */
    if (fsync_dir(w->path) != 0)
        return scarce_fail(err, "%s: written, but fsync of its directory failed", w->path);
    return 0;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    if (w->fp) {
        fclose(w->fp);
        unlink(w->tmp_path);
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].blob);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->kv);
    free(w->tensors);
    free(w->path);
    free(w->tmp_path);
    free(w);
}

int gguf_writer_write_tensors_of(gguf_writer *w, const gguf_file *f, const char *path,
                                 scarce_error *err) {
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        rc = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, err);
    }
    rc = rc || gguf_writer_open(w, path, err);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++)
        rc = gguf_writer_write(w, f->tensors[i].data, f->tensors[i].bytes, err);
    return rc || gguf_writer_finish(w, err) ? -1 : 0;
}
