/* tokenize_bpe.c: the BPE model: characters (with continuing prefix / end-of-word suffix) to
 * ids, byte fallback or (fused) unknown tokens for characters outside the vocab, then merges in
 * rank order (lowest rank first, leftmost on ties), as Hugging Face's Word::merge_all does. */
#include "tokenize_impl.h"

#include <stdlib.h>
#include <string.h>

static inline uint32_t pair_hash(int32_t a, int32_t b) {
    uint64_t h = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(h >> 32);
}

int32_t tk_merge_find(const tk_model *m, int32_t a, int32_t b, int32_t *rank) {
    if (!m->merges) return -1;
    uint32_t mask = m->merge_slots - 1;
    uint32_t i = pair_hash(a, b) & mask;
    for (;;) {
        const tk_merge *e = &m->merges[i];
        if (e->a == -1) return -1;
        if (e->a == a && e->b == b) {
            *rank = e->rank;
            return e->id;
        }
        i = (i + 1) & mask;
    }
}

typedef struct {
    int32_t rank, pos, id;
} hitem;

static inline bool h_less(hitem x, hitem y) {
    return x.rank != y.rank ? x.rank < y.rank : x.pos < y.pos;
}

static void h_push(hitem **h, int64_t *n, int64_t *cap, hitem it) {
    el_grow(*h, cap, *n + 1);
    hitem *v = *h;
    int64_t i = (*n)++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!h_less(it, v[p])) break;
        v[i] = v[p];
        i = p;
    }
    v[i] = it;
}

static hitem h_pop(hitem *v, int64_t *n) {
    hitem top = v[0];
    hitem last = v[--(*n)];
    int64_t i = 0;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        hitem best = last;
        if (l < *n && h_less(v[l], best)) {
            m = l;
            best = v[l];
        }
        if (r < *n && h_less(v[r], best)) m = r;
        if (m == i) break;
        v[i] = v[m];
        i = m;
    }
    if (*n > 0) v[i] = last;
    return top;
}

typedef struct {
    int32_t *id, *prev, *next;
    bool *dead;
    int32_t n;
    int64_t cap;
} word;

static void w_add(word *w, int32_t id) {
    if (w->n + 1 > w->cap) {
        int64_t c = w->cap;
        el_grow(w->id, &c, w->n + 1);
        c = w->cap;
        el_grow(w->prev, &c, w->n + 1);
        c = w->cap;
        el_grow(w->next, &c, w->n + 1);
        c = w->cap;
        el_grow(w->dead, &c, w->n + 1);
        w->cap = c;
    }
    w->id[w->n] = id;
    w->dead[w->n] = false;
    w->n++;
}

int tk_bpe(const tk_model *m, const char *s, size_t n, tk_ids *ids) {
    if (n == 0) return EL_OK;
    if (m->ignore_merges) {
        int32_t id = tk_map_get(&m->vocab, s, n);
        if (id >= 0) {
            tk_ids_push(ids, id);
            return EL_OK;
        }
    }
    word w = {0};
    el_buf key = {0};
    int32_t unk = -1; /* pending (fused) unknown */
    size_t i = 0;
    while (i < n) {
        int32_t c;
        size_t l = (size_t)tk_utf8_dec(s + i, n - i, &c);
        bool first = i == 0, last = i + l >= n;
        key.len = 0;
        if (!first && m->prefix_len) el_buf_append(&key, m->prefix, (size_t)m->prefix_len);
        el_buf_append(&key, s + i, l);
        if (last && m->suffix_len) el_buf_append(&key, m->suffix, (size_t)m->suffix_len);
        i += l;
        int32_t id = tk_map_get(&m->vocab, key.s, key.len);
        if (id >= 0) {
            if (unk >= 0) {
                w_add(&w, unk);
                unk = -1;
            }
            w_add(&w, id);
            continue;
        }
        if (m->byte_fallback) {
            bool all = true;
            for (size_t k = 0; k < key.len; k++)
                if (m->byte_ids[(unsigned char)key.s[k]] < 0) all = false;
            if (all) {
                /* HF adds the byte tokens without flushing a pending unk first */
                for (size_t k = 0; k < key.len; k++) w_add(&w, m->byte_ids[(unsigned char)key.s[k]]);
                continue;
            }
        }
        if (m->unk_id >= 0) {
            if (unk >= 0 && !m->fuse_unk) w_add(&w, unk);
            unk = m->unk_id;
        }
    }
    if (unk >= 0) w_add(&w, unk);
    el_buf_free(&key);
    for (int32_t k = 0; k < w.n; k++) {
        w.prev[k] = k - 1;
        w.next[k] = k + 1 < w.n ? k + 1 : -1;
    }
    hitem *heap = NULL;
    int64_t hn = 0, hcap = 0;
    for (int32_t k = 0; k + 1 < w.n; k++) {
        int32_t r, nid = tk_merge_find(m, w.id[k], w.id[k + 1], &r);
        if (nid >= 0) h_push(&heap, &hn, &hcap, (hitem){r, k, nid});
    }
    while (hn > 0) {
        hitem t = h_pop(heap, &hn);
        if (w.dead[t.pos]) continue;
        int32_t nx = w.next[t.pos];
        if (nx < 0) continue;
        int32_t r, nid = tk_merge_find(m, w.id[t.pos], w.id[nx], &r);
        if (nid < 0 || nid != t.id) continue;
        w.id[t.pos] = nid;
        w.dead[nx] = true;
        w.next[t.pos] = w.next[nx];
        if (w.next[nx] >= 0) w.prev[w.next[nx]] = t.pos;
        int32_t pv = w.prev[t.pos];
        if (pv >= 0) {
            int32_t r2, id2 = tk_merge_find(m, w.id[pv], w.id[t.pos], &r2);
            if (id2 >= 0) h_push(&heap, &hn, &hcap, (hitem){r2, pv, id2});
        }
        nx = w.next[t.pos];
        if (nx >= 0) {
            int32_t r2, id2 = tk_merge_find(m, w.id[t.pos], w.id[nx], &r2);
            if (id2 >= 0) h_push(&heap, &hn, &hcap, (hitem){r2, t.pos, id2});
        }
    }
    for (int32_t k = 0; k < w.n; k++)
        if (!w.dead[k]) tk_ids_push(ids, w.id[k]);
    free(heap);
    free(w.id);
    free(w.prev);
    free(w.next);
    free(w.dead);
    return EL_OK;
}
