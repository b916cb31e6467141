/* test_sweep_claims: the claim protocol at the registry level (registry.c, schema v2), the
 * hyperband rule and the sweep definition, without training anything.
 *  - claims go in index order, each trial once; results need the claim's token;
 *  - a claim held by a dead process on this host is released at the next claim (counted), and a
 *    trial whose worker died max_lost times fails with the reason; resuming (count_lost = false)
 *    does not count;
 *  - a claim held on another host is released only once its lease expired; a heartbeat renews it
 *    and tells the holder when the claim was lost;
 *  - bayes-style trials made inside the claim transaction, never more than n_trials;
 *  - 4 processes x claim-and-complete on 200 trials: every trial exactly once, no lock error;
 *  - hyperband rungs and the keep-the-best-1/eta rule; the definition ignores comments and key
 *    order but not values. */
#include "sweep/sweep_test.h"
#include "sweep.h"

static el_registry *g_r;

static void make_sweep(const char *id, int64_t n, int64_t n_rows) {
    el_trial_init *t = xcalloc((size_t)n_rows + 1, sizeof *t);
    char (*hash)[65] = xcalloc((size_t)n_rows + 1, 65);
    for (int64_t i = 0; i < n_rows; i++) {
        snprintf(hash[i], 65, "%064lld", (long long)i);
        t[i] = (el_trial_init){.idx = i, .config_hash = hash[i], .seed = 1, .has_seed = true,
                               .assignment = "{\"x\":1}", .param_values = "[1]"};
    }
    el_reg_sweep s = {.id = id, .name = "t", .file = "/x.yaml", .definition = "{}", .definition_hash = "h",
                      .method = "grid", .metric = "val_weighted_f1", .maximize = true, .n_trials = n};
    REQUIRE(el_sweep_create(g_r, &s, t, n_rows) == EL_OK, "create: %s", el_last_error());
    free(t);
    free(hash);
}

static const char *status_of(const char *id, int64_t idx) {
    static char buf[64];
    char *t = raw_text(el_registry_db(g_r), "SELECT status FROM sweep_trials WHERE sweep_id = %Q AND idx = %lld", id,
                       (long long)idx);
    snprintf(buf, sizeof buf, "%s", t);
    free(t);
    return buf;
}

static int64_t trial_int(const char *id, int64_t idx, const char *col) {
    char *sql = sqlite3_mprintf("SELECT %s FROM sweep_trials WHERE sweep_id = %Q AND idx = %lld", col, id, (long long)idx);
    int64_t v = raw_int(el_registry_db(g_r), sql);
    sqlite3_free(sql);
    return v;
}

/* A pid that no longer exists (a child that exited and was reaped). */
static pid_t dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

static void test_basic(void) {
    make_sweep("basic", 3, 3);
    el_claim_params cp = {.max_lost = 3};
    el_trial_claim c[4];
    for (int i = 0; i < 3; i++) {
        CHECK(el_sweep_claim(g_r, "basic", &cp, NULL, NULL, &c[i]) == 1, "claim %d: %s", i, el_last_error());
        CHECK(c[i].idx == i && c[i].claims == 1 && strlen(c[i].token) == 36, "claim %d: idx %lld", i, (long long)c[i].idx);
    }
    CHECK(el_sweep_claim(g_r, "basic", &cp, NULL, NULL, &c[3]) == 0, "a fourth claim");
    CHECK(!strcmp(status_of("basic", 1), "claimed"), "status %s", status_of("basic", 1));
    el_trial_result res = {.status = "done", .metric = 0.5, .epochs = 2};
    CHECK(el_sweep_complete(g_r, "basic", 0, c[1].token, &res) == 0, "a result with another claim's token");
    CHECK(!strcmp(status_of("basic", 0), "claimed"), "written with the wrong token");
    CHECK(el_sweep_complete(g_r, "basic", 0, c[0].token, &res) == 1, "complete: %s", el_last_error());
    CHECK(el_sweep_complete(g_r, "basic", 0, c[0].token, &res) == 0, "completed twice");
    CHECK(!strcmp(status_of("basic", 0), "done"), "status %s", status_of("basic", 0));
    el_trial_result bad = {.status = "finished"};
    CHECK(el_sweep_complete(g_r, "basic", 2, c[2].token, &bad) == EL_ERR && strstr(el_last_error(), "not done"), "status");
    /* release (Ctrl-C): back to pending, the reason kept; the next claim takes it again */
    CHECK(el_sweep_release(g_r, "basic", 1, c[1].token, "interrupted by the user") == 1, "release");
    CHECK(!strcmp(status_of("basic", 1), "pending"), "released: %s", status_of("basic", 1));
    el_trial_claim again;
    CHECK(el_sweep_claim(g_r, "basic", &cp, NULL, NULL, &again) == 1 && again.idx == 1 && again.claims == 2, "reclaim");
    CHECK(trial_int("basic", 1, "lost_claims") == 0, "a release counted as lost");
    /* unknown sweep: nothing to claim; a read-only registry refuses */
    el_trial_claim none;
    CHECK(el_sweep_claim(g_r, "nope", &cp, NULL, NULL, &none) == 0, "claim of an unknown sweep");
    for (int i = 0; i < 4; i++) el_trial_claim_free(&c[i]);
    el_trial_claim_free(&again);
}

