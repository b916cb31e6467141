/* test_yaml.c: the YAML tree (runner/yaml_tree.c): positions, scalars, aliases and merge keys,
 * the billion-laughs bound, duplicate keys, multi-document files, libyaml errors as
 * file:line:col, dotted get/set, canonical JSON and number formatting. Every expected value
 * (positions, JSON texts, Python-repr numbers) is written by hand from the inputs. */
#include "check.h"
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static el_node *parse(const char *text, const char *file) { return el_yaml_parse(text, strlen(text), file); }

/* Parsing must fail; returns the error message. */
static const char *parse_err(const char *text, const char *file) {
    el_clear_error();
    el_node *n = parse(text, file);
    CHECK(n == NULL);
    el_node_free(n);
    return el_last_error();
}

static void test_positions(void) {
    const char *doc = "name: bow\n"                 /* 1 */
                      "head:\n"                     /* 2 */
                      "  layers: [768, 256]\n"      /* 3 */
                      "  dropout: 0.85\n"           /* 4 */
                      "  s1: \"quoted\"\n"          /* 5 */
                      "  s2: 'single'\n"            /* 6 */
                      "  n1: ~\n"                   /* 7 */
                      "  n2: null\n"                /* 8 */
                      "  n3:\n"                     /* 9 */
                      "  b: !!str 123\n"            /* 10 */
                      "list:\n"                     /* 11 */
                      "  - a\n"                     /* 12 */
                      "  - {x: 1}\n";               /* 13 */
    el_node *r = parse(doc, "pos.yaml");
    CHECK(r != NULL);
    if (!r) return;
    CHECK(r->kind == EL_NODE_MAP && r->n == 3);
    CHECK_STR(r->file, "pos.yaml");
    CHECK_STR(r->keys[0], "name");
    CHECK(r->key_line[0] == 1 && r->key_col[0] == 1);
    CHECK(r->key_line[1] == 2 && r->key_col[1] == 1);
    el_node *name = el_node_get(r, "name");
    CHECK(name && name->kind == EL_NODE_SCALAR && !name->quoted);
    CHECK_STR(name->scalar, "bow");
    CHECK(name->line == 1 && name->col == 7);
    el_node *head = el_node_get(r, "head");
    CHECK(head && head->kind == EL_NODE_MAP && head->n == 8);
    CHECK(head->line == 3 && head->col == 3); /* a block mapping starts at its first key */
    CHECK(head->key_line[1] == 4 && head->key_col[1] == 3);
    el_node *layers = el_node_get(r, "head.layers");
    CHECK(layers && layers->kind == EL_NODE_SEQ && layers->n == 2);
    CHECK(layers->line == 3 && layers->col == 11);
    CHECK(layers->items[0]->line == 3 && layers->items[0]->col == 12);
    CHECK(layers->items[1]->line == 3 && layers->items[1]->col == 17);
    CHECK_STR(el_node_get(r, "head.layers.1")->scalar, "256");
    CHECK_STR(el_node_get(r, "head.layers[0]")->scalar, "768");
    el_node *d = el_node_get(r, "head.dropout");
    CHECK(d && d->line == 4 && d->col == 12);
    CHECK_STR(d->scalar, "0.85");
    el_node *s1 = el_node_get(r, "head.s1"), *s2 = el_node_get(r, "head.s2");
    CHECK(s1 && s1->quoted && s1->line == 5 && s1->col == 7);
    CHECK_STR(s1->scalar, "quoted");
    CHECK(s2 && s2->quoted);
    CHECK_STR(s2->scalar, "single");
    CHECK(el_node_get(r, "head.n1")->kind == EL_NODE_NULL);
    CHECK(el_node_get(r, "head.n2")->kind == EL_NODE_NULL);
    CHECK(el_node_get(r, "head.n3")->kind == EL_NODE_NULL);
    el_node *b = el_node_get(r, "head.b");
    CHECK(b && b->kind == EL_NODE_SCALAR && b->quoted); /* !!str makes a string */
    CHECK_STR(b->scalar, "123");
    el_node *x = el_node_get(r, "list.1.x");
    CHECK(x && x->line == 13 && x->col == 9);
    el_node *m = el_node_get(r, "list[1]");
    CHECK(m && m->kind == EL_NODE_MAP && m->line == 13 && m->col == 5);
    CHECK(m->key_line[0] == 13 && m->key_col[0] == 6);
    CHECK(el_node_get(r, "list.2") == NULL);
    CHECK(el_node_get(r, "head.nothing") == NULL);
    CHECK(el_node_get(r, "name.x") == NULL);

    el_node *c = el_node_clone(r);
    CHECK(el_node_equal(r, c));
    CHECK(c->key_line[1] == 2);
    CHECK_STR(el_node_get(c, "head.s1")->file, "pos.yaml");
    el_node_free(c);
    el_node_free(r);

    /* an empty document is a null node at 1:1; "---" alone too */
    r = parse("", "e.yaml");
    CHECK(r && r->kind == EL_NODE_NULL && r->line == 1 && r->col == 1);
    el_node_free(r);
    r = parse("# only a comment\n---\n", "e.yaml");
    CHECK(r && r->kind == EL_NODE_NULL);
    el_node_free(r);
    /* one document with explicit markers is fine */
    r = parse("---\na: 1\n...\n", "e.yaml");
    CHECK(r && r->kind == EL_NODE_MAP && r->n == 1);
    el_node_free(r);
}

