/* test_shim_basic.c: creation and copies, inspection, handles (NULL, freed), scopes, errors
 * that name the op and the shapes, runtime settings (threads, seed, CUDA), autograd basics. */
#include "shim_check.h"

#include <pthread.h>
#include <stdint.h>

static void test_creation_and_copies(void) {
    float f[6] = {1, 2, 3, 4, 5, 6};
    ts_tensor a = ts_from_data(f, TS_F32, SHAPE(2, 3), 2);
    REQUIRE(a);
    f[0] = 100; /* from_data copied */
    CHECK_VALS(a, 0, 1, 2, 3, 4, 5, 6);
    CHECK(ts_ndim(a) == 2);
    CHECK(ts_size(a, 0) == 2 && ts_size(a, -1) == 3);
    CHECK(ts_size(a, 2) == -1);
    CHECK_ERR("ts_size", "f32[2,3]", "range");
    CHECK(ts_numel(a) == 6);
    CHECK(ts_dtype_of(a) == TS_F32);
    CHECK(ts_is_sparse(a) == 0);
    char buf[64];
    CHECK(strcmp(ts_describe(a, buf, sizeof buf), "f32[2,3] cpu") == 0);
    CHECK(ts_set_requires_grad(a, 1) == TS_OK);
    CHECK(strcmp(ts_describe(a, buf, sizeof buf), "f32[2,3] cpu grad") == 0);
    CHECK(strcmp(ts_describe(a, buf, 6), "f32[2") == 0); /* truncated, NUL-terminated */

    /* copy out converts dtype */
    int64_t i64[6];
    CHECK(ts_copy_out(a, i64, TS_I64, 6) == TS_OK);
    CHECK(i64[0] == 1 && i64[5] == 6);
    double d[6];
    CHECK(ts_copy_out(a, d, TS_F64, 5) == TS_ERR); /* wrong count */
    CHECK_ERR("ts_copy_out", "f32[2,3]", "5");
    float *p = ts_data_ptr(a);
    CHECK(p && p[4] == 5.0f);

    /* from_blob shares memory */
    double blob[4] = {1, 2, 3, 4};
    ts_tensor b = ts_from_blob(blob, TS_F64, SHAPE(4), 1);
    REQUIRE(b);
    blob[2] = 30;
    CHECK_VALS(b, 0, 1, 2, 30, 4);
    CHECK(ts_fill_(b, 7) == TS_OK);
    CHECK(blob[0] == 7 && blob[3] == 7);

    /* bool / i64 round trip */
    uint8_t bools[3] = {1, 0, 1};
    ts_tensor bt = ts_from_data(bools, TS_BOOL, SHAPE(3), 1);
    CHECK(ts_dtype_of(bt) == TS_BOOL);
    CHECK_VALS(bt, 0, 1, 0, 1);

    ts_tensor z = ts_zeros(SHAPE(2, 2), 2, TS_I64);
    CHECK_VALS(z, 0, 0, 0, 0, 0);
    CHECK(ts_dtype_of(z) == TS_I64);
    ts_tensor fl = ts_full(SHAPE(3), 1, TS_F64, 2.5);
    CHECK_VALS(fl, 0, 2.5, 2.5, 2.5);
    ts_tensor ar = ts_arange(2, 6, TS_I64);
    CHECK_VALS(ar, 0, 2, 3, 4, 5);
    ts_tensor s0 = ts_full(NULL, 0, TS_F32, 3.0); /* a 0-dim scalar */
    CHECK(ts_ndim(s0) == 0 && ts_numel(s0) == 1 && item(s0) == 3.0);

    ts_tensor c = ts_clone(a);
    CHECK(ts_fill_(c, 0) == TS_OK);
    CHECK_VALS(a, 0, 1, 2, 3, 4, 5, 6); /* clone does not share */
    ts_tensor dt = ts_detach(a);
    CHECK(ts_requires_grad(dt) == 0);
    ts_tensor tr = ts_transpose(a, 0, 1);
    CHECK(ts_data_ptr(tr) == NULL);
    CHECK_ERR("ts_data_ptr", "contiguous");
    ts_tensor cc = ts_contiguous(tr);
    CHECK_VALS(cc, 0, 1, 4, 2, 5, 3, 6);
    ts_tensor a64 = ts_to_dtype(a, TS_F64);
    CHECK(ts_dtype_of(a64) == TS_F64);
    ts_tensor cp = ts_zeros(SHAPE(2, 3), 2, TS_F64);
    CHECK(ts_copy_(cp, a) == TS_OK); /* converts */
    CHECK_VALS(cp, 0, 1, 2, 3, 4, 5, 6);
    CHECK(ts_copy_(cp, b) == TS_ERR);
    CHECK_ERR("ts_copy_", "dst f64[2,3]", "src f64[4]", "shapes differ");

    /* random fills stay in range */
    ts_tensor u = ts_zeros(SHAPE(1000), 1, TS_F32);
    CHECK(ts_uniform_(u, -2, -1) == TS_OK);
    float uv[1000];
    ts_copy_out(u, uv, TS_F32, 1000);
    int inrange = 1;
    for (int i = 0; i < 1000; i++) inrange &= uv[i] >= -2 && uv[i] < -1;
    CHECK(inrange);
    CHECK(ts_normal_(u, 10, 0.001) == TS_OK);
    ts_tensor mu = ts_mean(u);
    CHECK_NEAR(item(mu), 10.0, 1e-3);

    ts_tensor all[] = {a, b, bt, z, fl, ar, s0, c, dt, tr, cc, a64, cp, u, mu};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ts_free(all[i]);
}

