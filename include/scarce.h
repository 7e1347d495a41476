/* scarce.h - the library interface of scarce: load a GGUF model, tokenize, evaluate,
 * sample, generate (plain or speculative) and read what the run cost.
 *
 * Two handles: a scarce_model (the weights, mmapped, and the vocabulary) and a
 * scarce_context (one sequence on a model: its KV cache, sampler and counters). A model
 * can serve several contexts; a model or context is used by one thread at a time, and
 * different models (with their contexts) run in different threads at once: the library
 * keeps no global state besides the CPU dispatch table, filled once on first use.
 *
 * Errors: every function that can fail returns a scarce_status (< 0) and never prints,
 * exits or aborts. The message of the last failure is scarce_model_error() /
 * scarce_context_error() of the handle it was called on; scarce_model_open, which has no
 * handle yet, writes it into the caller's buffer. NULL handles give SCARCE_ERR_ARGUMENT.
 *
 * Link: `pkg-config --cflags --libs scarce` (libscarce.so or libscarce.a; the static one
 * also needs -fopenmp -lm and, when built with it, OpenBLAS). */
#ifndef SCARCE_H
#define SCARCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCARCE_API_VERSION                                                                         \
    5 /* 2: scarce_kernels_run, scarce_stats' time and output figures;                             \
         3: scarce_model_params.lut, scarce_model_get_params,                                      \
         scarce_model_type, scarce_model_moe_info, scarce_stats'                                   \
         per-phase figures, scarce_model_quantize,                                                 \
         scarce_gguf_tensor_row;                                                                   \
         4: scarce_ppl_* (perplexity, KL divergence, importance matrix),                           \
         scarce_quant_scheme_type, scarce_context_spec_report,                                     \
         scarce_spec_compare, scarce_spec_params.draft_vocab, scarce_spec_pass.why;                \
         5: start-up (scarce_backend_init, scarce_model_params_from_env,                           \
         scarce_model_params_describe, scarce_build_info), scarce_model_params.wait_workers,       \
         scarce_kernel_peak_measure, scarce_membw_cached_peak, the GGUF writer                     \
         (scarce_gguf_writer_*), scarce_gguf_find_key / find_tensor / tensor_data / get_int /      \
         get_str / error, the weight formats (scarce_type_*) and architectures (scarce_arch_*),   \
         scarce_quant_scheme_needs_imatrix */

typedef enum {
    SCARCE_OK = 0,
    SCARCE_ERR_ARGUMENT = -1, /* NULL handle or pointer, value out of range */
    SCARCE_ERR_IO = -2,       /* a file cannot be opened or read */
    SCARCE_ERR_FORMAT = -3,   /* not a model this library can load (the message says why) */
    SCARCE_ERR_TOKEN = -4,    /* a token id outside the vocabulary */
    SCARCE_ERR_CONTEXT = -5,  /* the tokens do not fit in the context (n_ctx) */
    SCARCE_ERR_ISA = -6,      /* the requested kernel set does not run on this CPU */
    SCARCE_ERR_MEMORY = -7,   /* out of memory */
    SCARCE_ERR_RUNTIME = -8,  /* anything else (the message says what) */
} scarce_status;

/* "SCARCE_ERR_TOKEN" ...; "?" for an unknown value. */
const char *scarce_status_name(int status);
/* "0.1.0" */
const char *scarce_version(void);

typedef struct scarce_model scarce_model;
typedef struct scarce_context scarce_context;

/* ---- models --------------------------------------------------------------------------- */

#define SCARCE_MAX_THREADS 64 /* the most n_threads a model runs on */

typedef struct {
    int n_threads;   /* matmul threads; 0 = the physical cores this process may use */
    const char *isa; /* "scalar", "avx2", "avx512", "neon"; NULL = the process default
                        (the best of this CPU) */
    int repack;      /* 1 = re-lay Q4_0/Q4_1/Q8_0/Q2_K rows 8 at a time at load (faster) */
    int vocab_only;  /* 1 = the vocabulary alone (any GGUF with tokenizer.ggml.*, such as
                        llama.cpp's vocab-only files): tokenize and detokenize, no contexts */
    /* The A/B switches of the kernels (docs/bandwidth.md; all 0 = the defaults): */
    const char *gemm;  /* batch path: NULL or "auto" = measured per shape; "tiles", "own",
                          "blas" (our own GEMM when not built with OpenBLAS), "i8x8" */
    int fixed_threads; /* 1 = every call on all n_threads (no running on the caller alone) */
    int static_rows;   /* 1 = fixed row shares per thread (no work stealing) */
    const char *lut;   /* lookup-table kernels of Q1_0/Q2_0/TQ2_0: NULL or "auto" = where
                          measured faster, "off", "on" = wherever there is one (API 3) */
    int wait_workers;  /* 1 = a one-token product waits for a slow worker's piece however long
                          (0: the caller takes it back and computes it itself) (API 5) */
} scarce_model_params;

scarce_model_params scarce_model_default_params(void);

/* ---- process start-up (API 5) ---------------------------------------------------------- */

/* Fills the CPU dispatch table, the library's one piece of global state, with `isa` as the
 * process default (what scarce_model_params.isa = NULL runs): "scalar", "avx2", "avx512",
 * "neon"; NULL = the best of this CPU. Optional: the first scarce_model_open fills it with
 * NULL. SCARCE_ERR_ARGUMENT for an unknown name or when the table is already set up for
 * another ISA, SCARCE_ERR_ISA for one this CPU lacks (the message names what it lacks). */
int scarce_backend_init(const char *isa, char *errbuf, size_t errcap);

/* The kernel switches the environment asks for, as model parameters (n_threads 0, every
 * name resolved: isa is the best of this CPU when SCARCE_ISA is unset): SCARCE_ISA,
 * SCARCE_REPACK=0, SCARCE_GEMM, SCARCE_ADAPT_THREADS=0, SCARCE_STEAL=0, SCARCE_RESCUE=0,
 * SCARCE_LUT=auto|0|1 (docs/bandwidth.md). The library reads no environment except in this
 * call. SCARCE_ERR_ARGUMENT for a value that is not one of the variable's, SCARCE_ERR_ISA
 * for an ISA this CPU lacks; the message names the variable and *out is left as it was. */
int scarce_model_params_from_env(scarce_model_params *out, char *errbuf, size_t errcap);

/* The kernel configuration params (NULL = the defaults) give a model, as one line into out
 * (cap bytes), as scarce_model_kernels prints it: "isa=avx2 repack=on ... threads=2"
 * (n_threads 0: the physical cores). Returns the bytes written (NUL added) or a status:
 * SCARCE_ERR_ARGUMENT for parameters a model would refuse or a cap too small. */
