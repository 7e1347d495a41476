/* test_chat.c - scarce chat fed turns on stdin. */
#include <stdlib.h>
#include <string.h>

#include "../engine/chat_template.h"
#include "../engine/gguf.h"
#include "../engine/tokenizer.h"
#include "shared_data.h"
#include "test.h"

static int chat(const char *turns, char **out, char **err) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "(printf '%s' | %s chat -m %s --chat-template chatml --temp 0 -n 24 -t 1)", turns,
             scarce_bin(), shared_path("models/stories260K.gguf"));
    return run_cmd(cmd, out, err);
}

TEST(chat_two_turns_two_replies) {
    NEED_SHARED("models/stories260K.gguf");
    char *one = NULL, *two = NULL, *err = NULL;
    CHECK_EQ_INT(chat("Tell me a story\\n", &one, &err), 0);
    CHECK_EQ_INT(chat("Tell me a story\\nWhat did the dog do?\\n", &two, NULL), 0);
    REQUIRE(one && two);
    /* the first reply is the same either way; the second turn adds a second reply */
    CHECK_MSG(strlen(one) > 1, "empty first reply (stderr: %s)", err ? err : "");
    CHECK_MSG(strncmp(two, one, strlen(one)) == 0 && strlen(two) > strlen(one) + 1,
              "one turn: '%s'\ntwo turns: '%s'", one, two);
    free(one), free(two), free(err);
}

TEST(chat_needs_a_template) {
    NEED_SHARED("models/stories260K.gguf");
    char cmd[512], *err = NULL;
    /* stories260K has no tokenizer.chat_template: the user must name one */
    snprintf(cmd, sizeof cmd, "%s chat -m %s", scarce_bin(),
             shared_path("models/stories260K.gguf"));
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 1);
    CHECK(err && strstr(err, "chat-template"));
    free(err);
    snprintf(cmd, sizeof cmd, "%s chat -m %s --chat-template nope", scarce_bin(),
             shared_path("models/stories260K.gguf"));
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 2);
}

/* ---- templates: rendering and recognition -------------------------------------------- */

/* llama.cpp's test conversation (tests/test-chat-template.cpp): system, then user / assistant
 * turns. The chat loop feeds turn texts and the model writes the replies and their end
 * token; here the replies are written as the template would write them. */
static char *render(const chat_template *t, const char *replies[2]) {
    static char out[4096];
    const char *users[3] = {"Hello", "Who are you", "Another question"};
    out[0] = 0;
    for (int i = 0; i < 3; i++) {
        char *turn = chat_template_turn(t, "You are a helpful assistant", users[i], i == 0, 1);
        if (!turn) return NULL;
        strncat(out, turn, sizeof out - strlen(out) - 1);
        free(turn);
        if (i < 2) strncat(out, replies[i], sizeof out - strlen(out) - 1);
    }
    return out;
}

