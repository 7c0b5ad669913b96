/* walbuf: see walbuf.h. The shim follows SQLite's VFS documentation
 * (https://sqlite.org/c3ref/vfs.html, https://sqlite.org/c3ref/io_methods.html):
 * the WAL's sqlite3_file is ours, with the default VFS's file right after
 * it; every other file is opened by the default VFS straight into the
 * space SQLite gives us, so it never passes through this code. */
#include "walbuf.h"

#include "clock.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct wal_file {
    sqlite3_file base;  /* pMethods = &wal_methods */
    sqlite3_file *real; /* the default VFS's file, in the same allocation */
    unsigned char *buf; /* WALBUF_CAP bytes, allocated at the first write */
    sqlite3_int64 off;  /* the file offset of buf[0] */
    size_t len;         /* bytes held */
} wal_file;

/* The default VFS's file follows ours, aligned as SQLite aligns its own. */
#define WAL_FILE_SIZE ((sizeof(wal_file) + 7) & ~(size_t)7)

static _Atomic uint64_t stat_writes, stat_flushes, stat_flush_ns, stat_syncs, stat_sync_ns;

static wal_file *wal_of(sqlite3_file *f)
{
    return (wal_file *)f;
}

/* Writes what the buffer holds; the buffer is empty afterwards, also on
 * failure (SQLite treats a failed write as fatal to the transaction). */
static int flush(wal_file *w)
{
    int rc;

    if (w->len == 0)
        return SQLITE_OK;
    uint64_t t0 = clock_mono_ns();
    rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
    atomic_fetch_add_explicit(&stat_flush_ns, clock_mono_ns() - t0, memory_order_relaxed);
    atomic_fetch_add_explicit(&stat_flushes, 1, memory_order_relaxed);
    w->len = 0;
    return rc;
}

static int wal_close(sqlite3_file *f)
{
    wal_file *w = wal_of(f);
    int rc = flush(w), rc2 = w->real->pMethods->xClose(w->real);

    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    wal_file *w = wal_of(f);
    int rc = flush(w);

    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, amt, off);
}

static int wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    wal_file *w = wal_of(f);
    size_t n = (size_t)amt;
    int rc;

    atomic_fetch_add_explicit(&stat_writes, 1, memory_order_relaxed);
    if (w->len && off == w->off + (sqlite3_int64)w->len && w->len + n <= WALBUF_CAP) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        return SQLITE_OK;
    }
    rc = flush(w);
    if (rc != SQLITE_OK)
        return rc;
    if (!w->buf && n <= WALBUF_CAP)
        w->buf = malloc(WALBUF_CAP);
    if (!w->buf || n > WALBUF_CAP) /* out of memory or too big: unbuffered */
        return w->real->pMethods->xWrite(w->real, p, amt, off);
    memcpy(w->buf, p, n);
    w->off = off;
    w->len = n;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    wal_file *w = wal_of(f);
    int rc = flush(w);

    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    wal_file *w = wal_of(f);
    int rc = flush(w);
    uint64_t t0;

    if (rc != SQLITE_OK)
        return rc;
    t0 = clock_mono_ns();
    rc = w->real->pMethods->xSync(w->real, flags);
    atomic_fetch_add_explicit(&stat_sync_ns, clock_mono_ns() - t0, memory_order_relaxed);
    atomic_fetch_add_explicit(&stat_syncs, 1, memory_order_relaxed);
    return rc;
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    wal_file *w = wal_of(f);
    int rc = flush(w);

    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
    return wal_of(f)->real->pMethods->xLock(wal_of(f)->real, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
    return wal_of(f)->real->pMethods->xUnlock(wal_of(f)->real, level);
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
    return wal_of(f)->real->pMethods->xCheckReservedLock(wal_of(f)->real, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
    wal_file *w = wal_of(f);
    int rc = flush(w);

    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
    return wal_of(f)->real->pMethods->xSectorSize(wal_of(f)->real);
}

static int wal_device_characteristics(sqlite3_file *f)
{
    return wal_of(f)->real->pMethods->xDeviceCharacteristics(wal_of(f)->real);
}

/* Shared memory and memory mapping belong to the database file, never to
 * the WAL; these pass through for completeness. */
static int wal_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return wal_of(f)->real->pMethods->xShmMap(wal_of(f)->real, pg, pgsz, extend, pp);
}

