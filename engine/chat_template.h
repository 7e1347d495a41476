/* chat_template.h - the chat formats `scarce chat` speaks, one table row per family, and
 * how a file's tokenizer.chat_template (a Jinja text we do not run) is recognised by its
 * markers, in the order llama.cpp's llm_chat_detect_template checks them. */
#ifndef SCARCE_CHAT_TEMPLATE_H
#define SCARCE_CHAT_TEMPLATE_H

typedef struct {
    const char *name;         /* --chat-template NAME */
    const char *system;       /* the system turn, "%s" = its text; NULL: folded into user */
    const char *fold_system;  /* when system is NULL: the system text before the first user text */
    const char *user;         /* a user turn and the header of the assistant's reply */
    const char *end;          /* the token that ends the assistant's reply (NULL: EOS) */
    const char *after_end;    /* what follows that token before the next turn */
    const char *vocab_marker; /* a token only this family's vocabulary has (guess w/o template) */
    int trim;                 /* system and user texts are trimmed (Gemma, Llama 3) */
} chat_template;

/* The template called name, or NULL. */
const chat_template *chat_template_find(const char *name);
/* The template a tokenizer.chat_template text uses, or NULL when none is recognised. */
const chat_template *chat_template_detect(const char *jinja);
/* For a file without tokenizer.chat_template: the family whose marker token the vocabulary
 * has (has_token(user, text) != 0), or NULL. */
const chat_template *chat_template_from_vocab(int (*has_token)(void *user, const char *text),
                                              void *user);
/* "chatml, llama2, ..." for messages. */
const char *chat_template_names(void);

/* The text of one user turn: on the first turn the system prompt (system may be NULL);
 * on later turns first what closes the previous reply: its end token when the reply did not
 * end with it (closed == 0), then after_end. Returns a malloc'd string, NULL when out of
 * memory. */
char *chat_template_turn(const chat_template *t, const char *system, const char *user, int first,
                         int closed);

#endif
