/* api_info.c - the parts of include/scarce.h that describe rather than run: a model's
 * kernel configuration, chat templates, GGUF metadata read without loading a model, and
 * the machine (CPU, caches, memory bandwidth). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kernels/cpu.h"
#include "../quant/types.h"
#include "api_impl.h"
#include "chat_template.h"
#include "gguf.h"
#include "machine.h"
#include "membw.h"

/* Copies the error's message into errbuf (errcap bytes, may be NULL) and returns status. */
static int fail_into(char *errbuf, size_t errcap, int status, const char *msg) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "%s", msg);
    return status;
}

static const char *type_name(uint32_t type) {
    const quant_type *qt = qtype(type);
    return qt ? qt->name : "?";
}

void api_kernels_run(const model *m, scarce_kernels_run *out) {
    const kernel_config *cfg = model_kernel_config(m);
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->set = kernels_isa_name(cfg->isa);
    out->attention = kernels_isa_name(kernels_ops_origin(cfg->isa));
    out->output_bytes = (uint64_t)m->output.rows * m->output.row_bytes;
    out->n_vocab = m->cfg.n_vocab;
    const gguf_file *f = m->file;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->n_dims < 2) continue;
        int k = 0;
        while (k < out->n_formats && strcmp(out->matmul[k].type, type_name(t->type))) k++;
        if (k == out->n_formats) {
            if (out->n_formats == SCARCE_MAX_FORMATS) continue;
            const type_kernels *tk = kernels_for(cfg->isa, t->type);
            const int packed = cfg->repack && tk && tk->packed_tile;
            out->matmul[k].type = type_name(t->type);
            out->matmul[k].isa = kernels_isa_name(kernels_origin(cfg->isa, t->type, packed));
            out->matmul[k].batch_isa =
                kernels_isa_name(kernels_batch_origin(cfg->isa, t->type, packed));
            out->n_formats++;
        }
        out->matmul[k].bytes += t->bytes;
    }
    /* largest first (insertion sort: at most SCARCE_MAX_FORMATS) */
    for (int i = 1; i < out->n_formats; i++)
        for (int j = i; j > 0 && out->matmul[j].bytes > out->matmul[j - 1].bytes; j--) {
            __typeof__(out->matmul[0]) tmp = out->matmul[j];
            out->matmul[j] = out->matmul[j - 1], out->matmul[j - 1] = tmp;
        }
}

int scarce_model_kernels_run(scarce_model *sm, scarce_kernels_run *out) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (!out || out->size != sizeof *out || !sm->m)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_model_kernels_run: %s",
                        !out                       ? "out is NULL"
                        : out->size != sizeof *out ? "out->size is not sizeof(scarce_kernels_run)"
                                                   : "the model was opened vocab_only");
    api_kernels_run(sm->m, out);
    return SCARCE_OK;
}

int scarce_model_kernels(scarce_model *sm, char *out, size_t cap) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (!sm->m || !out || !cap)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_model_kernels: %s",
                        sm->m ? "out is NULL or cap 0" : "the model was opened vocab_only");
    char line[256];
    kernel_config_describe(model_kernel_config(sm->m), line, sizeof line);
    const size_t len = strlen(line);
    if (len >= cap)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT,
                        "scarce_model_kernels: %zu bytes needed, cap is %zu", len + 1, cap);
    memcpy(out, line, len + 1);
    return (int)len;
}

int scarce_model_get_params(const scarce_model *sm, scarce_model_params *out) {
    if (!sm || !sm->m || !out) return SCARCE_ERR_ARGUMENT;
    api_params_of_config(model_kernel_config(sm->m), out);
    return SCARCE_OK;
}

const char *scarce_model_type(const scarce_model *sm) {
    if (!sm || !sm->m) return "";
    /* by type id, the lowest id winning a tie (as `scarce bench` has always named it) */
    uint64_t bytes[QT_MAX_ID] = {0};
    const gguf_file *f = sm->m->file;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].n_dims >= 2 && f->tensors[i].type < QT_MAX_ID)
            bytes[f->tensors[i].type] += f->tensors[i].bytes;
    uint32_t best = 0;
    for (uint32_t t = 1; t < QT_MAX_ID; t++)
        if (bytes[t] > bytes[best]) best = t;
    return type_name(best);
}

/* ---- chat templates ------------------------------------------------------------------- */

const char *scarce_chat_template_names(void) {
    return chat_template_names();
}

int scarce_chat_template_known(const char *name) {
    return name && chat_template_find(name);
}

static int vocab_has(void *tok, const char *text) {
    return tokenizer_find(tok, text) >= 0;
}

