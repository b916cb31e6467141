/* main.c: the `emolab` program: dispatches to the subcommands in commands.h. */
#define _GNU_SOURCE
#include "commands.h"
#include "emolab_version.h"
#include "torch_shim.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
                 "  EMOLAB_PROGRESS  0 = no progress output, 1 = force the progress bar\n");
}

/* libtorch's OpenMP threads spin while they wait for work. On a machine whose cores are busy
 * with anything else (a second sweep worker, a build) that spinning made a 2-thread training run
 * 10x slower than a 1-thread one (411 vs 4,232 samples/s measured here); with passive waiting
 * 2 threads are as fast or faster. libgomp reads the policy once, when it is loaded, so the
 * commands that compute set it and re-execute themselves. OMP_WAIT_POLICY=active keeps spinning. */
static void ensure_passive_omp(const char *cmd, char **argv) {
    static const char *const computing[] = {"run", "sweep", "worker", "selfcheck", "predict",
                                            "ensemble", "export", NULL};
    if (getenv("OMP_WAIT_POLICY")) return;
    for (int i = 0; computing[i]; i++)
        if (!strcmp(cmd, computing[i])) {
            setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
            execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
            return;
        }
}

int main(int argc, char **argv) {
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, reported like a full disk,
     * instead of killing the process in the middle of a registry or checkpoint write */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    ensure_passive_omp(cmd, argv);
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