static void test_aliases_and_merges(void) {
    const char *doc = "base: &b {dropout: 0.5, layers: [1]}\n"
                      "head:\n"
                      "  <<: *b\n"
                      "  dropout: 0.7\n"
                      "head2: {dropout: 0.9, <<: *b}\n"
                      "other: *b\n"
                      "a: &a {x: 1, y: 1}\n"
                      "c: &c {x: 2, z: 2}\n"
                      "both: {<<: [*a, *c]}\n"
                      "s: &s hello\n"
                      "t: *s\n"
                      "'<<': literal\n";
    el_node *r = parse(doc, "alias.yaml");
    CHECK(r != NULL);
    if (!r) return;
    CHECK_STR(el_node_get(r, "head.dropout")->scalar, "0.7");   /* explicit wins over merge */
    CHECK_STR(el_node_get(r, "head.layers.0")->scalar, "1");
    CHECK(el_node_get(r, "head")->n == 2);
    CHECK(el_node_get(r, "head.<<") == NULL);
    CHECK_STR(el_node_get(r, "head2.dropout")->scalar, "0.9");  /* also when written first */
    CHECK(el_node_get(r, "head2")->n == 2);
    CHECK(el_node_equal(el_node_get(r, "other"), el_node_get(r, "base")));
    CHECK_STR(el_node_get(r, "both.x")->scalar, "1");           /* earlier merge source wins */
    CHECK_STR(el_node_get(r, "both.y")->scalar, "1");
    CHECK_STR(el_node_get(r, "both.z")->scalar, "2");
    CHECK_STR(el_node_get(r, "t")->scalar, "hello");
    CHECK_STR(el_node_get(r, "<<")->scalar, "literal");         /* a quoted << is a plain key */
    /* merged keys keep the position where they were written */
    el_node *h = el_node_get(r, "head");
    int32_t i = 0;
    while (i < h->n && strcmp(h->keys[i], "layers") != 0) i++;
    CHECK(i < h->n && h->key_line[i] == 1 && h->key_col[i] == 25);
    el_node_free(r);

    CHECK_PREFIX(parse_err("a: *x\n", "u.yaml"), "u.yaml:1:4: alias *x refers to no anchor");
    CHECK_PREFIX(parse_err("a: &x [1, *x]\n", "u.yaml"), "u.yaml:1:11: alias *x refers to no anchor");
    CHECK_PREFIX(parse_err("a: {<<: 5}\n", "u.yaml"), "u.yaml:1:5: the merge key << needs a mapping");
}