static void test_handles(void) {
    int64_t before = ts_live_handles();
    ts_tensor a = ts_zeros(SHAPE(2), 1, TS_F32);
    CHECK(ts_live_handles() == before + 1);
    ts_free(a);
    CHECK(ts_live_handles() == before);
    /* every entry point survives NULL and freed handles */
    CHECK(ts_relu(NULL) == NULL);
    CHECK_ERR("ts_relu", "x is NULL");
    CHECK(ts_relu(a) == NULL);
    CHECK_ERR("ts_relu", "x is a freed");
    ts_tensor w = ts_zeros(SHAPE(3, 2), 2, TS_F32);
    CHECK(ts_linear(w, a, NULL) == NULL);
    CHECK_ERR("ts_linear: w is a freed");
    CHECK(ts_numel(a) == -1);
    CHECK(ts_item(NULL, NULL) == TS_ERR);
    CHECK(ts_backward(a) == TS_ERR);
    CHECK(ts_grad(a) == NULL);
    CHECK_ERR("ts_grad", "freed");
    ts_free(a); /* double free: ignored, no crash */
    ts_free(NULL);
    char buf[32];
    CHECK(strcmp(ts_describe(a, buf, sizeof buf), "<freed>") == 0);
    CHECK(strcmp(ts_describe(NULL, buf, sizeof buf), "<null>") == 0);
    /* a stale handle stays invalid after its slot is reused */
    ts_tensor b = ts_zeros(SHAPE(5), 1, TS_F32);
    CHECK(ts_numel(a) == -1);
    CHECK(ts_numel(b) == 5);
    /* garbage pointers are rejected, not dereferenced */
    CHECK(ts_numel((ts_tensor)(uintptr_t)0x12345678) == -1);
    CHECK(ts_optim_step((ts_optim)(uintptr_t)b) == TS_ERR); /* a tensor is not an optimizer */
    CHECK_ERR("ts_optim_step", "invalid optimizer handle");
    ts_tensor arr[2] = {b, NULL};
    CHECK(ts_cat(arr, 2, 0) == NULL);
    CHECK_ERR("ts_cat", "ts[1] is NULL");
    ts_free(b);
    ts_free(w);
    CHECK(ts_live_handles() == before);
}

