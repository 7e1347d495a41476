/* cmd_chat.c - scarce chat: an interactive loop over the model's chat template.
 *
 * Each user line becomes one turn; the KV cache is kept across turns, so a turn only
 * prefills its own tokens. Templates (scarce_chat_turn of include/scarce.h): ChatML (Qwen,
 * SmolLM), Llama 2 [INST], Llama 3 headers, Gemma <start_of_turn>, Phi-3 <|user|>, Phi-4. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/scarce.h"
#include "api_setup.h"
#include "api_stream.h"
#include "cli.h"
#include "gen_opts.h"

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
            scarce_chat_template_names());
    gen_opts_usage(out);
}

static int parse(int argc, char **argv, gen_opts *o, const char **system, const char **tpl) {
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
        } else if (!scarce_chat_template_known(*tpl = v)) {
            cli_error("chat", EXIT_USAGE, "--chat-template: '%s' is not one of %s", v,
                      scarce_chat_template_names());
            return -1;
        }
    }
    return gen_opts_finish("chat", o);
}

/* The text of one user turn in template tpl (malloc'd), or NULL when memory runs out. */
static char *turn_text(const char *tpl, const char *system, const char *line, int first,
                       int closed) {
    const int len = scarce_chat_turn(tpl, system, line, first, closed, NULL, 0);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (text) scarce_chat_turn(tpl, system, line, first, closed, text, (size_t)len + 1);
    return text;
}

/* One turn: encode (BOS on the first turn, the previous turn's end token first), stream
 * the reply. Returns 0, or -1 with msg (512 bytes) filled. */
static int chat_turn(scarce_context *ctx, scarce_model *m, const char *text, int first,
                     int pending, long n_predict, int end_id, int *last, char *msg) {
    size_t cap = strlen(text) + 8;
    int32_t *ids = malloc(cap * sizeof *ids);
    int n = 0;
    if (!ids) return snprintf(msg, 512, "out of memory"), -1;
    if (pending >= 0) ids[n++] = pending;
    const int flags = first ? scarce_token_add_flags(m) & SCARCE_ADD_BOS : 0;
    int got = scarce_tokenize(m, text, flags, ids + n, (int)cap - n);
    if (got < 0) {
        free(ids);
        return snprintf(msg, 512, "%s", scarce_model_error(m)), -1;
    }
    n += got;
    stream_result res;
    int rc = n > 0 ? api_stream(ctx, m, ids, n, n_predict, end_id, stdout, &interrupted, &res, msg)
                   : 0;
    *last = n > 0 && rc == 0 ? res.last : -1;
    free(ids);
    return rc;
}

int cmd_chat(int argc, char **argv) {
    gen_opts o;
    const char *system = NULL, *tpl = NULL;
    int p = parse(argc, argv, &o, &system, &tpl);
    if (p) return p > 0 ? EXIT_OK : EXIT_USAGE;
    char msg[512];
    scarce_model *m;
    scarce_context *ctx = NULL;
    const scarce_model_params mp = api_setup_model_params((int)o.n_threads);
    if (scarce_model_open(o.model_path, &mp, &m, msg, sizeof msg))
        return cli_error("chat", EXIT_RUNTIME, "%s", msg);
    int rc = EXIT_RUNTIME;
    scarce_context_params cp = o.sp;
    cp.n_ctx = (int)o.n_ctx;
    if (scarce_context_new(m, &cp, &ctx) || (!tpl && !(tpl = scarce_chat_template_of(m)))) {
        cli_error("chat", EXIT_RUNTIME, "%s", scarce_model_error(m));
        goto done;
    }
    /* the reply ends at the template's end of turn; EOS and the other end-of-generation
     * tokens end it too (api_stream) */
    const int end_id = scarce_chat_end_token(m, tpl);
    signal(SIGINT, on_sigint);
    char line[8192];
    int first = 1, pending = -1;
    while (!interrupted) {
        if (isatty(0)) fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin)) break; /* EOF / Ctrl-D */
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) continue;
        /* a reply cut short (-n) did not end with an end token: the turn text closes it */
        int closed = pending < 0 || pending == end_id || scarce_token_is_eog(m, pending) == 1;
        char *text = turn_text(tpl, system, line, first, closed);
        int last;
        int r = text ? chat_turn(ctx, m, text, first, pending, o.n_predict, end_id, &last, msg)
                     : (snprintf(msg, sizeof msg, "out of memory"), -1);
        free(text);
        if (r) {
            cli_error("chat", EXIT_RUNTIME, "%s", msg);
            goto done;
        }
        fputc('\n', stdout);
        fflush(stdout);
        pending = last; /* the reply's end token goes in front of the next turn */
        first = 0;
    }
    rc = EXIT_OK;
done:
    scarce_context_free(ctx);
    scarce_model_close(m);
    return rc;
}
