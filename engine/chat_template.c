/* chat_template.c - chat formats as the families document them (and as llama.cpp's
 * llm_chat_apply_template writes them), and their recognition in tokenizer.chat_template.
 *
 * A conversation is system? (user reply end after_end)* user: each row says how one user
 * turn is spelled. Special tokens are written as text ("<|im_start|>"); the tokenizer turns
 * them into their ids. BOS is not written here: the tokenizer adds it on the first turn when
 * the file asks (tokenizer.ggml.add_bos_token). */
#include "chat_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_CHATML, T_LLAMA2, T_LLAMA3, T_GEMMA, T_PHI3, T_PHI4, T_COUNT };

static const chat_template templates[T_COUNT] = {
    /* ChatML: Qwen2/2.5/3, SmolLM2/3 */
    [T_CHATML] = {"chatml", "<|im_start|>system\n%s<|im_end|>\n", NULL,
                  "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>", "\n",
                  "<|im_start|>", 0},
    /* Llama 2: [INST] with the system prompt inside the first instruction; replies end
     * with EOS */
    [T_LLAMA2] = {"llama2", NULL, "<<SYS>>\n%s\n<</SYS>>\n\n", "[INST] %s [/INST]", NULL, "", NULL,
                  0},
    /* Llama 3.x: header tokens around the role, <|eot_id|> after every message */
    [T_LLAMA3] = {"llama3", "<|start_header_id|>system<|end_header_id|>\n\n%s<|eot_id|>", NULL,
                  "<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n",
                  "<|eot_id|>", "", "<|start_header_id|>", 1},
    /* Gemma 1-3: no system role; the system text opens the first user turn */
    [T_GEMMA] = {"gemma", NULL, "%s\n\n",
                 "<start_of_turn>user\n%s<end_of_turn>\n<start_of_turn>model\n", "<end_of_turn>",
                 "\n", "<start_of_turn>", 1},
    /* Phi-3 / Phi-3.5 */
    [T_PHI3] = {"phi3", "<|system|>\n%s<|end|>\n", NULL, "<|user|>\n%s<|end|>\n<|assistant|>\n",
                "<|end|>", "\n", "<|assistant|>", 0},
    /* Phi-4: ChatML tokens with <|im_sep|> after the role, no newlines */
    [T_PHI4] = {"phi4", "<|im_start|>system<|im_sep|>%s<|im_end|>", NULL,
                "<|im_start|>user<|im_sep|>%s<|im_end|><|im_start|>assistant<|im_sep|>",
                "<|im_end|>", "", "<|im_sep|>", 0},
};

const chat_template *chat_template_find(const char *name) {
    for (int i = 0; i < T_COUNT; i++)
        if (strcmp(templates[i].name, name) == 0) return &templates[i];
    return NULL;
}

const char *chat_template_names(void) {
    return "chatml, llama2, llama3, gemma, phi3, phi4";
}

/* llama.cpp's order: ChatML markers first (Phi-4 shares them), then [INST], Phi-3, Gemma,
 * Llama 3. */
const chat_template *chat_template_detect(const char *jinja) {
    if (!jinja) return NULL;
#define HAS(s) (strstr(jinja, s) != NULL)
    if (HAS("<|im_start|>")) return &templates[HAS("<|im_sep|>") ? T_PHI4 : T_CHATML];
    if (strncmp(jinja, "mistral", 7) == 0 || HAS("[INST]")) return &templates[T_LLAMA2];
    if (HAS("<|assistant|>") && HAS("<|end|>")) return &templates[T_PHI3];
    if (HAS("<start_of_turn>")) return &templates[T_GEMMA];
    if (HAS("<|start_header_id|>") && HAS("<|end_header_id|>")) return &templates[T_LLAMA3];
#undef HAS
    return NULL;
}

const chat_template *chat_template_from_vocab(int (*has_token)(void *user, const char *text),
                                              void *user) {
    /* Phi-4 before ChatML: its vocabulary has both <|im_sep|> and <|im_start|> */
    static const int order[] = {T_PHI4, T_CHATML, T_GEMMA, T_LLAMA3, T_PHI3};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (has_token(user, templates[order[i]].vocab_marker)) return &templates[order[i]];
    return NULL;
}

/* ---- rendering ----------------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
    int failed;
} strbuf;

static void put(strbuf *b, const char *s, size_t len) {
    if (b->failed) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = 2 * (b->n + len + 1);
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = 0;
}

static int is_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* fmt with its one "%s" replaced by text (trimmed of surrounding whitespace when trim). */
static void put_format(strbuf *b, const char *fmt, const char *text, int trim) {
    const char *hole = strstr(fmt, "%s");
    size_t len = strlen(text);
    if (trim) {
        while (len > 0 && is_space(*text)) text++, len--;
        while (len > 0 && is_space(text[len - 1])) len--;
    }
    put(b, fmt, (size_t)(hole - fmt));
    put(b, text, len);
    put(b, hole + 2, strlen(hole + 2));
}

char *chat_template_turn(const chat_template *t, const char *system, const char *user, int first,
                         int closed) {
    strbuf b = {0};
    put(&b, "", 0);
    if (!first) {
        if (!closed && t->end) put(&b, t->end, strlen(t->end));
        put(&b, t->after_end, strlen(t->after_end));
    }
    if (!first || !system || !*system) {
        put_format(&b, t->user, user, t->trim);
    } else if (t->system) {
        put_format(&b, t->system, system, t->trim);
        put_format(&b, t->user, user, t->trim);
    } else { /* the system text goes inside the first user turn */
        strbuf u = {0};
        put_format(&u, t->fold_system, system, t->trim);
        put_format(&u, "%s", user, t->trim);
        if (u.failed)
            b.failed = 1;
        else
            put_format(&b, t->user, u.s, 0);
        free(u.s);
    }
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
