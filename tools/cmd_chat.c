/* cmd_chat.c - scarce chat: an interactive loop over the model's chat template.
 *
 * Each user line becomes one turn; the KV cache is kept across turns, so a turn only
 * prefills its own tokens. Templates (engine/chat_template.c): ChatML (Qwen, SmolLM),
 * Llama 2 [INST], Llama 3 headers, Gemma <start_of_turn>, Phi-3 <|user|>, Phi-4. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/chat_template.h"
#include "cli.h"
#include "gen.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    interrupted = sig;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce chat -m FILE [options]   (one user turn per line on stdin)\n"
            "  --system TEXT          system prompt\n"
            "  --chat-template NAME   %s (default: recognised in the file's\n"
            "                         tokenizer.chat_template, else from its vocabulary)\n",
            chat_template_names());
    gen_opts_usage(out);
}

static int vocab_has(void *tok, const char *text) {
    return tokenizer_find(tok, text) >= 0;
}

/* The template of the file: recognised in tokenizer.chat_template (a Jinja text), or, when
 * the file has none (the Gemma 3 270M GGUF), guessed from the family's turn tokens. */
static const chat_template *detect_template(const gguf_file *f, const tokenizer *tok,
                                            scarce_error *err) {
    const char *jinja = NULL; /* a string when present: a number or an array is a lie */
    if (gguf_find(f, "tokenizer.chat_template") &&
        gguf_get_string(f, "tokenizer.chat_template", &jinja, err))
        return NULL;
    const chat_template *t =
        jinja ? chat_template_detect(jinja) : chat_template_from_vocab(vocab_has, (void *)tok);
    if (!t)
        scarce_fail(err, "%s: %s: pass --chat-template NAME (%s)", f->path,
                    jinja ? "chat template not recognised"
                          : "no tokenizer.chat_template and no known turn tokens",
                    chat_template_names());
    return t;
}

static int parse(int argc, char **argv, gen_opts *o, const char **system, const chat_template **t) {
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
        } else if (!(*t = chat_template_find(v))) {
            cli_error("chat", EXIT_USAGE, "--chat-template: '%s' is not one of %s", v,
                      chat_template_names());
            return -1;
        }
    }
    return gen_opts_finish("chat", o);
}

/* One turn: encode (BOS on the first turn, the previous turn's end token first), stream
 * the reply. Returns 0, or -1 with err filled. */
static int chat_turn(gen_ctx *g, const char *text, int first, int pending, long n_predict,
                     int end_id, int *last, scarce_error *err) {
    size_t cap = tokenizer_max_ids(strlen(text)) + 1; /* + the pending end token */
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
    const chat_template *tpl = NULL;
    int p = parse(argc, argv, &o, &system, &tpl);
    if (p) return p > 0 ? EXIT_OK : EXIT_USAGE;
    scarce_error err = {0};
    gen_ctx g;
    if (gen_ctx_open(&g, &o, &err)) return cli_error("chat", EXIT_RUNTIME, "%s", err.msg);
    int rc = EXIT_RUNTIME;
    if (!tpl && !(tpl = detect_template(g.m->file, g.tok, &err))) {
        cli_error("chat", EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    /* the reply ends at the template's end of turn; EOS and the other end-of-generation
     * tokens end it too (gen_stream) */
    int end_id = tpl->end ? tokenizer_find(g.tok, tpl->end) : -1;
    signal(SIGINT, on_sigint);
    char line[8192];
    int first = 1, pending = -1;
    while (!interrupted) {
        if (isatty(0)) fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin)) break; /* EOF / Ctrl-D */
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) continue;
        /* a reply cut short (-n) did not end with an end token: the turn text closes it */
        int closed = pending < 0 || pending == end_id || tokenizer_is_eog(g.tok, pending);
        char *text = chat_template_turn(tpl, system, line, first, closed);
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
