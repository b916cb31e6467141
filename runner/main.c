/* main.c: the `emolab` program: dispatches to the subcommands in commands.h.
 *
 * Two executables are built from this file. `emolab` (EMOLAB_LIGHT) holds the commands that
 * only read and write files and the registry (report, ls, show, compare, fetch, data) and does
 * not load libtorch, which costs ~0.5 s of CPU per process here; for the commands that compute
 * it executes `emolab-torch` (next to it), which holds every command. */
#define _GNU_SOURCE
#include "commands.h"
#include "emolab_version.h"
#include "util.h"
#ifndef EMOLAB_LIGHT
#include "torch_shim.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef EMOLAB_LIGHT
#define TORCH_CMD(f) NULL
#else
#define TORCH_CMD(f) f
#endif

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    bool torch; /* computes through libtorch */
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"run", TORCH_CMD(cmd_run), true, "train one experiment spec and record it in the registry"},
    {"sweep", TORCH_CMD(cmd_sweep), true,
     "run a W&B-style sweep file with N workers (resumable, hyperband, reuse)"},
    {"worker", TORCH_CMD(cmd_worker), true,
     "one sweep worker: claim trials of a sweep and run them (started by sweep)"},
    {"export", TORCH_CMD(cmd_export), true,
     "write a fine-tuned hf run as a Hugging Face model directory"},
    {"predict", TORCH_CMD(cmd_predict), true,
     "labels for new texts or a CSV file from a recorded run or ensemble"},
    {"ensemble", TORCH_CMD(cmd_ensemble), true,
     "average recorded runs (or the --top K), tune on val, record it"},
    {"report", cmd_report, false, "render the leaderboard (Markdown, HTML with charts, CSV, JSON)"},
    {"ls", cmd_ls, false, "list recent runs, one line each"},
    {"show", cmd_show, false, "everything about one run: config, data, classification report, epochs"},
    {"compare", cmd_compare, false, "two runs side by side: config diff, metric and per-class deltas"},
    {"registry", cmd_registry, false,
     "merge and import registries (one leaderboard for a team): import, merge, info"},
    {"fetch", cmd_fetch, false, "download Hugging Face models into the HF cache (verified, resumable)"},
    {"data", cmd_data, false, "list and download the pinned public data sets (ls, fetch)"},
    {"cache", cmd_cache, false, "the feature cache of frozen backbones (ls, rm)"},
    {"selfcheck", TORCH_CMD(cmd_selfcheck), true,
     "check libtorch, BLAS speed and the shim on this machine"},
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
    fprintf(out, "  %-10s %s\n", "version", "emolab's version, commit and libtorch version");
    fprintf(out, "\n"
                 "environment:\n"
                 "  EMOLAB_DATA      data root that spec data paths are relative to\n"
                 "  EMOLAB_REGISTRY  registry file (default ./registry.db)\n"
                 "  EMOLAB_PROGRESS  0 = no progress output, 1 = force the progress bar\n"
                 "  EMOLAB_CACHE     feature cache directory (default ~/.cache/emolab/features)\n"
                 "  OMP_WAIT_POLICY  emolab sets PASSIVE (idle libtorch threads sleep instead of\n"
                 "                   spinning; spinning made 2 threads 10x slower on a busy machine)\n");
}

/* libtorch's OpenMP threads spin while they wait for work. On a machine whose cores are busy
 * with anything else (a second sweep worker, a build) that spinning made a 2-thread training run
 * 10x slower than a 1-thread one (411 vs 4,232 samples/s measured here); with passive waiting
 * 2 threads are as fast or faster. libgomp reads the policy once, when it is loaded, so it is set
 * before libtorch is: by `emolab` before it executes `emolab-torch`, or by `emolab-torch` itself
 * re-executing once when started directly. OMP_WAIT_POLICY=active keeps spinning. */
static bool set_passive_omp(void) {
    if (getenv("OMP_WAIT_POLICY")) return false;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    return true;
}

#ifdef EMOLAB_LIGHT
static int exec_torch(char **argv) {
    set_passive_omp();
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 32);
    if (n <= 0) {
        fprintf(stderr, "emolab: cannot find my own path: %s\n", strerror(errno));
        return 1;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    strcpy(slash ? slash + 1 : self, "emolab-torch");
    argv[0] = self;
    execv(self, argv);
    fprintf(stderr, "emolab: cannot run %s: %s (it is built next to emolab: rebuild with "
                    "scripts/setup.sh)\n", self, strerror(errno));
    return 1;
}
#endif

int main(int argc, char **argv) {
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, reported like a full disk,
     * instead of killing the process in the middle of a registry or checkpoint write */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
#ifdef EMOLAB_LIGHT
        printf("emolab %s (commit %s, libtorch %s)\n", EMOLAB_VERSION, EMOLAB_GIT_COMMIT,
               EMOLAB_TORCH_VERSION);
#else
        printf("emolab %s (commit %s, libtorch %s)\n", EMOLAB_VERSION, EMOLAB_GIT_COMMIT,
               ts_version());
#endif
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, COMMANDS[i].name)) continue;
#ifdef EMOLAB_LIGHT
        if (COMMANDS[i].torch) return exec_torch(argv);
#else
        if (COMMANDS[i].torch && set_passive_omp()) {
            execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
        }
#endif
        return COMMANDS[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "emolab: unknown command '%s' (emolab --help lists them)\n", cmd);
    return 2;
}