int scarce_model_params_describe(const scarce_model_params *params, char *out, size_t cap);

/* What this library is and what this CPU runs (`scarce --version`). */
typedef struct {
    const char *version;      /* scarce_version() */
    const char *compiler;     /* the compiler that built the library */
    const char *build_flags;  /* its flags ("?" when the build did not record them) */
    const char *isa_compiled; /* the kernel sets built in: "scalar avx2 avx512" */
    const char *isa_detected; /* the best of them this CPU runs */
    char isa_missing[64];     /* the features of the avx512 set this CPU lacks ("avx512f/...");
                                 "" when it has them all */
    int blas;                 /* 1 when linked with OpenBLAS */
} scarce_build;

int scarce_build_info(scarce_build *out);

/* Opens a GGUF model. On failure *out is NULL and errbuf (errcap bytes, may be NULL) holds
 * one line naming the file and what was wrong. */
int scarce_model_open(const char *path, const scarce_model_params *params, scarce_model **out,
                      char *errbuf, size_t errcap);
void scarce_model_close(scarce_model *model); /* NULL is fine; close its contexts first */
/* The message of the last failed call on this model ("" when none; never NULL). */
const char *scarce_model_error(const scarce_model *model);

int scarce_model_n_vocab(const scarce_model *model); /* < 0 on a NULL handle */
/* Context the model was trained for, and its matmul threads: 0 for a vocab_only model. */
int scarce_model_n_ctx_train(const scarce_model *model);
int scarce_model_n_threads(const scarce_model *model);
/* Bytes of all weight tensors (0 for NULL or vocab_only). */
uint64_t scarce_model_weight_bytes(const scarce_model *model);
/* general.architecture ("llama"); the kernel set its matmuls run ("avx2"); "" for NULL or
 * vocab_only. */
const char *scarce_model_arch(const scarce_model *model);
const char *scarce_model_isa(const scarce_model *model);
/* The kernel configuration the model runs with, as one line into out (cap bytes):
 * "isa=avx2 repack=on gemm=auto adapt_threads=on steal=on threads=2". Returns the bytes
 * written (NUL added) or a status: SCARCE_ERR_ARGUMENT for a vocab_only model or a cap too
 * small for the line. */
int scarce_model_kernels(scarce_model *model, char *out, size_t cap);
/* The parameters the model really runs with: the ISA by name, n_threads resolved (never 0),
 * gemm and lut by name ("auto" when measured); the strings are static. SCARCE_ERR_ARGUMENT
 * for NULL or a vocab_only model. */
int scarce_model_get_params(const scarce_model *model, scarce_model_params *out);
/* The weight format holding most of the bytes of the model's matrices ("q4_1"; tensors of
 * 2+ dimensions; "?" for a format this library cannot name, "" for NULL or vocab_only). */
const char *scarce_model_type(const scarce_model *model);

/* What a mixture-of-experts model reads: every weight, and per token only the router and
 * the chosen experts (with the dense parts). */
typedef struct {
    size_t size; /* the caller sets sizeof(scarce_moe_info) (the layout's version) */
    int n_expert, n_expert_used;
    const char *gating;              /* how the router turns scores into weights ("softmax") */
    uint64_t total_bytes;            /* all weight tensors */
    uint64_t total_expert_bytes;     /* of them the experts' (every layer, every expert) */
    uint64_t active_bytes_per_token; /* the weight bytes one token reads */
    /* multi-head latent attention (DeepSeek): floats per layer and position of the latent
     * cache and of the expanded keys and values it stands for; 0 without MLA */
    int mla_cache_width, mla_expanded_width, kv_lora_rank, n_rot, n_layer;
} scarce_moe_info;

/* SCARCE_ERR_ARGUMENT for NULL, a dense or vocab_only model or a wrong size. */
int scarce_model_moe_info(const scarce_model *model, scarce_moe_info *out);

/* The kernel code the model really runs: for each weight format of its matrices (largest
 * first, at most SCARCE_MAX_FORMATS), the ISA whose kernel it is (an avx512 set runs avx2
 * code for formats without an AVX-512 kernel) for one token and for large batches (an amx
 * set runs AVX-512 dots for decode and AMX tiles for prefill), and attention's. The strings
 * are static. */
#define SCARCE_MAX_FORMATS 8
typedef struct {
    size_t size;     /* the caller sets sizeof(scarce_kernels_run) (the layout's version) */
    const char *set; /* the configured kernel set ("avx2") */
    int n_formats;
    struct {
        const char *type, *isa; /* "q4_1", "avx2" */
        const char *batch_isa;  /* of the 16+ token batches' kernel ("amx") */
        uint64_t bytes;         /* weight bytes in this format */
    } matmul[SCARCE_MAX_FORMATS];
    const char *attention;
    uint64_t output_bytes; /* the output matrix, read once per pass (tied: token_embd) */
    int n_vocab;           /* its rows */
} scarce_kernels_run;

/* SCARCE_ERR_ARGUMENT for NULL, a vocab_only model or a size that is not this header's. */
int scarce_model_kernels_run(scarce_model *model, scarce_kernels_run *out);

/* ---- vocabulary ----------------------------------------------------------------------- */

int scarce_token_bos(const scarce_model *model); /* -1 when the vocabulary has none */
int scarce_token_eos(const scarce_model *model);
/* 1 when generation ends at token (EOS, end of turn ...), 0 when not, < 0 on error. */
int scarce_token_is_eog(const scarce_model *model, int32_t token);

/* The vocabulary entry of token as stored ("\u2581the", "<0x0A>"); NULL when out of range. */
const char *scarce_token_text(const scarce_model *model, int32_t token);

enum { SCARCE_ADD_BOS = 1, SCARCE_ADD_EOS = 2 };
/* The SCARCE_ADD_* flags the vocabulary asks for (tokenizer.ggml.add_bos/eos_token), as
 * llama.cpp's add_special; < 0 on a NULL handle. */
int scarce_token_add_flags(const scarce_model *model);
/* Encodes text into at most max_ids ids: BOS first with SCARCE_ADD_BOS, EOS last with
 * SCARCE_ADD_EOS; special tokens spelled in the text ("<|im_start|>") are their own ids.
 * Returns the number of ids or a status (< 0): SCARCE_ERR_ARGUMENT when more than max_ids
 * would be needed. */
int scarce_tokenize(scarce_model *model, const char *text, int flags, int32_t *ids, int max_ids);
/* The text of token after prev (-1: none; SentencePiece drops the space of the first
 * piece after BOS). Returns bytes written (NUL added, at most cap-1) or a status. */
