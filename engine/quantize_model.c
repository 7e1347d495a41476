/* quantize_model.c - GGUF -> GGUF quantization driver (see quantize_model.h).
 *
 * Two passes over the tensor table: first every tensor's type is chosen (the header must
 * be complete before data is written), then each tensor is streamed in chunks of rows:
 * source -> f32 -> finite check -> quantize -> dequantize for the RMSE, every step of a row
 * on the thread that owns the row -> writer, which writes one chunk while the other threads
 * quantize the next. Memory stays O(chunk), whatever the model size. */
#include "quantize_model.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/pool.h"
#include "../quant/policy.h"
#include "../quant/types.h"
#include "gguf.h"
#include "imatrix.h"

enum { CHUNK_ELEMENTS = 1 << 20 }; /* floats per streamed chunk (4 MiB) */

typedef struct {
    gguf_file *in;
    imatrix_file *imatrix;
    gguf_writer *w;
    quantize_tensor_info *info;
    const quantize_opts *o;
    quantize_progress at; /* what the progress callback is told */
    thread_pool *pool;    /* NULL: one thread */
    const quant_scheme *scheme;
    /* two output buffers shared by every tensor (each the largest chunk), filled in turn:
     * the last chunk of a tensor is written while the first chunk of the next is quantized,
     * so that only the last chunk of the file is written with no quantizing beside it */
    uint8_t *buf[2];
    int next_buf;               /* the buffer the next chunk fills */
    const uint8_t *pending;     /* filled, not yet written (NULL: none) */
    size_t pending_bytes;       /* its bytes */
    int64_t pending_src_bytes;  /* the source bytes it stands for (progress) */
} job;

void quantize_report_free(quantize_report *rep) {
    if (!rep) return;
    free(rep->tensors);
    memset(rep, 0, sizeof *rep);
}

static int64_t n_elements(const gguf_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) n *= t->ne[d];
    return n;
}

/* An optional count "<arch>.<suffix>" for the policy: an integer in [lo, 2^24], or, for the
 * per-layer head counts some architectures store, an array of them (its first element
 * serves: the policy only wants a ratio). Absent: *out is unchanged. A value of another
 * type or out of range is a lying file, refused like the loader refuses it. */
static int policy_count(const gguf_file *f, const char *arch, const char *suffix, int64_t lo,
                        int64_t *out, scarce_error *err) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv) return 0;
    int64_t v;
    if (kv->type == GGUF_ARRAY) {
        const unsigned ints = GGUF_TYPE_BIT(GGUF_I32) | GGUF_TYPE_BIT(GGUF_U32);
        if (!gguf_get_array(f, key, ints, GGUF_ANY_LENGTH, err)) return -1;
        if (!kv->arr_n) return scarce_fail(err, "%s: %s is an empty array", f->path, key);
        v = gguf_arr_i64(kv, 0);
    } else if (gguf_get_i64(f, key, &v, err)) {
        return -1;
    }
    if (v < lo || v > (1 << 24))
        return scarce_fail(err, "%s: %s = %lld is out of range [%lld, %d]", f->path, key,
                           (long long)v, (long long)lo, 1 << 24);
    *out = v;
    return 0;
}

/* What policy.c needs from the metadata; missing keys are left at harmless defaults, keys
 * of the wrong type or range are refused (issue 21: no silent reinterpretation). */
static int read_policy_model(const gguf_file *f, policy_model *pm, scarce_error *err) {
    const char *arch = "llama";
    if (gguf_find(f, "general.architecture") &&
        gguf_get_string(f, "general.architecture", &arch, err))
        return -1;
    int64_t n_layer = 0, n_head = 1, n_head_kv = 0;
    if (policy_count(f, arch, "block_count", 0, &n_layer, err) ||
        policy_count(f, arch, "attention.head_count", 1, &n_head, err) ||
        policy_count(f, arch, "attention.head_count_kv", 1, &n_head_kv, err))
        return -1;
    if (!n_head_kv) n_head_kv = n_head;
    if (n_head_kv > n_head)
        return scarce_fail(err, "%s: %s.attention.head_count_kv %lld > head_count %lld", f->path,
                           arch, (long long)n_head_kv, (long long)n_head);
    pm->n_layer = (int)n_layer;
    pm->n_gqa = (int)(n_head / n_head_kv);
    int64_t n_expert = 0;
    if (policy_count(f, arch, "expert_count", 0, &n_expert, err)) return -1;
    pm->n_expert = (int)n_expert;
    pm->has_output = gguf_find_tensor(f, "output.weight") != NULL;
    return 0;
}

