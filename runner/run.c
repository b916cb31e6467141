/* run.c: `emolab run` and the single-run pipeline shared with sweeps. See run.h. */
#define _GNU_SOURCE
#include "run.h"
#include "commands.h"
#include "data.h"
#include "emolab_version.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

el_run_params el_run_default_params(void) {
    el_run_params p = {.experiments_dir = NULL, .save_checkpoint = true};
    return p;
}

/* ---- signals ----------------------------------------------------------------------------- */
static volatile sig_atomic_t *g_stop_flag;
static volatile sig_atomic_t g_sigint_count;

static void on_signal(int sig) {
    if (sig == SIGINT && ++g_sigint_count >= 2) {
        static const char msg[] = "\nemolab: second Ctrl-C, exiting now\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    if (g_stop_flag) *g_stop_flag = 1;
}

void el_install_stop_handlers(volatile sig_atomic_t *flag) {
    g_stop_flag = flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
}

/* ---- the pipeline ------------------------------------------------------------------------ */
typedef struct {
    char **keys, **values;
    int32_t n;
    int64_t cap;
} kv_list;

static void collect_param(const char *key, const char *json, void *ctx) {
    kv_list *l = ctx;
    el_grow(l->keys, &l->cap, l->n + 1);
    l->values = xrealloc(l->values, (size_t)l->cap * sizeof(char *));
    l->keys[l->n] = xstrdup(key);
    l->values[l->n++] = xstrdup(json);
}

static void kv_free(kv_list *l) {
    for (int32_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
}

static int write_run_files(const char *dir, const el_spec *spec, const el_train_result *res,
                           const el_labelset *labels) {
    char *cfg = el_path_join(dir, "config.json");
    char *pretty = el_node_to_json(spec->resolved, true);
    int rc = el_write_file_atomic(cfg, pretty, strlen(pretty));
    free(pretty);
    free(cfg);
    if (rc != 0) return rc;
    el_buf b = {0};
    el_buf_puts(&b, "{");
    for (int32_t j = 0; j < labels->n; j++)
        el_buf_printf(&b, "%s\n  \"%s\": %.6g", j ? "," : "", labels->names[j],
                      (double)res->thresholds[j]);
    el_buf_puts(&b, "\n}\n");
    char *thr = el_path_join(dir, "thresholds.json");
    rc = el_write_file_atomic(thr, b.s, b.len);
    free(thr);
    el_buf_free(&b);
    return rc;
}

static void record_artifact(el_registry *reg, const char *uuid, const char *kind,
                            const char *path) {
    char hex[65];
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    int64_t bytes = ftell(f);
    fclose(f);
    if (el_sha256_file(path, hex) == 0) el_run_artifact(reg, uuid, kind, path, hex, bytes);
}

int el_run_spec(el_registry *reg, const el_spec *spec, const el_run_params *p, char uuid[37],
                el_train_result *res) {
    memset(res, 0, sizeof *res);
    kv_list params = {0};
    el_spec_params(spec, collect_param, &params);
    el_run_info info = {
        .name = spec->name,
        .owner = spec->owner,
        .kind = "single",
        .sweep_id = p->sweep_id,
        .git_commit = EMOLAB_GIT_COMMIT,
        .spec_file = spec->file,
        .config_json = spec->resolved_json,
        .config_hash = spec->config_hash,
        .seed = spec->train.seed,
        .data_variant = spec->data.variant,
        .param_keys = (const char *const *)params.keys,
        .param_values = (const char *const *)params.values,
        .n_params = params.n,
    };
    const char *exp_dir = p->experiments_dir ? p->experiments_dir
                                             : el_env("EMOLAB_EXPERIMENTS", "experiments");
    /* the run directory is named by the uuid, known only after the insert */
    int rc = el_run_begin(reg, &info, uuid);
    kv_free(&params);
    if (rc != 0) return EL_ERR;
    char *run_dir = el_path_join(exp_dir, uuid);
    if (p->save_checkpoint) el_run_set_run_dir(reg, uuid, run_dir);

    el_dataset data;
    memset(&data, 0, sizeof data);
    double t0 = el_now();
    if (el_data_load(&spec->data, &data) != 0) {
        res->status = "failed";
        snprintf(res->error, sizeof res->error, "data: %s", el_last_error());
    } else {
        fprintf(stderr,
                "data: train %lld rows (%lld dropped as overlapping val/test), val %lld, test %lld "
                "(%.1fs)\n",
                (long long)data.train.n, (long long)data.n_dropped_overlap, (long long)data.val.n,
                (long long)data.test.n, el_now() - t0);
        el_run_set_data(reg, uuid, &data);
        el_train_ctx ctx = {
            .spec = spec,
            .data = &data,
            .reg = reg,
            .uuid = uuid,
            .run_dir = p->save_checkpoint ? run_dir : NULL,
            .stop = p->stop,
            .on_epoch = p->on_epoch,
            .on_epoch_ctx = p->on_epoch_ctx,
        };
        el_train_run(&ctx, res);
        if (res->checkpoint[0]) {
            if (write_run_files(run_dir, spec, res, &data.labels) != 0)
                fprintf(stderr, "warning: %s\n", el_last_error());
            record_artifact(reg, uuid, "checkpoint", res->checkpoint);
        }
    }
    el_split_metrics sm[2];
    int32_t nsm = 0;
    if (res->have_val) sm[nsm++] = (el_split_metrics){"val", &res->val};
    if (res->have_test) sm[nsm++] = (el_split_metrics){"test", &res->test};
    el_run_result rr = {
        .status = res->status,
        .error = res->error[0] ? res->error : NULL,
        .best_epoch = res->best_epoch,
        .epochs_run = res->epochs_run,
        .thresholds = res->have_val ? res->thresholds : NULL,
        .n_labels = data.labels.n,
        .label_names = (const char *const *)data.labels.names,
        .metrics = sm,
        .n_metrics = nsm,
        .thr_curve_x = res->have_val ? res->curve_x : NULL,
        .thr_curve_val_f1 = res->have_val ? res->curve_val_f1 : NULL,
        .n_thr_curve = res->have_val ? EL_CURVE_POINTS : 0,
        .train_seconds = res->train_seconds,
    };
    int frc = el_run_finish(reg, uuid, &rr);
    el_data_free(&data);
    free(run_dir);
    if (frc != 0) return EL_ERR;
    return el_streq(res->status, "failed") ? EL_ERR : EL_OK;
}

/* ---- emolab run -------------------------------------------------------------------------- */
static void run_usage(FILE *out) {
    fprintf(out,
            "usage: emolab run SPEC.yaml [options]\n\n"
            "Trains the experiment a spec declares on its data, scores it (weighted F1 on val\n"
            "and test, thresholds tuned on val only) and records it in the registry.\n\n"
            "options:\n"
            "  --set KEY=VALUE     override a spec value, e.g. --set head.dropout=0.5\n"
            "                      --set head.layers=[512,256] (repeatable; validated like the file)\n"
            "  --data-root DIR     where data paths are relative to (default $EMOLAB_DATA or ./data)\n"
            "  --registry FILE     the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
            "  --experiments DIR   run outputs go to DIR/RUN_ID/ (default ./experiments)\n"
            "  --threads N         libtorch threads (default: the spec's train.threads, else all cores)\n"
            "  --no-checkpoint     do not save the model\n"
            "  --dry-run           validate the spec, print the resolved config, do nothing else\n"
            "  --help-spec         every spec key with its type, default and allowed values\n\n"
            "exit codes: 0 finished, 1 failed (recorded with its reason), 2 usage or spec error,\n"
            "130 interrupted (Ctrl-C: the current step ends, the run is recorded as interrupted).\n");
}

int cmd_run(int argc, char **argv) {
    const char *spec_path = NULL, *data_root = NULL, *reg_path = NULL, *exp_dir = NULL;
    const char **sets = xcalloc((size_t)argc + 1, sizeof(char *));
    int32_t n_sets = 0, threads = 0;
    bool dry = false, save = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            run_usage(stdout);
            free(sets);
            return 0;
        } else if (!strcmp(a, "--help-spec")) {
            el_spec_print_schema(stdout);
            free(sets);
            return 0;
        } else if (!strcmp(a, "--set") && next) {
            sets[n_sets++] = argv[++i];
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = a + 6;
        } else if (!strcmp(a, "--data-root") && next) {
            data_root = argv[++i];
        } else if (!strcmp(a, "--registry") && next) {
            reg_path = argv[++i];
        } else if (!strcmp(a, "--experiments") && next) {
            exp_dir = argv[++i];
        } else if (!strcmp(a, "--threads") && next) {
            int64_t v;
            if (el_parse_i64(argv[++i], &v) != 0 || v < 1 || v > 1024) {
                fprintf(stderr, "emolab run: --threads wants a number from 1 to 1024\n");
                free(sets);
                return 2;
            }
            threads = (int32_t)v;
        } else if (!strcmp(a, "--no-checkpoint")) {
            save = false;
        } else if (!strcmp(a, "--dry-run")) {
            dry = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "emolab run: unknown option %s (emolab run --help)\n", a);
            free(sets);
            return 2;
        } else if (!spec_path) {
            spec_path = a;
        } else {
            fprintf(stderr, "emolab run: one spec at a time (got %s and %s); use emolab sweep for "
                            "several\n", spec_path, a);
            free(sets);
            return 2;
        }
    }
    if (!spec_path) {
        run_usage(stderr);
        free(sets);
        return 2;
    }
    el_spec spec;
    if (el_spec_load(spec_path, sets, n_sets, &spec) != 0) {
        fprintf(stderr, "emolab run: %s\n", el_last_error());
        free(sets);
        return 2;
    }
    free(sets);
    if (data_root) {
        free(spec.data.root);
        spec.data.root = xstrdup(data_root);
    }
    if (threads > 0) spec.train.threads = threads;
    if (dry) {
        char *pretty = el_node_to_json(spec.resolved, true);
        printf("%s\nconfig hash %s\n", pretty, spec.config_hash);
        free(pretty);
        el_spec_free(&spec);
        return 0;
    }
    el_registry *reg = el_registry_open(el_registry_default_path(reg_path), false);
    if (!reg) {
        fprintf(stderr, "emolab run: %s\n", el_last_error());
        el_spec_free(&spec);
        return 1;
    }
    static volatile sig_atomic_t stop;
    el_install_stop_handlers(&stop);
    el_run_params p = el_run_default_params();
    p.experiments_dir = exp_dir;
    p.save_checkpoint = save;
    p.stop = &stop;
    char uuid[37] = "";
    el_train_result res;
    fprintf(stderr, "run %s: %s\n", spec.name, spec.file);
    int rc = el_run_spec(reg, &spec, &p, uuid, &res);
    int code = 0;
    if (!uuid[0]) {
        fprintf(stderr, "emolab run: %s\n", el_last_error());
        code = 1;
    } else if (rc != 0) {
        fprintf(stderr, "emolab run: run %s failed: %s\n", uuid,
                res.error[0] ? res.error : el_last_error());
        code = 1;
    } else {
        printf("run %s  %s  %s\n", uuid, spec.name, res.status);
        if (res.have_val) printf("  val  weighted F1 %.4f  macro F1 %.4f  (best epoch %d of %d)\n",
                                 res.val.weighted_f1, res.val.macro_f1, res.best_epoch,
                                 res.epochs_run);
        if (res.have_test)
            printf("  test weighted F1 %.4f  macro F1 %.4f\n", res.test.weighted_f1,
                   res.test.macro_f1);
        printf("  %.0f training samples/s, %.1fs in all, %lld parameters\n", res.samples_per_s,
               res.train_seconds, (long long)res.n_params);
        if (res.checkpoint[0]) printf("  checkpoint %s\n", res.checkpoint);
        if (el_streq(res.status, "interrupted")) code = 130;
    }
    el_registry_close(reg);
    el_spec_free(&spec);
    return code;
}
