/* tokenize_unigram.c: the Unigram model: Viterbi over the piece log-probabilities (ties keep the
 * first path found), unknown characters at min_score - 10, consecutive unknowns fused into one,
 * optional byte fallback to <0xXX> pieces. */
#include "tokenize_impl.h"

#include <stdlib.h>
#include <string.h>

int tk_unigram(const tk_model *m, const char *s, size_t n, tk_ids *ids) {
    if (n == 0) return EL_OK;
    double *score = xmalloc(sizeof(double) * (n + 1));
    int32_t *from = xmalloc(sizeof(int32_t) * (n + 1));
    int32_t *tid = xmalloc(sizeof(int32_t) * (n + 1));
    for (size_t i = 0; i <= n; i++) from[i] = -1;
    score[0] = 0.0;
    size_t pos = 0;
    while (pos < n) {
        double base = score[pos];
        int32_t c;
        size_t mblen = (size_t)tk_utf8_dec(s + pos, n - pos, &c);
        bool single = false;
        size_t e = pos;
        int32_t nch = 0;
        while (e < n && nch < m->max_piece_chars) {
            int32_t d;
            e += (size_t)tk_utf8_dec(s + e, n - e, &d);
            nch++;
            int32_t id = tk_map_get(&m->vocab, s + pos, e - pos);
            if (id < 0) continue;
            double cand = m->scores[id] + base;
            if (from[e] < 0 || cand > score[e]) {
                score[e] = cand;
                from[e] = (int32_t)pos;
                tid[e] = id;
            }
            if (e - pos == mblen) single = true;
        }
        if (!single) {
            size_t t = pos + mblen;
            double cand = m->unk_score + base;
            if (from[t] < 0 || cand > score[t]) {
                if (m->unk_id < 0) {
                    free(score);
                    free(from);
                    free(tid);
                    return el_err("Unigram: a character is not in the vocab and the model has no unk_id");
                }
                score[t] = cand;
                from[t] = (int32_t)pos;
                tid[t] = m->unk_id;
            }
        }
        pos += mblen;
    }
    /* backtrack into (start, end, id) pieces, fusing consecutive unknowns */
    int32_t cnt = 0;
    int32_t *st = xmalloc(sizeof(int32_t) * (n + 1));
    int32_t *en = xmalloc(sizeof(int32_t) * (n + 1));
    int32_t *pid = xmalloc(sizeof(int32_t) * (n + 1));
    size_t end = n;
    while (end > 0) {
        int32_t b = from[end];
        int32_t id = tid[end];
        if (id == m->unk_id && cnt > 0 && pid[cnt - 1] == m->unk_id) {
            st[cnt - 1] = b; /* extend the fused unknown leftwards */
        } else {
            st[cnt] = b;
            en[cnt] = (int32_t)end;
            pid[cnt] = id;
            cnt++;
        }
        end = (size_t)b;
    }
    for (int32_t k = cnt - 1; k >= 0; k--) {
        int32_t id = pid[k];
        if (id == m->unk_id) {
            int32_t v = tk_map_get(&m->vocab, s + st[k], (size_t)(en[k] - st[k]));
            if (v >= 0) {
                tk_ids_push(ids, v);
                continue;
            }
            if (m->byte_fallback) {
                bool all = true;
                for (int32_t j = st[k]; j < en[k]; j++)
                    if (m->byte_ids[(unsigned char)s[j]] < 0) all = false;
                if (all) {
                    for (int32_t j = st[k]; j < en[k]; j++) tk_ids_push(ids, m->byte_ids[(unsigned char)s[j]]);
                    continue;
                }
            }
        }
        tk_ids_push(ids, id);
    }
    free(st);
    free(en);
    free(pid);
    free(score);
    free(from);
    free(tid);
    return EL_OK;
}
