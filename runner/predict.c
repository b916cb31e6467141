/* predict.c: see predict.h. Loading recorded runs, probabilities, batch CSV prediction and
 * `emolab predict`. */
#define _GNU_SOURCE
#include "predict.h"
#include "commands.h"
#include "csv.h"
#include "run.h"
#include "safetensors.h"
#include "spec.h"
#include "train.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

el_predictor_params el_predictor_default_params(void) {
    el_predictor_params p = {.threads = 0, .quiet = false};
    return p;
}

el_predict_csv_params el_predict_csv_default_params(void) {
    el_predict_csv_params p = {0};
    return p;
}

/* ---- one loaded run ---------------------------------------------------------------------- */
typedef struct {
    el_run_ref ref;
    char *ckpt_path;   /* the file actually opened */
    char *config;      /* emolab.config from the checkpoint (= the registry's config_json) */
    el_spec spec;
    bool have_spec;
    el_model model;
    bool have_model;
    int32_t k;
    char *labels[EL_MAX_LABELS];
    float thr[EL_MAX_LABELS];
} pmember;

struct el_predictor {
    el_run_ref run;    /* the run opened; for a member list: an unregistered "ensemble" */
    pmember *m;
    int32_t n_m;
    int32_t k;
    char *labels[EL_MAX_LABELS];
    float thr[EL_MAX_LABELS];
    float **mbuf;      /* per-member probabilities when n_m > 1 */
    int64_t mbuf_n;
};

static void pmember_free(pmember *m) {
    if (m->have_model) el_model_free(&m->model);
    if (m->have_spec) el_spec_free(&m->spec);
    for (int32_t j = 0; j < m->k; j++) free(m->labels[j]);
    free(m->ckpt_path);
    free(m->config);
    el_run_ref_free(&m->ref);
    memset(m, 0, sizeof *m);
}

void el_predictor_free(el_predictor *p) {
    if (!p) return;
    for (int32_t i = 0; i < p->n_m; i++) pmember_free(&p->m[i]);
    free(p->m);
    for (int32_t j = 0; j < p->k; j++) free(p->labels[j]);
    if (p->mbuf)
        for (int32_t i = 0; i < p->n_m; i++) free(p->mbuf[i]);
    free(p->mbuf);
    el_run_ref_free(&p->run);
    free(p);
}

static const char *ref_name(const el_run_ref *r) { return r->name ? r->name : "?"; }

/* Why a run cannot be predicted with, or NULL when it can (notes go to stderr). */
static int check_usable(const el_run_ref *r, bool quiet) {
    const char *st = r->status ? r->status : "?";
    if (el_streq(st, "running"))
        return el_err("run %s (%s) is still running (started %s): its checkpoint is saved when it "
                      "finishes; wait for it, or predict with a finished run", r->uuid, ref_name(r),
                      r->created ? r->created : "?");
    if (!r->checkpoint) {
        if (el_streq(st, "finished"))
            return el_err("run %s (%s) finished without saving a checkpoint (trained with "
                          "--no-checkpoint?): nothing to predict with; train it again without "
                          "--no-checkpoint", r->uuid, ref_name(r));
        return el_err("run %s (%s) is %s and saved no checkpoint%s%s%s: nothing to predict with; "
                      "pick a finished run (sqlite3 REGISTRY \"SELECT uuid, name FROM runs WHERE "
                      "status = 'finished'\")", r->uuid, ref_name(r), st,
                      r->error ? " (" : "", r->error ? r->error : "", r->error ? ")" : "");
    }
    if (!el_streq(st, "finished") && !quiet)
        fprintf(stderr, "note: run %s (%s) is %s%s%s; its checkpoint holds the best epoch it reached "
                "and it has no test metrics\n", r->uuid, ref_name(r), st, r->error ? ": " : "",
                r->error ? r->error : "");
    return EL_OK;
}

/* The checkpoint file: as recorded, else (relative paths) next to the registry. */
static char *find_checkpoint(el_registry *reg, const el_run_ref *r) {
    if (el_file_exists(r->checkpoint) || r->checkpoint[0] == '/') return xstrdup(r->checkpoint);
    char *dir = el_dirname(el_registry_path(reg));
    char *alt = el_path_join(dir, r->checkpoint);
    free(dir);
    if (el_file_exists(alt)) return alt;
    free(alt);
    return xstrdup(r->checkpoint);
}

static int verify_checkpoint(const el_run_ref *r, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return el_err("run %s (%s): checkpoint %s: %s; the registry recorded it there (were the run "
                      "outputs moved or deleted? run emolab from the directory it was trained in, "
                      "or restore the file)", r->uuid, ref_name(r), path, strerror(errno));
    if (r->checkpoint_bytes >= 0 && (int64_t)sb.st_size != r->checkpoint_bytes)
        return el_err("run %s (%s): checkpoint %s has %lld bytes, the registry recorded %lld: the "
                      "file changed after the run saved it, so it is not the model the registry "
                      "scored; restore it, or train the run again", r->uuid, ref_name(r), path,
                      (long long)sb.st_size, (long long)r->checkpoint_bytes);
    if (!r->checkpoint_sha256[0])
        return el_err("run %s (%s): the registry has no sha256 for checkpoint %s, so it cannot be "
                      "verified; train the run again", r->uuid, ref_name(r), path);
    char hex[65];
    if (el_sha256_file(path, hex) != 0) return el_err_prefix("run %s: checkpoint", r->uuid);
    if (strcmp(hex, r->checkpoint_sha256) != 0)
        return el_err("run %s (%s): checkpoint %s changed after the run saved it (sha256 %.16s..., "
                      "the registry recorded %.16s...): it is not the model the registry scored; "
                      "restore it, or train the run again", r->uuid, ref_name(r), path, hex,
                      r->checkpoint_sha256);
    return EL_OK;
}