static void test_dead_holder(void) {
    make_sweep("dead", 2, 2);
    /* claimed "by" a process that is gone, on this host */
    el_claim_params ghost = {.pid = dead_pid(), .pid_start = 1, .max_lost = 2};
    el_trial_claim c, d;
    CHECK(el_sweep_claim(g_r, "dead", &ghost, NULL, NULL, &c) == 1 && c.idx == 0, "ghost claim");
    el_trial_claim_free(&c);
    el_claim_params me = {.max_lost = 2};
    CHECK(el_sweep_claim(g_r, "dead", &me, NULL, NULL, &d) == 1, "claim");
    CHECK(d.idx == 0 && d.claims == 2, "the dead holder's trial was not given back first: idx %lld", (long long)d.idx);
    CHECK(trial_int("dead", 0, "lost_claims") == 1, "lost claims %lld", (long long)trial_int("dead", 0, "lost_claims"));
    char *err = raw_text(el_registry_db(g_r), "SELECT error FROM sweep_trials WHERE sweep_id = 'dead' AND idx = 0");
    CHECK(strstr(err, "claim 1 lost") && strstr(err, "its process ended"), "reason: %s", err);
    free(err);
    el_trial_claim_free(&d);
    /* trial 1: two deaths with max_lost 2 -> failed */
    ghost.pid = dead_pid();
    CHECK(el_sweep_claim(g_r, "dead", &ghost, NULL, NULL, &c) == 1 && c.idx == 1, "ghost claim 1");
    el_trial_claim_free(&c);
    CHECK(el_sweep_recover(g_r, "dead", 2, true) == 1, "recover");
    ghost.pid = dead_pid();
    CHECK(el_sweep_claim(g_r, "dead", &ghost, NULL, NULL, &c) == 1 && c.idx == 1, "ghost claim 2");
    el_trial_claim_free(&c);
    CHECK(el_sweep_claim(g_r, "dead", &me, NULL, NULL, &c) == 0, "a trial that killed two workers was claimed again");
    CHECK(!strcmp(status_of("dead", 1), "failed"), "status %s", status_of("dead", 1));
    err = raw_text(el_registry_db(g_r), "SELECT error FROM sweep_trials WHERE sweep_id = 'dead' AND idx = 1");
    CHECK(strstr(err, "died 2 times"), "reason: %s", err);
    free(err);
    /* resuming after the whole sweep was killed does not count */
    make_sweep("resumed", 1, 1);
    ghost.pid = dead_pid();
    CHECK(el_sweep_claim(g_r, "resumed", &ghost, NULL, NULL, &c) == 1, "ghost claim");
    el_trial_claim_free(&c);
    CHECK(el_sweep_recover(g_r, "resumed", 1, false) == 1, "recover without counting");
    CHECK(trial_int("resumed", 0, "lost_claims") == 0 && !strcmp(status_of("resumed", 0), "pending"), "counted");
    /* a live holder keeps its claim (this process) */
    CHECK(el_sweep_claim(g_r, "resumed", &me, NULL, NULL, &c) == 1, "claim");
    CHECK(el_sweep_recover(g_r, "resumed", 1, true) == 0 && !strcmp(status_of("resumed", 0), "claimed"), "live claim freed");
    el_trial_claim_free(&c);
}

