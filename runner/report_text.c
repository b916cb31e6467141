/* report_text.c: escaping for every output format, terminal padding, number and time helpers,
 * "did you mean" suggestions, and the string arena of the report model. See report.h. */
#define _GNU_SOURCE
#include "report.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- arena -------------------------------------------------------------------------------- */
typedef struct el_arena_block {
    struct el_arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
} el_arena_block;

struct el_arena {
    el_arena_block *head;
};

el_arena *el_arena_new(void) { return xcalloc(1, sizeof(el_arena)); }

void el_arena_free(el_arena *a) {
    if (!a) return;
    for (el_arena_block *b = a->head; b;) {
        el_arena_block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

void *el_arena_alloc(el_arena *a, size_t n) {
    n = (n + 7) & ~(size_t)7;
    el_arena_block *b = a->head;
    if (!b || b->used + n > b->cap) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        b = xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

const char *el_arena_strn(el_arena *a, const char *s, size_t n) {
    char *p = el_arena_alloc(a, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

const char *el_arena_str(el_arena *a, const char *s) { return el_arena_strn(a, s ? s : "", s ? strlen(s) : 0); }

/* ---- escaping ------------------------------------------------------------------------------ */
void el_html_escape(el_buf *b, const char *s) {
    if (!s) return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        /* C0 controls other than tab/newline/CR are not allowed in HTML text */
        if (!rep && (unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') rep = "\xEF\xBF\xBD";
        if (!rep && (unsigned char)*p == 0x7f) rep = "\xEF\xBF\xBD";
        if (rep) {
            el_buf_append(b, run, (size_t)(p - run));
            el_buf_puts(b, rep);
            run = p + 1;
        }
    }
    el_buf_puts(b, run);
}

void el_md_escape(el_buf *b, const char *s) {
    if (!s) return;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&': el_buf_puts(b, "&amp;"); break;
        case '<': el_buf_puts(b, "&lt;"); break;
        case '>': el_buf_puts(b, "&gt;"); break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#': case '~':
            el_buf_putc(b, '\\');
            el_buf_putc(b, (char)c);
            break;
        case '\n': case '\r': case '\t': el_buf_putc(b, ' '); break;
        default:
            if (c < 0x20 || c == 0x7f) el_buf_putc(b, '?');
            else el_buf_putc(b, (char)c);
        }
    }
}

void el_csv_cell(el_buf *b, const char *s, bool text) {
    if (!s) s = "";
    bool formula = text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        el_buf_puts(b, s);
        return;
    }
    el_buf_putc(b, '"');
    if (formula) el_buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"') el_buf_putc(b, '"');
        el_buf_putc(b, *p);
    }
    el_buf_putc(b, '"');
}

void el_term_escape(el_buf *b, const char *s) {
    if (!s) return;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        el_buf_putc(b, (c < 0x20 || c == 0x7f) ? '?' : (char)c);
    }
}

int32_t el_utf8_width(const char *s) {
    int32_t w = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

void el_term_pad(el_buf *b, const char *s, int32_t width, bool right) {
    if (!s) s = "";
    int32_t w = el_utf8_width(s);
    if (w > width) { /* cut on a code point boundary, end with an ellipsis */
        int32_t keep = width - 1, seen = 0;
        const char *p = s;
        while (*p) {
            if (((unsigned char)*p & 0xC0) != 0x80) {
                if (seen == keep) break;
                seen++;
            }
            p++;
        }
        char *cut = el_strndup(s, (size_t)(p - s));
        el_term_escape(b, cut);
        free(cut);
        if (width > 0) el_buf_puts(b, "…");
        return;
    }
    if (right)
        for (int32_t i = w; i < width; i++) el_buf_putc(b, ' ');
    el_term_escape(b, s);
    if (!right)
        for (int32_t i = w; i < width; i++) el_buf_putc(b, ' ');
}

/* ---- suggestions --------------------------------------------------------------------------- */
int32_t el_edit_distance(const char *a, const char *b, int32_t cap) {
    size_t na = strlen(a), nb = strlen(b);
    if ((int64_t)na - (int64_t)nb > cap || (int64_t)nb - (int64_t)na > cap) return cap;
    int32_t *prev = xmalloc((nb + 1) * sizeof(int32_t)), *cur = xmalloc((nb + 1) * sizeof(int32_t));
    for (size_t j = 0; j <= nb; j++) prev[j] = (int32_t)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int32_t)i;
        int32_t row_min = cur[0];
        for (size_t j = 1; j <= nb; j++) {
            int32_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int32_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            int32_t m = sub < del ? sub : del;
            cur[j] = m < ins ? m : ins;
            if (cur[j] < row_min) row_min = cur[j];
        }
        int32_t *t = prev;
        prev = cur;
        cur = t;
        if (row_min >= cap) {
            free(prev);
            free(cur);
            return cap;
        }
    }
    int32_t d = prev[nb];
    free(prev);
    free(cur);
    return d < cap ? d : cap;
}

typedef struct {
    int32_t score, idx;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    return x->score != y->score ? x->score - y->score : x->idx - y->idx;
}