static int wal_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return wal_of(f)->real->pMethods->xShmLock(wal_of(f)->real, offset, n, flags);
}

static void wal_shm_barrier(sqlite3_file *f)
{
    wal_of(f)->real->pMethods->xShmBarrier(wal_of(f)->real);
}

static int wal_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return wal_of(f)->real->pMethods->xShmUnmap(wal_of(f)->real, delete_flag);
}

static int wal_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    wal_file *w = wal_of(f);
    int rc = flush(w);

    return rc != SQLITE_OK ? rc : w->real->pMethods->xFetch(w->real, off, amt, pp);
}

static int wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return wal_of(f)->real->pMethods->xUnfetch(wal_of(f)->real, off, p);
}

static const sqlite3_io_methods wal_methods = {
    .iVersion = 3,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device_characteristics,
    .xShmMap = wal_shm_map,
    .xShmLock = wal_shm_lock,
    .xShmBarrier = wal_shm_barrier,
    .xShmUnmap = wal_shm_unmap,
    .xFetch = wal_fetch,
    .xUnfetch = wal_unfetch,
};

/* --- the VFS: xOpen is ours, the rest is the default VFS's ----------------- */

static sqlite3_vfs *real_vfs(sqlite3_vfs *v)
{
    return v->pAppData;
}

static int vfs_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    sqlite3_vfs *real = real_vfs(v);
    wal_file *w = wal_of(f);
    int rc;

    if (!(flags & SQLITE_OPEN_WAL))
        return real->xOpen(real, name, f, flags, out_flags);
    memset(w, 0, WAL_FILE_SIZE);
    w->real = (sqlite3_file *)((unsigned char *)f + WAL_FILE_SIZE);
    rc = real->xOpen(real, name, w->real, flags, out_flags);
    /* SQLite calls xClose only when pMethods is set; close the real file
     * through ours when its open left methods behind. */
    w->base.pMethods = w->real->pMethods ? &wal_methods : NULL;
    return rc;
}

static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    return real_vfs(v)->xDelete(real_vfs(v), name, sync_dir);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return real_vfs(v)->xAccess(real_vfs(v), name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return real_vfs(v)->xFullPathname(real_vfs(v), name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *v, const char *name)
{
    return real_vfs(v)->xDlOpen(real_vfs(v), name);
}

static void vfs_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    real_vfs(v)->xDlError(real_vfs(v), n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    return real_vfs(v)->xDlSym(real_vfs(v), h, sym);
}

static void vfs_dl_close(sqlite3_vfs *v, void *h)
{
    real_vfs(v)->xDlClose(real_vfs(v), h);
}

static int vfs_randomness(sqlite3_vfs *v, int n, char *out)
{
    return real_vfs(v)->xRandomness(real_vfs(v), n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
    return real_vfs(v)->xSleep(real_vfs(v), us);
}

static int vfs_current_time(sqlite3_vfs *v, double *out)
{
    return real_vfs(v)->xCurrentTime(real_vfs(v), out);
}

static int vfs_last_error(sqlite3_vfs *v, int n, char *out)
{
    return real_vfs(v)->xGetLastError(real_vfs(v), n, out);
}

static int vfs_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    return real_vfs(v)->xCurrentTimeInt64(real_vfs(v), out);
}

static sqlite3_vfs walbuf_vfs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

static void register_once(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);

    if (!real || real->iVersion < 2) {
        register_rc = SQLITE_ERROR;
        return;
    }
    walbuf_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)WAL_FILE_SIZE + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = WALBUF_VFS,
        .pAppData = real,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dl_open,
        .xDlError = vfs_dl_error,
        .xDlSym = vfs_dl_sym,
        .xDlClose = vfs_dl_close,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time64,
    };
    register_rc = sqlite3_vfs_register(&walbuf_vfs, 0);
}

int walbuf_register(void)
{
    pthread_once(&once, register_once);
    return register_rc;
}

void walbuf_get_stats(walbuf_stats *out)
{
    out->writes = atomic_load_explicit(&stat_writes, memory_order_relaxed);
    out->flushes = atomic_load_explicit(&stat_flushes, memory_order_relaxed);
    out->flush_ns = atomic_load_explicit(&stat_flush_ns, memory_order_relaxed);
    out->syncs = atomic_load_explicit(&stat_syncs, memory_order_relaxed);
    out->sync_ns = atomic_load_explicit(&stat_sync_ns, memory_order_relaxed);
}
