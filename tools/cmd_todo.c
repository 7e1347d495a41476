/* cmd_todo.c - TEMPORARY during the first session's parallel work: commands whose module
 * is being written elsewhere. Each owner deletes its function here when adding its file. */
#include "cli.h"
