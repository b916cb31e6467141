/* tokenize_wordpiece.c: the WordPiece model (greedy longest match first, "##" continuations,
 * the whole word becomes the unknown token when any part cannot be matched). */
#include "tokenize_impl.h"

int tk_wordpiece(const tk_model *m, const char *s, size_t n, tk_ids *ids) {
    /* count chars */
    int64_t nch = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) nch++;
    if (nch > m->max_chars) {
        if (m->unk_id < 0) return el_err("WordPiece: the unknown token is missing from the vocab");
        tk_ids_push(ids, m->unk_id);
        return EL_OK;
    }
    int32_t mark = ids->n;
    size_t start = 0;
    while (start < n) {
        /* no key is longer than max_key_bytes: start the search there (same result, no O(n^2)) */
        size_t end = n;
        if (m->max_key_bytes > 0 && n - start > (size_t)m->max_key_bytes) {
            end = start + (size_t)m->max_key_bytes;
            while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
        }
        int32_t found = -1;
        while (start < end) {
            found = start > 0 ? tk_map_get2(&m->vocab, m->prefix, (size_t)m->prefix_len, s + start, end - start)
                              : tk_map_get(&m->vocab, s + start, end - start);
            if (found >= 0) break;
            /* drop the last char */
            end--;
            while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
        }
        if (found < 0) {
            ids->n = mark;
            if (m->unk_id < 0) return el_err("WordPiece: the unknown token is missing from the vocab");
            tk_ids_push(ids, m->unk_id);
            return EL_OK;
        }
        tk_ids_push(ids, found);
        start = end;
    }
    return EL_OK;
}