int el_predict_spec_from_config(const char *config_json, const char *where, el_spec *out) {
    memset(out, 0, sizeof *out);
    el_node *tree = el_yaml_parse(config_json, strlen(config_json), where);
    if (!tree) return EL_ERR;
    int rc = el_spec_from_node(tree, where, out);
    el_node_free(tree);
    return rc;
}

/* Labels and thresholds from the checkpoint's metadata. */
static int read_meta(pmember *m, const el_safetensors *st) {
    const char *path = m->ckpt_path;
    const char *cfg = el_st_meta(st, "emolab.config");
    const char *lab = el_st_meta(st, "emolab.labels");
    const char *thr = el_st_meta(st, "emolab.thresholds");
    if (!cfg || !lab || !thr)
        return el_err("%s: no emolab.config / emolab.labels / emolab.thresholds metadata: not an "
                      "emolab checkpoint", path);
    m->config = xstrdup(cfg);
    json_error_t je;
    json_t *jl = json_loads(lab, 0, &je), *jt = json_loads(thr, 0, &je);
    int rc = EL_OK;
    if (!json_is_array(jl) || !json_is_array(jt) || json_array_size(jl) == 0 ||
        json_array_size(jl) > EL_MAX_LABELS || json_array_size(jl) != json_array_size(jt)) {
        rc = el_err("%s: metadata emolab.labels / emolab.thresholds are not two arrays of the same "
                    "length (1..%d)", path, EL_MAX_LABELS);
    } else {
        m->k = (int32_t)json_array_size(jl);
        for (int32_t j = 0; j < m->k && rc == EL_OK; j++) {
            json_t *s = json_array_get(jl, (size_t)j), *v = json_array_get(jt, (size_t)j);
            if (!json_is_string(s) || !json_is_number(v)) {
                rc = el_err("%s: metadata: label %d has no name or threshold", path, (int)j);
                break;
            }
            m->labels[j] = xstrdup(json_string_value(s));
            m->thr[j] = (float)json_number_value(v);
        }
        if (rc != EL_OK) {
            for (int32_t j = 0; j < m->k; j++) free(m->labels[j]);
            memset(m->labels, 0, sizeof m->labels);
            m->k = 0;
        }
    }
    json_decref(jl);
    json_decref(jt);
    return rc;
}

static int pmember_load(el_registry *reg, const char *ref, const el_predictor_params *pp,
                        pmember *m) {
    memset(m, 0, sizeof *m);
    if (el_registry_resolve_run(reg, ref, &m->ref) != 0) return EL_ERR;
    el_run_ref *r = &m->ref;
    if (!el_streq(r->kind, "single"))
        return el_err("run %s (%s) is an ensemble; an ensemble's members must be single runs (list "
                      "its members instead)", r->uuid, ref_name(r));
    if (check_usable(r, pp->quiet) != 0) return EL_ERR;
    m->ckpt_path = find_checkpoint(reg, r);
    if (verify_checkpoint(r, m->ckpt_path) != 0) return EL_ERR;
    el_safetensors st;
    if (el_st_open(m->ckpt_path, &st) != 0) return EL_ERR;
    int rc = read_meta(m, &st);
    el_st_close(&st);
    if (rc != EL_OK) return EL_ERR;
    if (r->config_json && strcmp(r->config_json, m->config) != 0)
        return el_err("run %s (%s): checkpoint %s holds another config than the run recorded: it "
                      "belongs to another run", r->uuid, ref_name(r), m->ckpt_path);
    char *where = el_printf("run %s config", r->uuid);
    rc = el_predict_spec_from_config(m->config, where, &m->spec);
    free(where);
    if (rc != 0) return el_err_prefix("run %s: its config no longer validates", r->uuid);
    m->have_spec = true;
    /* One thread by default: batches of 512 rows are too small to gain from more (measured on
     * the shared 2-core machine with spinning OpenMP workers: 2 threads made the 5,427-row test
     * file 7x slower). The results do not depend on it (checked: identical output files). */
    ts_set_num_threads(pp->threads > 0 ? pp->threads : 1);
    if (el_model_build(&m->model, &m->spec, m->k) != 0) {
        el_model_free(&m->model);
        return el_err_prefix("run %s (%s): building its model", r->uuid, ref_name(r));
    }
    m->have_model = true;
    if (el_checkpoint_load(m->ckpt_path, &m->model) != 0)
        return el_err_prefix("run %s (%s)", r->uuid, ref_name(r));
    return EL_OK;
}

/* Thresholds the registry recorded for a run, in label order. */
static int read_registry_thresholds(el_registry *reg, const char *uuid, el_predictor *p) {
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT label, value FROM thresholds WHERE run = ? ORDER BY label_idx",
                           -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: reading thresholds: %s", el_registry_path(reg), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    int32_t n = 0;
    int rc;
    bool bad = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *label = (const char *)sqlite3_column_text(st, 0);
        if (n >= p->k || !el_streq(label, p->labels[n])) bad = true;
        else p->thr[n] = (float)sqlite3_column_double(st, 1);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return el_err("%s: reading thresholds: %s", el_registry_path(reg), sqlite3_errmsg(db));
    if (bad || n != p->k)
        return el_err("%s: ensemble %s: its recorded thresholds do not match its members' labels (%d "
                      "thresholds for %d labels)", el_registry_path(reg), uuid, (int)n, (int)p->k);
    return EL_OK;
}

