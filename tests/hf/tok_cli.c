/* tok_cli: a small driver over runner/tokenize.h for the Python parity tests.
 * Input texts are read from stdin, one per line, hex-encoded UTF-8 (so any text survives).
 *   tok_cli encode    TOKENIZER [MAX_LEN [nospecial]]  -> "ids|type_ids|mask" per line
 *   tok_cli normalize TOKENIZER                        -> hex of the normalized text
 *   tok_cli pretok    TOKENIZER                        -> hex pieces separated by spaces
 *   tok_cli batch     TOKENIZER MAX_LEN BATCH SEED     -> bucketed batches (see below)
 *   tok_cli bench     TOKENIZER [REPEAT]               -> timing of encoding all lines
 *   tok_cli info      TOKENIZER                        -> facts, one "key value" per line
 * TOKENIZER is a tokenizer.json or a directory holding one. Errors: "ERR <message>" lines
 * (per text) or exit status 1 (loading). */
#define _GNU_SOURCE
#include "tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

typedef struct {
    char **t;
    size_t *n;
    int32_t count;
} texts;

static void read_texts(texts *T) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t tcap = 0;
    memset(T, 0, sizeof *T);
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) got--;
        char *s = malloc((size_t)got / 2 + 1);
        size_t n = 0;
        for (ssize_t i = 0; i + 1 < got; i += 2) {
            int a = hexv(line[i]), b = hexv(line[i + 1]);
            if (a < 0 || b < 0) break;
            s[n++] = (char)(a * 16 + b);
        }
        s[n] = 0;
        if (T->count + 1 > tcap) {
            tcap = tcap ? tcap * 2 : 1024;
            T->t = realloc(T->t, sizeof(char *) * (size_t)tcap);
            T->n = realloc(T->n, sizeof(size_t) * (size_t)tcap);
        }
        T->t[T->count] = s;
        T->n[T->count] = n;
        T->count++;
    }
    free(line);
}

static void free_texts(texts *T) {
    for (int32_t i = 0; i < T->count; i++) free(T->t[i]);
    free(T->t);
    free(T->n);
}

static void put_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
}

