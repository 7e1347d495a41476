/* scarce.c - the one binary: ./scarce COMMAND [options]. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kernel_setup.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"run", cmd_run, "generate text from a prompt"},
    {"chat", cmd_chat, "talk to a model through its chat template (one turn per stdin line)"},
    {"tokenize", cmd_tokenize, "print the token ids of a text in a model's vocabulary"},
    {"logits-diff", cmd_logits_diff, "compare our logits with a llama-perplexity --kl-divergence-base file"},
    {"quantize", cmd_quantize, "quantize a GGUF model to another type (q8_0, q4_k_m, fp8_e4m3 ...)"},
    {"imatrix", cmd_imatrix, "collect column importances for quantize --imatrix from a text"},
    {"inspect", cmd_inspect, "print a GGUF file's metadata and tensor table"},
    {"mkmodel", cmd_mkmodel, "write a synthetic llama GGUF of any shape (random weights)"},
    {"membw", cmd_membw, "measure memory bandwidth (the peak run/bench quote % of)"},
    {"bench", cmd_bench, "prefill and decode speed, llama-bench style"},
    {"ppl", cmd_ppl, "perplexity of a text, KL divergence against a base model"},
    {"sweep", cmd_sweep, "quantize to every type: accuracy vs speed table and plot"},
    {"upcycle", cmd_upcycle, "make a mixture-of-experts model from a dense llama model"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: scarce COMMAND [options]   (scarce COMMAND -h for its options)\n"
                 "       scarce --version           build, CPU and kernel configuration\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return EXIT_OK;
    }
    /* a file size limit (ulimit -f) must fail the write with EFBIG, not kill the process
     * and leave a temp file behind */
    signal(SIGXFSZ, SIG_IGN);
    char msg[512];
    /* the environment's kernel settings are read here, once */
    if (kernel_setup_from_env(msg) != 0) return cli_error("", EXIT_USAGE, "%s", msg);
    if (!strcmp(argv[1], "--version")) {
        kernel_setup_print_version(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "scarce: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