int scarce_token_piece(scarce_model *model, int32_t prev, int32_t token, char *out, size_t cap);
/* The text of ids[0..n). Returns bytes written (NUL added) or a status
 * (SCARCE_ERR_ARGUMENT when cap is too small). */
int scarce_detokenize(scarce_model *model, const int32_t *ids, int n, char *out, size_t cap);

/* ---- contexts: one sequence ----------------------------------------------------------- */

typedef struct {
    int n_ctx;   /* positions; 0 = the model's training context, at most 4096 */
    float temp;  /* 0 = greedy */
    int top_k;   /* 0 = off */
    float top_p; /* 1 = off */
    float min_p; /* 0 = off */
    uint64_t seed;
} scarce_context_params;

/* llama.cpp's sampling defaults (temp 0.8, top-k 40, top-p 0.95, min-p 0.05), seed 0. */
scarce_context_params scarce_context_default_params(void);

/* On failure *out is NULL and scarce_model_error(model) says why (a vocab_only model has
 * no contexts: SCARCE_ERR_ARGUMENT). */
int scarce_context_new(scarce_model *model, const scarce_context_params *params,
                       scarce_context **out);
void scarce_context_free(scarce_context *ctx);
const char *scarce_context_error(const scarce_context *ctx);
int scarce_context_n_ctx(const scarce_context *ctx);
/* Positions the context holds now. */
int scarce_context_n_pos(const scarce_context *ctx);
/* Forgets the sequence (positions, counters); the sampler's generator goes on. */
int scarce_context_reset(scarce_context *ctx);
/* Keeps the first n_pos positions (0 .. scarce_context_n_pos) and forgets the rest, so the
 * next scarce_eval goes on from there: a rejected draft, or the same batch timed again
 * (API 4). SCARCE_ERR_ARGUMENT for n_pos out of range. */
int scarce_context_truncate(scarce_context *ctx, int n_pos);

/* Runs ids[0..n) after what the context holds (one batched pass; a prompt). *logits gets
 * n_vocab floats for the last token, or n rows of them when all_logits; valid until the
 * next call on ctx. Nothing changes on failure (SCARCE_ERR_TOKEN, SCARCE_ERR_CONTEXT ...). */
int scarce_eval(scarce_context *ctx, const int32_t *ids, int n, int all_logits,
                const float **logits);
/* Draws the next token from n_vocab logits with the context's sampler settings. */
int scarce_sample(scarce_context *ctx, const float *logits, int32_t *token);

/* Called with each generated token and its text; return non-zero to stop. */
typedef int (*scarce_token_callback)(void *user, int32_t token, const char *piece, size_t len);

/* Starts a new sequence (scarce_context_reset), tokenizes prompt (BOS as the model asks;
 * an empty prompt starts from BOS alone), prefills it and samples up to n_predict tokens,
 * calling cb (may be NULL) for each. Stops at an end-of-generation token, n_predict, the
 * end of the context or when cb returns non-zero. *n_generated (may be NULL) gets the
 * number of tokens given to cb. */
int scarce_generate(scarce_context *ctx, const char *prompt, int n_predict,
                    scarce_token_callback cb, void *user, int *n_generated);

/* Speculative generation: a draft proposes tokens, the context's model verifies them in
 * one batched pass. The text has the target's distribution (greedy: the same tokens as
 * scarce_generate). SCARCE_ERR_ARGUMENT for parameters out of range (the message names
 * the field), SCARCE_ERR_TOKEN for a lookup token outside the vocabulary. */
typedef enum {
    SCARCE_DRAFT_MODEL = 0,  /* draft_model: another model with the same vocabulary */
    SCARCE_DRAFT_LAYERS = 1, /* the target's first draft_layers layers + its output head */
    SCARCE_DRAFT_LOOKUP = 2, /* n-gram lookup of the last lookup_n tokens in the context */
    SCARCE_DRAFT_QUANT = 3,  /* a copy of the target with its matrices in draft_type, built
                                in memory by each call (seconds for a large model: for many
                                calls, quantize a file and use SCARCE_DRAFT_MODEL) */
} scarce_draft_source;

/* What one target pass of scarce_generate_spec did (`scarce run --trace-spec`'s line). */
#define SCARCE_MAX_DRAFT 32
#define SCARCE_MAX_LOOKUP_N 16 /* the longest n-gram SCARCE_DRAFT_LOOKUP matches (API 4) */
typedef struct {
    int n_drafted, n_accepted;         /* the draft's tokens, of them the target kept */
    int32_t drafted[SCARCE_MAX_DRAFT]; /* [n_drafted] */
    float ratio[SCARCE_MAX_DRAFT];     /* p_target / p_draft of each (greedy: 1 kept, 0 not) */
    int32_t next;            /* the target's own token: the correction, or the bonus when all
                                were accepted */
    int sampling;            /* 0 = greedy */
    int n_asked;             /* the length the policy chose (the draft may be shorter) */
    double expected_speedup; /* the cost policy's estimate for n_asked */
    double running_speedup;  /* plain-step time x tokens emitted / time spent, so far */
    const char *why;         /* why n_asked: "best", "warm-up", "probe" ... (API 4) */
} scarce_spec_pass;

/* Return non-zero to stop the generation here: the pass's tokens are not given to the token
 * callback. */
typedef int (*scarce_spec_pass_callback)(void *user, const scarce_spec_pass *pass);

/* Zero-initialised fields take their defaults. */
typedef struct {
    scarce_draft_source source;
    scarce_model *draft_model;
    int draft_layers, lookup_n;
    int n_draft;                  /* the first draft length (1 .. 32; 0 = 5) */
    int n_draft_min, n_draft_max; /* the lengths the policy may choose (0 = 1, n_draft;
                                     equal: a fixed length) */
    int adapt;      /* 0: each pass drafts the length with the best expected speed-up from the
                       measured costs and acceptance, plain steps when none pays (`scarce run`'s
                       default); 1: one longer after a fully accepted draft, one shorter after a
                       rejection */
    int lookup_min; /* SCARCE_DRAFT_LOOKUP: the shortest n-gram matched (0 = 1) */
    const int32_t *lookup_tokens; /* SCARCE_DRAFT_LOOKUP: more text to find n-grams in */
    int n_lookup_tokens;
    const char *draft_type;            /* SCARCE_DRAFT_QUANT: "q4_0", "q2_k", "tq2_0" ... */
    scarce_spec_pass_callback on_pass; /* after each target pass, before its tokens reach the
                                          token callback (may be NULL; API version 2) */
    void *pass_user;
    int draft_vocab; /* greedy model drafts: their head scores only the draft_vocab first ids
                        and the text's tokens (fewer bytes a step, lower acceptance); 0 = the
                        whole vocabulary (API 4) */
} scarce_spec_params;

