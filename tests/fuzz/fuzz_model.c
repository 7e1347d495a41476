/* fuzz_model.c - model binding per architecture: valid tensors under a mutated metadata
 * block. Bytes mutate the key/values of one of the base models (one small mkmodel file per
 * architecture, written by run.sh into $SCARCE_FUZZ_BASES, default build/fuzz/bases); the
 * tensors stay as they are, so the loader gets past the GGUF reader and the fuzzer works on
 * what fuzz_gguf rarely reaches: the typed getters, the cross-checks against the tensors,
 * the tokenizer, and (when it all loads) one forward step with the mutated configuration.
 *
 * Input: byte 0 picks the base; then edits of 4 bytes + payload each:
 *   op (low 2 bits: 0 set a key of the file, 1 set a known key, 2 remove a key of the file,
 *   3 retype a key of the file), a key selector, a value type, a length byte; then the
 *   value's bytes (numbers: 8 bytes; strings and arrays: `length` bytes). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../engine/forward.h"
#include "../../engine/gguf.h"
#include "../../engine/model.h"
#include "../../engine/tokenizer.h"
#include "../../kernels/cpu.h"

#define MAX_BASES 32

static gguf_file *bases[MAX_BASES];
static int n_bases;
static char out_path[128];

/* Keys a loader reads; "%s." is the architecture's prefix (general.architecture). */
static const char *const known[] = {
    "%s.context_length",
    "%s.embedding_length",
    "%s.block_count",
    "%s.feed_forward_length",
    "%s.attention.head_count",
    "%s.attention.head_count_kv",
    "%s.attention.key_length",
    "%s.attention.value_length",
    "%s.rope.dimension_count",
    "%s.rope.freq_base",
    "%s.rope.scaling.type",
    "%s.rope.scaling.factor",
    "%s.rope.scaling.attn_factor",
    "%s.rope.scaling.original_context_length",
    "%s.rope.scale_linear",
    "%s.attention.layer_norm_rms_epsilon",
    "%s.expert_count",
    "%s.expert_used_count",
    "%s.attention.sliding_window",
    "%s.attention.sliding_window_pattern",
    "%s.rope.freq_base_swa",
    "%s.attn_logit_softcapping",
    "%s.final_logit_softcapping",
    "%s.expert_feed_forward_length",
    "%s.expert_shared_count",
    "%s.expert_shared_feed_forward_length",
    "%s.attention.kv_lora_rank",
    "%s.attention.q_lora_rank",
    "%s.expert_weights_scale",
    "%s.expert_weights_norm",
    "%s.expert_gating_func",
    "%s.leading_dense_block_count",
    "%s.expert_group_count",
    "%s.expert_group_used_count",
    "%s.attention.key_length_mla",
    "%s.attention.value_length_mla",
    "%s.rope.scaling.yarn_log_multiplier",
    "%s.nextn_predict_layers",
    "general.architecture",
    "general.name",
    "general.alignment",
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.scores",
    "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.eot_token_id",
    "tokenizer.ggml.eom_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_eos_token",
    "tokenizer.ggml.add_space_prefix",
    "tokenizer.chat_template",
};
enum { N_KNOWN = sizeof known / sizeof known[0] };

static int load_bases(void) {
    /* without kernels no tensor binds ("cannot be computed with"): every input stopped at
     * token_embd, before the cross-checks and the forward step this target is for */
    kernels_init(NULL, NULL);
    const char *dir = getenv("SCARCE_FUZZ_BASES");
    if (!dir) dir = "build/fuzz/bases";
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n_bases < MAX_BASES) {
        if (!strstr(e->d_name, ".gguf")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        scarce_error err = {0};
        if ((bases[n_bases] = gguf_open(path, &err))) n_bases++;
    }
    if (d) closedir(d);
    if (!n_bases) {
        fprintf(stderr, "fuzz_model: no base models in %s (tests/fuzz/run.sh writes them)\n", dir);
        abort();
    }
    snprintf(out_path, sizeof out_path, "/dev/shm/fuzz_model.%d.gguf", (int)getpid());
    return 0;
}

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static int take(input *in, void *out, size_t n) {
    if (in->n < n) return -1;
    memcpy(out, in->p, n);
    in->p += n, in->n -= n;
    return 0;
}

