/* fuzz_chat_template.c - the chat-template detector and the turn writer on arbitrary text.
 *
 * Input: NUL-separated fields "jinja\0system\0user" (missing fields are empty). The jinja
 * text goes to chat_template_detect (what a file's tokenizer.chat_template meets), the
 * system and user texts to chat_template_turn of the detected family (or of every family
 * when none is recognised). The turn must come back, contain the user's text untouched
 * apart from trimming, and never read past the strings (ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/chat_template.h"

/* field i of the NUL-separated input as a malloc'd string */
static char *field(const uint8_t *data, size_t size, int i) {
    size_t start = 0;
    for (int k = 0; k < i; k++) {
        const uint8_t *nul = memchr(data + start, 0, size - start);
        if (!nul) return strdup("");
        start = (size_t)(nul - data) + 1;
    }
    const uint8_t *nul = memchr(data + start, 0, size - start);
    size_t end = nul ? (size_t)(nul - data) : size;
    char *s = malloc(end - start + 1);
    if (!s) abort();
    memcpy(s, data + start, end - start);
    s[end - start] = 0;
    return s;
}

/* the user text's first non-space run must be in the turn (trimmed families cut the ends) */
static void check_turn(const chat_template *t, const char *system, const char *user) {
    for (int first = 0; first < 2; first++)
        for (int closed = 0; closed < 2; closed++) {
            char *turn = chat_template_turn(t, system, user, first, closed);
            if (!turn) abort(); /* out of memory is not expected for inputs this small */
            const char *word = user + strspn(user, " \t\n\v\f\r");
            size_t len = strcspn(word, " \t\n\v\f\r");
            char probe[64];
            if (len >= sizeof probe) len = sizeof probe - 1;
            memcpy(probe, word, len);
            probe[len] = 0;
            if (!strstr(turn, probe)) {
                fprintf(stderr, "%s: user text '%s' missing from '%s'\n", t->name, probe, turn);
                abort();
            }
            free(turn);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *jinja = field(data, size, 0), *system = field(data, size, 1),
         *user = field(data, size, 2);
    const chat_template *t = chat_template_detect(jinja);
    if (t) {
        if (chat_template_find(t->name) != t) abort(); /* detect returns table rows only */
        check_turn(t, *system ? system : NULL, user);
    } else {
        const char *names = chat_template_names();
        char name[32];
        for (const char *p = names; *p;) { /* "chatml, llama2, ..." */
            size_t n = strcspn(p, ", ");
            if (n && n < sizeof name) {
                memcpy(name, p, n);
                name[n] = 0;
                const chat_template *row = chat_template_find(name);
                if (row) check_turn(row, *system ? system : NULL, user);
            }
            p += n;
            p += strspn(p, ", ");
        }
    }
    free(jinja);
    free(system);
    free(user);
    return 0;
}
