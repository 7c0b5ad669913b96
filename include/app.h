/* app: the server-wide state every handler may reach through r->app.
 * Created by `wardd serve` (main.c), one per process. */
#ifndef WARDD_APP_H
#define WARDD_APP_H

#include "db.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct MHD_Daemon;

struct app {
    db_writer *writer; /* the one writer (group commit) */
    const char *db_path;
    const char *web_dir;    /* static files root, or NULL */
    bool tls;               /* cookies get Secure */
    int64_t session_ttl_ms; /* staff session lifetime */
    atomic_bool shutting_down;
    struct MHD_Daemon *daemon;
    uint64_t started_ms;
    int64_t device_reading_horizon_ms; /* device readings older are too_old (0: none) */
    int64_t dose_backentry_margin_ms;  /* doses timed further back need a physician */
    int64_t session_idle_ms;           /* a session unused this long ends (0: no idle limit) */
    bool behind_proxy;                 /* a TLS proxy fronts wardd: cookies get Secure */
};

#endif