static void test_scopes(void) {
    int64_t before = ts_live_handles();
    ts_tensor outer_kept = NULL, inner_kept = NULL;
    CHECK(ts_scope_begin() == TS_OK);
    ts_tensor x = ts_full(SHAPE(3), 1, TS_F32, 1.0);
    CHECK(ts_scope_begin() == TS_OK); /* nested */
    ts_tensor y = ts_add_scalar(x, 1);
    ts_tensor z = ts_mul_scalar(y, 3);
    ts_tensor gone = ts_neg(z);
    ts_free(gone); /* free of a scoped handle removes it */
    CHECK(ts_scope_keep(z) == TS_OK); /* moves to the outer scope */
    inner_kept = z;
    CHECK(ts_live_handles() == before + 3); /* x, y, z */
    CHECK(ts_scope_end() == TS_OK);
    CHECK(ts_numel(y) == -1); /* freed by the inner scope */
    CHECK_VALS(z, 0, 6, 6, 6);
    CHECK(ts_live_handles() == before + 2);
    ts_tensor w = ts_exp(x);
    CHECK(ts_scope_keep(w) == TS_OK); /* becomes free-standing */
    CHECK(ts_scope_keep(w) == TS_OK); /* no longer in the scope: no-op */
    outer_kept = w;
    CHECK(ts_scope_end() == TS_OK);
    CHECK(ts_numel(x) == -1 && ts_numel(inner_kept) == -1);
    CHECK_NEAR(ts_numel(outer_kept), 3, 0);
    CHECK(ts_live_handles() == before + 1);
    ts_free(outer_kept);
    CHECK(ts_live_handles() == before);
    CHECK(ts_scope_end() == TS_ERR);
    CHECK_ERR("ts_scope_end", "no scope");
    CHECK(ts_scope_keep(NULL) == TS_ERR);
    /* many scopes, many temporaries: nothing is left behind */
    for (int i = 0; i < 100; i++) {
        ts_scope_begin();
        ts_tensor t = ts_zeros(SHAPE(4), 1, TS_F32);
        for (int j = 0; j < 20; j++) t = ts_add_scalar(t, 1);
        CHECK(i != 99 || item(ts_sum(t)) == 80.0);
        ts_scope_end();
    }
    CHECK(ts_live_handles() == before);
}

static void test_errors(void) {
    ts_tensor x = ts_zeros(SHAPE(64, 128), 2, TS_F32);
    ts_tensor w = ts_zeros(SHAPE(7, 64), 2, TS_F32);
    ts_clear_error();
    CHECK(strcmp(ts_last_error(), "") == 0);
    CHECK(ts_linear(x, w, NULL) == NULL);
    CHECK_ERR("ts_linear: x f32[64,128], w f32[7,64]: ", "mat1 and mat2 shapes cannot be multiplied");
    CHECK(strchr(ts_last_error(), '\n') == NULL); /* one line, no C++ stack trace */
    CHECK(strstr(ts_last_error(), "Exception raised") == NULL);
    /* wrong dtype */
    ts_tensor ids = ts_zeros(SHAPE(4), 1, TS_F32);
    CHECK(ts_embedding(w, ids, -1) == NULL);
    CHECK_ERR("ts_embedding", "ids", "f32[4]", "i64");
    ts_tensor xi = ts_zeros(SHAPE(64, 128), 2, TS_I64);
    ts_tensor w2 = ts_zeros(SHAPE(7, 128), 2, TS_F32);
    CHECK(ts_linear(xi, w2, NULL) == NULL);
    CHECK_ERR("ts_linear: x i64[64,128], w f32[7,128]: ");
    ts_tensor a = ts_zeros(SHAPE(2, 3), 2, TS_F32), b = ts_zeros(SHAPE(4), 1, TS_F32);
    CHECK(ts_add(a, b) == NULL);
    CHECK_ERR("ts_add: a f32[2,3], b f32[4]: ", "size of tensor a (3) must match");
    CHECK(ts_softmax(a, 5) == NULL);
    CHECK_ERR("ts_softmax: x f32[2,3]: ", "Dimension out of range");
    CHECK(ts_reshape(a, SHAPE(5), 1) == NULL);
    CHECK_ERR("ts_reshape", "f32[2,3]", "invalid for input of size 6");
    CHECK(ts_from_data(NULL, TS_F32, SHAPE(2), 1) == NULL);
    CHECK_ERR("ts_from_data", "data is NULL");
    CHECK(ts_zeros(SHAPE(2), 1, (ts_dtype)42) == NULL);
    CHECK_ERR("ts_zeros", "unknown ts_dtype 42");
    CHECK(ts_zeros(SHAPE(-2), 1, TS_F32) == NULL);
    CHECK_ERR("ts_zeros", "negative");
    CHECK(ts_backward(a) == TS_ERR); /* not a scalar */
    CHECK_ERR("ts_backward", "scalar");
    ts_tensor tgt = ts_zeros(SHAPE(2), 1, TS_F32);
    CHECK(ts_cross_entropy(a, tgt, NULL, -100, 0, TS_REDUCE_MEAN) == NULL);
    CHECK_ERR("ts_cross_entropy", "target f32[2]", "i64");
    /* CUDA is absent here: a clear error */
    if (!ts_cuda_is_available()) {
        CHECK(ts_to_device(a, TS_CUDA, 0) == NULL);
        CHECK_ERR("ts_to_device", "CUDA is not available");
    }
    ts_tensor cpu = ts_to_device(a, TS_CPU, 0);
    CHECK(cpu != NULL);
    ts_tensor all[] = {x, w, ids, xi, w2, a, b, tgt, cpu};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ts_free(all[i]);
}

