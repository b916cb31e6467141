/* seq_dump: a cnn or rnn backbone's forward and gradients on fixed texts, for torch_oracle.py.
 *
 * usage: seq_dump OUT.safetensors 'BACKBONE_YAML'
 * Builds the backbone (seeded random init: give emb_init_std > 0), featurizes the texts below,
 * runs one eval-mode forward over all rows (one padded batch) and backpropagates
 * loss = sum(out * R), R[i, j] = sin(1 + 7 i + 3 j). Writes every parameter under its name,
 * the token bags (seq.lengths i64 [n], seq.tok_off i64 [n + 1], seq.id_off, seq.ids), "out"
 * [n, out_dim], "R", and "grad.NAME" for each dense trainable parameter.
 */
#include "model.h"
#include "safetensors.h"
#include "spec.h"
#include "tokenize_seq.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *TEXTS[] = {
    "Какой чудесный день!", "", "а", "Ну и ну... 😀😀 это было неожиданно, правда?",
    "one two three four five six seven eight nine ten eleven twelve thirteen", "ок",
    "Не знаю.", "Я так зол на него, что не могу говорить!!!",
};
#define N ((int64_t)(sizeof TEXTS / sizeof TEXTS[0]))
#define MAX_E 512

static el_st_entry E[MAX_E];
static int64_t SHAPES[MAX_E][3];
static void *OWNED[MAX_E];
static int32_t NE;

static void put(const char *name, el_st_dtype dt, int32_t nd, const int64_t *shape, const void *data,
                size_t nbytes) {
    void *copy = malloc(nbytes + 1);
    memcpy(copy, data, nbytes);
    OWNED[NE] = copy;
    memcpy(SHAPES[NE], shape, (size_t)nd * sizeof(int64_t));
    E[NE] = (el_st_entry){xstrdup(name), dt, nd, SHAPES[NE], copy, nbytes};
    NE++;
}

static void put_tensor(const char *name, ts_tensor t) {
    int64_t shape[8];
    int32_t nd = ts_shape(t, shape, 8);
    int64_t n = ts_numel(t);
    float *buf = malloc((size_t)n * sizeof(float) + 1);
    ts_copy_out(t, buf, TS_F32, n);
    put(name, EL_ST_F32, nd, shape, buf, (size_t)n * sizeof(float));
    free(buf);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: seq_dump OUT.safetensors 'BACKBONE_YAML'\n");
        return 2;
    }
    ts_set_num_threads(1);
    ts_manual_seed(11);
    char *y = el_printf("data: {train: [{path: x.csv, format: goemotions}], val: {path: x.csv, "
                        "format: goemotions}, test: {path: x.csv, format: goemotions}}\nbackbone: %s\n",
                        argv[2]);
    el_spec spec;
    if (el_spec_parse(y, strlen(y), "seq_dump", &spec) != 0) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    free(y);
    el_params ps = {0};
    el_backbone *bb = el_backbone_build(&spec.backbone, &ps);
    if (!bb) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    el_seq_features *f = bb->ops->prepare(bb, TEXTS, N);
    int64_t rows[N];
    for (int64_t i = 0; i < N; i++) rows[i] = i;
    ts_scope_begin();
    ts_tensor out = bb->ops->forward(bb, f, rows, (int32_t)N, false);
    if (!out) {
        fprintf(stderr, "forward: %s\n", ts_last_error());
        return 1;
    }
    int64_t d = bb->out_dim, rshape[2] = {N, d};
    float *r = malloc((size_t)(N * d) * sizeof(float));
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < d; j++) r[i * d + j] = (float)sin(1.0 + 7.0 * (double)i + 3.0 * (double)j);
    ts_tensor R = ts_from_data(r, TS_F32, rshape, 2);
    ts_tensor loss = ts_sum(ts_mul(out, R));
    if (!loss || ts_backward(loss) != 0) {
        fprintf(stderr, "backward: %s\n", ts_last_error());
        return 1;
    }
    put_tensor("out", out);
    put_tensor("R", R);
    for (int32_t i = 0; i < ps.n; i++) {
        el_param *p = &ps.items[i];
        put_tensor(p->name, p->t);
        if (p->trainable && !p->sparse_grad) {
            ts_tensor g = ts_grad(p->t);
            char name[160];
            snprintf(name, sizeof name, "grad.%s", p->name);
            if (g) put_tensor(name, g);
            ts_free(g);
        }
    }
    int64_t s1[1] = {N}, s2[1] = {N + 1}, s3[1] = {f->tok_off[N] + 1}, s4[1] = {f->id_off[f->tok_off[N]]};
    int64_t *lens = malloc((size_t)N * sizeof(int64_t));
    for (int64_t i = 0; i < N; i++) lens[i] = f->lengths[i];
    put("seq.lengths", EL_ST_I64, 1, s1, lens, (size_t)N * 8);
    put("seq.tok_off", EL_ST_I64, 1, s2, f->tok_off, (size_t)(N + 1) * 8);
    put("seq.id_off", EL_ST_I64, 1, s3, f->id_off, (size_t)s3[0] * 8);
    put("seq.ids", EL_ST_I64, 1, s4, f->ids, (size_t)s4[0] * 8);
    ts_scope_end();
    int rc = el_st_write(argv[1], E, NE, NULL, NULL, 0);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    for (int32_t i = 0; i < NE; i++) {
        free((char *)E[i].name);
        free(OWNED[i]);
    }
    free(lens);
    free(r);
    bb->ops->free_inputs(f);
    el_backbone_free(bb);
    el_params_free(&ps);
    el_spec_free(&spec);
    return rc ? 1 : 0;
}