const char *scarce_chat_template_of(scarce_model *sm) {
    if (!sm) return NULL;
    const gguf_file *f = sm->m ? sm->m->file : sm->vocab;
    const char *jinja = NULL; /* a string when present: a number or an array is a lie */
    scarce_error err = {0};
    if (gguf_find(f, "tokenizer.chat_template") &&
        gguf_get_string(f, "tokenizer.chat_template", &jinja, &err))
        return api_fail_err(sm->error, SCARCE_ERR_FORMAT, &err), NULL;
    /* a file without tokenizer.chat_template (the Gemma 3 270M GGUF): the family's turn
     * tokens tell */
    const chat_template *t =
        jinja ? chat_template_detect(jinja) : chat_template_from_vocab(vocab_has, sm->tok);
    if (!t)
        api_fail(sm->error, SCARCE_ERR_FORMAT, "%s: %s: pass --chat-template NAME (%s)", f->path,
                 jinja ? "chat template not recognised"
                       : "no tokenizer.chat_template and no known turn tokens",
                 chat_template_names());
    return t ? t->name : NULL;
}

int scarce_chat_turn(const char *name, const char *system, const char *user, int first, int closed,
                     char *out, size_t cap) {
    const chat_template *t = name ? chat_template_find(name) : NULL;
    if (!t || !user || (!out && cap)) return SCARCE_ERR_ARGUMENT;
    char *text = chat_template_turn(t, system, user, first, closed);
    if (!text) return SCARCE_ERR_MEMORY;
    const size_t len = strlen(text);
    if (len > (1u << 30)) {
        free(text);
        return SCARCE_ERR_ARGUMENT;
    }
    if (cap) snprintf(out, cap, "%s", text);
    free(text);
    return (int)len;
}

int scarce_chat_end_token(scarce_model *sm, const char *name) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    const chat_template *t = name ? chat_template_find(name) : NULL;
    if (!t)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "chat template '%s' is not one of %s",
                        name ? name : "(NULL)", chat_template_names());
    return t->end ? tokenizer_find(sm->tok, t->end) : -1;
}

/* ---- GGUF files ----------------------------------------------------------------------- */

int scarce_gguf_open(const char *path, scarce_gguf **out, char *errbuf, size_t errcap) {
    if (out) *out = NULL;
    if (!path || !out)
        return fail_into(errbuf, errcap, SCARCE_ERR_ARGUMENT,
                         path ? "scarce_gguf_open: out is NULL" : "scarce_gguf_open: path is NULL");
    scarce_error err = {0};
    scarce_gguf *g = calloc(1, sizeof *g);
    if (!g) return fail_into(errbuf, errcap, SCARCE_ERR_MEMORY, "out of memory");
    if (!(g->f = gguf_open(path, &err))) {
        free(g);
        /* a file that cannot be opened at all is an I/O error; the rest is its format */
        const int status = access(path, R_OK) ? SCARCE_ERR_IO : SCARCE_ERR_FORMAT;
        return fail_into(errbuf, errcap, status, err.msg);
    }
    fail_into(errbuf, errcap, SCARCE_OK, "");
    *out = g;
    return SCARCE_OK;
}

void scarce_gguf_close(scarce_gguf *g) {
    if (!g) return;
    gguf_close(g->f);
    free(g);
}

int scarce_gguf_get_info(const scarce_gguf *g, scarce_gguf_info *out) {
    if (!g || !out) return SCARCE_ERR_ARGUMENT;
    const gguf_file *f = g->f;
    *out = (scarce_gguf_info){.version = f->version,
                              .n_kv = f->n_kv,
                              .n_tensors = f->n_tensors,
                              .alignment = f->alignment,
                              .data_offset = f->data_offset,
                              .file_bytes = f->size};
    return SCARCE_OK;
}

const char *scarce_gguf_type_name(int type) {
    return type < 0 ? "unknown" : gguf_vtype_name((uint32_t)type);
}

_Static_assert((int)SCARCE_GGUF_ARRAY == (int)GGUF_ARRAY && (int)SCARCE_GGUF_F64 == (int)GGUF_F64 &&
                   (int)SCARCE_GGUF_STRING == (int)GGUF_STRING &&
                   (int)SCARCE_GGUF_BOOL == (int)GGUF_BOOL,
               "scarce.h's GGUF value types are the file's");

int scarce_gguf_get_kv(const scarce_gguf *g, uint64_t i, scarce_gguf_kv *out) {
    if (!g || !out || i >= g->f->n_kv) return SCARCE_ERR_ARGUMENT;
    const gguf_kv *kv = &g->f->kv[i];
    const int is_array = kv->type == GGUF_ARRAY;
    *out = (scarce_gguf_kv){.key = kv->key,
                            .type = (int)kv->type,
                            .elem_type = is_array ? (int)kv->arr_type : (int)kv->type,
                            .n = is_array ? kv->arr_n : 1};
    return SCARCE_OK;
}