int32_t el_suggest(el_buf *b, const char *word, const char *const *cands, int32_t n, int32_t max) {
    if (!word || n <= 0) return 0;
    scored *s = xmalloc((size_t)n * sizeof *s);
    int32_t ns = 0;
    size_t wl = strlen(word);
    int32_t cap = (int32_t)(wl / 3) + 2; /* a third of the word, at least 2 edits */
    /* the last dotted part alone also counts: "dropout" finds "head.dropout" */
    for (int32_t i = 0; i < n; i++) {
        const char *c = cands[i];
        int32_t d = el_edit_distance(word, c, cap + 1);
        const char *dot = strrchr(c, '.');
        if (dot) {
            int32_t d2 = el_edit_distance(word, dot + 1, cap + 1);
            if (d2 < d) d = d2;
        }
        if (wl >= 3 && (strcasestr(c, word) || strcasestr(word, c))) d = d < 1 ? d : 1;
        if (d <= cap) s[ns++] = (scored){d, i};
    }
    el_qsort(s, (size_t)ns, sizeof *s, cmp_scored);
    int32_t k = ns < max ? ns : max;
    for (int32_t i = 0; i < k; i++) el_buf_printf(b, "%s%s", i ? ", " : "", cands[s[i].idx]);
    free(s);
    return k;
}

/* ---- values and times ---------------------------------------------------------------------- */
char *el_json_display(const char *json) {
    if (!json) return xstrdup("");
    size_t n = strlen(json);
    if (n >= 2 && json[0] == '"' && json[n - 1] == '"') {
        el_buf b = {0};
        for (size_t i = 1; i + 1 < n; i++) {
            char c = json[i];
            if (c == '\\' && i + 2 < n) {
                char e = json[++i];
                switch (e) {
                case 'n': el_buf_putc(&b, '\n'); break;
                case 't': el_buf_putc(&b, '\t'); break;
                case 'r': el_buf_putc(&b, '\r'); break;
                case 'b': el_buf_putc(&b, '\b'); break;
                case 'f': el_buf_putc(&b, '\f'); break;
                case 'u': {
                    unsigned v = 0;
                    int k = 0;
                    for (; k < 4 && i + 1 + (size_t)k + 1 < n && isxdigit((unsigned char)json[i + 1 + (size_t)k]); k++) {
                        char h = json[i + 1 + (size_t)k];
                        v = v * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
                    }
                    i += (size_t)k;
                    /* surrogate pairs are rare in params; a lone one becomes U+FFFD */
                    if (v >= 0xD800 && v <= 0xDFFF) v = 0xFFFD;
                    char u[4];
                    if (v < 0x80) { u[0] = (char)v; el_buf_append(&b, u, 1); }
                    else if (v < 0x800) { u[0] = (char)(0xC0 | (v >> 6)); u[1] = (char)(0x80 | (v & 0x3F)); el_buf_append(&b, u, 2); }
                    else { u[0] = (char)(0xE0 | (v >> 12)); u[1] = (char)(0x80 | ((v >> 6) & 0x3F)); u[2] = (char)(0x80 | (v & 0x3F)); el_buf_append(&b, u, 3); }
                    break;
                }
                default: el_buf_putc(&b, e);
                }
            } else {
                el_buf_putc(&b, c);
            }
        }
        if (!b.s) return xstrdup("");
        return el_buf_take(&b);
    }
    return xstrdup(json);
}

static bool parse_iso(const char *s, time_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int Y, M, D, h = 0, m = 0;
    double sec = 0;
    int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &Y, &M, &D, &h, &m, &sec);
    if (n < 3) return false;
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = (int)sec;
    *out = timegm(&tm);
    return true;
}

void el_age(const char *iso, char out[32]) {
    time_t t;
    out[0] = 0;
    if (!iso || !parse_iso(iso, &t)) return;
    double s = difftime(time(NULL), t);
    if (s < 0) s = 0;
    if (s < 60) snprintf(out, 32, "%ds ago", (int)s);
    else if (s < 3600) snprintf(out, 32, "%dm ago", (int)(s / 60));
    else if (s < 86400) snprintf(out, 32, "%dh ago", (int)(s / 3600));
    else if (s < 86400.0 * 60) snprintf(out, 32, "%dd ago", (int)(s / 86400));
    else snprintf(out, 32, "%.10s", iso);
}

int el_parse_since(const char *s, char out[40]) {
    if (!s || !*s) return el_err("--since: empty value (give a date like 2026-11-01 or an age like 7d)");
    char *end = NULL;
    double v = strtod(s, &end);
    if (end != s && end && *end && !end[1] && strchr("mhdw", *end) && v >= 0 && isfinite(v) &&
        !strchr(s, '-') && !strchr(s, ':')) {
        double mul = *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 7 * 86400;
        time_t t = time(NULL) - (time_t)(v * mul);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
        return 0;
    }
    int Y, M, D, h = -1, m = -1, consumed = 0;
    double sec = -1;
    int n = sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &consumed);
    bool ok = n == 3 && consumed == 10 && M >= 1 && M <= 12 && D >= 1 && D <= 31;
    const char *rest = s + (ok ? consumed : 0);
    if (ok && *rest) {
        int c2 = 0;
        if ((*rest == 'T' || *rest == ' ') && sscanf(rest + 1, "%2d:%2d%n", &h, &m, &c2) == 2 && h < 24 && m < 60) {
            rest += 1 + c2;
            if (*rest == ':') {
                int c3 = 0;
                if (sscanf(rest + 1, "%lf%n", &sec, &c3) != 1 || sec < 0 || sec >= 61) ok = false;
                rest += 1 + c3;
            }
            if (*rest == 'Z') rest++;
            if (*rest) ok = false;
        } else {
            ok = false;
        }
    }
    if (!ok)
        return el_err("--since '%s': not a date or an age; write 2026-11-01, 2026-11-01T14:30, "
                      "2026-11-01T14:30:00Z (UTC), or an age: 30m, 12h, 7d, 2w", s);
    if (h < 0) snprintf(out, 40, "%04d-%02d-%02d", Y, M, D);
    else if (sec < 0) snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d", Y, M, D, h, m);
    else snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%06.3f", Y, M, D, h, m, sec);
    return 0;
}