static el_predictor *open_members(el_registry *reg, const char *const *refs, int32_t n,
                                  const el_predictor_params *pp) {
    el_predictor_params def = el_predictor_default_params();
    if (!pp) pp = &def;
    el_predictor *p = xcalloc(1, sizeof *p);
    p->m = xcalloc((size_t)n, sizeof *p->m);
    for (int32_t i = 0; i < n; i++) {
        int rc = pmember_load(reg, refs[i], pp, &p->m[i]);
        p->n_m = i + 1;
        if (rc != 0) {
            el_predictor_free(p);
            return NULL;
        }
        for (int32_t j = 0; j < i; j++)
            if (!strcmp(p->m[j].ref.uuid, p->m[i].ref.uuid)) {
                el_err("run %s (%s) is listed twice (as '%s' and '%s'); list each member once",
                       p->m[i].ref.uuid, ref_name(&p->m[i].ref), refs[j], refs[i]);
                el_predictor_free(p);
                return NULL;
            }
        bool same = p->m[i].k == p->m[0].k;
        for (int32_t j = 0; same && j < p->m[i].k; j++)
            same = !strcmp(p->m[i].labels[j], p->m[0].labels[j]);
        if (!same) {
            el_err("runs %s (%s) and %s (%s) predict different labels (or in another order): they "
                   "cannot be averaged", p->m[0].ref.uuid, ref_name(&p->m[0].ref), p->m[i].ref.uuid,
                   ref_name(&p->m[i].ref));
            el_predictor_free(p);
            return NULL;
        }
    }
    p->k = p->m[0].k;
    for (int32_t j = 0; j < p->k; j++) p->labels[j] = xstrdup(p->m[0].labels[j]);
    memcpy(p->thr, p->m[0].thr, sizeof p->thr);
    if (n > 1) p->mbuf = xcalloc((size_t)n, sizeof(float *));
    return p;
}

el_predictor *el_predictor_open_members(el_registry *reg, const char *const *refs, int32_t n,
                                        const el_predictor_params *pp) {
    if (!reg || !refs || n < 1) {
        el_err("el_predictor_open_members: no runs given");
        return NULL;
    }
    el_predictor *p = open_members(reg, refs, n, pp);
    if (!p) return NULL;
    snprintf(p->run.uuid, sizeof p->run.uuid, "%s", n == 1 ? p->m[0].ref.uuid : "");
    p->run.name = xstrdup(n == 1 ? ref_name(&p->m[0].ref) : "ensemble (not recorded)");
    p->run.kind = xstrdup(n == 1 ? "single" : "ensemble");
    p->run.status = xstrdup(n == 1 ? p->m[0].ref.status : "finished");
    p->run.checkpoint_bytes = -1;
    return p;
}

el_predictor *el_predictor_open(el_registry *reg, const char *ref, const el_predictor_params *pp) {
    el_predictor_params def = el_predictor_default_params();
    if (!pp) pp = &def;
    el_run_ref r;
    if (el_registry_resolve_run(reg, ref, &r) != 0) return NULL;
    if (el_streq(r.kind, "single")) {
        el_predictor *p = open_members(reg, (const char *const[]){r.uuid}, 1, pp);
        if (p) {
            p->run = r;
            return p;
        }
        el_run_ref_free(&r);
        return NULL;
    }
    /* an ensemble: its members from the config, its thresholds from the registry */
    if (!el_streq(r.status, "finished")) {
        el_err("ensemble %s (%s) is %s, not finished: it has no tuned thresholds", r.uuid,
               ref_name(&r), r.status ? r.status : "?");
        el_run_ref_free(&r);
        return NULL;
    }
    json_error_t je;
    json_t *cfg = r.config_json ? json_loads(r.config_json, 0, &je) : NULL;
    json_t *mem = cfg ? json_object_get(cfg, "members") : NULL;
    size_t nm = json_is_array(mem) ? json_array_size(mem) : 0;
    if (nm < 1 || nm > 1024) {
        el_err("ensemble %s (%s): its config lists no members", r.uuid, ref_name(&r));
        json_decref(cfg);
        el_run_ref_free(&r);
        return NULL;
    }
    const char **refs = xcalloc(nm, sizeof *refs);
    for (size_t i = 0; i < nm; i++) {
        refs[i] = json_string_value(json_array_get(mem, i));
        if (!refs[i] || strlen(refs[i]) != 36) {
            el_err("ensemble %s (%s): member %zu is not a run uuid", r.uuid, ref_name(&r), i + 1);
            free(refs);
            json_decref(cfg);
            el_run_ref_free(&r);
            return NULL;
        }
    }
    el_predictor *p = open_members(reg, refs, (int32_t)nm, pp);
    free(refs);
    json_decref(cfg);
    if (!p) {
        el_err_prefix("ensemble %s (%s)", r.uuid, ref_name(&r));
        el_run_ref_free(&r);
        return NULL;
    }
    p->run = r;
    if (read_registry_thresholds(reg, r.uuid, p) != 0) {
        el_predictor_free(p);
        return NULL;
    }
    return p;
}