int scarce_generate_spec(scarce_context *ctx, const char *prompt, int n_predict,
                         const scarce_spec_params *spec, scarce_token_callback cb, void *user,
                         int *n_generated);

/* The in-memory copy SCARCE_DRAFT_QUANT built (API 4). */
typedef struct {
    const char *type;             /* "q4_0" */
    const char *fallback;         /* the first other type rows needed (NULL when none) */
    int n_matrices;               /* the target's matmul weights */
    int n_quantized;              /* ... stored in type */
    int n_fallback;               /* ... in a fallback type: rows not a multiple of its block, or no
                                     kernel on this ISA */
    int n_kept;                   /* ... kept as they are: already in type or fewer bits */
    uint64_t bytes, packed_bytes; /* RAM of the quantized matrices and of their repacked rows */
    uint64_t weight_bytes_per_token, target_weight_bytes_per_token;
    double seconds; /* to build it */
} scarce_draft_quant_info;

/* What the speculative decoder of the last scarce_generate_spec measured (API 4): `scarce
 * run`'s speculative summary; docs/numbers.md explains each figure. */
typedef struct {
    size_t size; /* the caller sets sizeof(scarce_spec_report) (the layout's version) */
    uint64_t passes, drafted, accepted, emitted;
    uint64_t drafted_at[SCARCE_MAX_DRAFT], accepted_at[SCARCE_MAX_DRAFT]; /* by position */
    uint64_t passes_by_length[SCARCE_MAX_DRAFT + 1]; /* passes that drafted k (0: plain) */
    uint64_t lookup_misses; /* SCARCE_DRAFT_LOOKUP: passes that wanted a draft, found none */
    double t_draft_s, t_target_s;
    /* the cost model at the end (engine/spec_cost.h): figures only when cost_known */
    int k_max; /* the longest length it considered */
    int cost_known;
    double plain_step_s;                      /* a plain decode step */
    double draft_cost;                        /* a draft step / a plain step */
    double verify_cost[SCARCE_MAX_DRAFT + 1]; /* [1..k_max]: a pass over k+1 tokens / a plain
                                                 step */
    double run_speedup; /* plain-step time x emitted / time spent (NaN when unknown) */
    /* the last pass: its length and why ("best", "fixed by policy" ...), the best expected
     * speed-up when it was chosen, and that length judged on the final figures */
    int last_length;
    const char *last_why;
    double chosen_best_speedup;
    double acceptance, expected_speedup;
    int best_length;
    double best_speedup, best_expected_tokens;
    int probe_every; /* plain passes between the probes of a draft length */
    int has_quant;   /* SCARCE_DRAFT_QUANT: the copy it built */
    scarce_draft_quant_info quant;
} scarce_spec_report;

/* Of the last scarce_generate_spec on ctx. SCARCE_ERR_ARGUMENT for a wrong size or when the
 * last generation was not speculative. */
int scarce_context_spec_report(const scarce_context *ctx, scarce_spec_report *out);

/* Times plain generation against speculative generation of n_predict tokens after the
 * prompt's ids[0..n_ids), on a fresh context of ctx's model with its sampler settings and
 * n_ctx (ctx itself is left as it is), without stopping at the end of text: medians of runs
 * of each side, interleaved, as many as make the figures steady (API 4).
 * SCARCE_ERR_CONTEXT when the prompt and n_predict do not fit n_ctx. */
typedef struct {
    double plain_tok_s, spec_tok_s;
    int reps;                /* runs of each side */
    scarce_spec_report spec; /* the counters of the last speculative run */
} scarce_spec_compare_result;

int scarce_spec_compare(scarce_context *ctx, const int32_t *ids, int n_ids, int n_predict,
                        const scarce_spec_params *spec, scarce_spec_compare_result *out);

/* ---- chat templates ------------------------------------------------------------------- */

/* The turn formats scarce knows (ChatML, Llama 2 [INST], Llama 3, Gemma, Phi-3, Phi-4), by
 * name: "chatml, llama2, ..." for messages. */
const char *scarce_chat_template_names(void);
/* 1 when name is one of them, else 0. */
int scarce_chat_template_known(const char *name);
/* The model's template: recognised in its tokenizer.chat_template, or, when the file has
 * none, guessed from its vocabulary's turn tokens. NULL when neither works (the message
 * in scarce_model_error says why). */
const char *scarce_chat_template_of(scarce_model *model);
/* The text of one user turn in template `name`, up to the header of the assistant's reply:
 * on the first turn with the system prompt (system may be NULL); on later turns after what
 * follows the end of the previous reply, and, when that reply did not end with the
 * template's end token (closed = 0: cut short by n_predict), that token first. Writes at most cap
 * bytes (NUL added) and returns the length of the whole text, as snprintf: a result >= cap means
 * out was too small. A status for an unknown name or NULL arguments. */
int scarce_chat_turn(const char *name, const char *system, const char *user, int first, int closed,
                     char *out, size_t cap);
/* The token that ends a reply in template `name` (ChatML's "<|im_end|>"): its id in the
 * model's vocabulary, -1 when the template ends replies with EOS or the vocabulary lacks
 * it; a status for an unknown name. */
int scarce_chat_end_token(scarce_model *model, const char *name);

/* ---- GGUF files: the metadata and tensor table, read without loading a model ----------- */

typedef struct scarce_gguf scarce_gguf;

/* Opens (mmaps and validates) a GGUF file. On failure *out is NULL and errbuf holds one line. */
int scarce_gguf_open(const char *path, scarce_gguf **out, char *errbuf, size_t errcap);
void scarce_gguf_close(scarce_gguf *gguf);

typedef struct {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    uint64_t alignment, data_offset, file_bytes;
} scarce_gguf_info;

int scarce_gguf_get_info(const scarce_gguf *gguf, scarce_gguf_info *out);

/* GGUF's value types (their numbers in the file). */
enum {
    SCARCE_GGUF_U8 = 0,
    SCARCE_GGUF_I8,
    SCARCE_GGUF_U16,
    SCARCE_GGUF_I16,
    SCARCE_GGUF_U32,
    SCARCE_GGUF_I32,
    SCARCE_GGUF_F32,
    SCARCE_GGUF_BOOL,
    SCARCE_GGUF_STRING,
    SCARCE_GGUF_ARRAY,
    SCARCE_GGUF_U64,
    SCARCE_GGUF_I64,
    SCARCE_GGUF_F64
};
/* GGUF's spelling, as llama.cpp's: "uint32", "string" ...; "unknown" for other values. */
const char *scarce_gguf_type_name(int type);

