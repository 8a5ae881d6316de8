/*
 * store/duckdb/duck_load.c - find libduckdb.so at run time and resolve the
 * entry points of duck_api.h.
 *
 * The library is loaded at most once per process and never unloaded
 * (DuckDB's static destructors run at exit). A failed search is remembered
 * too, with its message, so every later open reports the same places.
 */
#define _GNU_SOURCE
#include "store/duckdb/duck_api.h"
#include "util/util.h"
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DUCK_LIB_NAME "libduckdb.so"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pdi_duck_api g_api;
static bool g_ok;
static char *g_error; /* why loading failed (static for the process) */

/* Directory of a path (new string), NULL if none. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? pdi_strndup(path, (size_t)(slash - path)) : NULL;
}

typedef struct sym_entry {
    const char *name;
    size_t offset;
} sym_entry;

#define SYM(field)                                      \
    {                                                   \
        "duckdb_" #field, offsetof(pdi_duck_api, field) \
    }

static const sym_entry g_syms[] = {
    SYM(library_version),
    SYM(free),
    SYM(create_config),
    SYM(set_config),
    SYM(destroy_config),
    SYM(open_ext),
    SYM(close),
    SYM(connect),
    SYM(disconnect),
    SYM(interrupt),
    SYM(query),
    SYM(destroy_result),
    SYM(result_error),
    SYM(column_count),
    SYM(column_type),
    SYM(row_count),
    SYM(column_name),
    SYM(column_logical_type),
    SYM(value_varchar),
    SYM(value_is_null),
    SYM(fetch_chunk),
    SYM(destroy_logical_type),
    SYM(prepare),
    SYM(prepare_error),
    SYM(nparams),
    SYM(bind_varchar),
    SYM(bind_null),
    SYM(execute_prepared),
    SYM(destroy_prepare),
    SYM(data_chunk_get_size),
    SYM(destroy_data_chunk),
    SYM(result_get_arrow_options),
    SYM(destroy_arrow_options),
    SYM(to_arrow_schema),
    SYM(data_chunk_to_arrow),
    SYM(error_data_has_error),
    SYM(error_data_message),
    SYM(destroy_error_data),
    SYM(arrow_scan),
};

/* Resolve every entry point of `h`; on a missing one, the message names it
 * (an older libduckdb than the Arrow C API of DuckDB 1.3). */
static int resolve(void *h, const char *path, pd_buf *why)
{
    for (size_t i = 0; i < sizeof g_syms / sizeof g_syms[0]; i++) {
        void *p = dlsym(h, g_syms[i].name);
        if (!p) {
            pdi_buf_printf(why, "%s lacks %s (DuckDB 1.3 or newer is needed)", path,
                           g_syms[i].name);
            return -1;
        }
        memcpy((char *)&g_api + g_syms[i].offset, &p, sizeof p);
    }
    return 0;
}

/* Try one candidate. Returns true when loaded; appends why not to `why`. */
static bool try_path(const char *path, bool by_name, pd_buf *why)
{
    if (!by_name && access(path, F_OK) != 0) {
        pdi_buf_printf(why, "%s%s (no such file)", why->len ? "; " : "", path);
        return false;
    }
    void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        pdi_buf_printf(why, "%s%s (%s)", why->len ? "; " : "",
                       by_name ? "the library path (" DUCK_LIB_NAME ")" : path,
                       e ? e : "dlopen failed");
        return false;
    }
    if (why->len)
        pdi_buf_puts(why, "; ");
    if (resolve(h, path, why) != 0) {
        dlclose(h);
        return false;
    }
    g_api.handle = h;
    g_api.path = pdi_strdup(path);
    g_api.version = g_api.library_version();
    return true;
}

static void load_once(void)
{
    pd_buf why = {0};
    const char *env = getenv("PIPEDAG_DUCKDB_LIBRARY");
    if (env && *env) {
        g_ok = try_path(env, false, &why);
        if (!g_ok) {
            /* An explicit choice that fails is not silently replaced. */
            char *w = pdi_buf_detach(&why);
            g_error = pdi_asprintf("DuckDB library not found (searched: PIPEDAG_DUCKDB_LIBRARY=%s)",
                                   w ? w : "");
            free(w);
            return;
        }
        pdi_buf_free(&why);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *exe_dir = NULL, *lib_dir = NULL;
    if (n > 0) {
        exe[n] = 0;
        exe_dir = dir_of(exe);
    }
    Dl_info info;
    if (dladdr((void *)&load_once, &info) && info.dli_fname && info.dli_fname[0] == '/')
        lib_dir = dir_of(info.dli_fname);
    const char *dirs[2] = {exe_dir, lib_dir && !pdi_str_eq(lib_dir, exe_dir) ? lib_dir : NULL};
    for (size_t i = 0; i < 2 && !g_ok; i++) {
        if (!dirs[i])
            continue;
        char *p = pdi_path_join(dirs[i], DUCK_LIB_NAME);
        if (p)
            g_ok = try_path(p, false, &why);
        free(p);
    }
    if (!g_ok)
        g_ok = try_path(DUCK_LIB_NAME, true, &why);
    free(exe_dir);
    free(lib_dir);
    if (!g_ok) {
        char *w = pdi_buf_detach(&why);
        g_error = pdi_asprintf("DuckDB library not found (searched: PIPEDAG_DUCKDB_LIBRARY unset; "
                               "%s). Install it with scripts/install-deps.sh (npm package "
                               "@duckdb/node-bindings-linux-x64) and set PIPEDAG_DUCKDB_LIBRARY",
                               w ? w : "");
        free(w);
    } else {
        pdi_buf_free(&why);
    }
}

int pdi_duck_api_get(const pdi_duck_api **out)
{
    *out = NULL;
    pthread_once(&g_once, load_once);
    if (!g_ok)
        return pd_set_error(PD_ERR_UNSUPPORTED, "%s",
                            g_error ? g_error : "DuckDB library not found");
    *out = &g_api;
    return PD_OK;
}
