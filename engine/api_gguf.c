/* api_gguf.c - include/scarce.h's GGUF writer (engine/gguf_write.c behind the public types:
 * formats by name, a status and a message for every failure) and the reader's look-ups by
 * name (the tables themselves: api_info.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "api_impl.h"
#include "gguf.h"

/* ---- reading: look-ups by name -------------------------------------------------------- */

const char *scarce_gguf_error(const scarce_gguf *g) {
    return g ? g->error : "scarce_gguf_error: NULL file";
}

int64_t scarce_gguf_find_key(const scarce_gguf *g, const char *key) {
    const gguf_kv *kv = g && key ? gguf_find(g->f, key) : NULL;
    return kv ? kv - g->f->kv : -1;
}

int64_t scarce_gguf_find_tensor(const scarce_gguf *g, const char *name) {
    const gguf_tensor *t = g && name ? gguf_find_tensor(g->f, name) : NULL;
    return t ? t - g->f->tensors : -1;
}

const void *scarce_gguf_tensor_data(const scarce_gguf *g, uint64_t i) {
    return g && i < g->f->n_tensors ? g->f->tensors[i].data : NULL;
}

int scarce_gguf_get_int(scarce_gguf *g, const char *key, int64_t *out) {
    if (!g || !key || !out) return SCARCE_ERR_ARGUMENT;
    scarce_error err = {0};
    return gguf_get_i64(g->f, key, out, &err) ? api_fail_err(g->error, SCARCE_ERR_FORMAT, &err)
                                              : SCARCE_OK;
}

int scarce_gguf_get_str(scarce_gguf *g, const char *key, const char **out) {
    if (!g || !key || !out) return SCARCE_ERR_ARGUMENT;
    scarce_error err = {0};
    return gguf_get_string(g->f, key, out, &err) ? api_fail_err(g->error, SCARCE_ERR_FORMAT, &err)
                                                 : SCARCE_OK;
}

/* ---- writing -------------------------------------------------------------------------- */

/* Keys and tensors are set, then the file is open, then done; a failed open, write or
 * finish leaves the writer broken (only free is left). */
enum { W_KEYS, W_OPEN, W_DONE, W_BROKEN };

struct scarce_gguf_writer {
    gguf_writer *w;
    int state;                  /* W_* */
    int set_status;             /* of the first failed set: open returns it */
    uint64_t declared, written; /* tensor data bytes */
    char error[API_ERROR_CAP];
};

int scarce_gguf_writer_new(scarce_gguf_writer **out) {
    if (!out) return SCARCE_ERR_ARGUMENT;
    scarce_gguf_writer *w = calloc(1, sizeof *w);
    if (w && !(w->w = gguf_writer_new())) free(w), w = NULL;
    *out = w;
    return w ? SCARCE_OK : SCARCE_ERR_MEMORY;
}

void scarce_gguf_writer_free(scarce_gguf_writer *w) {
    if (!w) return;
    gguf_writer_free(w->w); /* before finish: removes the temporary file */
    free(w);
}

const char *scarce_gguf_writer_error(const scarce_gguf_writer *w) {
    return w ? w->error : "scarce_gguf_writer_error: NULL writer";
}

