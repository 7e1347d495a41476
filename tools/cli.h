/* cli.h - the subcommands of ./scarce and the argument helpers they share.
 * Exit codes: 0 ok, 1 runtime error, 2 bad usage. */
#ifndef SCARCE_CLI_H
#define SCARCE_CLI_H

#include <stdint.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* one per subcommand, tools/cmd_<name>.c */
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_membw(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_logits_diff(int argc, char **argv);
int cmd_upcycle(int argc, char **argv);

/* Prints "scarce CMD: message" on stderr (one line) and returns code. */
int cli_error(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Value parsing: 0 ok, -1 when text is not a number or out of [lo, hi]
 * (an error line naming the flag has then been printed). */
int cli_int(const char *cmd, const char *flag, const char *text, long lo, long hi, long *out);
int cli_float(const char *cmd, const char *flag, const char *text, double lo, double hi,
              double *out);
/* The value after flag argv[*i] (advancing *i); NULL with an error printed when missing. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

#endif