typedef struct {
    const char *key;
    int type;      /* SCARCE_GGUF_* */
    int elem_type; /* arrays: the elements' type */
    uint64_t n;    /* arrays: elements; else 1 */
} scarce_gguf_kv;

/* Key i (0 .. n_kv-1). SCARCE_ERR_ARGUMENT when i is out of range. */
int scarce_gguf_get_kv(const scarce_gguf *gguf, uint64_t i, scarce_gguf_kv *out);

/* Element j of key i (j = 0 for a scalar): strings as str/len (valid while the file is
 * open; may hold NUL bytes), numbers in the member of their kind: u for u8..u64, i for
 * signed and bool, f for f32/f64 (every number is also in f). */
typedef struct {
    const char *str;
    uint64_t len;
    uint64_t u;
    int64_t i;
    double f;
} scarce_gguf_value;

int scarce_gguf_get_value(const scarce_gguf *gguf, uint64_t i, uint64_t j, scarce_gguf_value *out);

typedef struct {
    const char *name;
    const char *type; /* "q4_0", "f32" ...; "?" for a type this library does not know */
    int n_dims;
    int64_t ne[4];          /* ne[0] is the row length; unused dims are 1 */
    uint64_t offset, bytes; /* from the start of the data section */
} scarce_gguf_tensor;

/* Tensor i (0 .. n_tensors-1). SCARCE_ERR_ARGUMENT when i is out of range. */
int scarce_gguf_get_tensor(const scarce_gguf *gguf, uint64_t i, scarce_gguf_tensor *out);

/* Dequantizes row `row` of tensor i (ne[0] floats into out; rows count over ne[1..3]).
 * SCARCE_ERR_ARGUMENT for an index or row out of range or a type this library cannot read. */
int scarce_gguf_tensor_row(const scarce_gguf *gguf, uint64_t i, int64_t row, float *out);

/* The message of the last failed scarce_gguf_get_int / get_str on gguf ("" when none; never
 * NULL) (API 5). */
const char *scarce_gguf_error(const scarce_gguf *gguf);
/* The index of key, of the tensor named: -1 when the file has none (or an argument is NULL). */
int64_t scarce_gguf_find_key(const scarce_gguf *gguf, const char *key);
int64_t scarce_gguf_find_tensor(const scarce_gguf *gguf, const char *name);
/* Tensor i's bytes in the mapped file (scarce_gguf_tensor.bytes of them), valid while it is
 * open; NULL when i is out of range. */
const void *scarce_gguf_tensor_data(const scarce_gguf *gguf, uint64_t i);
/* The value of key: of any integer type whose value fits / a string without NUL bytes
 * (valid while the file is open). SCARCE_ERR_ARGUMENT for NULL arguments, SCARCE_ERR_FORMAT
 * when the key is absent or of another type (scarce_gguf_error names the key, the type
 * expected and the type found). */
int scarce_gguf_get_int(scarce_gguf *gguf, const char *key, int64_t *out);
int scarce_gguf_get_str(scarce_gguf *gguf, const char *key, const char **out);

/* ---- GGUF files: writing (API 5) --------------------------------------------------------
 * Set the keys and declare the tensors, open, write the tensors' bytes in the order they were
 * declared, finish. GGUF v3: keys in the order first set, each tensor aligned to
 * general.alignment (32 when unset). The file is written to PATH.tmp.PID and appears as PATH
 * only when finish succeeds (flushed, fsynced, renamed): scarce_gguf_writer_free before
 * that removes it, so a failed or interrupted write leaves nothing behind. Errors: a status,
 * and the message in scarce_gguf_writer_error. */
typedef struct scarce_gguf_writer scarce_gguf_writer;

/* SCARCE_ERR_MEMORY (*out NULL) or SCARCE_OK. */
int scarce_gguf_writer_new(scarce_gguf_writer **out);
void scarce_gguf_writer_free(scarce_gguf_writer *w); /* NULL is fine */
const char *scarce_gguf_writer_error(const scarce_gguf_writer *w);

/* Keys. Setting a key that is set replaces its value in its place. SCARCE_ERR_ARGUMENT for
 * NULL arguments, an empty key, an element type that is not a number, or a call after open;
 * a failed set also fails open, so a run of them may be checked once, there. */
int scarce_gguf_writer_set_u32(scarce_gguf_writer *w, const char *key, uint32_t v);
int scarce_gguf_writer_set_i32(scarce_gguf_writer *w, const char *key, int32_t v);
int scarce_gguf_writer_set_u64(scarce_gguf_writer *w, const char *key, uint64_t v);
int scarce_gguf_writer_set_f32(scarce_gguf_writer *w, const char *key, float v);
int scarce_gguf_writer_set_bool(scarce_gguf_writer *w, const char *key, int v);
int scarce_gguf_writer_set_str(scarce_gguf_writer *w, const char *key, const char *v);
int scarce_gguf_writer_set_arr_str(scarce_gguf_writer *w, const char *key, const char *const *v,
                                   uint64_t n);
/* n numbers of SCARCE_GGUF_* type elem_type, little-endian. */
int scarce_gguf_writer_set_arr(scarce_gguf_writer *w, const char *key, int elem_type,
                               const void *data, uint64_t n);
/* Key i (0 .. n_kv-1) of an open file, under its own name, whatever its type. */
int scarce_gguf_writer_copy_kv(scarce_gguf_writer *w, const scarce_gguf *from, uint64_t i);

/* Declares the next tensor: its format by name ("q4_0"), n_dims (1 .. 4) sizes ne[0 ..
 * n_dims), ne[0] the row length, a multiple of the format's block. SCARCE_ERR_ARGUMENT for an
 * unknown format, a bad shape, a name declared before or a call after open. */
int scarce_gguf_writer_add_tensor(scarce_gguf_writer *w, const char *name, const char *type,
                                  int n_dims, const int64_t *ne);
/* Creates PATH.tmp.PID and writes the keys and the tensor table. SCARCE_ERR_IO when it
 * cannot; the status of a failed set; SCARCE_ERR_ARGUMENT when open already. */
int scarce_gguf_writer_open(scarce_gguf_writer *w, const char *path);
/* The next `bytes` of the tensors' data, in declaration order (a tensor may come in several
 * pieces, a piece may span tensors). SCARCE_ERR_ARGUMENT before open or past the end of the
 * last tensor, SCARCE_ERR_IO when the write fails. */
int scarce_gguf_writer_write(scarce_gguf_writer *w, const void *data, size_t bytes);
/* Completes the file and puts it in place. SCARCE_ERR_ARGUMENT before open or while tensor
 * bytes are missing (the message names the tensor), SCARCE_ERR_IO when the file cannot be
 * completed. */