static void test_runtime(void) {
    CHECK(strncmp(ts_version(), "1.", 2) == 0 || strncmp(ts_version(), "2.", 2) == 0);
    CHECK(ts_set_num_threads(2) == TS_OK);
    CHECK(ts_get_num_threads() == 2);
    CHECK(ts_set_num_threads(1) == TS_OK);
    CHECK(ts_get_num_threads() == 1);
    CHECK(ts_set_num_threads(0) == TS_ERR);
    /* the seed makes randn/rand/dropout reproducible */
    float r1[8], r2[8];
    CHECK(ts_manual_seed(42) == TS_OK);
    ts_tensor a = ts_randn(SHAPE(8), 1);
    CHECK(ts_manual_seed(42) == TS_OK);
    ts_tensor b = ts_randn(SHAPE(8), 1);
    ts_copy_out(a, r1, TS_F32, 8);
    ts_copy_out(b, r2, TS_F32, 8);
    CHECK(memcmp(r1, r2, sizeof r1) == 0);
    ts_tensor c = ts_randn(SHAPE(8), 1);
    ts_copy_out(c, r2, TS_F32, 8);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);
    ts_tensor r = ts_rand(SHAPE(8), 1);
    ts_copy_out(r, r1, TS_F32, 8);
    int ok = 1;
    for (int i = 0; i < 8; i++) ok &= r1[i] >= 0 && r1[i] < 1;
    CHECK(ok);
    ts_free(a), ts_free(b), ts_free(c), ts_free(r);
}