/* Column importances of weight `name` (ne0 values) from the imatrix file, or NULL when the
 * file has none for it. A small floor keeps columns never activated from counting zero. */
static int load_importance(const imatrix_file *im, const char *name, int64_t ne0, float **out,
                           scarce_error *err) {
    *out = NULL;
    float *imp = malloc((size_t)ne0 * sizeof *imp);
    if (!imp) return scarce_fail(err, "out of memory for the importance of %s", name);
    const int found = imatrix_get(im, name, ne0, imp, err);
    if (found != 1) {
        free(imp);
        return found;
    }
    double mean = 0;
    for (int64_t j = 0; j < ne0; j++) mean += imp[j];
    mean /= (double)ne0;
    for (int64_t j = 0; j < ne0; j++) imp[j] += (float)(1e-3 * mean + 1e-12);
    *out = imp;
    return 0;
}

/* The fastest dequantizer of a type on this CPU (kernels/cpu.h), else its reference. */
static dequantize_fn fast_dequantize(uint32_t type) {
    const type_kernels *k = kernels_for(kernels_isa(), type);
    return k && k->dequantize ? k->dequantize : qtype(type)->dequantize;
}

/* What one chunk of rows needs: where they come from and where they go. */
typedef struct {
    const gguf_tensor *t;
    const quant_type *qt;
    dequantize_fn src_to_f32, out_to_f32;
    const float *imp;
} chunk_job;

/* Adds sum (deq - x)^2 and sum x^2 of one row to *e2, *x2: double sums in LANES lanes
 * (element j in lane j % LANES, added in lane order), so the loop vectorises where one
 * running double sum waits a full add latency per element. */
static void error_sums(const float *x, const float *deq, int64_t n, double *e2, double *x2) {
    enum { LANES = 8 };
    double e[LANES] = {0}, s[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            const double d = (double)deq[j + l] - x[j + l];
            e[l] += d * d, s[l] += (double)x[j + l] * x[j + l];
        }
    for (; j < n; j++) {
        const double d = (double)deq[j] - x[j];
        e[j % LANES] += d * d, s[j % LANES] += (double)x[j] * x[j];
    }
    for (int l = 0; l < LANES; l++) *e2 += e[l], *x2 += s[l];
}

/* Quantizes row r (of the tensor) into out: read from the mmap, converted, checked,
 * quantized and dequantized again (for the RMSE) on the calling thread, x and deq its row
 * buffers. Adds the squared error and the source's sum of squares to *e2, *s2; returns 0,
 * or -1 when the row holds a NaN/Inf. */
static int quantize_row(const chunk_job *c, int64_t r, uint8_t *out, float *x, float *deq,
                        double *e2, double *s2) {
    const int64_t ne0 = c->t->ne[0];
    const size_t src_bytes = qtype_row_bytes(c->t->type, ne0);
    c->src_to_f32((const uint8_t *)c->t->data + (size_t)r * src_bytes, x, ne0);
    if (quant_check_finite(x, ne0) >= 0) return -1;
    c->qt->quantize(x, out, ne0, c->imp);
    c->out_to_f32(out, deq, ne0);
    error_sums(x, deq, ne0, e2, s2);
    return 0;
}

/* The error for a NaN/Inf in row r of t (the first such element). */
static int non_finite(const gguf_tensor *t, int64_t r, float *x, scarce_error *err) {
    const int64_t ne0 = t->ne[0];
    qtype(t->type)->dequantize((const uint8_t *)t->data + (size_t)r * qtype_row_bytes(t->type, ne0),
                               x, ne0);
    const int64_t idx = r * ne0 + quant_check_finite(x, ne0);
    return scarce_fail(err,
                       "tensor %s: element %lld (row %lld, column %lld) is %g: the input "
                       "must be finite",
                       t->name, (long long)idx, (long long)(idx / ne0), (long long)(idx % ne0),
                       x[idx % ne0]);
}

/* One chunk of rows for the thread pool: rows [r0, r0 + n) into out, and (by the caller,
 * thread 0, before its first rows) the write of the chunk before it, of this tensor or of
 * the one before. */
typedef struct {
    const chunk_job *c;
    job *jb;
    int64_t r0, n;
    uint8_t *out;
    size_t row_bytes;
    float *x, *deq;       /* a row of each per thread */
    double *e2, *s2;      /* per thread */
    int64_t *bad_row;     /* per thread: the first row holding a NaN/Inf, or INT64_MAX */
    int write;            /* 1: thread 0 writes jb->pending first */
    int write_failed, cancelled;
    scarce_error *err;
} chunk_task;