static void test_leases(void) {
    make_sweep("lease", 2, 2);
    el_claim_params far = {.host = "elsewhere.example", .pid = 4242, .pid_start = 7, .job = "77_3", .lease_s = 0.6};
    el_trial_claim c, d;
    CHECK(el_sweep_claim(g_r, "lease", &far, NULL, NULL, &c) == 1 && c.idx == 0, "remote claim");
    char *job = raw_text(el_registry_db(g_r), "SELECT claim_host || ' ' || claim_job FROM sweep_trials WHERE idx = 0 AND sweep_id = 'lease'");
    CHECK(!strcmp(job, "elsewhere.example 77_3"), "holder %s", job);
    free(job);
    /* before expiry: not given back (the pid means nothing here: another host) */
    el_claim_params me = {0};
    CHECK(el_sweep_claim(g_r, "lease", &me, NULL, NULL, &d) == 1 && d.idx == 1, "claim: %lld", (long long)d.idx);
    el_trial_claim_free(&d);
    /* the heartbeat renews: after 0.4 s + renew + 0.4 s the claim still holds */
    struct timespec ts = {0, 400 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK(el_sweep_heartbeat(g_r, "lease", 0, c.token, 0.6) == 1, "heartbeat");
    nanosleep(&ts, NULL);
    CHECK(el_sweep_recover(g_r, "lease", 3, true) == 0, "a renewed lease expired");
    /* no heartbeat: expired, given back */
    ts.tv_nsec = 700 * 1000000L;
    nanosleep(&ts, NULL);
    CHECK(el_sweep_recover(g_r, "lease", 3, true) == 1, "an expired lease was kept");
    CHECK(el_sweep_heartbeat(g_r, "lease", 0, c.token, 0.6) == 0, "the old holder's heartbeat did not see the loss");
    el_trial_result res = {.status = "done", .metric = NAN};
    CHECK(el_sweep_complete(g_r, "lease", 0, c.token, &res) == 0, "the old holder's result was recorded");
    char *err = raw_text(el_registry_db(g_r), "SELECT error FROM sweep_trials WHERE sweep_id = 'lease' AND idx = 0");
    CHECK(strstr(err, "lease expired") && strstr(err, "job 77_3"), "reason: %s", err);
    free(err);
    el_trial_claim_free(&c);
}

/* bayes-style: trials made inside the claim transaction */
static int g_made;
static int make_trial(void *ctx, el_registry *r, int64_t idx, el_trial_claim *out) {
    (void)ctx;
    /* reads inside the transaction see it */
    int64_t rows = raw_int(el_registry_db(r), "SELECT count(*) FROM sweep_trials WHERE sweep_id = 'bayes'");
    CHECK(rows == idx, "rows %lld before making trial %lld", (long long)rows, (long long)idx);
    snprintf(out->config_hash, sizeof out->config_hash, "%064lld", (long long)idx + 1000);
    out->seed = 5;
    out->has_seed = true;
    out->assignment = xstrdup("{\"y\":2}");
    out->param_values = xstrdup("[2]");
    g_made++;
    return EL_OK;
}

static void test_on_demand(void) {
    make_sweep("bayes", 3, 0);
    el_claim_params me = {0};
    el_trial_claim c;
    for (int i = 0; i < 3; i++) {
        CHECK(el_sweep_claim(g_r, "bayes", &me, make_trial, NULL, &c) == 1 && c.idx == i, "claim %d", i);
        CHECK(!strcmp(c.param_values, "[2]") && c.seed == 5, "made trial");
        el_trial_claim_free(&c);
    }
    CHECK(el_sweep_claim(g_r, "bayes", &me, make_trial, NULL, &c) == 0 && g_made == 3, "more than n_trials");
}

/* 4 processes claim and complete 200 trials as fast as they can */
static void test_concurrent(void) {
    char *path = tpath("conc.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "%s", el_last_error());
    el_registry *keep = g_r;
    g_r = r;
    make_sweep("conc", 200, 200);
    g_r = keep;
    el_registry_close(r);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            el_registry *w = el_registry_open(path, false);
            if (!w) _exit(10);
            char *out = el_printf("%s/claims-%d.txt", g_tmp, k);
            FILE *f = fopen(out, "w");
            el_claim_params cp = {.max_lost = 3};
            for (;;) {
                el_trial_claim c;
                int got = el_sweep_claim(w, "conc", &cp, NULL, NULL, &c);
                if (got < 0) {
                    fprintf(stderr, "worker %d: %s\n", k, el_last_error());
                    _exit(11);
                }
                if (!got) break;
                el_trial_result res = {.status = "done", .metric = (double)c.idx};
                if (el_sweep_complete(w, "conc", c.idx, c.token, &res) != 1) _exit(12);
                fprintf(f, "%lld\n", (long long)c.idx);
                el_trial_claim_free(&c);
            }
            fclose(f);
            el_registry_close(w);
            _exit(0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "claimer %d: status %d", k, st);
    }
    int seen[200] = {0}, total = 0;
    for (int k = 0; k < 4; k++) {
        char *p = el_printf("%s/claims-%d.txt", g_tmp, k);
        FILE *f = fopen(p, "r");
        long long i;
        while (f && fscanf(f, "%lld", &i) == 1)
            if (i >= 0 && i < 200) seen[i]++, total++;
        if (f) fclose(f);
        free(p);
    }
    int once = 0;
    for (int i = 0; i < 200; i++) once += seen[i] == 1;
    CHECK(total == 200 && once == 200, "claims: %d in all, %d trials exactly once", total, once);
    sqlite3 *db = raw_open(path, false);
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'done' AND claims = 1 AND metric = idx") == 200, "done");
    sqlite3_close(db);
    free(path);
}

static void test_hyperband(void) {
    el_sweep s;
    memset(&s, 0, sizeof s);
    s.hyperband = true;
    s.hb_eta = 3;
    s.hb_min_iter = 1;
    int32_t r[EL_HB_MAX_RUNGS];
    int32_t n = el_hyperband_rungs(&s, 30, r, EL_HB_MAX_RUNGS);
    CHECK(n == 4 && r[0] == 1 && r[1] == 3 && r[2] == 9 && r[3] == 27, "rungs %d: %d %d %d", n, r[0], r[1], r[2]);
    CHECK(el_hyperband_rungs(&s, 3, r, EL_HB_MAX_RUNGS) == 1, "rungs before the last epoch only");
    s.hb_min_iter = 2;
    s.hb_eta = 2;
    n = el_hyperband_rungs(&s, 20, r, EL_HB_MAX_RUNGS);
    CHECK(n == 4 && r[0] == 2 && r[3] == 16, "eta 2: %d", n);
    s.hb_min_iter = 0; /* W&B: max_iter 27, s 2 -> 3, 9 */
    s.hb_max_iter = 27;
    s.hb_s = 2;
    s.hb_eta = 3;
    n = el_hyperband_rungs(&s, 27, r, EL_HB_MAX_RUNGS);
    CHECK(n == 2 && r[0] == 3 && r[1] == 9, "max_iter: %d %d %d", n, r[0], r[1]);
    s.hyperband = false;
    CHECK(el_hyperband_rungs(&s, 27, r, EL_HB_MAX_RUNGS) == 0, "no early_terminate");

    int32_t keep, rank;
    double cut;
    double v1[] = {0.5};
    CHECK(!el_hyperband_should_stop(0.5, v1, 1, 3, true, &keep, &rank, &cut) && keep == 1, "alone");
    double v3[] = {0.9, 0.8, 0.5};
    CHECK(el_hyperband_should_stop(0.5, v3, 3, 3, true, &keep, &rank, &cut) && keep == 1 && rank == 2 && cut == 0.9, "worst of 3");
    CHECK(!el_hyperband_should_stop(0.9, v3, 3, 3, true, NULL, NULL, NULL), "best of 3");
    CHECK(el_hyperband_should_stop(0.8, v3, 3, 3, true, NULL, NULL, NULL), "second of 3, eta 3");
    CHECK(!el_hyperband_should_stop(0.8, v3, 3, 1.5, true, &keep, NULL, NULL) && keep == 2, "second of 3, eta 1.5");
    CHECK(!el_hyperband_should_stop(0.5, v3, 3, 3, false, NULL, NULL, NULL), "minimize: lowest is best");
    CHECK(el_hyperband_should_stop(0.9, v3, 3, 3, false, NULL, NULL, &cut) && cut == 0.5, "minimize: highest stops");
    double ties[] = {0.7, 0.7, 0.7};
    CHECK(!el_hyperband_should_stop(0.7, ties, 3, 3, true, NULL, NULL, NULL), "ties go on");
    double withnan[] = {NAN, 0.2, 0.3};
    CHECK(!el_hyperband_should_stop(NAN, withnan, 3, 3, true, NULL, NULL, NULL), "NaN mine");
    CHECK(el_hyperband_should_stop(0.2, withnan, 3, 3, true, &keep, NULL, NULL) && keep == 1, "NaN others ignored");
}

static void test_definition(void) {
    const char *base = "name: b\nowner: x\ndata:\n  train: [{path: tr.csv, format: goemotions}]\n"
                       "  val: {path: va.csv, format: goemotions}\n  test: {path: te.csv, format: goemotions}\n";
    el_node *bt = el_yaml_parse(base, strlen(base), "base.yaml");
    REQUIRE(bt, "base");
    const char *a = "method: grid\nparameters:\n  head.dropout: {values: [0.1, 0.5]}\n  train.lr: {values: [1e-3]}\nseeds: [1, 2]\n";
    const char *b = "# a comment\nseeds: [1, 2]\nparameters:\n  train.lr: {values: [0.001]}   # same value\n"
                    "  head.dropout: {values: [0.1, 0.5]}\nmethod: grid\n";
    const char *c = "method: grid\nparameters:\n  head.dropout: {values: [0.1, 0.6]}\n  train.lr: {values: [1e-3]}\nseeds: [1, 2]\n";
    el_sweep sa, sb, sc;
    REQUIRE(el_sweep_parse(a, strlen(a), "s.yaml", NULL, bt, &sa) == EL_OK, "%s", el_last_error());
    REQUIRE(el_sweep_parse(b, strlen(b), "s.yaml", NULL, bt, &sb) == EL_OK, "%s", el_last_error());
    REQUIRE(el_sweep_parse(c, strlen(c), "s.yaml", NULL, bt, &sc) == EL_OK, "%s", el_last_error());
    char ha[65], hb[65], hc[65];
    char *da = el_sweep_definition(&sa, ha);
    free(el_sweep_definition(&sb, hb));
    free(el_sweep_definition(&sc, hc));
    /* parameter order is part of the sweep (trial order), so b differs from a only if reordered */
    CHECK(strcmp(ha, hc) != 0, "a changed value kept the definition");
    CHECK(strstr(da, "\"method\":\"grid\"") && !strstr(da, "\"owner\""), "definition: %s", da);
    (void)hb;
    const char *a2 = "# comment\nmethod: grid   # grid\nparameters:\n  head.dropout: {values: [0.1, 0.5]}\n"
                     "  train.lr: {values: [0.001]}\nseeds: [1, 2]\n";
    el_sweep sa2;
    REQUIRE(el_sweep_parse(a2, strlen(a2), "other/s.yaml", NULL, bt, &sa2) == EL_OK, "%s", el_last_error());
    char ha2[65];
    free(el_sweep_definition(&sa2, ha2));
    CHECK(!strcmp(ha, ha2), "comments, number spelling or the file's place changed the definition");
    /* a different base owner/name does not matter, a different base value does */
    el_node_set_yaml(sa2.base, "owner", "someone", "test");
    free(el_sweep_definition(&sa2, ha2));
    CHECK(!strcmp(ha, ha2), "base owner changed the definition");
    el_node_set_yaml(sa2.base, "train.epochs", "7", "test");
    free(el_sweep_definition(&sa2, ha2));
    CHECK(strcmp(ha, ha2) != 0, "a base value did not change the definition");
    free(da);
    el_sweep_free(&sa);
    el_sweep_free(&sb);
    el_sweep_free(&sc);
    el_sweep_free(&sa2);
    el_node_free(bt);
}

int main(void) {
    tmp_dir("sweep-claims");
    char *path = tpath("registry.db");
    g_r = el_registry_open(path, false);
    REQUIRE(g_r, "open: %s", el_last_error());
    CHECK(el_registry_schema_version(g_r) >= 2, "schema %d", el_registry_schema_version(g_r));
    test_basic();
    test_dead_holder();
    test_leases();
    test_on_demand();
    test_concurrent();
    test_hyperband();
    test_definition();
    el_registry_close(g_r);
    /* read-only registries refuse claims */
    el_registry *ro = el_registry_open(path, true);
    REQUIRE(ro, "ro: %s", el_last_error());
    el_trial_claim c;
    CHECK(el_sweep_claim(ro, "basic", NULL, NULL, NULL, &c) == EL_ERR && strstr(el_last_error(), "read-only"), "ro claim");
    el_registry_close(ro);
    free(path);
    tmp_cleanup();
    return test_done("test_sweep_claims");
}