static void test_autograd(void) {
    /* y = sum(w * x) -> dy/dw = x; no_grad stops tracking; zero_grad clears */
    ts_tensor w = MK(TS_F32, SHAPE(3), 1, 2, 3);
    ts_tensor x = MK(TS_F32, SHAPE(3), 4, 5, 6);
    CHECK(ts_requires_grad(w) == 0);
    CHECK(ts_set_requires_grad(w, 1) == TS_OK);
    CHECK(ts_requires_grad(w) == 1);
    ts_tensor g0 = ts_grad(w);
    CHECK(g0 == NULL && strcmp(ts_last_error(), "") == 0); /* no grad yet */
    ts_tensor m = ts_mul(w, x), y = ts_sum(m);
    CHECK(ts_requires_grad(y) == 1);
    CHECK(ts_backward(y) == TS_OK);
    ts_tensor g = ts_grad(w);
    CHECK_VALS(g, 0, 4, 5, 6);
    ts_tensor m2 = ts_mul(w, x), y2 = ts_sum(m2);
    CHECK(ts_backward(y2) == TS_OK); /* accumulates */
    CHECK_VALS(g, 0, 8, 10, 12);     /* g is a reference to w.grad */
    CHECK(ts_zero_grad(w) == TS_OK);
    CHECK(ts_grad(w) == NULL);
    CHECK(ts_no_grad_begin() == TS_OK);
    CHECK(ts_no_grad_begin() == TS_OK); /* nestable */
    ts_tensor m3 = ts_mul(w, x);
    CHECK(ts_no_grad_end() == TS_OK);
    ts_tensor m4 = ts_mul(w, x);
    CHECK(ts_no_grad_end() == TS_OK);
    ts_tensor m5 = ts_mul(w, x);
    CHECK(ts_requires_grad(m3) == 0 && ts_requires_grad(m4) == 0 && ts_requires_grad(m5) == 1);
    CHECK(ts_no_grad_end() == TS_ERR);
    ts_tensor s3 = ts_sum(m3);
    CHECK(ts_backward(s3) == TS_ERR);
    CHECK_ERR("ts_backward", "does not require grad");
    ts_tensor ii = ts_zeros(SHAPE(2), 1, TS_I64);
    CHECK(ts_set_requires_grad(ii, 1) == TS_ERR); /* integers cannot require grad */
    CHECK_ERR("ts_set_requires_grad", "i64[2]");
    ts_tensor all[] = {w, x, m, y, g, m2, y2, m3, m4, m5, s3, ii};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ts_free(all[i]);
}

