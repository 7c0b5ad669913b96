/* walbuf: a SQLite VFS over the default one that gathers the writes of a
 * commit to its write-ahead log into one system call.
 *
 * SQLite appends each WAL frame with two writes (a 24-byte header, then
 * the page), so a group commit that dirties 150 pages makes 300 pwrite
 * calls before its fsync; on a paravirtualised guest the calls, not the
 * bytes, were most of the writer thread's time (docs/performance.md,
 * "The WAL's writes"). walbuf keeps contiguous appends to a WAL file in
 * memory (WALBUF_CAP bytes at a time) and writes them with one call before
 * anything that needs them in the file: a sync, a read, a size query, a
 * truncation, a non-contiguous write, a full buffer, or the close.
 *
 * Durability and visibility are SQLite's own: with synchronous=FULL
 * (every writer connection db_open makes) each commit syncs the WAL
 * before it publishes the commit in the wal-index, so the frames are in
 * the file before any other connection can look for them, and fsynced
 * before the commit returns. A crash before the sync loses only frames
 * of a commit that never returned, which WAL recovery ignores anyway.
 * The VFS must not be used by a connection that commits without syncing
 * the WAL (synchronous=NORMAL or OFF): other connections could then read
 * frames still in this buffer. Files other than WALs pass straight
 * through to the default VFS. */
#ifndef WARDD_WALBUF_H
#define WARDD_WALBUF_H

#include <stdint.h>

#define WALBUF_VFS "wardd-walbuf"
/* Bytes gathered before a write is forced: the unix VFS writes at most
 * 128 KiB a call (its seekAndWrite masks the length to 17 bits), and 64 KiB
 * already turns a commit's ~300 calls into ~10. */
#define WALBUF_CAP (64 * 1024)

/* Registers the VFS (once; thread-safe). SQLITE_OK or an SQLite error code. */
int walbuf_register(void);

/* Counters since start: WAL writes SQLite asked for, the write calls
 * walbuf made for them and the time they took, and the WAL syncs (fsync or
 * fdatasync, about one per commit) and the time they took. The times are the
 * part of a commit that is the disk's and the kernel's, not SQLite's
 * (docs/performance.md, "Where the ingest gap is"). */
typedef struct walbuf_stats {
    uint64_t writes;
    uint64_t flushes;
    uint64_t flush_ns;
    uint64_t syncs;
    uint64_t sync_ns;
} walbuf_stats;
void walbuf_get_stats(walbuf_stats *out);

#endif
