/* shim_optim_dump.c: runs AdamW / SGD / clip_grad_norm scenarios through the shim and prints,
 * as JSON, everything needed to replay them (initial values, the gradient of every step, the
 * hyper-parameters) and the shim's results after every step. optim_oracle.py replays the same
 * scenarios with torch.optim / torch.nn.utils.clip_grad_norm_ and compares. */
#include "torch_shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...)                                                                                 \
    do {                                                                                         \
        fprintf(stderr, __VA_ARGS__);                                                            \
        fprintf(stderr, " (%s)\n", ts_last_error());                                             \
        exit(2);                                                                                 \
    } while (0)

static int g_first_item;

static void print_vals(ts_tensor t, ts_dtype dt) {
    int64_t n = ts_numel(t);
    double *v = malloc(sizeof(double) * (size_t)n);
    if (!v || ts_copy_out(t, v, TS_F64, n) != TS_OK) DIE("copy_out");
    printf("[");
    for (int64_t i = 0; i < n; i++) printf(dt == TS_F64 ? "%s%.17g" : "%s%.9g", i ? "," : "", v[i]);
    printf("]");
    free(v);
}

static void print_shape(ts_tensor t) {
    int64_t s[TS_MAX_DIMS];
    int nd = ts_shape(t, s, TS_MAX_DIMS);
    printf("[");
    for (int i = 0; i < nd; i++) printf("%s%lld", i ? "," : "", (long long)s[i]);
    printf("]");
}

/* Gives p the gradient G (exactly) via backward of sum(p * G). */
static void set_grad(ts_tensor p, ts_tensor G) {
    ts_scope_begin();
    ts_tensor l = ts_sum(ts_mul(p, G));
    if (!l || ts_backward(l) != TS_OK) DIE("backward");
    ts_scope_end();
}

/* A deterministic gradient for (param k, step s): sin waves of varied scale, some exact zeros. */
static ts_tensor make_grad(ts_tensor p, int k, int s, ts_dtype dt) {
    int64_t shp[TS_MAX_DIMS];
    int nd = ts_shape(p, shp, TS_MAX_DIMS);
    int64_t n = ts_numel(p);
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        double x = sin(1.3 * (double)i + 0.7 * s + 0.37 * k) * (1 + k) * (s % 2 ? 0.5 : 2.0);
        v[i] = (i + s) % 7 == 3 ? 0.0 : x;
    }
    ts_tensor d = ts_from_data(v, TS_F64, shp, nd), g = ts_to_dtype(d, dt);
    ts_free(d);
    free(v);
    return g;
}

static ts_tensor make_param(const int64_t *shape, int nd, int k, ts_dtype dt) {
    ts_tensor r = ts_randn(shape, nd);
    ts_tensor p = ts_to_dtype(r, dt);
    ts_free(r);
    (void)k;
    return p;
}

typedef struct {
    int n;
    int64_t shape[4][3];
    int nd[4];
    int group_of[4];
} layout;

/* kind: 0 AdamW, 1 SGD. lr_change: at step 2 group 0's lr changes. skip: param 2 has no grad at
 * step 3 (torch skips it: no state change, its step count lags). */