/* A value of type `type` from the input: scalars 8 bytes, strings and arrays len bytes. */
static void set_value(gguf_writer *w, const char *key, uint32_t type, uint8_t len, input *in) {
    uint8_t raw[256] = {0};
    uint8_t elem = type >> 4; /* array element type in the high bits */
    type &= 15;
    if (type == GGUF_STRING || type == GGUF_ARRAY) {
        size_t n = len < in->n ? len : in->n;
        take(in, raw, n);
        if (type == GGUF_STRING) {
            char s[257];
            memcpy(s, raw, n);
            s[n] = 0;
            gguf_writer_set_str(w, key, s);
        } else if (elem % GGUF_NTYPES == GGUF_STRING) {
            const char *pieces[64];
            char buf[64][5];
            for (size_t i = 0; i < n / 4 && i < 64; i++) {
                memcpy(buf[i], raw + 4 * i, 4);
                buf[i][4] = 0;
                pieces[i] = buf[i];
            }
            gguf_writer_set_arr_str(w, key, pieces, n / 4 < 64 ? n / 4 : 64);
        } else {
            uint32_t et = elem % GGUF_NTYPES;
            if (et == GGUF_ARRAY) et = GGUF_I32;
            if (et == GGUF_BOOL)
                for (size_t i = 0; i < n; i++) raw[i] &= 1;
            gguf_writer_set_arr(w, key, et, raw, n / gguf_vtype_size(et));
        }
        return;
    }
    uint64_t v = 0;
    take(in, &v, 8);
    float f;
    uint32_t lo = (uint32_t)v;
    memcpy(&f, &lo, 4);
    switch (type) {
    case GGUF_F32:
    case GGUF_F64:
        gguf_writer_set_f32(w, key, f);
        break;
    case GGUF_BOOL:
        gguf_writer_set_bool(w, key, (int)(v & 1));
        break;
    case GGUF_I32:
    case GGUF_I8:
    case GGUF_I16:
        gguf_writer_set_i32(w, key, (int32_t)lo);
        break;
    case GGUF_U64:
    case GGUF_I64:
        gguf_writer_set_u64(w, key, v);
        break;
    default:
        gguf_writer_set_u32(w, key, lo);
        break;
    }
}

/* kv's array under a different element type, as many elements as its bytes hold */
static void retype(gguf_writer *w, const gguf_kv *kv, uint32_t type) {
    type %= GGUF_NTYPES;
    if (kv->type != GGUF_ARRAY || kv->arr_type == GGUF_STRING || type == GGUF_STRING ||
        type == GGUF_ARRAY || type == GGUF_BOOL)
        return;
    size_t bytes = kv->arr_n * gguf_vtype_size(kv->arr_type);
    gguf_writer_set_arr(w, kv->key, type, kv->arr_data, bytes / gguf_vtype_size(type));
}

static void apply_edits(gguf_writer *w, const gguf_file *f, input *in) {
    const char *arch = gguf_get_str(f, "general.architecture");
    uint8_t e[4];
    for (int k = 0; k < 16 && take(in, e, 4) == 0; k++) {
        const gguf_kv *kv = f->n_kv ? &f->kv[e[1] % f->n_kv] : NULL;
        char key[160];
        switch (e[0] & 3) {
        case 0:
            if (kv) set_value(w, kv->key, e[2], e[3], in);
            break;
        case 1:
            snprintf(key, sizeof key, known[e[1] % N_KNOWN], arch ? arch : "llama");
            set_value(w, key, e[2], e[3], in);
            break;
        case 2:
            if (kv) gguf_writer_remove(w, kv->key);
            break;
        case 3:
            if (kv) retype(w, kv, e[2]);
            break;
        }
    }
}

static int write_mutant(const gguf_file *f, input *in) {
    scarce_error err = {0};
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    apply_edits(w, f, in);
    int rc = gguf_writer_write_tensors_of(w, f, out_path, &err);
    gguf_writer_free(w);
    return rc;
}

static void check_message(const scarce_error *err, const char *what) {
    size_t n = strnlen(err->msg, sizeof err->msg);
    if (n == 0 || memchr(err->msg, '\n', n)) {
        fprintf(stderr, "%s failed without a one-line message: '%s'\n", what, err->msg);
        abort();
    }
}

/* One token through the mutated model: the configuration must be safe to run. */
static void run_one(const model *m, const tokenizer *t) {
    scarce_error err = {0};
    session s;
    if (session_init(&s, m, 8, &err)) {
        check_message(&err, "session_init");
        return;
    }
    int ids[8];
    int n = tokenizer_encode(t, "Once upon", 1, ids, 8, &err);
    if (n > 0 && !forward(&s, ids, n, 0, &err)) check_message(&err, "forward");
    session_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!n_bases) load_bases();
    if (size < 1) return 0;
    input in = {data + 1, size - 1};
    if (write_mutant(bases[data[0] % n_bases], &in)) return 0;
    scarce_error err = {0};
    gguf_file *f = gguf_open(out_path, &err);
    if (!f) {
        check_message(&err, "gguf_open");
        return 0;
    }
    tokenizer *t = tokenizer_load(f, &err);
    if (!t) check_message(&err, "tokenizer_load");
    /* the tensors never change: repacking them again on every input would only cost time */
    model_options opts = model_options_default();
    opts.kernels.repack = 0;
    model *m = model_from_gguf(f, &opts, &err);
    if (!m) {
        check_message(&err, "model_from_gguf");
        gguf_close(f);
    } else if (t && tokenizer_n_vocab(t) == m->cfg.n_vocab) {
        run_one(m, t);
    }
    tokenizer_free(t);
    model_free(m); /* and f with it */
    return 0;
}