TEST(chat_templates_render_the_documented_format) {
    /* expected strings: each family's documented format, as llama.cpp's test-chat-template
     * expects it for this conversation (Gemma and Llama 3 trim the messages) */
    static const struct {
        const char *name, *replies[2], *want;
    } cases[] = {
        {"chatml",
         {"Hi there", "   I am an assistant   "},
         "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello"
         "<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you"
         "<|im_end|>\n<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user"
         "\nAnother question<|im_end|>\n<|im_start|>assistant\n"},
        {"gemma",
         {"Hi there", "I am an assistant"},
         "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n"
         "<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you"
         "<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n"
         "<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n"},
        {"llama3",
         {"Hi there", "I am an assistant"},
         "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>"
         "assistant<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user"
         "<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>assistant"
         "<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user"
         "<|end_header_id|>\n\nAnother question<|eot_id|><|start_header_id|>assistant"
         "<|end_header_id|>\n\n"},
        {"phi3",
         {"Hi there", "   I am an assistant   "},
         "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>"
         "\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant"
         "   <|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n"},
        {"phi4",
         {"Hi there", "   I am an assistant   "},
         "<|im_start|>system<|im_sep|>You are a helpful assistant<|im_end|><|im_start|>user"
         "<|im_sep|>Hello<|im_end|><|im_start|>assistant<|im_sep|>Hi there<|im_end|>"
         "<|im_start|>user<|im_sep|>Who are you<|im_end|><|im_start|>assistant<|im_sep|>   I am"
         " an assistant   <|im_end|><|im_start|>user<|im_sep|>Another question<|im_end|>"
         "<|im_start|>assistant<|im_sep|>"},
        /* Llama 2 replies end with EOS, which the model writes and the text does not */
        {"llama2",
         {" Hi there", " I am an assistant"},
         "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there"
         "[INST] Who are you [/INST] I am an assistant[INST] Another question [/INST]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const chat_template *t = chat_template_find(cases[i].name);
        REQUIRE(t);
        /* the replies closed by the model's end token */
        char r0[64], r1[64];
        snprintf(r0, sizeof r0, "%s%s", cases[i].replies[0], t->end ? t->end : "");
        snprintf(r1, sizeof r1, "%s%s", cases[i].replies[1], t->end ? t->end : "");
        const char *replies[2] = {r0, r1};
        const char *got = render(t, replies);
        CHECK_MSG(got && strcmp(got, cases[i].want) == 0, "%s:\n got '%s'\nwant '%s'",
                  cases[i].name, got ? got : "(null)", cases[i].want);
    }
    CHECK(chat_template_find("nope") == NULL);
}

/* A reply cut short by -n has no end token: the next turn closes it first. */
TEST(chat_template_closes_a_cut_reply) {
    const chat_template *t = chat_template_find("gemma");
    REQUIRE(t);
    char *turn = chat_template_turn(t, NULL, "  Next  ", 0, 0);
    REQUIRE(turn);
    CHECK_MSG(strcmp(turn, "<end_of_turn>\n<start_of_turn>user\nNext<end_of_turn>\n"
                           "<start_of_turn>model\n") == 0,
              "'%s'", turn);
    free(turn);
}

/* Recognition from real tokenizer.chat_template texts: short excerpts of the templates in
 * llama.cpp's tests/test-chat-template.cpp (the markers the detector looks for). */
TEST(chat_template_detected_from_real_templates) {
    static const struct {
        const char *jinja, *want;
    } cases[] = {
        /* teknium/OpenHermes-2.5-Mistral-7B (ChatML, as Qwen2.5 and SmolLM2) */
        {"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
         "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}",
         "chatml"},
        /* google/gemma-7b-it */
        {"{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set "
         "role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + "
         "message['content'] | trim + '<end_of_turn>\\n' }}",
         "gemma"},
        /* Llama-3 */
        {"{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
         "+ message['content'] | trim + '<|eot_id|>' %}",
         "llama3"},
        /* Phi-3-mini */
        {"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}"
         "{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' + "
         "'\\n'}}",
         "phi3"},
        /* phi-4 */
        {"{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}", "phi4"},
        /* mistralai/Mistral-7B-Instruct-v0.2 */
        {"{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}",
         "llama2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const chat_template *t = chat_template_detect(cases[i].jinja);
        CHECK_MSG(t && strcmp(t->name, cases[i].want) == 0, "case %zu: %s, want %s", i,
                  t ? t->name : "none", cases[i].want);
    }
    CHECK(chat_template_detect("{{ 'USER: ' + content }}") == NULL);
    CHECK(chat_template_detect(NULL) == NULL);
}

static int vocab_has(void *tok, const char *text) {
    return tokenizer_find(tok, text) >= 0;
}

/* The template real files get: SmolLM2's tokenizer.chat_template is ChatML; the Gemma 3
 * 270M file has none, and its vocabulary's <start_of_turn> picks Gemma's turns. Each turn
 * marker is one token, as llama.cpp tokenizes it. */
TEST(chat_template_of_real_files) {
    static const struct {
        const char *file, *fetch, *want, *marker;
    } files[] = {
        {"SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m", "chatml", "<|im_start|>"},
        {"gemma-3-270m-q4_k_m.gguf", "gemma3-270m", "gemma", "<start_of_turn>"},
    };
    int found = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = real_model_path(files[i].file);
        if (!path) continue;
        found++;
        scarce_error err = {{0}};
        gguf_file *f = gguf_open(path, &err);
        tokenizer *t = f ? tokenizer_load(f, &err) : NULL;
        CHECK_MSG(t, "%s: %s", path, err.msg);
        if (t) {
            const char *jinja = gguf_get_str(f, "tokenizer.chat_template");
            const chat_template *tpl =
                jinja ? chat_template_detect(jinja) : chat_template_from_vocab(vocab_has, t);
            CHECK_MSG(tpl && strcmp(tpl->name, files[i].want) == 0, "%s: %s, want %s", path,
                      tpl ? tpl->name : "none", files[i].want);
            int ids[8];
            CHECK_EQ_INT(tokenizer_encode(t, files[i].marker, 0, ids, 8, &err), 1);
            CHECK(tpl && tpl->end && tokenizer_is_eog(t, tokenizer_find(t, tpl->end)));
        }
        tokenizer_free(t);
        gguf_close(f);
    }
    if (!found)
        SKIP("neither model in models/ or $SCARCE_MODELS (models/fetch.sh smollm2-135m, "
             "gemma3-270m)");
}