const el_run_ref *el_predictor_run(const el_predictor *p) { return &p->run; }
int32_t el_predictor_n_labels(const el_predictor *p) { return p->k; }
const char *const *el_predictor_labels(const el_predictor *p) {
    return (const char *const *)p->labels;
}
const float *el_predictor_thresholds(const el_predictor *p) { return p->thr; }
void el_predictor_set_thresholds(el_predictor *p, const float *thr) {
    memcpy(p->thr, thr, (size_t)p->k * sizeof(float));
}
int32_t el_predictor_n_members(const el_predictor *p) { return p->n_m; }
const el_run_ref *el_predictor_member(const el_predictor *p, int32_t i) {
    return i >= 0 && i < p->n_m ? &p->m[i].ref : NULL;
}
const char *el_predictor_member_config(const el_predictor *p, int32_t i) {
    return i >= 0 && i < p->n_m ? p->m[i].config : NULL;
}
const char *el_predictor_text_column(const el_predictor *p) {
    const char *t = p->m[0].spec.data.test.text;
    return t && *t ? t : "text";
}

void el_probs_mean(const float *const *member_probs, int32_t n_members, int64_t count,
                   float *out) {
    for (int64_t i = 0; i < count; i++) {
        double s = 0;
        for (int32_t m = 0; m < n_members; m++) s += (double)member_probs[m][i];
        out[i] = (float)(s / (double)n_members);
    }
}

static int member_probs(pmember *m, char *const *texts, int64_t n, float *out) {
    el_backbone *bb = m->model.backbone;
    void *in = bb->ops->prepare(bb, texts, n);
    if (!in) return el_err_prefix("run %s: featurizing", m->ref.uuid);
    int rc = el_predict_probs(&m->model, in, n, out);
    bb->ops->free_inputs(in);
    return rc;
}

int el_predictor_probs(el_predictor *p, char *const *texts, int64_t n, float *probs) {
    if (n <= 0) return EL_OK;
    if (p->n_m == 1) return member_probs(&p->m[0], texts, n, probs);
    if (n > p->mbuf_n) {
        for (int32_t i = 0; i < p->n_m; i++)
            p->mbuf[i] = xrealloc(p->mbuf[i], (size_t)(n * p->k) * sizeof(float));
        p->mbuf_n = n;
    }
    for (int32_t i = 0; i < p->n_m; i++)
        if (member_probs(&p->m[i], texts, n, p->mbuf[i]) != 0) return EL_ERR;
    el_probs_mean((const float *const *)p->mbuf, p->n_m, n * p->k, probs);
    return EL_OK;
}

int el_predict_check_text(const char *text, size_t len) {
    int64_t bad = el_utf8_invalid_at(text, len);
    if (bad >= 0)
        return el_err("invalid UTF-8 at byte %lld (0x%02x)", (long long)bad,
                      (unsigned char)text[bad]);
    const char *z = memchr(text, 0, len);
    if (z) return el_err("NUL byte at byte %lld", (long long)(z - text));
    return EL_OK;
}

/* The shortest decimal that reads back as exactly f (at most 9 significant digits). */
static void short_float(float f, char out[32]) {
    for (int d = 1; d <= 9; d++) {
        snprintf(out, 32, "%.*g", d, (double)f);
        if (strtof(out, NULL) == f) return;
    }
}

static double short_double(float f) {
    char b[32];
    short_float(f, b);
    return strtod(b, NULL);
}

static bool is_blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\f' && *s != '\v')
            return false;
    return true;
}

/* ---- batch CSV --------------------------------------------------------------------------- */
static void csv_put(el_buf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        el_buf_puts(b, s);
        return;
    }
    el_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') el_buf_putc(b, '"');
        el_buf_putc(b, *s);
    }
    el_buf_putc(b, '"');
}

/* Newlines in a file: an upper bound on its records, for the progress bar's total. */
static int64_t count_lines(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    static char buf[1 << 16];
    int64_t n = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        for (char *q = buf; (q = memchr(q, '\n', (size_t)(buf + got - q))); q++) n++;
    fclose(f);
    return n;
}

typedef struct {
    el_predictor *p;
    const el_predict_csv_params *cp;
    el_predict_csv_stats *stats;
    el_afile *af;
    FILE *out;         /* stdout */
    char *texts[EL_PREDICT_BATCH], *ids[EL_PREDICT_BATCH];
    int64_t n;
    float *probs;
    uint8_t *pred;
    el_buf line;
} csv_job;

static int job_write(csv_job *j, const char *s, size_t len) {
    if (j->af) return el_afile_write(j->af, s, len);
    if (fwrite(s, 1, len, j->out) != len) return el_err("writing to stdout: %s", strerror(errno));
    return EL_OK;
}

static int job_flush(csv_job *j) {
    int32_t k = j->p->k;
    if (j->n == 0) return EL_OK;
    if (el_predictor_probs(j->p, j->texts, j->n, j->probs) != 0) return EL_ERR;
    el_apply_thresholds(j->probs, j->p->thr, j->n, k, j->pred);
    j->line.len = 0;
    if (j->line.s) j->line.s[0] = 0;
    for (int64_t i = 0; i < j->n; i++) {
        csv_put(&j->line, j->ids[i]);
        for (int32_t c = 0; c < k; c++) {
            uint8_t y = j->pred[i * k + c];
            j->stats->positives[c] += y;
            el_buf_puts(&j->line, y ? ",1" : ",0");
        }
        if (j->cp->probabilities)
            for (int32_t c = 0; c < k; c++) {
                char num[32];
                short_float(j->probs[i * k + c], num);
                el_buf_putc(&j->line, ',');
                el_buf_puts(&j->line, num);
            }
        el_buf_putc(&j->line, '\n');
        if (is_blank(j->texts[i])) j->stats->empty++;
        free(j->texts[i]);
        free(j->ids[i]);
        j->texts[i] = j->ids[i] = NULL;
    }
    j->stats->rows += j->n;
    j->n = 0;
    return job_write(j, j->line.s, j->line.len);
}

