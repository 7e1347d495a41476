/* cmd_todo.c - TEMPORARY during the first session's parallel work: commands whose module
 * is being written elsewhere. Each owner deletes its function here when adding its file. */
#include "cli.h"

int cmd_run(int argc, char **argv) { return cli_error("run", EXIT_RUNTIME, "not built yet"); }
