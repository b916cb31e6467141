/* run.h: one registered experiment: spec -> data -> model -> train -> metrics -> registry.
 * Used by `emolab run` and by sweep workers. */
#ifndef EL_RUN_H
#define EL_RUN_H

#include "registry.h"
#include "spec.h"
#include "train.h"

#include <signal.h>

typedef struct {
    const char *experiments_dir; /* run outputs go to DIR/RUN_UUID/ (default "experiments") */
    const char *sweep_id;        /* NULL unless a sweep trial */
    bool save_checkpoint;        /* default true */
    bool quiet;                  /* no summary on stdout */
    volatile sig_atomic_t *stop;
    int (*on_epoch)(void *ctx, int32_t epoch, double val_metric);
    void *on_epoch_ctx;
} el_run_params;

el_run_params el_run_default_params(void);

/* Registers the run, loads the data, trains, records the result. The registry row exists
 * from the start (status running) and always ends in a final status; returns 0 when the run
 * finished (or ended as stopped/interrupted: see res->status), -1 when it failed. */
int el_run_spec(el_registry *reg, const el_spec *spec, const el_run_params *p, char uuid[37],
                el_train_result *res);

/* Installs SIGINT/SIGTERM handlers that set *flag (a second SIGINT exits at once, code 130),
 * and ignores SIGXFSZ so that a file-size limit turns into a write error. */
void el_install_stop_handlers(volatile sig_atomic_t *flag);

#endif /* EL_RUN_H */
