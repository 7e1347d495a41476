/* gen_opts.c - the generation options of run and chat. */
#include "gen_opts.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void gen_opts_default(gen_opts *o) {
    /* n_threads 0: one thread per physical core, as scarce_model_open does: SMT siblings
     * share the core's load/FMA units, and decode is bound by memory that one thread per
     * core already saturates */
    *o = (gen_opts){.n_predict = 256, .sp = scarce_context_default_params()};
}

void gen_opts_usage(FILE *out) {
    fprintf(out,
            "  -m FILE        GGUF model\n"
            "  -n N           tokens to generate (default 256)\n"
            "  -t N           threads (default: the physical cores this process may use)\n"
            "  -c N           context length (default: the model's, at most 4096)\n"
            "  --temp T       temperature, 0 = greedy (default 0.8)\n"
            "  --top-k K      keep the K most likely tokens, 0 = off (default 40)\n"
            "  --top-p P      nucleus sampling, 1 = off (default 0.95)\n"
            "  --min-p P      drop tokens below P x the top probability, 0 = off (default 0.05)\n"
            "  --seed S       random seed (default: from the clock)\n");
}

int gen_opts_parse(const char *cmd, int argc, char **argv, int *i, gen_opts *o) {
    static const char *flags[] = {"-m", "-n", "-t", "-c", "--temp", "--top-k", "--top-p",
                                  "--min-p", "--seed"};
    const char *f = argv[*i], *v;
    size_t k = 0;
    while (k < sizeof flags / sizeof *flags && strcmp(f, flags[k])) k++;
    if (k == sizeof flags / sizeof *flags) return 0;
    if (!(v = cli_value(cmd, argc, argv, i))) return -1;
    long n;
    double d;
    switch (k) {
    case 0: o->model_path = v; return 1;
    case 1: return cli_int(cmd, f, v, 0, 1 << 30, &o->n_predict) ? -1 : 1;
    case 2: return cli_int(cmd, f, v, 1, 1024, &o->n_threads) ? -1 : 1;
    case 3: return cli_int(cmd, f, v, 1, 1 << 24, &o->n_ctx) ? -1 : 1;
    case 4: if (cli_float(cmd, f, v, 0, 100, &d)) return -1; o->sp.temp = (float)d; return 1;
    case 5: if (cli_int(cmd, f, v, 0, 1 << 30, &n)) return -1; o->sp.top_k = (int)n; return 1;
    case 6: if (cli_float(cmd, f, v, 0, 1, &d)) return -1; o->sp.top_p = (float)d; return 1;
    case 7: if (cli_float(cmd, f, v, 0, 1, &d)) return -1; o->sp.min_p = (float)d; return 1;
    default: {
        char *end;
        o->sp.seed = strtoull(v, &end, 10);
        if (*end || end == v || *v == '-') {
            cli_error(cmd, EXIT_USAGE, "--seed expects a non-negative integer, got '%s'", v);
            return -1;
        }
        o->seed_given = 1;
        return 1;
    }
    }
}

int gen_opts_finish(const char *cmd, gen_opts *o) {
    if (!o->model_path) {
        cli_error(cmd, EXIT_USAGE, "-m FILE is required");
        return -1;
    }
    if (!o->seed_given) o->sp.seed = (uint64_t)time(NULL);
    return 0;
}
