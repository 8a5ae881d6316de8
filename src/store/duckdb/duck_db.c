/*
 * store/duckdb/duck_db.c - DuckDB database files: URL to path, one shared
 * instance per file and process, and waiting for a file another process
 * holds.
 *
 * DuckDB takes an exclusive lock on the file when it opens it for writing
 * and refuses a second process at once ("Could not set lock on file ...
 * Conflicting lock is held in <program> (PID n)"). A run opens the file
 * when the store opens and closes it when the store closes; if another
 * process (a SQL UI, another run) holds it, the open is retried every
 * 100 ms up to lock_wait_seconds, after one message naming the holder.
 */
#include "store/duckdb/duck_int.h"
#include "util/util.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

struct pdi_duck_db {
    char *path;
    duck_database db;
    long long wal_at_open; /* bytes of the WAL right after opening */
    int refs;
    struct pdi_duck_db *next;
};

static long long wal_size(const char *path);

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pdi_duck_db *g_open; /* every file this process holds */

int pdi_duck_url_path(const char *url, char **path_out)
{
    *path_out = NULL;
    const char *p;
    if (pdi_str_starts(url, "duckdb:///"))
        p = url + strlen("duckdb:///");
    else
        return pd_set_error(PD_ERR_CONFIG,
                            "not a DuckDB file URL: %s (expected duckdb:////abs/path/file.duckdb "
                            "or duckdb:///relative/path/file.duckdb)",
                            url ? url : "(null)");
    size_t n = strcspn(p, "?");
    if (n == 0 || (n == 8 && strncmp(p, ":memory:", 8) == 0) || p[n - 1] == '/')
        return pd_set_error(PD_ERR_CONFIG,
                            "DuckDB URL %s names no database file (in-memory databases do not "
                            "outlive a run)",
                            url);
    *path_out = pdi_strndup(p, n);
    return *path_out ? PD_OK : PD_ERR_NOMEM;
}

const char *pdi_duck_library_desc(void)
{
    static char desc[512];
    const pdi_duck_api *A;
    if (pdi_duck_api_get(&A) != PD_OK) {
        pd_clear_error();
        return NULL;
    }
    pthread_mutex_lock(&g_mu);
    if (!desc[0])
        snprintf(desc, sizeof desc, "DuckDB %s (%s)", A->version ? A->version : "?", A->path);
    pthread_mutex_unlock(&g_mu);
    return desc;
}

int pdi_duck_library_load(void)
{
    const pdi_duck_api *A;
    return pdi_duck_api_get(&A);
}

const char *pdi_duck_db_path(const pdi_duck_db *db)
{
    return db->path;
}

/* "PID n" -> n, 0 if absent. */
static long pid_in(const char *msg)
{
    const char *p = msg ? strstr(msg, "PID ") : NULL;
    if (!p)
        return 0;
    p += 4;
    long pid = 0;
    while (isdigit((unsigned char)*p))
        pid = pid * 10 + (*p++ - '0');
    return pid;
}

/* The holder's command line from /proc (spaces between arguments), NULL if
 * unreadable. */
static char *proc_cmdline(long pid)
{
    char f[64];
    snprintf(f, sizeof f, "/proc/%ld/cmdline", pid);
    size_t len = 0;
    char *s = pdi_file_read(f, &len);
    if (!s) {
        pd_clear_error();
        return NULL;
    }
    while (len && s[len - 1] == 0)
        len--;
    for (size_t i = 0; i < len; i++)
        if (s[i] == 0)
            s[i] = ' ';
    s[len] = 0;
    if (len > 200)
        strcpy(s + 197, "...");
    return s;
}

/* The PID holding a POSIX lock on `path` according to /proc/locks, 0 if
 * none found. Lines: "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF". */
static long proc_locks_holder(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    FILE *f = fopen("/proc/locks", "r");
    if (!f)
        return 0;
    char line[256];
    long found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        long pid;
        unsigned maj, min;
        unsigned long long ino;
        char kind[16], mode[16], rw[16];
        const char *p = strchr(line, ':');
        if (!p || strstr(line, "->")) /* "->" marks a waiter, not a holder */
            continue;
        if (sscanf(p + 1, "%15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &pid, &maj, &min,
                   &ino) == 7 &&
            ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) &&
            min == minor(st.st_dev) && pid != (long)getpid())
            found = pid;
    }
    fclose(f);
    return found;
}

char *pdi_duck_holder(const char *path, const char *msg)
{
    long pid = pid_in(msg);
    if (!pid)
        pid = proc_locks_holder(path);
    if (!pid)
        return NULL;
    char *cmd = proc_cmdline(pid);
    char *r = cmd ? pdi_asprintf("PID %ld (%s)", pid, cmd) : pdi_asprintf("PID %ld", pid);
    free(cmd);
    return r;
}