/* Writes the pending chunk, then reports progress and reads the cancel flag (on the
 * calling thread, between chunks, as before). Returns -1 on a failed write or a cancel. */
static int write_pending(job *jb, scarce_error *err) {
    if (!jb->pending) return 0;
    const uint8_t *p = jb->pending;
    jb->pending = NULL;
    if (gguf_writer_write(jb->w, p, jb->pending_bytes, err)) return -1;
    if (jb->o->cancel && *jb->o->cancel)
        return scarce_fail(err, "interrupted at tensor %s: nothing written", jb->at.name);
    jb->at.bytes_done += jb->pending_src_bytes;
    if (jb->o->progress) jb->o->progress(jb->o->progress_ctx, &jb->at);
    return 0;
}

static void write_chunk(chunk_task *ct) {
    ct->write = 0;
    if (write_pending(ct->jb, ct->err)) ct->write_failed = 1;
}

static int chunk_rows(void *arg, int64_t i0, int64_t i1, int thread) {
    chunk_task *ct = arg;
    if (thread == 0 && ct->write) write_chunk(ct); /* the others take rows meanwhile */
    const int64_t ne0 = ct->c->t->ne[0];
    float *x = ct->x + (size_t)thread * ne0, *deq = ct->deq + (size_t)thread * ne0;
    for (int64_t r = i0; r < i1; r++)
        if (quantize_row(ct->c, ct->r0 + r, ct->out + (size_t)r * ct->row_bytes, x, deq,
                         &ct->e2[thread], &ct->s2[thread]) &&
            ct->r0 + r < ct->bad_row[thread])
            ct->bad_row[thread] = ct->r0 + r;
    return 0;
}

/* Rows of a tensor in one streamed chunk (its output at most CHUNK_ELEMENTS floats' worth
 * of rows, at least one row). */
static int64_t chunk_rows_of(int64_t ne0, int64_t rows) {
    int64_t chunk = CHUNK_ELEMENTS / ne0;
    if (chunk < 1) chunk = 1;
    return chunk > rows ? rows : chunk;
}

/* Streams the tensor in chunks of rows through the job's two output buffers, the rows of a
 * chunk on the pool (kernels/pool.h: the caller works too, idle workers sleep, rows are
 * taken from a thread that is late): while the caller writes chunk k (of this tensor or,
 * for the first chunk, the last of the tensor before), the workers quantize chunk k + 1,
 * and the caller joins them after its write. Before, each chunk was an OpenMP region whose
 * write ran alone with the other threads spinning: on this loaded 2-core Xeon SPR, a q8_0
 * run of SmolLM2 took 12.0 s (5.6 s CPU) with OpenMP's spinning wait and 6.2 s (2.9 s CPU)
 * with OMP_WAIT_POLICY=passive. And before the buffers were shared, a tensor's last chunk
 * was written alone, which was every tensor of one chunk: all of SmolLM2's but the
 * embedding. Bytes are the same: each row is quantized by itself into its place. The last
 * chunk is left pending in jb (the caller writes it). */