/* An unsigned array element; the engine's readers widen signed and float ones only. */
static uint64_t arr_u64(const gguf_kv *kv, uint64_t j) {
    const uint8_t *b = (const uint8_t *)kv->arr_data + gguf_vtype_size(kv->arr_type) * j;
    uint64_t u = 0;
    for (size_t k = 0; k < gguf_vtype_size(kv->arr_type); k++) u |= (uint64_t)b[k] << (8 * k);
    return u;
}

int scarce_gguf_get_value(const scarce_gguf *g, uint64_t i, uint64_t j, scarce_gguf_value *out) {
    if (!g || !out || i >= g->f->n_kv) return SCARCE_ERR_ARGUMENT;
    const gguf_kv *kv = &g->f->kv[i];
    const int is_array = kv->type == GGUF_ARRAY;
    if (j >= (is_array ? kv->arr_n : 1)) return SCARCE_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    const uint32_t type = is_array ? kv->arr_type : kv->type;
    if (type == GGUF_STRING) {
        out->str = is_array ? kv->arr_str[j] : kv->str;
        out->len = is_array ? kv->arr_str_len[j] : kv->str_len;
    } else if (!is_array) {
        out->u = kv->u64, out->i = kv->i64, out->f = kv->f64;
    } else {
        out->u = arr_u64(kv, j), out->i = gguf_arr_i64(kv, j), out->f = gguf_arr_f64(kv, j);
    }
    return SCARCE_OK;
}

int scarce_gguf_get_tensor(const scarce_gguf *g, uint64_t i, scarce_gguf_tensor *out) {
    if (!g || !out || i >= g->f->n_tensors) return SCARCE_ERR_ARGUMENT;
    const gguf_tensor *t = &g->f->tensors[i];
    const quant_type *qt = qtype(t->type);
    *out = (scarce_gguf_tensor){.name = t->name,
                                .type = qt ? qt->name : "?",
                                .n_dims = t->n_dims,
                                .offset = t->offset,
                                .bytes = t->bytes};
    for (int d = 0; d < 4; d++) out->ne[d] = d < GGUF_MAX_DIMS ? t->ne[d] : 1;
    return SCARCE_OK;
}

/* ---- the machine ---------------------------------------------------------------------- */

int scarce_machine_info(scarce_machine *out) {
    if (!out) return SCARCE_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    cpu_model_name(out->cpu_name, sizeof out->cpu_name);
    out->physical_cores = cpu_physical_cores();
    out->online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    out->llc_bytes = llc_bytes();
    return SCARCE_OK;
}

int scarce_membw_measure(int max_threads, size_t bytes, int reps, scarce_membw *out, char *errbuf,
                         size_t errcap) {
    if (!out || max_threads < 1 || max_threads > 1024 || reps < 1 || bytes < 4096)
        return fail_into(errbuf, errcap, SCARCE_ERR_ARGUMENT,
                         "scarce_membw_measure: out NULL, or threads not 1 .. 1024, reps < 1 "
                         "or a buffer under 4 KiB");
    membw_result *r = calloc((size_t)max_threads, sizeof *r);
    scarce_error err = {0};
    if (!r) return fail_into(errbuf, errcap, SCARCE_ERR_MEMORY, "out of memory");
    const int rc = membw_measure(max_threads, bytes, reps, r, &err);
    for (int t = 0; !rc && t < max_threads; t++)
        out[t] = (scarce_membw){r[t].n_threads, r[t].read_gb_s, r[t].copy_gb_s};
    free(r);
    return rc ? fail_into(errbuf, errcap, SCARCE_ERR_RUNTIME, err.msg)
              : fail_into(errbuf, errcap, SCARCE_OK, "");
}

int scarce_membw_store_peak(double read_gb_s, int n_threads, char *path, size_t path_cap,
                            char *errbuf, size_t errcap) {
    if (!(read_gb_s > 0) || n_threads < 1)
        return fail_into(errbuf, errcap, SCARCE_ERR_ARGUMENT,
                         "scarce_membw_store_peak: read_gb_s and n_threads must be > 0");
    scarce_error err = {0};
    if (membw_cache_store(read_gb_s, n_threads, &err))
        return fail_into(errbuf, errcap, SCARCE_ERR_IO, err.msg);
    if (path && path_cap && membw_cache_path(path, path_cap)) path[0] = 0;
    return fail_into(errbuf, errcap, SCARCE_OK, "");
}