int scarce_gguf_writer_finish(scarce_gguf_writer *w);

/* ---- weight formats (API 5): the type table ---------------------------------------------- */

typedef struct {
    const char *name;   /* "q4_k" */
    uint32_t id;        /* its GGUF tensor type (ggml's number; scarce's own from 200) */
    int block;          /* elements per block: a row's length is a multiple of it */
    size_t block_bytes; /* bytes per block */
    int file_type;      /* general.file_type of a model stored in it (llama.cpp's LLAMA_FTYPE_*,
                           scarce's own from 200); -1 when none */
    int own;            /* 1: a scarce format: files holding it name it in the string array
                           scarce.types, so that other readers fail with "unknown type" */
    int weights;        /* 1: matrices can be stored in it (0: an activation format) */
    int can_quantize, can_dequantize; /* scarce_type_quantize / _dequantize work */
} scarce_type_info;

/* The i-th format of the table, NULL past the last. */
const char *scarce_type_name(int i);
/* By name (any case). SCARCE_ERR_ARGUMENT for a format this library does not know. */
int scarce_type_get_info(const char *name, scarce_type_info *out);
/* Bytes of a row of n elements in format type: 0 for an unknown format or n not a multiple
 * of its block. */
size_t scarce_type_row_bytes(const char *type, int64_t n);
/* A row of n floats into format type (its quantizer without importances, as scarce quantize
 * without --imatrix), out holding scarce_type_row_bytes(type, n); and back. Threads may call
 * them at once. SCARCE_ERR_ARGUMENT for an unknown format, one without that direction, or n
 * not a positive multiple of its block. */
int scarce_type_quantize(const char *type, const float *x, int64_t n, void *out);
int scarce_type_dequantize(const char *type, const void *data, int64_t n, float *out);

/* ---- architectures (API 5): what a model file of each holds ------------------------------ */

/* Tensors and keys beyond the llama baseline (llama.cpp's names). */
enum {
    SCARCE_ARCH_QKV_BIAS = 1 << 0,     /* blk.N.attn_{q,k,v}.bias (Qwen2) */
    SCARCE_ARCH_QK_NORM = 1 << 1,      /* blk.N.attn_{q,k}_norm.weight: a norm per head */
    SCARCE_ARCH_POST_NORMS = 1 << 2,   /* blk.N.post_attention_norm, post_ffw_norm (Gemma) */
    SCARCE_ARCH_EMBD_SCALE = 1 << 3,   /* embeddings times sqrt(n_embd) (Gemma) */
    SCARCE_ARCH_FUSED_QKV = 1 << 4,    /* blk.N.attn_qkv.weight: q, k, v rows in one (Phi-3) */
    SCARCE_ARCH_FUSED_UP = 1 << 5,     /* blk.N.ffn_up.weight: gate rows, then up rows (Phi-3) */
    SCARCE_ARCH_MOE = 1 << 6,          /* may have experts (<arch>.expert_count) */
    SCARCE_ARCH_TIED_OUTPUT = 1 << 7,  /* no output.weight: the output is token_embd */
    SCARCE_ARCH_QK_NORM_FULL = 1 << 8, /* the q/k norms span all heads (OLMoE) */
    SCARCE_ARCH_EXPERTS = 1 << 9,      /* experts required */
    SCARCE_ARCH_SHEXP = 1 << 10,       /* shared experts blk.N.ffn_{gate,up,down}_shexp */
    SCARCE_ARCH_SHEXP_GATE = 1 << 11,  /* ... scaled by a gate, ffn_gate_inp_shexp (Qwen2-MoE) */
    SCARCE_ARCH_MLA = 1 << 12,         /* multi-head latent attention (DeepSeek-V2/V3) */
    SCARCE_ARCH_SINKS = 1 << 13,       /* attention sinks, biases on the attention output, the
                                          router and the experts (gpt-oss) */
};

typedef struct {
    const char *name;    /* general.architecture */
    unsigned flags;      /* SCARCE_ARCH_* */
    int swa_pattern;     /* sliding-window layers: one global in swa_pattern (0: no window) */
    int moe_ff_per_used; /* experts are n_ff / n_expert_used wide unless
                            <arch>.expert_feed_forward_length says (Qwen MoE) */
    int moe_reads_keys;  /* the routing keys (expert_gating_func, expert_weights_norm/scale,
                            expert_shared_count, leading_dense_block_count) are read (DeepSeek) */
} scarce_arch_info;

/* The i-th architecture, NULL past the last. */
const char *scarce_arch_name(int i);
/* SCARCE_ERR_ARGUMENT for an architecture this library does not run. */
int scarce_arch_get_info(const char *name, scarce_arch_info *out);

/* ---- quantization: a model file in, a model file out ---------------------------------- */

/* The schemes scarce_model_quantize writes ("q4_0", "q4_k_m", "fp8_e4m3" ...): the i-th,
 * NULL past the last. */
const char *scarce_quant_scheme(int i);
/* The weight format of most matrices of a scheme ("q4_k" for "q4_k_m"; a scheme named as its
 * format stores every matrix in it); NULL for an unknown scheme (API 4). */
const char *scarce_quant_scheme_type(const char *scheme);
/* 1 when the scheme's weight matrices cannot be written without an importance matrix
 * (scarce_quantize_params.imatrix; as in llama.cpp: iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq1_s,
 * iq1_m, q2_k_s), 0 when they can, SCARCE_ERR_ARGUMENT for an unknown scheme (API 5). */
int scarce_quant_scheme_needs_imatrix(const char *scheme);

typedef struct {
    int n_threads;       /* 0 = OpenMP's default; every count writes the same bytes */
    const char *imatrix; /* column importances: scarce imatrix's file, llama-imatrix's GGUF or
                            its legacy .dat; NULL = none */
    int pure;            /* 1 = no per-tensor upgrades of llama.cpp's mixes (output, attn_v ...) */
    /* after each chunk of rows (may be NULL): tensor (0-based) of n_tensors, source bytes
     * read so far of bytes_total; return non-zero to stop (the call then fails with
     * SCARCE_ERR_RUNTIME and leaves no file) */
    int (*progress)(void *user, int tensor, int n_tensors, const char *name, int64_t bytes_done,
                    int64_t bytes_total);
    void *progress_user;
} scarce_quantize_params;

typedef struct {
    const char *name;
    const char *from_type, *type; /* "f32", "q4_k" */
    const char *reason;           /* why not the scheme's base type; "" when it is */
    int n_dims;
    int64_t ne[4];
    int64_t n_elements;
    uint64_t bytes;
    double rmse;       /* sqrt(mean((dequantized - source)^2)) */
    double rms_source; /* sqrt(mean(source^2)), to read rmse relative to the weights */
    int has_importance;
} scarce_quant_tensor;