static void test_billion_laughs(void) {
    /* 10^7 expanded nodes. Budget: a = 11 nodes + its anchor copy 11; b = 111 + 111; c = 1111
     * + 1111; d = 11111 + 11111 (24688 so far); e's list (1) then each *d costs 11111: the
     * 7th *d (column 26 of line 5) crosses 100000. */
    const char *doc = "a: &a [1,2,3,4,5,6,7,8,9,10]\n"
                      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                      "h: [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
    const char *e = parse_err(doc, "laughs.yaml");
    CHECK_PREFIX(e, "laughs.yaml:5:26: alias *d: the document expands to more than 100000 nodes");
    CHECK_HAS(e, "billion laughs");

    /* the same with mapping keys and merges */
    const char *doc2 = "a: &a {k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x, k10: x}\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
    CHECK_HAS(parse_err(doc2, "laughs2.yaml"), "billion laughs");

    /* few nodes but many bytes: a 1 MiB string used 20 times */
    el_buf b = {0};
    el_buf_puts(&b, "a: &a \"");
    for (int i = 0; i < (1 << 20); i++) el_buf_putc(&b, 'x');
    el_buf_puts(&b, "\"\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n");
    CHECK_HAS(parse_err(b.s, "wide.yaml"), "16 MiB");
    el_buf_free(&b);

    /* a modest use of aliases is fine */
    el_node *r = parse("a: &a [1, 2]\nb: [*a, *a, *a]\n", "ok.yaml");
    CHECK(r && el_node_get(r, "b.2.1") && !strcmp(el_node_get(r, "b.2.1")->scalar, "2"));
    el_node_free(r);
}

static void test_refusals(void) {
    CHECK_STR(parse_err("a: 1\nb: 2\na: 3\n", "dup.yaml"),
              "dup.yaml:3:1: duplicate key 'a' (first at line 1, column 1); each key may appear "
              "once in a mapping");
    CHECK_PREFIX(parse_err("h: {x: 1, x: 2}\n", "dup.yaml"), "dup.yaml:1:11: duplicate key 'x'");
    CHECK_PREFIX(parse_err("a: 1\n---\nb: 2\n", "multi.yaml"), "multi.yaml:2:1: a second YAML document");
    /* libyaml's own errors, as file:line:col */
    CHECK_PREFIX(parse_err("a: [1, 2\n", "s.yaml"), "s.yaml:2:1: did not find expected ',' or ']'");
    CHECK_PREFIX(parse_err("a: b: c\n", "s.yaml"), "s.yaml:1:5: mapping values are not allowed");
    CHECK_PREFIX(parse_err("a:\n\tb: 1\n", "s.yaml"), "s.yaml:2:1: found character that cannot start any token");
    CHECK_PREFIX(parse_err("a: 1\nb: \xff\n", "s.yaml"), "s.yaml:2:4: invalid leading UTF-8 octet");
    /* NUL inside a scalar (a \0 escape) */
    CHECK_PREFIX(parse_err("a: \"x\\0y\"\n", "n.yaml"), "n.yaml:1:4: a scalar contains a NUL character");
    /* complex keys, unknown tags, anchors on keys */
    CHECK_PREFIX(parse_err("? [1, 2]\n: x\n", "k.yaml"), "k.yaml:1:3: a list used as a mapping key");
    CHECK_PREFIX(parse_err("a: 1\nb: !foo x\n", "t.yaml"), "t.yaml:2:4: unsupported YAML tag '!foo'");
    CHECK_PREFIX(parse_err("x: !!python/object:os.system ls\n", "t.yaml"), "t.yaml:1:4: unsupported YAML tag");
    CHECK_PREFIX(parse_err("&k a: 1\n", "t.yaml"), "t.yaml:1:1: anchors on mapping keys are not supported");

    /* nesting: the 65th '[' is refused */
    el_buf b = {0};
    for (int i = 0; i < 100; i++) el_buf_putc(&b, '[');
    for (int i = 0; i < 100; i++) el_buf_putc(&b, ']');
    CHECK_PREFIX(parse_err(b.s, "deep.yaml"), "deep.yaml:1:65: nesting deeper than 64 levels");
    el_buf_free(&b);
    /* 64 levels are fine */
    for (int i = 0; i < 64; i++) el_buf_putc(&b, '[');
    for (int i = 0; i < 64; i++) el_buf_putc(&b, ']');
    el_node *r = parse(b.s, "deep.yaml");
    CHECK(r != NULL);
    el_node_free(r);
    el_buf_free(&b);

    /* a mapping with too many keys: key k4096 is on line 4097 */
    for (int i = 0; i < 5000; i++) el_buf_printf(&b, "k%d: 0\n", i);
    CHECK_PREFIX(parse_err(b.s, "keys.yaml"), "keys.yaml:4097:");
    CHECK_HAS(el_last_error(), "more than 4096 keys");
    el_buf_free(&b);

    /* loading a file that does not exist */
    el_clear_error();
    CHECK(el_yaml_load("/nonexistent/x.yaml") == NULL);
    CHECK_PREFIX(el_last_error(), "/nonexistent/x.yaml: cannot open");
}