static int stream_tensor(job *jb, const gguf_tensor *t, quantize_tensor_info *info,
                         scarce_error *err) {
    const quant_type *qt = qtype(info->type);
    const int64_t ne0 = t->ne[0], rows = info->n_elements / ne0;
    const int64_t chunk = chunk_rows_of(ne0, rows);
    const size_t row_bytes = qtype_row_bytes(info->type, ne0);
    const int64_t src_row_bytes = (int64_t)qtype_row_bytes(t->type, ne0);
    const int nt = jb->pool ? pool_threads(jb->pool) : 1;
    float *x = malloc((size_t)(nt * ne0) * sizeof *x);
    float *deq = malloc((size_t)(nt * ne0) * sizeof *deq);
    double *sums = calloc(2 * (size_t)nt, sizeof *sums);
    int64_t *bad = malloc((size_t)nt * sizeof *bad);
    float *imp = NULL;
    int rc = -1;
    if (!x || !deq || !sums || !bad) {
        scarce_fail(err, "tensor %s: out of memory for %lld rows", t->name, (long long)chunk);
        goto done;
    }
    if (jb->imatrix && load_importance(jb->imatrix, t->name, ne0, &imp, err)) goto done;
    info->has_importance = imp != NULL;
    if (!imp && policy_needs_imatrix(jb->scheme, t->name, info->type)) {
        scarce_fail(err, "tensor %s: the importance matrix has no entry for it, which %s needs",
                    t->name, qt->name);
        goto done;
    }
    const chunk_job c = {t, qt, fast_dequantize(t->type), fast_dequantize(qt->id), imp};
    for (int i = 0; i < nt; i++) bad[i] = INT64_MAX;
    chunk_task ct = {.c = &c,
                     .jb = jb,
                     .row_bytes = row_bytes,
                     .x = x,
                     .deq = deq,
                     .e2 = sums,
                     .s2 = sums + nt,
                     .bad_row = bad,
                     .err = err};
    int64_t bad_row = INT64_MAX;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        ct.r0 = r0, ct.n = rows - r0 < chunk ? rows - r0 : chunk;
        ct.out = jb->buf[jb->next_buf];
        ct.write = jb->pending != NULL;
        const pool_task task = {
            .fn = chunk_rows, .arg = &ct, .n_items = ct.n, .piece = 1, .steal = 1};
        if (jb->pool)
            pool_run(jb->pool, &task);
        else
            chunk_rows(&ct, 0, ct.n, 0);
        if (ct.write) write_chunk(&ct); /* no rows reached thread 0 */
        for (int i = 0; i < nt; i++) bad_row = bad[i] < bad_row ? bad[i] : bad_row;
        if (bad_row < rows || ct.write_failed) break;
        jb->pending = ct.out, jb->pending_bytes = (size_t)ct.n * row_bytes;
        jb->pending_src_bytes = ct.n * src_row_bytes;
        jb->next_buf ^= 1;
    }
    if (bad_row < rows) {
        non_finite(t, bad_row, x, err);
        goto done;
    }
    if (ct.write_failed) goto done;
    double err2 = 0, x2 = 0; /* in thread order */
    for (int i = 0; i < nt; i++) err2 += ct.e2[i], x2 += ct.s2[i];
    info->rmse = sqrt(err2 / (double)info->n_elements);
    info->rms_source = sqrt(x2 / (double)info->n_elements);
    rc = 0;
done:
    free(x), free(deq), free(sums), free(bad), free(imp);
    return rc;
}

/* Chooses every tensor's type and declares it to the writer. */
static int plan(job *jb, const quant_scheme *s, const policy_model *pm, quantize_report *rep,
                scarce_error *err) {
    const gguf_file *f = jb->in;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        quantize_tensor_info *info = &jb->info[i];
        if (!qtype(t->type) || !qtype(t->type)->dequantize)
            return scarce_fail(err, "%s: tensor %s has type %u, which cannot be read", f->path,
                               t->name, t->type);
        snprintf(info->name, sizeof info->name, "%s", t->name);
        info->src_type = t->type;
        info->n_dims = t->n_dims;
        memcpy(info->ne, t->ne, sizeof info->ne);
        info->n_elements = n_elements(t);
        info->type = policy_tensor_type(s, pm, t->name, t->n_dims, t->ne[0], info->reason,
                                        sizeof info->reason);
        if (!jb->imatrix && policy_needs_imatrix(s, t->name, info->type))
            return scarce_fail(err,
                               "%s needs an importance matrix (--imatrix FILE, made by scarce "
                               "imatrix or llama-imatrix): tensor %s would be %s, whose "
                               "codebook search must know which columns matter (llama.cpp "
                               "refuses it too)",
                               s->name, t->name, qtype(info->type)->name);
        info->bytes = qtype_row_bytes(info->type, t->ne[0]) * (size_t)(info->n_elements / t->ne[0]);
        if (t->type != QT_F32 && t->type != QT_F16 && t->type != QT_BF16)
            rep->dequantized_input = 1;
        if (gguf_writer_add_tensor(jb->w, t->name, info->type, t->n_dims, t->ne, err)) return -1;
        rep->total_bytes += info->bytes;
        rep->n_elements += info->n_elements;
    }
    return 0;
}