typedef struct {
    int n_tensors;
    scarce_quant_tensor *tensors; /* [n_tensors], until scarce_quantize_report_free */
    uint32_t file_type;           /* general.file_type written */
    uint64_t total_bytes;         /* tensor data bytes written */
    int64_t n_elements;
    double bits_per_weight;
    int dequantized_input; /* 1 when the input held quantized tensors (dequantized first) */
    int imatrix_chunks;    /* chunks stored in the imatrix file (0 without) */
    int n_imatrix_used;    /* tensors that got importance values */
    void *impl;
} scarce_quantize_report;

/* Writes `out` (atomically: no file on failure) from the GGUF model `in` with every matrix in
 * the type the scheme chooses, 1-D tensors f32, metadata and vocabulary copied. report (may
 * be NULL) gets what was done, tensor by tensor. On failure errbuf holds one line:
 * SCARCE_ERR_ARGUMENT for an unknown scheme, SCARCE_ERR_IO when `in` cannot be read,
 * SCARCE_ERR_RUNTIME for the rest (a tensor of NaNs, a full disk, a stop asked by
 * progress ...). */
int scarce_model_quantize(const char *in, const char *out, const char *scheme,
                          const scarce_quantize_params *params, scarce_quantize_report *report,
                          char *errbuf, size_t errcap);
void scarce_quantize_report_free(scarce_quantize_report *report); /* NULL is fine */

/* ---- perplexity, KL divergence and the importance matrix (API 4) ------------------------ */

/* llama-perplexity's method: the tokens are cut into windows of n_ctx that do not overlap;
 * each runs from an empty cache with its first token replaced by BOS, and its second half is
 * scored: logits row i (i = n_ctx/2 .. n_ctx-2) predicts token i+1,
 *   NLL = -log softmax(logits)[token],  PPL = exp(mean NLL),  error = PPL x stderr(mean NLL).
 * Against a base (a model with the same vocabulary, or a KL base file of the base's
 * distributions as llama-perplexity --kl-divergence-base writes it, which stores its tokens
 * and window) each scored position adds KL(base || model), and the summary gives their
 * mean / median / p99 / max, the top-1 agreement and PPL(model) / PPL(base). All sums are in
 * double; n_batch and the thread count change the speed, the figures only by the rounding of
 * the batched matrix products. */
typedef struct scarce_ppl scarce_ppl;

typedef enum {
    SCARCE_PPL_SECOND_HALF = 0, /* BOS first, positions n_ctx/2 .. n_ctx-2 (llama-perplexity) */
    SCARCE_PPL_ALL = 1,         /* the window as it is, positions 0 .. n_ctx-2 (scarce imatrix);
                                   no base, no base_out */
} scarce_ppl_scoring;

/* Zero-initialised fields take their defaults. */
typedef struct {
    int n_ctx;     /* window length in tokens, 4 .. 2^20 (SCARCE_PPL_ALL: 2 ..; 0 = 256); with
                      base_file: 0 or the file's */
    int n_batch;   /* tokens per forward pass (0 = the whole window) */
    int n_windows; /* score at most this many windows (0 = every whole window of the tokens) */
    scarce_ppl_scoring scoring;
    scarce_model *base_model; /* compare with this model (same vocabulary), or NULL */
    const char *base_file;    /* ... or with this KL base file: its tokens are scored */
    const char *base_out;     /* write the model's own distributions as a KL base file (16-bit
                                 log-probabilities) by scarce_ppl_save_base; may be NULL */
    int imatrix;              /* 1 = also collect the importance matrix (scarce_ppl_save_imatrix) */
} scarce_ppl_params;

/* 1 when the file at path starts as a KL base file does ("_logits_"), else 0. */
int scarce_ppl_is_base_file(const char *path);

/* Prepares the scoring of ids[0..n_ids) (NULL and 0 with base_file: the file's tokens) by
 * model. On failure *out is NULL and scarce_model_error(model) says why:
 * SCARCE_ERR_ARGUMENT for parameters out of range, fewer tokens than one window or a base
 * with another vocabulary, SCARCE_ERR_TOKEN for an id outside the vocabulary,
 * SCARCE_ERR_IO / SCARCE_ERR_FORMAT for a base file that cannot be read / is not one. */
int scarce_ppl_begin(scarce_model *model, const int32_t *ids, int n_ids,
                     const scarce_ppl_params *params, scarce_ppl **out);
/* Removes an unsaved base_out. NULL is fine. */
void scarce_ppl_free(scarce_ppl *ppl);
const char *scarce_ppl_error(const scarce_ppl *ppl);

typedef struct {
    int n_ctx;             /* the window */
    int n_windows;         /* windows to score */
    int n_tokens;          /* tokens given (or in the base file) */
    int scored_per_window; /* positions scored in each window */
} scarce_ppl_info;

int scarce_ppl_get_info(const scarce_ppl *ppl, scarce_ppl_info *out);

typedef struct {
    int window;   /* 0-based */
    int n_scored; /* its positions */
    double nll;   /* its mean NLL */
    double ppl;   /* PPL of every window scored so far */
} scarce_ppl_window;

/* Evaluates and scores the next window. SCARCE_ERR_ARGUMENT once all are scored. */
int scarce_ppl_next(scarce_ppl *ppl, scarce_ppl_window *out);

typedef struct {
    int n_windows;     /* scored */
    uint64_t n_scored; /* positions */
    double ppl, ppl_err;
    int has_kl; /* with a base: the figures below */
    double base_ppl;
    double kl_mean, kl_median, kl_p99, kl_max; /* KL(base || model), nats */
    double top1_agree_pct;                     /* positions where both argmaxes agree */
    double ppl_ratio, ppl_ratio_err; /* PPL / base PPL, error with the covariance included */
    int n_imatrix;                   /* weight matrices the importance matrix holds */
} scarce_ppl_result;

/* The figures of the windows scored so far. */
int scarce_ppl_get_result(const scarce_ppl *ppl, scarce_ppl_result *out);
/* Writes base_out into place (atomically) once every window is scored: SCARCE_ERR_ARGUMENT
 * before, or without base_out; SCARCE_ERR_IO when the file cannot be written. */
int scarce_ppl_save_base(scarce_ppl *ppl);
/* Writes the importance matrix of the windows scored so far to path (atomically; a GGUF in
 * llama-imatrix's layout, for scarce_quantize_params.imatrix), naming dataset (may be NULL)
 * as the text it came from. SCARCE_ERR_ARGUMENT without params.imatrix. */
