/* commands.h: the `emolab` subcommands. Each lives in the file named for its concern and
 * returns the process exit code: 0 ok, 1 failure (message printed), 2 usage error,
 * 130 interrupted by the user. */
#ifndef EL_COMMANDS_H
#define EL_COMMANDS_H

int cmd_fetch(int argc, char **argv); /* fetch.c: Hugging Face models into the HF cache */
int cmd_data(int argc, char **argv);  /* fetch.c: the pinned public data sets */

int cmd_run(int argc, char **argv);       /* run.c */
int cmd_selfcheck(int argc, char **argv); /* selfcheck.c */
int cmd_cache(int argc, char **argv);     /* cache_cmd.c: the feature cache (ls, rm) */

#endif /* EL_COMMANDS_H */