static void test_set(void) {
    el_node *r = parse("head: {dropout: 0.85}\nlist: [{x: 1}, 2]\nname: n\n", "set.yaml");
    CHECK(r != NULL);
    if (!r) return;
    CHECK(el_node_set_yaml(r, "head.dropout", "0.5", "--set head.dropout=0.5") == EL_OK);
    el_node *d = el_node_get(r, "head.dropout");
    CHECK_STR(d->scalar, "0.5");
    CHECK_STR(d->file, "--set head.dropout=0.5");
    CHECK(d->line == 0 && d->col == 0);
    CHECK(el_node_get(r, "head")->n == 1);
    CHECK(el_node_set_yaml(r, "a.b.c", "[1, 2]", "--set a.b.c=[1, 2]") == EL_OK);
    el_node *c = el_node_get(r, "a.b.c");
    CHECK(c && c->kind == EL_NODE_SEQ && c->n == 2);
    CHECK_STR(el_node_get(r, "a.b.c.1")->scalar, "2");
    CHECK(el_node_set_yaml(r, "list.0.x", "7", "o") == EL_OK);
    CHECK_STR(el_node_get(r, "list[0].x")->scalar, "7");
    CHECK(el_node_set_yaml(r, "list[1]", "{y: 3}", "o") == EL_OK);
    CHECK_STR(el_node_get(r, "list.1.y")->scalar, "3");
    CHECK(el_node_set_yaml(r, "head.new", "'quoted'", "o") == EL_OK);
    CHECK(el_node_get(r, "head.new")->quoted);
    CHECK(el_node_set_yaml(r, "head.dropout", "", "o") == EL_OK); /* empty = null */
    CHECK(el_node_get(r, "head.dropout")->kind == EL_NODE_NULL);

    CHECK(el_node_set_yaml(r, "name.x", "1", "--set name.x=1") == EL_ERR);
    CHECK_PREFIX(el_last_error(), "--set name.x=1: name.x: cannot set 'x' inside a value that is not a mapping");
    CHECK(el_node_set_yaml(r, "list.5", "1", "--set list.5=1") == EL_ERR);
    CHECK_PREFIX(el_last_error(), "--set list.5=1: list.5: there is no item 5 in this list of 2");
    CHECK(el_node_set_yaml(r, "a..b", "1", "--set a..b=1") == EL_ERR);
    CHECK_PREFIX(el_last_error(), "--set a..b=1: 'a..b' is not a dotted key path");
    CHECK(el_node_set_yaml(r, "", "1", "--set =1") == EL_ERR);
    CHECK(el_node_set_yaml(r, "x", "[1,", "--set x=[1,") == EL_ERR);
    CHECK_PREFIX(el_last_error(), "--set x=[1,: not a valid YAML value");
    CHECK(el_node_get(r, "x") == NULL);

    /* building in code */
    el_node *m = el_node_new(EL_NODE_MAP, NULL);
    el_node_map_put(m, "b", el_node_new_scalar("1", false, NULL));
    el_node_map_put(m, "a", el_node_new_scalar("x", true, NULL));
    el_node_map_put(m, "b", el_node_new_scalar("2", false, NULL));
    el_node *s = el_node_new(EL_NODE_SEQ, NULL);
    el_node_seq_push(s, el_node_new_scalar("0.50", false, NULL));
    el_node_map_put(m, "c", s);
    char *j = el_node_to_json(m, false);
    CHECK_STR(j, "{\"a\":\"x\",\"b\":2,\"c\":[0.5]}");
    free(j);
    CHECK(el_node_map_del(m, "a") && !el_node_map_del(m, "a"));
    j = el_node_to_json(m, false);
    CHECK_STR(j, "{\"b\":2,\"c\":[0.5]}");
    free(j);
    el_node_free(m);

    /* setting into an empty document makes it a mapping */
    el_node *e = parse("", "e.yaml");
    CHECK(el_node_set_yaml(e, "head.dropout", "0.5", "o") == EL_OK);
    CHECK(e->kind == EL_NODE_MAP && el_node_get(e, "head.dropout") != NULL);
    el_node_free(e);
    el_node_free(r);
}