static void job_free(csv_job *j) {
    for (int64_t i = 0; i < EL_PREDICT_BATCH; i++) {
        free(j->texts[i]);
        free(j->ids[i]);
    }
    free(j->probs);
    free(j->pred);
    el_buf_free(&j->line);
}

int el_predict_csv(el_predictor *p, const el_predict_csv_params *cp, el_predict_csv_stats *stats) {
    memset(stats, 0, sizeof *stats);
    double t0 = el_now();
    if (!cp->input || !cp->output) return el_err("el_predict_csv: input and output are required");
    const char *text_col = cp->text_column ? cp->text_column : el_predictor_text_column(p);
    el_csv_params csvp = el_csv_default_params();
    csvp.hash = false;
    el_csv *c = el_csv_open(cp->input, csvp);
    if (!c) return EL_ERR;
    int32_t tcol = el_csv_column(c, text_col);
    int32_t icol = -1;
    if (tcol < 0) {
        char *cols = el_csv_columns_list(c);
        el_err("%s: no column '%s' (the columns are: %s); name the text column with "
               "--text-column", cp->input, text_col, cols);
        free(cols);
        el_csv_close(c);
        return EL_ERR;
    }
    if (cp->id_column) {
        icol = el_csv_column(c, cp->id_column);
        if (icol < 0) {
            char *cols = el_csv_columns_list(c);
            el_err("%s: no id column '%s' (the columns are: %s); name it with --id-column, or leave "
                   "the option out to number the rows", cp->input, cp->id_column, cols);
            free(cols);
            el_csv_close(c);
            return EL_ERR;
        }
    } else {
        icol = el_csv_column(c, "id");
    }
    const char *id_name = icol >= 0 ? el_csv_column_name(c, icol) : "row";
    int32_t k = p->k;
    for (int32_t l = 0; l < k; l++)
        if (!strcmp(id_name, p->labels[l])) {
            el_err("%s: the id column '%s' has the name of a label; rename it or choose another "
                   "with --id-column", cp->input, id_name);
            el_csv_close(c);
            return EL_ERR;
        }

    csv_job j = {.p = p, .cp = cp, .stats = stats};
    bool to_stdout = !strcmp(cp->output, "-");
    if (to_stdout) {
        j.out = stdout;
    } else {
        j.af = el_afile_open(cp->output);
        if (!j.af) {
            el_csv_close(c);
            return el_err_prefix("--output");
        }
    }
    j.probs = xmalloc((size_t)EL_PREDICT_BATCH * (size_t)k * sizeof(float));
    j.pred = xmalloc((size_t)EL_PREDICT_BATCH * (size_t)k);
    el_buf head = {0};
    csv_put(&head, id_name);
    for (int32_t c2 = 0; c2 < k; c2++) {
        el_buf_putc(&head, ',');
        csv_put(&head, p->labels[c2]);
    }
    if (cp->probabilities)
        for (int32_t c2 = 0; c2 < k; c2++) {
            char *h = el_printf("p_%s", p->labels[c2]);
            el_buf_putc(&head, ',');
            csv_put(&head, h);
            free(h);
        }
    el_buf_putc(&head, '\n');
    int rc = job_write(&j, head.s, head.len);
    el_buf_free(&head);

    el_progress bar;
    int64_t est = count_lines(cp->input);
    el_progress_begin(&bar, "predict", est > 1 ? est - 1 : 0, "rows");
    int r = 1;
    while (rc == EL_OK && (r = el_csv_next(c)) == 1) {
        size_t tn, in;
        const char *tv = el_csv_field(c, tcol, &tn);
        if (!tv) {
            tv = "";
            tn = 0;
        }
        if (el_predict_check_text(tv, tn) != 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", el_last_error());
            rc = el_err("%s: row %lld (line %lld): column %s: %s; the file must be UTF-8 text "
                        "(convert it, e.g. iconv -f cp1251 -t utf-8); no output was written",
                        cp->input, (long long)el_csv_row(c), (long long)el_csv_line(c), text_col,
                        why);
            break;
        }
        j.texts[j.n] = el_strndup(tv, tn);
        if (icol >= 0) {
            const char *iv = el_csv_field(c, icol, &in);
            j.ids[j.n] = el_strndup(iv ? iv : "", iv ? in : 0);
        } else {
            j.ids[j.n] = el_printf("%lld", (long long)el_csv_row(c));
        }
        j.n++;
        if (j.n == EL_PREDICT_BATCH) {
            rc = job_flush(&j);
            el_progress_update(&bar, stats->rows, NULL);
            if (rc == EL_OK && cp->stop && *cp->stop) {
                stats->interrupted = true;
                rc = el_err("interrupted after %lld rows: no output was written",
                            (long long)stats->rows);
            }
        }
    }
    if (rc == EL_OK && r < 0) rc = EL_ERR;
    if (rc == EL_OK) rc = job_flush(&j);
    el_csv_close(c);
    if (rc == EL_OK) {
        bar.total = bar.done = stats->rows;
        el_progress_end(&bar, NULL);
    } else if (bar.drawn && bar.tty) {
        fputc('\n', stderr);
    }
    job_free(&j);
    if (j.af) {
        if (rc == EL_OK) {
            rc = el_afile_commit(j.af);
            if (rc != EL_OK) el_err_prefix("--output");
        } else {
            el_afile_abort(j.af);
        }
    } else if (rc == EL_OK && fflush(stdout) != 0) {
        rc = el_err("writing to stdout: %s", strerror(errno));
    }
    stats->seconds = el_now() - t0;
    return rc;
}

