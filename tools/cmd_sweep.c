/* cmd_sweep.c - placeholder, replaced below in this branch */
#include "cli.h"
int cmd_sweep(int argc, char **argv) { return cli_error("sweep", EXIT_RUNTIME, "not yet"); }
