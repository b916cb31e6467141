/* main.c: the `emolab` program: dispatches to the subcommands in commands.h. */
#include "commands.h"
#include "emolab_version.h"
#include "torch_shim.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"run", cmd_run, "train one experiment spec and record it in the registry"},
    {"selfcheck", cmd_selfcheck, "check libtorch, BLAS speed and the shim on this machine"},
    {"version", NULL, "print emolab's version and commit"},
    {"fetch", cmd_fetch, "download Hugging Face models into the HF cache (verified, resumable)"},
    {"data", cmd_data, "list and download the pinned public data sets (ls, fetch)"},
    {"cache", cmd_cache, "the feature cache of frozen backbones (ls, rm)"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out) {
    fprintf(out,
            "emolab %s: declare text-classification experiments in YAML, train them through\n"
            "libtorch, keep every result in one SQLite registry, render the leaderboard.\n\n"
            "usage: emolab COMMAND [options]   (emolab COMMAND --help for details)\n\n"
            "commands:\n",
            EMOLAB_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n"
                 "environment:\n"
                 "  EMOLAB_DATA      data root that spec data paths are relative to\n"
                 "  EMOLAB_REGISTRY  registry file (default ./registry.db)\n"
                 "  EMOLAB_PROGRESS  0 = no progress output, 1 = force the progress bar\n"
                 "  EMOLAB_CACHE     feature cache directory (default ~/.cache/emolab/features)\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("emolab %s (commit %s, libtorch %s)\n", EMOLAB_VERSION, EMOLAB_GIT_COMMIT,
               ts_version());
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (COMMANDS[i].fn && !strcmp(cmd, COMMANDS[i].name)) return COMMANDS[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "emolab: unknown command '%s' (emolab --help lists them)\n", cmd);
    return 2;
}
