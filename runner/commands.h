/* commands.h: the `emolab` subcommands. Each lives in the file named for its concern and
 * returns the process exit code: 0 ok, 1 failure (message printed), 2 usage error,
 * 130 interrupted by the user. */
#ifndef EL_COMMANDS_H
#define EL_COMMANDS_H


int cmd_run(int argc, char **argv);       /* run.c */
int cmd_selfcheck(int argc, char **argv); /* selfcheck.c */

#endif /* EL_COMMANDS_H */