static void put_ints(const int32_t *v, int32_t n) {
    for (int32_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)v[i]);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tok_cli encode|normalize|pretok|batch|bench|info TOKENIZER [args]\n");
        return 2;
    }
    const char *mode = argv[1];
    double t0 = el_now();
    el_tokenizer *tok = el_tokenizer_load(argv[2]);
    double t_load = el_now() - t0;
    if (!tok) {
        fprintf(stderr, "ERR %s\n", el_last_error());
        return 1;
    }
    int rc = 0;
    if (!strcmp(mode, "info")) {
        printf("model %s\nvocab_size %d\npad %d\ncls %d\nsep %d\nunk %d\nmask %d\nnum_special %d\nmax_len_hint %d\nload_s %.3f\n",
               el_tokenizer_model_name(tok), (int)el_tokenizer_vocab_size(tok), (int)el_tokenizer_pad_id(tok),
               (int)el_tokenizer_cls_id(tok), (int)el_tokenizer_sep_id(tok), (int)el_tokenizer_unk_id(tok),
               (int)el_tokenizer_mask_id(tok), (int)el_tokenizer_num_special(tok), (int)el_tokenizer_max_len_hint(tok), t_load);
        el_tokenizer_free(tok);
        return 0;
    }
    texts T;
    read_texts(&T);
    if (!strcmp(mode, "encode")) {
        int32_t max_len = argc > 3 ? atoi(argv[3]) : 0;
        bool special = !(argc > 4 && !strcmp(argv[4], "nospecial"));
        el_encoding e = {0};
        for (int32_t i = 0; i < T.count; i++) {
            if (el_tokenize_ex(tok, T.t[i], T.n[i], &e, max_len, special) != 0) {
                printf("ERR %s\n", el_last_error());
                continue;
            }
            put_ints(e.ids, e.len);
            printf("|");
            put_ints(e.type_ids, e.len);
            printf("|");
            put_ints(e.attention_mask, e.len);
            printf("\n");
        }
        el_encoding_free(&e);
    } else if (!strcmp(mode, "normalize") || !strcmp(mode, "pretok")) {
        el_buf b = {0};
        for (int32_t i = 0; i < T.count; i++) {
            b.len = 0;
            int32_t *pl = NULL;
            int r = mode[0] == 'n' ? el_tokenizer_normalize(tok, T.t[i], T.n[i], &b)
                                   : el_tokenizer_pre_tokenize(tok, T.t[i], T.n[i], &b, &pl);
            if (r < 0) {
                printf("ERR %s\n", el_last_error());
                continue;
            }
            if (mode[0] == 'n') put_hex(b.s ? b.s : "", b.len);
            else {
                size_t k = 0;
                for (int j = 0; j < r; j++) {
                    if (j) printf(" ");
                    put_hex(b.s + k, (size_t)pl[j]);
                    k += (size_t)pl[j];
                }
            }
            free(pl);
            printf("\n");
        }
        el_buf_free(&b);
    } else if (!strcmp(mode, "batch")) {
        /* "plan" lines: batch k: indices; then each batch padded: ids rows */
        if (argc < 6) {
            fprintf(stderr, "usage: tok_cli batch TOKENIZER MAX_LEN BATCH SEED\n");
            rc = 2;
        } else {
            int32_t max_len = atoi(argv[3]);
            el_bucket_params p = el_bucket_default_params();
            p.batch_size = atoi(argv[4]);
            p.bucket_batches = 4;
            p.seed = strtoull(argv[5], NULL, 10);
            int32_t *lens = malloc(sizeof(int32_t) * (size_t)(T.count + 1));
            el_encoding e = {0};
            for (int32_t i = 0; i < T.count; i++) {
                if (el_tokenize(tok, T.t[i], T.n[i], &e, max_len) != 0) {
                    fprintf(stderr, "ERR %s\n", el_last_error());
                    return 1;
                }
                lens[i] = e.len;
            }
            el_encoding_free(&e);
            el_batch_plan plan;
            if (el_bucket_plan(lens, T.count, p, &plan) != 0) {
                fprintf(stderr, "ERR %s\n", el_last_error());
                return 1;
            }
            el_batch b = {0};
            const char **bt = malloc(sizeof(char *) * (size_t)(p.batch_size + 1));
            size_t *bl = malloc(sizeof(size_t) * (size_t)(p.batch_size + 1));
            for (int32_t k = 0; k < plan.n_batches; k++) {
                int32_t s = plan.offsets[k], m = plan.offsets[k + 1] - s;
                for (int32_t j = 0; j < m; j++) {
                    bt[j] = T.t[plan.order[s + j]];
                    bl[j] = T.n[plan.order[s + j]];
                }
                if (el_tokenize_batch(tok, bt, bl, m, max_len, &b) != 0) {
                    fprintf(stderr, "ERR %s\n", el_last_error());
                    return 1;
                }
                printf("batch");
                for (int32_t j = 0; j < m; j++) printf(" %d", (int)plan.order[s + j]);
                printf("\n");
                for (int32_t j = 0; j < m; j++) {
                    put_ints(b.ids + (int64_t)j * b.seq_len, b.seq_len);
                    printf("|");
                    put_ints(b.attention_mask + (int64_t)j * b.seq_len, b.seq_len);
                    printf("\n");
                }
            }
            el_batch_free(&b);
            el_batch_plan_free(&plan);
            free(bt);
            free(bl);
            free(lens);
        }
    } else if (!strcmp(mode, "bench")) {
        int rep = argc > 3 ? atoi(argv[3]) : 5;
        el_encoding e = {0};
        double best = 1e9;
        int64_t ntok = 0;
        for (int r = 0; r < rep; r++) {
            double s = el_now();
            ntok = 0;
            for (int32_t i = 0; i < T.count; i++) {
                if (el_tokenize(tok, T.t[i], T.n[i], &e, 0) != 0) {
                    fprintf(stderr, "ERR %s\n", el_last_error());
                    return 1;
                }
                ntok += e.len;
            }
            double d = el_now() - s;
            if (d < best) best = d;
        }
        el_encoding_free(&e);
#if defined(__SANITIZE_ADDRESS__)
        const int sanitized = 1;
#else
        const int sanitized = 0;
#endif
        printf("texts %d tokens %lld load_s %.3f encode_s %.4f texts_per_s %.0f sanitized %d\n", (int)T.count,
               (long long)ntok, t_load, best, T.count / (best > 0 ? best : 1e-9), sanitized);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        rc = 2;
    }
    free_texts(&T);
    el_tokenizer_free(tok);
    return rc;
}
