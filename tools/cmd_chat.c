/* cmd_chat.c - scarce chat: an interactive loop over the model's chat template.
 *
 * Each user line becomes one turn; the KV cache is kept across turns, so a turn only
 * prefills its own tokens. Templates: ChatML (SmolLM2, Qwen) and Llama-2 [INST]. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gen.h"

typedef enum { TEMPLATE_CHATML, TEMPLATE_LLAMA2 } chat_template;

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = sig; }

static void usage(FILE *out) {
    fprintf(out, "usage: scarce chat -m FILE [options]   (one user turn per line on stdin)\n"
                 "  --system TEXT          system prompt\n"
                 "  --chat-template NAME   chatml or llama2 (default: from tokenizer.chat_template)\n");
    gen_opts_usage(out);
}

/* The template named in the file's tokenizer.chat_template (a Jinja text). */
static int detect_template(const gguf_file *f, chat_template *t, scarce_error *err) {
    const char *jinja = gguf_get_str(f, "tokenizer.chat_template");
    if (!jinja)
        return scarce_fail(err, "%s has no tokenizer.chat_template: pass --chat-template chatml|llama2",
                           f->path);
    if (strstr(jinja, "<|im_start|>")) *t = TEMPLATE_CHATML;
    else if (strstr(jinja, "[INST]")) *t = TEMPLATE_LLAMA2;
    else
        return scarce_fail(err, "%s: chat template not recognised (ChatML and Llama-2 are): pass "
                                "--chat-template chatml|llama2", f->path);
    return 0;
}

/* Id of the vocabulary entry spelled exactly `text`, or -1. */
static int find_token(const gguf_file *f, const char *text) {
    const gguf_kv *kv = gguf_find(f, "tokenizer.ggml.tokens");
    if (!kv || kv->type != GGUF_ARRAY || kv->arr_type != GGUF_STRING) return -1;
    for (uint64_t i = 0; i < kv->arr_n; i++)
        if (!strcmp(kv->arr_str[i], text)) return (int)i;
    return -1;
}

/* The text of one user turn in the template (system prompt on the first turn). */
static char *format_turn(chat_template t, const char *system, const char *user, int first) {
    size_t len = strlen(user) + (system ? strlen(system) : 0) + 128;
    char *s = malloc(len);
    if (!s) return NULL;
    if (t == TEMPLATE_CHATML) {
        int n = 0;
        if (first && system) n = snprintf(s, len, "<|im_start|>system\n%s<|im_end|>\n", system);
        snprintf(s + n, len - n, "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", user);
    } else if (first && system) {
        snprintf(s, len, "[INST] <<SYS>>\n%s\n<</SYS>>\n\n%s [/INST]", system, user);
    } else {
        snprintf(s, len, "[INST] %s [/INST]", user);
    }
    return s;
}

static int parse(int argc, char **argv, gen_opts *o, const char **system, int *forced,
                 chat_template *t) {
    gen_opts_default(o);
    for (int i = 1; i < argc; i++) {
        int r = gen_opts_parse("chat", argc, argv, &i, o);
        if (r < 0) return -1;
        if (r > 0) continue;
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            usage(stdout);
            return 1;
        }
        if (strcmp(f, "--system") && strcmp(f, "--chat-template")) {
            cli_error("chat", EXIT_USAGE, "unknown option %s (see scarce chat -h)", f);
            return -1;
        }
        if (!(v = cli_value("chat", argc, argv, &i))) return -1;
        if (!strcmp(f, "--system")) {
            *system = v;
        } else if (!strcmp(v, "chatml") || !strcmp(v, "llama2")) {
            *t = !strcmp(v, "chatml") ? TEMPLATE_CHATML : TEMPLATE_LLAMA2;
            *forced = 1;
        } else {
            cli_error("chat", EXIT_USAGE, "--chat-template: '%s' is not chatml or llama2", v);
            return -1;
        }
    }
    return gen_opts_finish("chat", o);
}

/* One turn: encode (BOS on the first turn, the previous turn's end token first), stream
 * the reply. Returns 0, or -1 with err filled. */
static int chat_turn(gen_ctx *g, const char *text, int first, int pending, long n_predict,
                     int end_id, int *last, scarce_error *err) {
    size_t cap = strlen(text) + 8;
    int *ids = malloc(cap * sizeof(int)), n = 0;
    if (!ids) return scarce_fail(err, "out of memory");
    if (pending >= 0) ids[n++] = pending;
    int add_bos = first ? tokenizer_add_bos(g->tok) : 0;
    int got = tokenizer_encode(g->tok, text, add_bos, ids + n, (int)cap - n, err);
    if (got < 0) {
        free(ids);
        return -1;
    }
    n += got;
    gen_result res;
    int rc = n > 0 ? gen_stream(g, ids, n, n_predict, end_id, stdout, &interrupted, &res, err) : 0;
    *last = n > 0 && rc == 0 ? res.last : -1;
    free(ids);
    return rc;
}

int cmd_chat(int argc, char **argv) {
    gen_opts o;
    const char *system = NULL;
    int forced = 0;
    chat_template tpl = TEMPLATE_CHATML;
    int p = parse(argc, argv, &o, &system, &forced, &tpl);
    if (p) return p > 0 ? EXIT_OK : EXIT_USAGE;
    scarce_error err = {0};
    gen_ctx g;
    if (gen_ctx_open(&g, &o, &err)) return cli_error("chat", EXIT_RUNTIME, "%s", err.msg);
    int rc = EXIT_RUNTIME;
    if (!forced && detect_template(g.m->file, &tpl, &err)) {
        cli_error("chat", EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    /* ChatML ends a turn with <|im_end|>; Llama-2 with EOS (handled by gen_stream) */
    int end_id = tpl == TEMPLATE_CHATML ? find_token(g.m->file, "<|im_end|>") : -1;
    signal(SIGINT, on_sigint);
    char line[8192];
    int first = 1, pending = -1;
    while (!interrupted) {
        if (isatty(0)) fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin)) break; /* EOF / Ctrl-D */
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) continue;
        char *text = format_turn(tpl, system, line, first);
        int last;
        int r = text ? chat_turn(&g, text, first, pending, o.n_predict, end_id, &last, &err)
                     : scarce_fail(&err, "out of memory");
        free(text);
        if (r) {
            cli_error("chat", EXIT_RUNTIME, "%s", err.msg);
            goto done;
        }
        fputc('\n', stdout);
        fflush(stdout);
        pending = last; /* the reply's end token goes in front of the next turn */
        first = 0;
    }
    rc = EXIT_OK;
done:
    gen_ctx_close(&g);
    return rc;
}