static void run_case(const char *name, int kind, ts_dtype dt, ts_optim_params hp, const double *lr,
                     const double *wd, int n_groups, const layout *L, int steps) {
    ts_tensor P[4];
    for (int k = 0; k < L->n; k++) {
        P[k] = make_param(L->shape[k], L->nd[k], k, dt);
        ts_set_requires_grad(P[k], 1);
    }
    ts_param_group groups[2];
    ts_tensor gp[2][4];
    int gn[2] = {0, 0};
    for (int k = 0; k < L->n; k++) gp[L->group_of[k]][gn[L->group_of[k]]++] = P[k];
    for (int g = 0; g < n_groups; g++) {
        groups[g].params = gp[g];
        groups[g].n_params = gn[g];
        groups[g].lr = lr[g];
        groups[g].weight_decay = wd[g];
    }
    ts_optim o = kind == 0 ? ts_adamw_new(groups, n_groups, hp) : ts_sgd_new(groups, n_groups, hp);
    if (!o) DIE("optimizer");
    printf("%s{\"name\":\"%s\",\"kind\":\"%s\",\"dtype\":\"%s\",", g_first_item ? "" : ",", name,
           kind == 0 ? "adamw" : "sgd", dt == TS_F64 ? "f64" : "f32");
    g_first_item = 0;
    printf("\"beta1\":%.17g,\"beta2\":%.17g,\"eps\":%.17g,\"momentum\":%.17g,\"nesterov\":%d,",
           hp.beta1, hp.beta2, hp.eps, hp.momentum, hp.nesterov);
    printf("\"groups\":[");
    for (int g = 0; g < n_groups; g++) {
        printf("%s{\"lr\":%.17g,\"wd\":%.17g,\"params\":[", g ? "," : "", lr[g], wd[g]);
        int first = 1;
        for (int k = 0; k < L->n; k++)
            if (L->group_of[k] == g) printf("%s%d", first ? "" : ",", k), first = 0;
        printf("]}");
    }
    printf("],\"init\":[");
    for (int k = 0; k < L->n; k++) printf("%s", k ? "," : ""), print_vals(P[k], dt);
    printf("],\"shapes\":[");
    for (int k = 0; k < L->n; k++) printf("%s", k ? "," : ""), print_shape(P[k]);
    printf("],\"steps\":[");
    for (int s = 0; s < steps; s++) {
        printf("%s{", s ? "," : "");
        if (s == 2) {
            if (ts_optim_set_lr(o, 0, lr[0] * 0.5) != TS_OK) DIE("set_lr");
            printf("\"set_lr\":[0,%.17g],", lr[0] * 0.5);
        }
        if (ts_optim_zero_grad(o) != TS_OK) DIE("zero_grad");
        printf("\"grads\":[");
        for (int k = 0; k < L->n; k++) {
            printf("%s", k ? "," : "");
            if (k == 2 && s == 3) {
                printf("null");
                continue;
            }
            ts_tensor G = make_grad(P[k], k, s, dt);
            set_grad(P[k], G);
            print_vals(G, dt);
            ts_free(G);
        }
        if (ts_optim_step(o) != TS_OK) DIE("step");
        printf("],\"after\":[");
        for (int k = 0; k < L->n; k++) printf("%s", k ? "," : ""), print_vals(P[k], dt);
        printf("]}");
    }
    printf("]}\n");
    ts_optim_free(o);
    for (int k = 0; k < L->n; k++) ts_free(P[k]);
}

static void clip_case(double max_norm, int scale) {
    const int64_t shapes[3][2] = {{3, 4}, {5, 1}, {7, 0}};
    ts_tensor P[3];
    double total = -1;
    printf("%s{\"max_norm\":%.17g,\"grads\":[", g_first_item ? "" : ",", max_norm);
    g_first_item = 0;
    for (int k = 0; k < 3; k++) {
        P[k] = ts_zeros(shapes[k], k == 2 ? 1 : 2, TS_F32);
        ts_set_requires_grad(P[k], 1);
        ts_tensor G = make_grad(P[k], k, scale, TS_F32);
        set_grad(P[k], G);
        printf("%s", k ? "," : ""), print_vals(G, TS_F32);
        ts_free(G);
    }
    if (ts_clip_grad_norm(P, 3, max_norm, &total) != TS_OK) DIE("clip");
    printf("],\"total\":%.17g,\"after\":[", total);
    for (int k = 0; k < 3; k++) {
        ts_tensor g = ts_grad(P[k]);
        printf("%s", k ? "," : ""), print_vals(g, TS_F32);
        ts_free(g);
        ts_free(P[k]);
    }
    printf("]}\n");
}

int main(void) {
    ts_manual_seed(2024);
    layout L = {4, {{3, 4}, {5}, {2, 3}, {4, 2, 2}}, {2, 1, 2, 3}, {0, 0, 1, 1}};
    printf("{\"optim\":[\n");
    g_first_item = 1;
    ts_optim_params hp = ts_optim_default_params();
    const double lr2[2] = {1e-2, 3e-3}, wd2[2] = {0.1, 0.0};
    run_case("adamw default betas, 2 groups", 0, TS_F32, hp, lr2, wd2, 2, &L, 6);
    ts_optim_params h2 = hp;
    h2.beta1 = 0.8, h2.beta2 = 0.95, h2.eps = 1e-6;
    const double lr2b[2] = {0.05, 0.2}, wd2b[2] = {0.01, 0.5};
    run_case("adamw betas .8/.95 eps 1e-6", 0, TS_F32, h2, lr2b, wd2b, 2, &L, 6);
    run_case("adamw f64", 0, TS_F64, h2, lr2b, wd2b, 2, &L, 5);
    ts_optim_params s1 = hp;
    const double slr[2] = {0.1, 0.02}, swd[2] = {0.0, 0.01};
    run_case("sgd plain", 1, TS_F32, s1, slr, swd, 2, &L, 5);
    s1.momentum = 0.9;
    run_case("sgd momentum", 1, TS_F32, s1, slr, swd, 2, &L, 5);
    s1.nesterov = 1;
    run_case("sgd nesterov", 1, TS_F32, s1, slr, swd, 2, &L, 5);
    printf("],\"clip\":[\n");
    g_first_item = 1;
    clip_case(1.0, 0);   /* clips */
    clip_case(100.0, 1); /* does not */
    clip_case(0.05, 2);  /* clips hard */
    printf("]}\n");
    if (ts_live_handles() != 0 || ts_live_optims() != 0) DIE("leaked handles");
    return 0;
}