/* A failed set: the message, and open will fail with its status. */
static int set_failed(scarce_gguf_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int set_failed(scarce_gguf_writer *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    if (!w->set_status) w->set_status = SCARCE_ERR_ARGUMENT;
    return SCARCE_ERR_ARGUMENT;
}

/* 0 when a key may be set now; else the status (w NULL: SCARCE_ERR_ARGUMENT alone). */
static int key_ok(scarce_gguf_writer *w, const char *key, int have_value) {
    if (!w) return SCARCE_ERR_ARGUMENT;
    if (!key || !*key) return set_failed(w, "gguf writer: the key is NULL or empty");
    if (!have_value) return set_failed(w, "gguf writer: %s: the value is NULL", key);
    if (w->state != W_KEYS)
        return set_failed(w, "gguf writer: %s: set after the file was opened", key);
    return 0;
}

int scarce_gguf_writer_set_u32(scarce_gguf_writer *w, const char *key, uint32_t v) {
    const int rc = key_ok(w, key, 1);
    if (!rc) gguf_writer_set_u32(w->w, key, v);
    return rc;
}

int scarce_gguf_writer_set_i32(scarce_gguf_writer *w, const char *key, int32_t v) {
    const int rc = key_ok(w, key, 1);
    if (!rc) gguf_writer_set_i32(w->w, key, v);
    return rc;
}

int scarce_gguf_writer_set_u64(scarce_gguf_writer *w, const char *key, uint64_t v) {
    const int rc = key_ok(w, key, 1);
    if (!rc) gguf_writer_set_u64(w->w, key, v);
    return rc;
}

int scarce_gguf_writer_set_f32(scarce_gguf_writer *w, const char *key, float v) {
    const int rc = key_ok(w, key, 1);
    if (!rc) gguf_writer_set_f32(w->w, key, v);
    return rc;
}

int scarce_gguf_writer_set_bool(scarce_gguf_writer *w, const char *key, int v) {
    const int rc = key_ok(w, key, 1);
    if (!rc) gguf_writer_set_bool(w->w, key, v);
    return rc;
}

int scarce_gguf_writer_set_str(scarce_gguf_writer *w, const char *key, const char *v) {
    const int rc = key_ok(w, key, v != NULL);
    if (!rc) gguf_writer_set_str(w->w, key, v);
    return rc;
}

int scarce_gguf_writer_set_arr_str(scarce_gguf_writer *w, const char *key, const char *const *v,
                                   uint64_t n) {
    int rc = key_ok(w, key, v != NULL || n == 0);
    for (uint64_t i = 0; !rc && i < n; i++)
        if (!v[i])
            rc = set_failed(w, "gguf writer: %s: string %llu is NULL", key, (unsigned long long)i);
    if (!rc) gguf_writer_set_arr_str(w->w, key, v, n);
    return rc;
}

int scarce_gguf_writer_set_arr(scarce_gguf_writer *w, const char *key, int elem_type,
                               const void *data, uint64_t n) {
    int rc = key_ok(w, key, data != NULL || n == 0);
    if (!rc && (elem_type < 0 || !gguf_vtype_size((uint32_t)elem_type)))
        rc = set_failed(w, "gguf writer: %s: element type %d is not a number type", key, elem_type);
    if (!rc) gguf_writer_set_arr(w->w, key, (uint32_t)elem_type, data, n);
    return rc;
}

int scarce_gguf_writer_copy_kv(scarce_gguf_writer *w, const scarce_gguf *from, uint64_t i) {
    if (!w) return SCARCE_ERR_ARGUMENT;
    if (!from || i >= from->f->n_kv)
        return set_failed(w, "gguf writer: copy of key %llu: %s", (unsigned long long)i,
                          from ? "out of range" : "the file is NULL");
    const int rc = key_ok(w, from->f->kv[i].key, 1);
    if (!rc) gguf_writer_copy_kv(w->w, &from->f->kv[i]);
    return rc;
}

int scarce_gguf_writer_add_tensor(scarce_gguf_writer *w, const char *name, const char *type,
                                  int n_dims, const int64_t *ne) {
    if (!w) return SCARCE_ERR_ARGUMENT;
    const quant_type *qt = type ? qtype_by_name(type) : NULL;
    if (!name || !ne || !qt)
        return api_fail(w->error, SCARCE_ERR_ARGUMENT, "gguf writer: tensor %s: %s",
                        name ? name : "(NULL)",
                        !name || !ne ? "name or ne is NULL" : "unknown format");
    if (w->state != W_KEYS)
        return api_fail(w->error, SCARCE_ERR_ARGUMENT,
                        "gguf writer: tensor %s: declared after the file was opened", name);
    scarce_error err = {0};
    if (gguf_writer_add_tensor(w->w, name, qt->id, n_dims, ne, &err))
        return api_fail_err(w->error, SCARCE_ERR_ARGUMENT, &err);
    /* its bytes, as the writer counts them (a shape it accepted does not overflow) */
    uint64_t bytes = qtype_row_bytes(qt->id, ne[0]);
    for (int d = 1; d < n_dims; d++) bytes *= (uint64_t)ne[d];
    w->declared += bytes;
    return SCARCE_OK;
}

/* The state's name in a message. */
static const char *state_name(int state) {
    static const char *const names[] = {"before open", "open", "after finish", "after a failure"};
    return names[state];
}

int scarce_gguf_writer_open(scarce_gguf_writer *w, const char *path) {
    if (!w) return SCARCE_ERR_ARGUMENT;
    if (!path || w->state != W_KEYS)
        return api_fail(w->error, SCARCE_ERR_ARGUMENT, "gguf writer: open %s",
                        path ? state_name(w->state) : "of a NULL path");
    if (w->set_status) return w->set_status; /* its message is in w->error */
    scarce_error err = {0};
    if (gguf_writer_open(w->w, path, &err)) {
        w->state = W_BROKEN;
        return api_fail_err(w->error, SCARCE_ERR_IO, &err);
    }
    w->state = W_OPEN;
    return SCARCE_OK;
}

int scarce_gguf_writer_write(scarce_gguf_writer *w, const void *data, size_t bytes) {
    if (!w) return SCARCE_ERR_ARGUMENT;
    if (w->state != W_OPEN || (!data && bytes))
        return api_fail(w->error, SCARCE_ERR_ARGUMENT, "gguf writer: write %s",
                        w->state != W_OPEN ? state_name(w->state) : "of NULL data");
    if (bytes > w->declared - w->written)
        return api_fail(w->error, SCARCE_ERR_ARGUMENT,
                        "gguf writer: %zu bytes, %llu left of the tensors declared", bytes,
                        (unsigned long long)(w->declared - w->written));
    scarce_error err = {0};
    if (gguf_writer_write(w->w, data, bytes, &err)) {
        w->state = W_BROKEN;
        return api_fail_err(w->error, SCARCE_ERR_IO, &err);
    }
    w->written += bytes;
    return SCARCE_OK;
}

int scarce_gguf_writer_finish(scarce_gguf_writer *w) {
    if (!w) return SCARCE_ERR_ARGUMENT;
    if (w->state != W_OPEN)
        return api_fail(w->error, SCARCE_ERR_ARGUMENT, "gguf writer: finish %s",
                        state_name(w->state));
    scarce_error err = {0};
    const int complete = w->written == w->declared;
    /* incomplete: the writer names the tensor short and changes nothing */
    if (gguf_writer_finish(w->w, &err)) {
        if (complete) w->state = W_BROKEN;
        return api_fail_err(w->error, complete ? SCARCE_ERR_IO : SCARCE_ERR_ARGUMENT, &err);
    }
    w->state = W_DONE;
    return SCARCE_OK;
}