static void test_json(void) {
    const char *doc = "b: 2\n"
                      "a: {y: [1, 2.50, .5, 5e-1, 2e-3, 1e-5, 1e16, 100.0, -0.0, 1e3, +3, -7], x: \"q\\\"\\n\\t\\u0001\"}\n"
                      "c: ~\n"
                      "d: true\n"
                      "e: 'true'\n"
                      "f: 007\n"
                      "g: hello\n"
                      "h: 'Привет'\n"
                      "i: []\n"
                      "j: {}\n";
    el_node *r = parse(doc, "j.yaml");
    CHECK(r != NULL);
    if (!r) return;
    char *j = el_node_to_json(r, false);
    CHECK_STR(j, "{\"a\":{\"x\":\"q\\\"\\n\\t\\u0001\",\"y\":[1,2.5,0.5,0.5,0.002,1e-05,1e+16,100.0,0.0,"
                 "1000.0,3,-7]},\"b\":2,\"c\":null,\"d\":true,\"e\":\"true\",\"f\":7,\"g\":\"hello\","
                 "\"h\":\"Привет\",\"i\":[],\"j\":{}}");
    free(j);
    el_node_free(r);

    r = parse("b: [1, {c: x}]\na: []\n", "p.yaml");
    j = el_node_to_json(r, true);
    CHECK_STR(j, "{\n  \"a\": [],\n  \"b\": [\n    1,\n    {\n      \"c\": \"x\"\n    }\n  ]\n}");
    free(j);
    el_node_free(r);

    /* shortest round-trip text, as Python's repr(float) writes it */
    struct {
        double v;
        const char *want;
    } cases[] = {
        {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {1e22, "1e+22"},
        {1.5e-7, "1.5e-07"},
        {123456789.125, "123456789.125"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {1e15, "1000000000000000.0"},
        {1e16, "1e+16"},
        {-2.5, "-2.5"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.85, "0.85"},
        {0.06, "0.06"},
        {2e-3, "0.002"},
        {1.0, "1.0"},
        {-0.0, "0.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[40];
        el_format_double(cases[i].v, out);
        CHECK_STR(out, cases[i].want);
    }
    CHECK(el_number_kind("12") == 1 && el_number_kind("-3") == 1 && el_number_kind("+4") == 1);
    CHECK(el_number_kind("1.") == 2 && el_number_kind(".5") == 2 && el_number_kind("5e-1") == 2 &&
          el_number_kind("1E3") == 2);
    CHECK(el_number_kind("") == 0 && el_number_kind(".") == 0 && el_number_kind("e3") == 0 &&
          el_number_kind("1e") == 0 && el_number_kind("0x10") == 0 && el_number_kind("1_000") == 0 &&
          el_number_kind(".inf") == 0 && el_number_kind("nan") == 0 && el_number_kind("1.2.3") == 0 &&
          el_number_kind(" 1") == 0);
}

int main(void) {
    test_positions();
    test_aliases_and_merges();
    test_billion_laughs();
    test_refusals();
    test_set();
    test_json();
    return check_summary("spec_yaml");
}
