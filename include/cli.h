/* cli: command-line flags ("--name value" or "--name=value"), the optional
 * config file (--config FILE: "name = value" lines, '#' comments; flags
 * given on the command line win), and the subcommands other than serve. */
#ifndef WARDD_CLI_H
#define WARDD_CLI_H

#include "db.h"

#define CLI_MAX_FLAGS 32
#define CLI_MAX_POS   4

typedef struct cli_args {
    const char *names[CLI_MAX_FLAGS];
    char *values[CLI_MAX_FLAGS];
    int nflags;
    const char *positional[CLI_MAX_POS];
    int npositional;
} cli_args;

/* Parses argv against the allowed flag names (NULL-terminated). Prints one
 * line and returns -1 on an unknown flag, a missing value or a bad config
 * file. Free with cli_free(). */
int cli_parse(cli_args *a, int argc, char **argv, const char *const *allowed);
void cli_free(cli_args *a);
/* The flag's value, or dflt. */
const char *cli_get(const cli_args *a, const char *name, const char *dflt);
/* The flag as an integer in [min, max] (dflt when absent): 0, or -1. */
int cli_get_long(const cli_args *a, const char *name, long dflt, long min, long max, long *out);

/* Opens and migrates --db for a command-line change; NULL after one line
 * on stderr. Caller frees with db_close(). */
db_conn *cli_open_db(const cli_args *a);

int cli_user_add(cli_args *a);
int cli_device_add(cli_args *a);
int cli_bed_add(cli_args *a);
int cli_migrate(cli_args *a);
int cli_backup(cli_args *a);
/* demo.c: seeds a demo ward into an empty database and prints its logins. */
int cli_demo(cli_args *a);

#endif