static bool is_lock_conflict(const char *msg)
{
    return msg && (strstr(msg, "Could not set lock") || strstr(msg, "Conflicting lock"));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One duckdb_open_ext with our settings. *err gets DuckDB's message. */
static int open_once(const pdi_duck_api *A, const char *path, duck_database *db, char **err)
{
    *err = NULL;
    duck_config cfg = NULL;
    if (A->create_config(&cfg) != 0)
        return pd_set_error(PD_ERR_NOMEM, "DuckDB: cannot create a configuration");
    static const char *const settings[][2] = {
        {"autoload_known_extensions", "false"},
        {"autoinstall_known_extensions", "false"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (A->set_config(cfg, settings[i][0], settings[i][1]) != 0) {
            A->destroy_config(&cfg);
            return pd_set_error(PD_ERR_UNSUPPORTED, "DuckDB %s rejects the setting %s=%s",
                                A->version, settings[i][0], settings[i][1]);
        }
    }
    char *e = NULL;
    int rc = A->open_ext(path, db, cfg, &e);
    A->destroy_config(&cfg);
    if (rc != 0) {
        *err = pdi_strdup(e ? e : "duckdb_open_ext failed");
        if (e)
            A->free(e);
        *db = NULL;
        return PD_ERR_IO;
    }
    return PD_OK;
}

/* open_once under an exclusive flock of the file's directory: DuckDB
 * creates a new file before it locks and initialises it, so a second
 * process opening at that moment would find "not a valid DuckDB database
 * file". Serialised, it finds either no file or one whose opener holds
 * DuckDB's lock (a conflict we wait on). */
static int open_in_dir(const pdi_duck_api *A, const char *path, duck_database *db, char **err)
{
    char *dir = pdi_path_dirname(path);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    if (fd >= 0)
        while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
            ;
    int rc = open_once(A, path, db, err);
    if (fd >= 0)
        close(fd); /* releases the flock */
    return rc;
}

int pdi_duck_db_open(const char *path, const pdi_duck_open_opts *o, pdi_duck_db **out)
{
    *out = NULL;
    const pdi_duck_api *A;
    int rc = pdi_duck_api_get(&A);
    if (rc)
        return rc;
    char *abs = NULL;
    if (path[0] == '/') {
        abs = pdi_strdup(path);
    } else {
        char cwd[4096];
        abs = getcwd(cwd, sizeof cwd) ? pdi_path_join(cwd, path) : pdi_strdup(path);
    }
    if (!abs)
        return PD_ERR_NOMEM;
    pthread_mutex_lock(&g_mu);
    for (pdi_duck_db *d = g_open; d; d = d->next) {
        if (strcmp(d->path, abs) == 0) {
            d->refs++;
            pthread_mutex_unlock(&g_mu);
            free(abs);
            *out = d;
            return PD_OK;
        }
    }
    char *dir = pdi_path_dirname(abs);
    if (!dir) {
        rc = PD_ERR_NOMEM;
    } else if (!pdi_is_dir(dir)) {
        if (o->create_dirs)
            rc = pdi_mkdir_p(dir);
        else
            rc = pd_set_error(PD_ERR_NOT_FOUND,
                              "the directory %s of DuckDB file %s does not exist (set "
                              "create_database_if_not_exists: true to create it)",
                              dir, abs);
    }
    free(dir);
    duck_database db = NULL;
    char *err = NULL;
    if (rc == PD_OK) {
        double t0 = pdi_now_seconds();
        bool told = false;
        for (;;) {
            free(err);
            rc = open_in_dir(A, abs, &db, &err);
            if (rc != PD_ERR_IO || !is_lock_conflict(err))
                break;
            double waited = pdi_now_seconds() - t0;
            char *who = pdi_duck_holder(abs, err);
            if (waited >= o->lock_wait_seconds) {
                rc = pd_set_error(PD_ERR_LOCK,
                                  "DuckDB file %s is held by another process (%s) and was not "
                                  "released within %g s (store arg lock_wait_seconds); close "
                                  "the program holding it and retry",
                                  abs, who ? who : "holder unknown", o->lock_wait_seconds);
                free(who);
                break;
            }
            if (!told) {
                pdi_log(PD_LOG_WARN,
                        "DuckDB file %s is held by another process (%s); waiting up to %g s for "
                        "it to be released",
                        abs, who ? who : "holder unknown", o->lock_wait_seconds);
                told = true;
            }
            free(who);
            sleep_ms(100);
        }
        if (rc != PD_OK && rc != PD_ERR_LOCK && err)
            rc = pd_set_error(PD_ERR_IO, "DuckDB cannot open %s: %s", abs, err);
    }
    free(err);
    if (rc) {
        pthread_mutex_unlock(&g_mu);
        free(abs);
        return rc;
    }
    pdi_duck_db *d = pdi_calloc(1, sizeof *d);
    if (!d) {
        A->close(&db);
        pthread_mutex_unlock(&g_mu);
        free(abs);
        return PD_ERR_NOMEM;
    }
    d->path = abs;
    d->db = db;
    d->wal_at_open = wal_size(abs);
    d->refs = 1;
    d->next = g_open;
    g_open = d;
    pthread_mutex_unlock(&g_mu);
    *out = d;
    return PD_OK;
}

/* Sessions disable DuckDB's checkpoint at close (the dialect's session
 * setup): a cached re-run then ends without rewriting the catalog. So that
 * the next open does not replay a long WAL, the file is still checkpointed
 * at close when its WAL has grown past a threshold, or by more than
 * PDI_DUCK_WAL_GROWN while this process held it. A failed checkpoint is
 * harmless (the WAL stays and is replayed).
 * Measured with callgrind (DuckDB 1.5): every open replays the WAL at
 * ~2,400 instructions per byte (84 KB: 200 M, more than the whole rest of
 * a one-task run on a Parquet store catalog; a WAL of 2,000 CREATE VIEW ...
 * read_parquet() statements, 0.6 MB, took ~0.7 s at every open), while a
 * checkpoint of a small catalog (1.3 MB file) costs ~80 M, so past a few
 * tens of KB the replay at every later open costs more than one
 * checkpoint. A checkpoint rewrites the catalog, so it costs more in a
 * bigger file (0.3-1 s with ~3,000 objects): the size threshold is 1/32 of
 * the database file, at least 32 KB and at most 1 MB. A run that changed
 * tables pays the checkpoint once and the cached re-runs after it open
 * fast; a cached re-run writes a few KB (its run record) and does not
 * checkpoint. */
#define PDI_DUCK_WAL_CHECKPOINT_MIN (32 << 10)
#define PDI_DUCK_WAL_CHECKPOINT_MAX (1 << 20)
#define PDI_DUCK_WAL_GROWN          (128 << 10)

static long long wal_size(const char *path)
{
    char *wal = pdi_asprintf("%s.wal", path);
    struct stat sb;
    long long n = wal && stat(wal, &sb) == 0 ? (long long)sb.st_size : 0;
    free(wal);
    return n;
}

static void checkpoint_if_large(const pdi_duck_api *A, pdi_duck_db *db)
{
    struct stat sd;
    long long limit = PDI_DUCK_WAL_CHECKPOINT_MIN;
    if (stat(db->path, &sd) == 0 && sd.st_size / 32 > limit)
        limit = sd.st_size / 32 < PDI_DUCK_WAL_CHECKPOINT_MAX ? (long long)sd.st_size / 32
                                                              : PDI_DUCK_WAL_CHECKPOINT_MAX;
    long long n = wal_size(db->path);
    bool large = n > limit || n - db->wal_at_open > PDI_DUCK_WAL_GROWN;
    duck_connection c = NULL;
    if (!large || A->connect(db->db, &c) != 0)
        return;
    duck_result r;
    memset(&r, 0, sizeof r);
    A->query(c, "CHECKPOINT", &r);
    A->destroy_result(&r);
    A->disconnect(&c);
}

void pdi_duck_db_release(pdi_duck_db *db)
{
    if (!db)
        return;
    const pdi_duck_api *A;
    if (pdi_duck_api_get(&A) != PD_OK)
        return; /* cannot happen: db was opened through it */
    pthread_mutex_lock(&g_mu);
    if (--db->refs > 0) {
        pthread_mutex_unlock(&g_mu);
        return;
    }
    for (pdi_duck_db **pp = &g_open; *pp; pp = &(*pp)->next) {
        if (*pp == db) {
            *pp = db->next;
            break;
        }
    }
    checkpoint_if_large(A, db);
    A->close(&db->db);
    pthread_mutex_unlock(&g_mu);
    free(db->path);
    free(db);
}

duck_database pdi_duck_db_handle(pdi_duck_db *db)
{
    return db->db;
}

void pdi_duck_db_retain(pdi_duck_db *db)
{
    pthread_mutex_lock(&g_mu);
    db->refs++;
    pthread_mutex_unlock(&g_mu);
}
