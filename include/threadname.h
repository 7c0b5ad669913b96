/* threadname: names wardd's own threads.
 *
 * The name shows in /proc/PID/task/TID/comm, `top -H`, `ps -L` and gdb,
 * so an operator sees which thread burns CPU, and the benchmark splits
 * wardd's CPU per request by thread (docs/performance.md, "Where the
 * ingest gap is"). libmicrohttpd names its own threads ("MHD-worker"). */
#ifndef WARDD_THREADNAME_H
#define WARDD_THREADNAME_H

/* Names the calling thread: at most 15 characters (Linux's limit; longer
 * names are cut). A failure is harmless and ignored. */
void thread_name(const char *name);

#endif