static void test_optim_errors(void) {
    ts_tensor w = MK(TS_F32, SHAPE(2), 1, 2), b = MK(TS_F32, SHAPE(2), 3, 4);
    ts_tensor i = ts_zeros(SHAPE(2), 1, TS_I64);
    ts_set_requires_grad(w, 1);
    ts_tensor nl = ts_mul_scalar(w, 2); /* not a leaf */
    ts_optim_params hp = ts_optim_default_params();
    CHECK(hp.beta1 == 0.9 && hp.beta2 == 0.999 && hp.eps == 1e-8 && hp.momentum == 0 && !hp.nesterov);
    CHECK(ts_adamw_new(NULL, 1, hp) == NULL);
    CHECK_ERR("ts_adamw_new", "at least one parameter group");
    ts_tensor dup[2] = {w, w};
    ts_param_group g = {dup, 2, 1e-3, 0};
    CHECK(ts_adamw_new(&g, 1, hp) == NULL);
    CHECK_ERR("ts_adamw_new", "params[1] f32[2]", "more than once");
    ts_param_group g2[2] = {{&w, 1, 1e-3, 0}, {&w, 1, 1e-3, 0}};
    CHECK(ts_sgd_new(g2, 2, hp) == NULL);
    CHECK_ERR("ts_sgd_new", "group 1 params[0]", "more than once");
    g.params = &nl, g.n_params = 1;
    CHECK(ts_adamw_new(&g, 1, hp) == NULL);
    CHECK_ERR("ts_adamw_new", "non-leaf");
    g.params = &i;
    CHECK(ts_adamw_new(&g, 1, hp) == NULL);
    CHECK_ERR("ts_adamw_new", "i64[2]", "not floating point");
    ts_tensor withnull[2] = {w, NULL};
    g.params = withnull, g.n_params = 2;
    CHECK(ts_adamw_new(&g, 1, hp) == NULL);
    CHECK_ERR("ts_adamw_new", "params[1] is NULL");
    g.params = &w, g.n_params = 1, g.lr = -1;
    CHECK(ts_adamw_new(&g, 1, hp) == NULL);
    CHECK_ERR("lr must be >= 0");
    g.lr = 1e-3;
    ts_optim_params bad = hp;
    bad.beta2 = 1.0;
    CHECK(ts_adamw_new(&g, 1, bad) == NULL);
    CHECK_ERR("ts_adamw_new", "betas");
    bad = hp, bad.nesterov = 1;
    CHECK(ts_sgd_new(&g, 1, bad) == NULL);
    CHECK_ERR("ts_sgd_new", "nesterov");

    ts_param_group ok[2] = {{&w, 1, 0.1, 0}, {&b, 1, 0.2, 0.5}};
    ts_optim o = ts_adamw_new(ok, 2, hp);
    REQUIRE(o);
    CHECK(ts_live_optims() == 1);
    double lr = 0;
    CHECK(ts_optim_get_lr(o, 1, &lr) == TS_OK && lr == 0.2);
    CHECK(ts_optim_set_lr(o, 1, 0.05) == TS_OK);
    CHECK(ts_optim_get_lr(o, 1, &lr) == TS_OK && lr == 0.05);
    CHECK(ts_optim_set_lr(o, 2, 0.05) == TS_ERR);
    CHECK_ERR("ts_optim_set_lr", "group 2 out of range (2 groups)");
    CHECK(ts_optim_step(o) == TS_OK); /* no grads yet: nothing happens */
    CHECK_VALS(w, 0, 1, 2);
    /* the optimizer holds its own references: freeing the caller's handle is fine */
    ts_tensor wv = ts_detach(w);
    ts_free(w);
    ts_scope_begin();
    ts_set_requires_grad(b, 1);
    ts_backward(ts_sum(ts_mul(b, b)));
    ts_scope_end();
    CHECK(ts_optim_step(o) == TS_OK);
    CHECK(ts_optim_zero_grad(o) == TS_OK);
    CHECK(ts_grad(b) == NULL);
    ts_optim_free(o);
    CHECK(ts_live_optims() == 0);
    CHECK(ts_optim_step(o) == TS_ERR);
    CHECK_ERR("ts_optim_step", "o is a freed or invalid optimizer handle");
    CHECK(ts_optim_step(NULL) == TS_ERR);
    CHECK_ERR("ts_optim_step", "o is NULL");
    ts_optim_free(o); /* double free: ignored */
    ts_optim_free(NULL);
    CHECK(ts_optim_set_lr((ts_optim)(uintptr_t)b, 0, 1) == TS_ERR);
    CHECK(ts_clip_grad_norm(NULL, 1, 1.0, NULL) == TS_ERR);
    double tn = -1;
    CHECK(ts_clip_grad_norm(&b, 1, 1.0, &tn) == TS_OK && tn == 0); /* no grads */
    ts_free(wv), ts_free(b), ts_free(i), ts_free(nl);
}

/* Handles from several threads at once; each thread's scope only collects its own handles. */
static void *thread_body(void *arg) {
    ts_tensor keep = (ts_tensor)arg;
    for (int k = 0; k < 2000; k++) {
        ts_scope_begin();
        ts_tensor a = ts_add_scalar(keep, 1.0);
        ts_tensor c = ts_mul(a, a);
        if (!c || ts_numel(c) != 4) return (void *)1;
        ts_scope_end();
        ts_tensor loose = ts_neg(keep);
        ts_free(loose);
    }
    return NULL;
}

static void test_threads(void) {
    int64_t before = ts_live_handles();
    ts_tensor shared = ts_full(SHAPE(4), 1, TS_F32, 1.0);
    ts_scope_begin(); /* this thread's scope must not collect the workers' handles */
    pthread_t th[3];
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&th[i], NULL, thread_body, shared) == 0);
    void *rc;
    for (int i = 0; i < 3; i++) {
        CHECK(pthread_join(th[i], &rc) == 0);
        CHECK(rc == NULL);
    }
    ts_scope_end();
    CHECK(ts_numel(shared) == 4);
    ts_free(shared);
    CHECK(ts_live_handles() == before);
}

int main(void) {
    int64_t start = ts_live_handles();
    test_creation_and_copies();
    test_handles();
    test_scopes();
    test_errors();
    test_runtime();
    test_autograd();
    test_optim_errors();
    test_threads();
    CHECK(ts_live_handles() == start);
    return check_exit("test_shim_basic");
}