/* ---- emolab predict ---------------------------------------------------------------------- */
static void predict_usage(FILE *out) {
    fprintf(out,
            "usage: emolab predict RUN \"text\" [\"text\" ...]           labels of a few texts\n"
            "       emolab predict RUN --input FILE.csv --output OUT.csv  a whole file\n"
            "       emolab predict RUN_A RUN_B ... --ensemble [...]     average runs (see below)\n\n"
            "Uses what a recorded run saved: its checkpoint (verified against the sha256 the\n"
            "registry recorded; a changed file is refused), its featurizer and head config, its\n"
            "label names and the thresholds tuned on its validation split. Predicting a run's own\n"
            "test file reproduces the test metrics in the registry exactly.\n\n"
            "RUN is a run uuid, the first characters of one (\"3f2a\"), or a run name; an\n"
            "ambiguous or unknown RUN is refused with the candidates. An ensemble run (kind\n"
            "ensemble) loads its members and averages their probabilities.\n\n"
            "options:\n"
            "  --format text|json   output of the texts mode (default text)\n"
            "  --text TEXT          a text to predict (repeatable; the same as a positional text)\n"
            "  --input FILE.csv     predict every row of a CSV file (with a header row); streamed\n"
            "                       in chunks of %d rows, memory does not grow with the file\n"
            "  --output FILE.csv    where the predictions go (required with --input; - = stdout);\n"
            "                       written to FILE.csv.tmp.PID and renamed when complete, so an\n"
            "                       error or Ctrl-C never leaves a partial file\n"
            "  --text-column NAME   the column with the texts (default: the text column of the\n"
            "                       run's test data, e.g. ru_text)\n"
            "  --id-column NAME     the column copied to the output to identify rows (default: id\n"
            "                       when the file has it, else a column `row` = 1-based row number)\n"
            "  --probabilities      add one probability column per label\n"
            "  --registry FILE      the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
            "  --threads N          libtorch threads (default 1: a bow model predicts thousands\n"
            "                       of rows a second on one; more help large backbones)\n"
            "  --ensemble           the RUNs are members of a new ensemble: build it (emolab\n"
            "                       ensemble --help has its options: --name, --threshold,\n"
            "                       --data-root, --experiments), record it, then predict with it\n"
            "                       (texts via --text or --input, if any)\n\n"
            "output of --input (header and order are stable):\n"
            "  ID,LABEL_1,...,LABEL_K[,p_LABEL_1,...,p_LABEL_K]\n"
            "  one row per input row, in input order; ID = the id column (same name and values)\n"
            "  or `row`; labels in the run's output order, for the ekman7 runs:\n"
            "  anger,disgust,fear,joy,sadness,surprise,neutral; LABEL = 1 when its probability\n"
            "  >= the run's threshold for it; probabilities as the shortest\n"
            "  decimal that reads back as the exact value the decision was made from.\n\n"
            "empty texts: an empty or whitespace-only text is predicted like any other (a bow\n"
            "model then answers from its biases alone, the same for every empty text) and counted\n"
            "in the summary. A text that is not valid UTF-8 stops the run with its row and line.\n\n"
            "examples:\n"
            "  emolab predict bow-h768-d085 \"Спасибо, это лучший подарок!\" \"Опять дождь...\"\n"
            "  emolab predict 3f2a --format json \"Как ты мог так поступить?\"\n"
            "  emolab predict 3f2a --input test.csv --text-column ru_text --id-column id \\\n"
            "      --output submission.csv --probabilities\n"
            "  emolab predict 3f2a 9c01 77de --ensemble --name top3 --input test.csv --output "
            "sub.csv\n\n"
            "exit codes: 0 done, 1 error (message says what to fix), 2 usage, 130 interrupted.\n",
            EL_PREDICT_BATCH);
}

static void print_text_result(const el_predictor *p, int64_t i, const char *text, const float *pr,
                              const uint8_t *y) {
    int32_t k = p->k;
    printf("[%lld] \"%s\"\n      labels:", (long long)i + 1, text);
    bool any = false;
    for (int32_t c = 0; c < k; c++)
        if (y[c]) {
            printf("%s %s", any ? "," : "", p->labels[c]);
            any = true;
        }
    printf("%s\n", any ? "" : " (none)");
    for (int32_t c = 0; c < k; c++)
        printf("      %c %-10s %.4f  (threshold %.2f)\n", y[c] ? '*' : ' ', p->labels[c],
               (double)pr[c], (double)p->thr[c]);
}