int scarce_ppl_save_imatrix(scarce_ppl *ppl, const char *path, const char *dataset);

/* ---- the machine ---------------------------------------------------------------------- */

typedef struct {
    char cpu_name[128];
    int physical_cores; /* this process may use (the default n_threads) */
    int online_cpus;
    uint64_t llc_bytes; /* last-level cache; 0 when unknown */
} scarce_machine;

int scarce_machine_info(scarce_machine *out);

typedef struct {
    int n_threads;
    double read_gb_s; /* streaming sum of the buffer */
    double copy_gb_s; /* memcpy of half onto the other half, read + write bytes */
} scarce_membw;

/* Measures 1 .. max_threads threads over a buffer of `bytes` (the median of reps timed
 * repetitions) into out[0 .. max_threads). On failure errbuf holds one line. */
int scarce_membw_measure(int max_threads, size_t bytes, int reps, scarce_membw *out, char *errbuf,
                         size_t errcap);
/* Stores read_gb_s as this CPU's peak in the cache (~/.cache/scarce/membw, one line per CPU
 * model) that scarce_stats' pct_of_peak divides by; the file's path into path (may be NULL). */
int scarce_membw_store_peak(double read_gb_s, int n_threads, char *path, size_t path_cap,
                            char *errbuf, size_t errcap);
/* The peak scarce_membw_store_peak cached for this CPU, GB/s: SCARCE_ERR_IO when there is
 * none (API 5). */
int scarce_membw_cached_peak(double *read_gb_s);

/* The compute roof of a weight format (`scarce run --svg`'s roofline): how fast its kernels
 * multiply data already in cache, so that memory does not limit them (API 5). */
typedef struct {
    size_t size;   /* the caller sets sizeof(scarce_kernel_peak) (the layout's version) */
    int n_threads; /* the threads it ran on */
    /* the format's dot kernel (its 4 x 4 tile kernel, else the row one) over 4 rows of 512
     * in L1, each thread timing itself (one the OS parks on a busy machine does not pull
     * the others down), summed over the threads */
    double dot_gflops;
    /* the batched product of 32 tokens over 96 rows of 512 in L2: the path prefill takes
     * (the register-tiled GEMMs where the format has one); 0 when it cannot run */
    double matmul_gflops;
    double gflops; /* the larger: the roof */
} scarce_kernel_peak;

/* Measures the roof of format `type` ("q4_0") now, in about 0.2 s: each figure the best of 3
 * tries, so a moment of contention on a shared machine does not lower it below what runs
 * reached. params: the kernel set and switches as a model would run them (NULL = the
 * defaults; n_threads 0 = the physical cores). SCARCE_ERR_ARGUMENT for an unknown format or
 * one without a dot kernel in that set, or params a model would refuse; SCARCE_ERR_ISA for a
 * set this CPU lacks; SCARCE_ERR_MEMORY. */
int scarce_kernel_peak_measure(const char *type, const scarce_model_params *params,
                               scarce_kernel_peak *out, char *errbuf, size_t errcap);

/* ---- what a run cost ------------------------------------------------------------------ */

/* Of the last scarce_generate / scarce_generate_spec call (of everything since the last
 * reset when only scarce_eval ran: all of it counted as prompt). Rates are 0 when their
 * phase ran no tokens; per-token figures are of decode (of the prompt when nothing was
 * decoded). docs/numbers.md explains each. */
typedef struct {
    uint64_t prompt_tokens, decode_tokens;
    double t_prompt_s, t_decode_s, prompt_tok_s, decode_tok_s;
    double weight_bytes_per_token, kv_bytes_per_token, flops_per_token;
    double achieved_gb_s;
    double peak_gb_s;   /* `scarce membw`'s cached read bandwidth; 0 when unknown */
    double pct_of_peak; /* < 0 when unknown or the model fits in cache */
    int fits_in_cache;  /* the model is smaller than the last-level cache */
    double threads_prefill, threads_decode; /* threads the matmuls really ran on (mean) */
    /* mixture of experts (0 for dense models) */
    int n_expert, n_expert_used;
    uint64_t moe_active_bytes_per_token;
    /* speculative (0 for plain generation) */
    uint64_t spec_passes, spec_drafted, spec_accepted, spec_emitted;
    /* where each phase's time went (API version 2): in the forward passes (the rest of the
     * phase's wall time is sampling and output), of it in the matmuls and in attention */
    double t_forward_prompt_s, t_matmul_prompt_s, t_attention_prompt_s;
    double t_forward_decode_s, t_matmul_decode_s, t_attention_decode_s;
    uint64_t model_bytes; /* all weight tensors (what fits_in_cache compares) */
    uint64_t llc_bytes;   /* the last-level cache; 0 when unknown */
    /* each phase's own figures per token (API 3; the ones above are the main phase's) */
    double prompt_weight_bytes_per_token, prompt_kv_bytes_per_token, prompt_flops_per_token;
    double decode_weight_bytes_per_token, decode_kv_bytes_per_token, decode_flops_per_token;
} scarce_stats;

int scarce_context_stats(const scarce_context *ctx, scarce_stats *out);

/* ---- mixture of experts: what the router chose ------------------------------------------ */

/* on = 1: the context counts, per layer, the experts its router chooses (from the next
 * scarce_eval / generate on; scarce_context_reset and generate start the counts anew);
 * on = 0: stops and forgets. SCARCE_ERR_ARGUMENT for a dense model. */
int scarce_context_moe_track(scarce_context *ctx, int on);

typedef struct {
    size_t size;            /* the caller sets sizeof(scarce_moe_layer) (the layout's version) */
    int n_expert, k;        /* experts of the layer, experts chosen per token */
    uint64_t tokens;        /* tokens routed */
    const uint64_t *counts; /* [n_expert]: times each expert was chosen */
    double cv;              /* std / mean of counts (0 = perfectly even) */
    double entropy;         /* of the choice frequencies, nats (at most log(n_expert)) */
    double reuse;           /* fraction of a token's experts the previous token also chose */
    /* The routing of the last token the model ran (k experts and gate weights; n_last 0
     * before any): read it in a scarce_token_callback for a per-token trace. */
    int n_last;
    const int *last_experts;
    const float *last_weights;
} scarce_moe_layer;

/* Layer (0 .. n_layer-1) of a tracking context; the pointers are valid until the next call
 * on ctx. SCARCE_ERR_ARGUMENT when not tracking, a layer out of range or a wrong size. */
int scarce_context_moe_layer(const scarce_context *ctx, int layer, scarce_moe_layer *out);

#ifdef __cplusplus
}
#endif

#endif
