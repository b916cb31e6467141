/* hub_test_server: the emulated hub of the tests as a program (benchmarks, manual checks).
 *   hub_test_server [--big-mb N]
 * Prints "http://127.0.0.1:PORT" on stdout and serves until its standard input closes. */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int32_t big = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--big-mb") && i + 1 < argc) {
            big = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: hub_test_server [--big-mb N]\n");
            return 2;
        }
    }
    int32_t n;
    hs_repo *repos = fx_repos(&n, big);
    hub_server *s = hs_start(repos, n);
    if (!s) return 1;
    printf("%s\n", hs_url(s));
    fflush(stdout);
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {
    }
    hs_stop(s);
    fx_free(repos, n);
    return 0;
}
