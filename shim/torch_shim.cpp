// torch_shim.cpp: implementation of torch_shim.h (bootstrap: errors, version, threads).
#include "torch_shim.h"

#include <ATen/Parallel.h>
#include <string>
#include <torch/version.h>

static thread_local std::string g_last_error;

extern "C" {
const char *ts_last_error(void) { return g_last_error.c_str(); }
void ts_clear_error(void) { g_last_error.clear(); }
const char *ts_version(void) { return TORCH_VERSION; }
int ts_set_num_threads(int32_t n) {
    try {
        at::set_num_threads(n);
        return TS_OK;
    } catch (const std::exception &e) {
        g_last_error = std::string("ts_set_num_threads: ") + e.what();
        return TS_ERR;
    }
}
int32_t ts_get_num_threads(void) { return at::get_num_threads(); }
}