/* Metadata: everything from the input but the keys this run decides. */
static void write_metadata(job *jb, const quant_scheme *s, int n_tensors) {
    const gguf_file *f = jb->in;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const char *key = f->kv[i].key;
        if (!strcmp(key, "general.file_type") || !strcmp(key, "scarce.types") ||
            !strcmp(key, "general.quantization_version"))
            continue;
        gguf_writer_copy_kv(jb->w, &f->kv[i]);
    }
    gguf_writer_set_u32(jb->w, "general.file_type", s->file_type);
    int quantized = 0;
    const char *own[8];
    int n_own = 0;
    for (int i = 0; i < n_tensors; i++) {
        const quant_type *qt = qtype(jb->info[i].type);
        if (qt->block > 1) quantized = 1;
        if (!qt->is_scarce) continue;
        int seen = 0;
        for (int k = 0; k < n_own; k++) seen |= !strcmp(own[k], qt->name);
        if (!seen && n_own < 8) own[n_own++] = qt->name;
    }
    if (quantized) gguf_writer_set_u32(jb->w, "general.quantization_version", 2);
    if (n_own) gguf_writer_set_arr_str(jb->w, "scarce.types", own, (uint64_t)n_own);
}

static int run(job *jb, const char *out, const quant_scheme *s, const policy_model *pm,
               quantize_report *rep, scarce_error *err) {
    const int n = (int)jb->in->n_tensors;
    if (plan(jb, s, pm, rep, err)) return -1;
    write_metadata(jb, s, n);
    if (gguf_writer_open(jb->w, out, err)) return -1;
    jb->at.n_tensors = n;
    size_t buf_bytes = 1;
    for (int i = 0; i < n; i++) {
        const int64_t ne0 = jb->in->tensors[i].ne[0], rows = jb->info[i].n_elements / ne0;
        const size_t b = (size_t)chunk_rows_of(ne0, rows) * qtype_row_bytes(jb->info[i].type, ne0);
        buf_bytes = b > buf_bytes ? b : buf_bytes;
        jb->at.bytes_total += (int64_t)jb->in->tensors[i].bytes;
    }
    if (!(jb->buf[0] = malloc(buf_bytes)) || !(jb->buf[1] = malloc(buf_bytes)))
        return scarce_fail(err, "out of memory for two chunks of %zu bytes", buf_bytes);
    for (int i = 0; i < n; i++) {
        jb->at.tensor = i, jb->at.name = jb->info[i].name;
        if (stream_tensor(jb, &jb->in->tensors[i], &jb->info[i], err)) return -1;
        rep->n_imatrix_used += jb->info[i].has_importance;
    }
    if (write_pending(jb, err)) return -1; /* the last chunk: alone, then the fsync */
    return gguf_writer_finish(jb->w, err);
}

int quantize_model(const char *in, const char *out, const char *type_name,
                   const quantize_opts *opts, quantize_report *rep, scarce_error *err) {
    quantize_opts no_opts = {0};
    quantize_report local;
    const quantize_opts *o = opts ? opts : &no_opts;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    const quant_scheme *s = quant_scheme_by_name(type_name);
    if (!s) return scarce_fail(err, "unknown type '%s' (see scarce quantize -h)", type_name);
    job jb = {.o = o, .scheme = s};
    int rc = -1;
    if (!(jb.in = gguf_open(in, err))) goto done;
    if (o->imatrix_path && !(jb.imatrix = imatrix_open(o->imatrix_path, err))) goto done;
    policy_model pm = {.has_imatrix = jb.imatrix != NULL, .pure = o->pure};
    if (read_policy_model(jb.in, &pm, err)) goto done;
    if (jb.imatrix) rep->imatrix_chunks = imatrix_chunks(jb.imatrix);
    jb.info = calloc(jb.in->n_tensors ? jb.in->n_tensors : 1, sizeof *jb.info);
    jb.w = gguf_writer_new();
    const int n_threads = o->n_threads > 0 ? o->n_threads : omp_get_max_threads();
    char msg[128];
    if (n_threads > 1 && !(jb.pool = pool_new(n_threads, msg))) {
        scarce_fail(err, "quantize: %s", msg);
        goto done;
    }
    if (!jb.info || !jb.w) {
        scarce_fail(err, "out of memory for %s's tensor table", in);
        goto done;
    }
    rep->file_type = s->file_type;
    rc = run(&jb, out, s, &pm, rep, err);
done:
    pool_free(jb.pool);
    free(jb.buf[0]), free(jb.buf[1]);
    gguf_writer_free(jb.w); /* before finish() this removes the temporary file */
    if (rc == 0) {
        rep->n_tensors = (int)jb.in->n_tensors;
        rep->tensors = jb.info;
        rep->bits_per_weight =
            rep->n_elements ? 8.0 * (double)rep->total_bytes / (double)rep->n_elements : 0;
        jb.info = NULL;
    }
    free(jb.info);
    gguf_close(jb.in);
    imatrix_close(jb.imatrix);
    if (rep == &local) quantize_report_free(rep);
    return rc;
}
