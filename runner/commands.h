/* commands.h: the `emolab` subcommands. Each lives in the file named for its concern and
 * returns the process exit code: 0 ok, 1 failure (message printed), 2 usage error,
 * 130 interrupted by the user. */
#ifndef EL_COMMANDS_H
#define EL_COMMANDS_H

int cmd_fetch(int argc, char **argv); /* fetch.c: Hugging Face models into the HF cache */
int cmd_data(int argc, char **argv);  /* fetch.c: the pinned public data sets */

int cmd_run(int argc, char **argv);       /* run.c */
int cmd_export(int argc, char **argv);    /* export.c: an hf run as a Hugging Face model directory */
int cmd_selfcheck(int argc, char **argv); /* selfcheck.c */

int cmd_predict(int argc, char **argv);  /* predict.c: a recorded run on new texts / a CSV file */
int cmd_ensemble(int argc, char **argv); /* ensemble.c: average recorded runs, record the result */
int cmd_report(int argc, char **argv);  /* report_cmd.c: the leaderboard */
int cmd_ls(int argc, char **argv);      /* report_cmd.c */
int cmd_show(int argc, char **argv);    /* report_cmd.c */
int cmd_compare(int argc, char **argv); /* report_cmd.c */

#endif /* EL_COMMANDS_H */
