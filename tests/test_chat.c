/* test_chat.c - scarce chat fed turns on stdin. */
#include <stdlib.h>
#include <string.h>

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
    snprintf(cmd, sizeof cmd, "%s chat -m %s", scarce_bin(), shared_path("models/stories260K.gguf"));
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 1);
    CHECK(err && strstr(err, "chat-template"));
    free(err);
    snprintf(cmd, sizeof cmd, "%s chat -m %s --chat-template nope", scarce_bin(),
             shared_path("models/stories260K.gguf"));
    CHECK_EQ_INT(run_cmd(cmd, NULL, NULL), 2);
}