static int print_json(const el_predictor *p, char **texts, int64_t n, const float *pr,
                      const uint8_t *y) {
    int32_t k = p->k;
    const el_run_ref *r = &p->run;
    json_t *o = json_object();
    json_t *run = json_object();
    json_object_set_new(run, "uuid", json_string(r->uuid));
    json_object_set_new(run, "name", json_string(ref_name(r)));
    json_object_set_new(run, "kind", json_string(r->kind ? r->kind : "single"));
    json_t *mem = json_array();
    for (int32_t m = 0; m < p->n_m; m++) json_array_append_new(mem, json_string(p->m[m].ref.uuid));
    json_object_set_new(run, "members", mem);
    json_object_set_new(o, "run", run);
    json_t *labels = json_array(), *thr = json_object();
    for (int32_t c = 0; c < k; c++) {
        json_array_append_new(labels, json_string(p->labels[c]));
        json_object_set_new(thr, p->labels[c], json_real(short_double(p->thr[c])));
    }
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "thresholds", thr);
    json_t *preds = json_array();
    for (int64_t i = 0; i < n; i++) {
        json_t *e = json_object(), *ls = json_array(), *ps = json_object();
        json_object_set_new(e, "text", json_string(texts[i]));
        for (int32_t c = 0; c < k; c++) {
            if (y[i * k + c]) json_array_append_new(ls, json_string(p->labels[c]));
            json_object_set_new(ps, p->labels[c], json_real(short_double(pr[i * k + c])));
        }
        json_object_set_new(e, "labels", ls);
        json_object_set_new(e, "probabilities", ps);
        json_array_append_new(preds, e);
    }
    json_object_set_new(o, "predictions", preds);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!s) return el_err("cannot format the JSON output");
    printf("%s\n", s);
    free(s);
    return EL_OK;
}

