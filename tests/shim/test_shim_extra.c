/* test_shim_extra: ts_fast_dropout (shim/torch_shim_extra.h).
 *  - eval mode and p = 0 give x itself; bad p is an error, not a crash;
 *  - training: the dropped fraction is p (1M elements, within 0.3%), kept values are x / (1 - p),
 *    the mean is preserved, masks differ between calls, the same seed gives the same mask;
 *  - gradient of sum(dropout(x)) is the mask (0 or 1/(1-p)) where the output is;
 *  - non-float32 input takes libtorch's dropout (works the same way). */
#include "shim_check.h"
#include "torch_shim_extra.h"

int main(void) {
    const int64_t N = 1000000;
    int64_t s1[1] = {N};
    ts_tensor x = ts_full(s1, 1, TS_F32, 2.0);
    REQUIRE(x);
    ts_tensor e = ts_fast_dropout(x, 0.5, 0), z = ts_fast_dropout(x, 0.0, 1);
    CHECK(e && z);
    double v;
    CHECK(e && ts_item(ts_sum(e), &v) == 0 && v == 2.0 * N);
    CHECK(z && ts_item(ts_sum(z), &v) == 0 && v == 2.0 * N);
    CHECK(ts_fast_dropout(x, 1.0, 1) == NULL && strstr(ts_last_error(), "p must be in [0,1)"));
    CHECK(ts_fast_dropout(x, -0.1, 1) == NULL);
    CHECK(ts_fast_dropout(NULL, 0.1, 1) == NULL);

    for (int k = 0; k < 3; k++) {
        double p = k == 0 ? 0.1 : k == 1 ? 0.5 : 0.85;
        ts_tensor y = ts_fast_dropout(x, p, 1);
        REQUIRE(y);
        float *d = ts_data_ptr(y);
        int64_t zeros = 0, bad = 0;
        double sum = 0;
        for (int64_t i = 0; i < N; i++) {
            if (d[i] == 0.0f) zeros++;
            else if (fabsf(d[i] - (float)(2.0 / (1.0 - p))) > 1e-5f) bad++;
            sum += d[i];
        }
        CHECK(fabs((double)zeros / N - p) < 0.003);
        CHECK(bad == 0);
        CHECK(fabs(sum / N - 2.0) < 0.03);
        printf("p %.2f: dropped %.4f, mean %.4f\n", p, (double)zeros / N, sum / N);
        ts_free(y);
    }
    /* determinism: same seed -> same mask; consecutive calls differ */
    ts_manual_seed(7);
    ts_tensor a = ts_fast_dropout(x, 0.3, 1), b = ts_fast_dropout(x, 0.3, 1);
    ts_manual_seed(7);
    ts_tensor c = ts_fast_dropout(x, 0.3, 1);
    REQUIRE(a && b && c);
    CHECK(memcmp(ts_data_ptr(a), ts_data_ptr(c), (size_t)N * 4) == 0);
    CHECK(memcmp(ts_data_ptr(a), ts_data_ptr(b), (size_t)N * 4) != 0);
    /* neighbouring elements are not correlated: P(both dropped) ~ p^2 */
    float *ad = ts_data_ptr(a);
    int64_t both = 0;
    for (int64_t i = 0; i + 1 < N; i += 2) both += ad[i] == 0 && ad[i + 1] == 0;
    CHECK(fabs((double)both / (N / 2) - 0.09) < 0.004);

    /* gradient */
    int64_t s2[2] = {300, 500};
    ts_tensor w = ts_randn(s2, 2);
    REQUIRE(w && ts_set_requires_grad(w, 1) == 0);
    ts_tensor y = ts_fast_dropout(w, 0.25, 1);
    REQUIRE(y && ts_backward(ts_sum(y)) == 0);
    ts_tensor g = ts_grad(w);
    REQUIRE(g);
    float *gd = ts_data_ptr(g), *yd = ts_data_ptr(ts_contiguous(y)), *wd = ts_data_ptr(w);
    int64_t mism = 0;
    for (int64_t i = 0; i < 300 * 500; i++) {
        float want = yd[i] == 0.0f && wd[i] != 0.0f ? 0.0f : (float)(1.0 / 0.75);
        if (fabsf(gd[i] - want) > 1e-6f) mism++;
    }
    CHECK(mism == 0);

    /* float64 goes through libtorch's dropout */
    ts_tensor xd = ts_to_dtype(x, TS_F64);
    ts_tensor yd64 = ts_fast_dropout(xd, 0.5, 1);
    CHECK(yd64 && ts_dtype_of(yd64) == TS_F64);
    return check_exit("test_shim_extra");
}
