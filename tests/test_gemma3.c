/* test_gemma3.c - Gemma 3 270M end to end: greedy text equal to llama.cpp's.
 *
 * The real file (models/fetch.sh gemma3-270m; models/ or $SCARCE_MODELS) is Q4_K_M. Its
 * greedy text is compared on an f32 copy written by `scarce quantize IN OUT f32` (the same
 * weights, dequantized): with quantized weights both engines round activations to 8 bits
 * in their own float order, and after 5-25 tokens a near-tie flips (KL ~4e-3 per token
 * either way); with f32 weights and activations the two agree token for token.
 *
 * Recorded with llama.cpp 0c1e570 (llama-cpp-python 0.3.36), f32 K/V, flash attention off:
 *   scarce quantize gemma-3-270m-q4_k_m.gguf gemma3-f32.gguf f32
 *   llama-completion -m gemma3-f32.gguf -p PROMPT -n 32 --temp 0 -fa off -ctk f32 -ctv f32 \
 *       -no-cnv --no-warmup
 * (its stdout minus the one newline it adds at the end). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared_data.h"
#include "test.h"

static const struct {
    const char *prompt, *text;
} cases[] = {
    {"The capital of France is",
     "The capital of France is the capital of the country of France. It is the largest city in "
     "France and the second largest city in Europe. It is located in the middle of the country\n"},
    {"Once upon a time, a little fox",
     "Once upon a time, a little fox named Charlie was a little bit of a goofball. He loved to "
     "play with his friends, especially his best friend, the little fox named Charlie. Charlie "
     "was\n"},
    {"def fibonacci(n):", "def fibonacci(n):\n    if n == 0:\n        return 0\n    elif n == 1:\n "
                          "       return 1\n    elif n == \n"},
};

TEST(gemma3_270m_greedy_text_equals_llama_cpp) {
    const char *path = real_model_path("gemma-3-270m-q4_k_m.gguf");
    if (!path)
        SKIP("needs gemma-3-270m-q4_k_m.gguf in models/ or $SCARCE_MODELS "
             "(models/fetch.sh gemma3-270m)");
    char f32[1024], cmd[4096];
    snprintf(f32, sizeof f32, "%s/gemma3-f32.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s quantize %s %s f32 >/dev/null 2>&1", scarce_bin(), path, f32);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        snprintf(cmd, sizeof cmd, "%s run -m %s -p '%s' -n 32 --temp 0 -t 2", scarce_bin(), f32,
                 cases[i].prompt);
        CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
        REQUIRE(out);
        CHECK_MSG(strcmp(out, cases[i].text) == 0, "prompt '%s':\n got: %s\nwant: %s",
                  cases[i].prompt, out, cases[i].text);
        free(out);
    }
    remove(f32);
}