int cmd_predict(int argc, char **argv) {
    const char *reg_path = NULL, *format = "text", *input = NULL, *output = NULL;
    el_predict_csv_params cp = el_predict_csv_default_params();
    char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
    char **texts = xcalloc((size_t)argc + 1, sizeof(char *));
    int32_t n_pos = 0, n_texts = 0, threads = 0;
    bool ensemble = false;
    /* options ensemble.c understands, passed through with --ensemble */
    char **ens_args = xcalloc((size_t)argc + 2, sizeof(char *));
    int n_ens = 0;
    ens_args[n_ens++] = "ensemble";
    int code = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            predict_usage(stdout);
            code = 0;
            goto done;
        } else if (!strcmp(a, "--format") && next) {
            format = argv[++i];
            if (strcmp(format, "text") && strcmp(format, "json")) {
                fprintf(stderr, "emolab predict: --format %s: allowed: text, json\n", format);
                goto done;
            }
        } else if (!strcmp(a, "--text") && next) {
            texts[n_texts++] = argv[++i];
        } else if (!strcmp(a, "--input") && next) {
            input = argv[++i];
        } else if (!strcmp(a, "--output") && next) {
            output = argv[++i];
        } else if (!strcmp(a, "--text-column") && next) {
            cp.text_column = argv[++i];
        } else if (!strcmp(a, "--id-column") && next) {
            cp.id_column = argv[++i];
        } else if (!strcmp(a, "--probabilities")) {
            cp.probabilities = true;
        } else if (!strcmp(a, "--registry") && next) {
            reg_path = argv[++i];
        } else if (!strcmp(a, "--threads") && next) {
            int64_t v;
            if (el_parse_i64(argv[++i], &v) != 0 || v < 1 || v > 1024) {
                fprintf(stderr, "emolab predict: --threads wants a number from 1 to 1024\n");
                goto done;
            }
            threads = (int32_t)v;
            ens_args[n_ens++] = (char *)a;
            ens_args[n_ens++] = argv[i];
        } else if (!strcmp(a, "--ensemble")) {
            ensemble = true;
        } else if ((!strcmp(a, "--name") || !strcmp(a, "--owner") || !strcmp(a, "--threshold") ||
                    !strcmp(a, "--threshold-value") || !strcmp(a, "--grid-step") ||
                    !strcmp(a, "--data-root") || !strcmp(a, "--experiments")) && next) {
            ens_args[n_ens++] = (char *)a;
            ens_args[n_ens++] = argv[++i];
        } else if (!strcmp(a, "--force")) {
            ens_args[n_ens++] = (char *)a;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "emolab predict: unknown option %s, or it lacks its value (emolab "
                            "predict --help)\n", a);
            goto done;
        } else {
            pos[n_pos++] = (char *)a;
        }
    }
    if (n_pos == 0) {
        predict_usage(stderr);
        goto done;
    }
    if (n_ens > 1 && !ensemble) {
        for (int i = 1; i < n_ens; i++)
            if (!strcmp(ens_args[i], "--name") || !strcmp(ens_args[i], "--threshold") ||
                !strcmp(ens_args[i], "--data-root") || !strcmp(ens_args[i], "--experiments") ||
                !strcmp(ens_args[i], "--owner") || !strcmp(ens_args[i], "--force") ||
                !strcmp(ens_args[i], "--threshold-value") || !strcmp(ens_args[i], "--grid-step")) {
                fprintf(stderr, "emolab predict: %s builds an ensemble: add --ensemble (or use "
                                "emolab ensemble)\n", ens_args[i]);
                goto done;
            }
    }
    int32_t n_runs = ensemble ? n_pos : 1;
    for (int32_t i = n_runs; i < n_pos; i++) texts[n_texts++] = pos[i];
    if (ensemble && n_runs < 2) {
        fprintf(stderr, "emolab predict: --ensemble needs at least two runs\n");
        goto done;
    }
    if (input && n_texts) {
        fprintf(stderr, "emolab predict: give texts or --input FILE, not both\n");
        goto done;
    }
    if (input && !strcmp(format, "json")) {
        fprintf(stderr, "emolab predict: --format applies to texts; --input writes CSV (add "
                        "--probabilities for the scores)\n");
        goto done;
    }
    if (input && !output) {
        fprintf(stderr, "emolab predict: --input needs --output FILE.csv (or --output - for "
                        "stdout)\n");
        goto done;
    }
    if (output && !input) {
        fprintf(stderr, "emolab predict: --output goes with --input FILE.csv\n");
        goto done;
    }
    if (!input && !n_texts && !ensemble) {
        fprintf(stderr, "emolab predict: nothing to predict: give texts after the run, or --input "
                        "FILE.csv --output OUT.csv (emolab predict --help)\n");
        goto done;
    }
    code = 1;
    /* cheap checks before loading anything */
    for (int32_t i = 0; i < n_texts; i++)
        if (el_predict_check_text(texts[i], strlen(texts[i])) != 0) {
            fprintf(stderr, "emolab predict: text %d: %s\n", (int)i + 1, el_last_error());
            goto done;
        }
    if (input) {
        struct stat sb;
        if (stat(input, &sb) != 0) {
            fprintf(stderr, "emolab predict: --input %s: %s\n", input, strerror(errno));
            goto done;
        }
        if (strcmp(output, "-") != 0) {
            char *dir = el_dirname(output);
            struct stat db, ob;
            if (stat(dir, &db) != 0 || !S_ISDIR(db.st_mode)) {
                fprintf(stderr, "emolab predict: --output %s: the directory %s does not exist "
                                "(create it first: mkdir -p %s); nothing was written\n",
                        output, dir, dir);
                free(dir);
                goto done;
            }
            free(dir);
            if (stat(output, &ob) == 0 && ob.st_dev == sb.st_dev && ob.st_ino == sb.st_ino) {
                fprintf(stderr, "emolab predict: --output %s is the input file; write the "
                                "predictions somewhere else\n", output);
                goto done;
            }
        }
    }
    el_registry *reg = el_registry_open(el_registry_default_path(reg_path), !ensemble);
    if (!reg) {
        fprintf(stderr, "emolab predict: %s\n", el_last_error());
        goto done;
    }
    char ens_uuid[37] = "";
    const char *ref = pos[0];
    if (ensemble) {
        int erc = el_ensemble_cli(reg, (const char *const *)pos, n_runs, n_ens, ens_args, ens_uuid);
        if (erc != 0) {
            el_registry_close(reg);
            code = erc;
            goto done;
        }
        ref = ens_uuid;
        if (!input && !n_texts) {
            el_registry_close(reg);
            code = 0;
            goto done;
        }
    }
    static volatile sig_atomic_t stop;
    el_install_stop_handlers(&stop);
    el_predictor_params pp = el_predictor_default_params();
    pp.threads = threads;
    double t0 = el_now();
    el_predictor *p = el_predictor_open(reg, ref, &pp);
    el_registry_close(reg);
    if (!p) {
        fprintf(stderr, "emolab predict: %s\n", el_last_error());
        goto done;
    }
    double t_load = el_now() - t0;
    if (input) {
        cp.input = input;
        cp.output = output;
        cp.stop = &stop;
        el_predict_csv_stats stats;
        int rc = el_predict_csv(p, &cp, &stats);
        if (rc != 0) {
            fprintf(stderr, "emolab predict: %s\n", el_last_error());
            code = stats.interrupted ? 130 : 1;
        } else {
            fprintf(stderr, "predicted %lld rows with %s (%s) in %.2fs (model loaded in %.2fs) -> %s\n",
                    (long long)stats.rows, p->run.uuid[0] ? p->run.uuid : "ensemble",
                    ref_name(&p->run), stats.seconds, t_load, output);
            if (stats.empty)
                fprintf(stderr, "  %lld empty texts (predicted from the model's biases alone)\n",
                        (long long)stats.empty);
            fprintf(stderr, "  predicted positives:");
            for (int32_t c = 0; c < p->k; c++)
                fprintf(stderr, "%s %s %lld", c ? "," : "", p->labels[c],
                        (long long)stats.positives[c]);
            fprintf(stderr, "\n");
            code = 0;
        }
    } else {
        int32_t k = p->k;
        float *pr = xmalloc((size_t)n_texts * (size_t)k * sizeof(float));
        uint8_t *y = xmalloc((size_t)n_texts * (size_t)k);
        if (el_predictor_probs(p, texts, n_texts, pr) != 0) {
            fprintf(stderr, "emolab predict: %s\n", el_last_error());
        } else {
            el_apply_thresholds(pr, p->thr, n_texts, k, y);
            if (!strcmp(format, "json")) {
                code = print_json(p, texts, n_texts, pr, y) == 0 ? 0 : 1;
            } else {
                printf("run %s  %s  (%s%s, %d member%s; thresholds tuned on val)\n", p->run.uuid,
                       ref_name(&p->run), p->run.kind ? p->run.kind : "single",
                       p->run.status && !el_streq(p->run.status, "finished") ? ", not finished" : "",
                       (int)p->n_m, p->n_m == 1 ? "" : "s");
                for (int32_t i = 0; i < n_texts; i++)
                    print_text_result(p, i, texts[i], pr + (int64_t)i * k, y + (int64_t)i * k);
                code = 0;
            }
        }
        free(pr);
        free(y);
    }
    el_predictor_free(p);
done:
    free(pos);
    free(texts);
    free(ens_args);
    return code;
}
