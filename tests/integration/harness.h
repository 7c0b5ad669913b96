/* harness: the integration tests' side of the wire: tests drive the real
 * daemon over HTTP.
 *
 * Every it_<area>.c drives the real daemon: wd_start() runs
 * `$WARDD_BIN serve --listen 127.0.0.1:0 --port-file ... --db ... --web
 * $WARDD_WEB` in a fresh temporary directory, waits (bounded) until the
 * port file appears and /healthz answers, and wd_stop() sends SIGTERM and
 * asserts exit status 0 (clean shutdown is part of the contract). The
 * server's stderr goes to a file in that directory; it is printed whenever
 * the harness sees a failure.
 *
 * HTTP goes through one libcurl handle per server (keep-alive). Every
 * response is checked against docs/api.md before the test sees it, so each test
 * gets these for free:
 *   - every 4xx/5xx carries Content-Type application/json and the body
 *     {"error": {"code": "snake_case", "message": "...", "details"?: [...]}};
 *   - every /api response with a body is application/json and parses;
 *   - 405 carries Allow, 429 and 503 carry Retry-After.
 *
 * Memory: responses, tokens and the JSON the helpers build live in the
 * server's arena and are freed by wd_gc() or wd_stop(); tests never free
 * them. The functions that can fail are macros that pass the caller's
 * file and line, so a failure points at the test, not at the harness.
 * Nothing here is thread-safe except wd_client_* (one per thread) and
 * wd_race(), which never assert (cmocka's failures must stay on the main
 * thread). */
#ifndef WARDD_IT_HARNESS_H
#define WARDD_IT_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>

/* The fixture's users (docs/api.md roles) and their password (>= 10 characters). */
#define WD_ADMIN     "ada.admin"
#define WD_PHYSICIAN "phil.physician"
#define WD_NURSE     "nina.nurse"
#define WD_VIEWER    "vic.viewer"
#define WD_PASSWORD  "correct-horse-battery"

typedef struct wd_server wd_server;

/* One HTTP response. Owned by the server's arena. */
typedef struct wd_resp {
    long status;  /* HTTP status; 0 when no response arrived */
    json_t *json; /* the body parsed as JSON, or NULL when it is not JSON */
    char *body;   /* the raw body, NUL-terminated ("" when empty) */
    size_t body_len;
    char content_type[128]; /* selected headers, "" when absent */
    char allow[128];
    char retry_after[64];
    char set_cookie[512];
    char location[512]; /* Location (FHIR creates) */
    char method[16];    /* the request, for messages */
    char path[256];
    wd_server *server; /* whose log to print on a failure */
} wd_resp;

/* --- the daemon ------------------------------------------------------------ */

/* Starts a server on a fresh temporary directory, with `dbpath` (NULL: a
 * new database in that directory) and --web $WARDD_WEB (when set). */
#define wd_start(dbpath) wd_start_at(__FILE__, __LINE__, (dbpath), NULL)
/* The same with another --web directory (NULL: $WARDD_WEB). */
#define wd_start_web(dbpath, webdir) wd_start_at(__FILE__, __LINE__, (dbpath), (webdir))
/* SIGTERM; asserts exit status 0 within the bound; frees everything and
 * removes the temporary directory. NULL is ignored. */
#define wd_stop(s) wd_stop_at(__FILE__, __LINE__, (s))
/* SIGKILL and reap; the directory and database stay for wd_restart(). */
#define wd_kill9(s) wd_kill9_at(__FILE__, __LINE__, (s))
/* Stops the server cleanly if it runs (asserting exit 0), then starts it
 * again on the same database. The port changes. */
#define wd_restart(s) wd_restart_at(__FILE__, __LINE__, (s))

/* The same over TLS (--tls-cert/--tls-key with a fresh self-signed
 * certificate made by openssl); every request then goes over https. */
#define wd_start_tls(dbpath) wd_start_tls_at(__FILE__, __LINE__, (dbpath))
/* More `serve` flags ("--name", "value", ..., NULL-terminated; copied) for
 * every server started after this call, also by wd_fixture_new(); NULL
 * clears them. */
#define WD_SERVE_ARGS_MAX 16
void wd_serve_args(const char *const *args);
wd_server *wd_start_at(const char *file, int line, const char *dbpath, const char *webdir);
wd_server *wd_start_tls_at(const char *file, int line, const char *dbpath);
void wd_stop_at(const char *file, int line, wd_server *s);
void wd_kill9_at(const char *file, int line, wd_server *s);
void wd_restart_at(const char *file, int line, wd_server *s);
/* A server with --mllp (wd_serve_args) writes its MLLP port to
 * "<wd_dir>/port.mllp". */

/* Sends a signal to the running server. */
void wd_signal(wd_server *s, int sig);
/* Waits up to timeout_ms for the server to exit. Returns its exit status,
 * 128 + signal when killed by one, or -1 on timeout (it keeps running). */
int wd_wait_exit(wd_server *s, int timeout_ms);

/* The temporary directory, the database path, the port, the process id
 * (0 when not running). */
const char *wd_dir(const wd_server *s);
const char *wd_db(const wd_server *s);
unsigned wd_port(const wd_server *s);
long wd_pid(const wd_server *s);
/* CPU time (clock ticks, user + system) of the server's threads named
 * `name` (thread names: include/threadname.h), from /proc; -1 when it has
 * no such thread. */
long wd_thread_ticks(const wd_server *s, const char *name);
/* Prints the tail of the server's stderr (and of its CLI runs). */
void wd_dump_log(const wd_server *s);
/* Frees the responses and strings made so far. */
void wd_gc(wd_server *s);

/* --- HTTP -------------------------------------------------------------------- */

/* One request: body is sent as application/json when not NULL; token as
 * `Authorization: Bearer`. */
#define wd_req(s, method, path, token, body)                                                       \
    wd_req_at(__FILE__, __LINE__, (s), (method), (path), (token), (body))
/* The same with a JSON body, which the call steals (NULL: no body). */
#define wd_reqj(s, method, path, token, json)                                                      \
    wd_reqj_at(__FILE__, __LINE__, (s), (method), (path), (token), (json))

wd_resp *wd_req_at(const char *file, int line, wd_server *s, const char *method, const char *path,
                   const char *token, const char *body);
wd_resp *wd_reqj_at(const char *file, int line, wd_server *s, const char *method, const char *path,
                    const char *token, json_t *json);

/* A request with full control over what is sent. */
typedef struct wd_raw_req {
    const char *method;
    const char *path;
    const char *token;        /* Authorization: Bearer, or NULL */
    const char *content_type; /* NULL: no Content-Type header at all */
    const char *body;         /* NULL: no body */
    size_t body_len;
    const char *const *headers; /* more "Name: value" lines, NULL-terminated; may be NULL */
    bool chunked;               /* send the body with Transfer-Encoding: chunked */
    long max_ms;                /* > 0: give up after this long; a timeout after the
                                   status line arrived is not an error. (An event
                                   stream, text/event-stream, is always cut off
                                   once its headers arrived.) */
} wd_raw_req;
#define wd_raw(s, q) wd_raw_at(__FILE__, __LINE__, (s), (q))
wd_resp *wd_raw_at(const char *file, int line, wd_server *s, const wd_raw_req *q);

/* Sends `len` bytes as they are on a new TCP connection (no normalisation
 * of the path, no added headers) and reads the response until the server
 * closes or `timeout_ms` passes. Include "Connection: close". */
#define wd_sock(s, request, len, timeout_ms)                                                       \
    wd_sock_at(__FILE__, __LINE__, (s), (request), (len), (timeout_ms))
wd_resp *wd_sock_at(const char *file, int line, wd_server *s, const char *request, size_t len,
                    int timeout_ms);

/* A TCP connection to s that has sent `head` as it is, for a test that
 * keeps the connection open (an event stream, a body sent slowly); the
 * caller closes it. Fails the test when it cannot connect or send. */
int wd_raw_open(const wd_server *s, const char *head);
/* Reads what fd receives for up to ms, appending to out (size bytes, kept
 * NUL-terminated; what does not fit is dropped); true once the server has
 * closed the connection (then at once). */
bool wd_raw_read(int fd, long ms, char *out, size_t size);

/* on = false: the calling thread's responses are not appended to
 * $WARDD_RESPONSE_LOG (make api-contract checks that log) until it is
 * turned on again; for a test that reads the same large list hundreds of
 * times and would otherwise add megabytes of identical shapes. Default on. */
void wd_response_log(bool on);

/* A path built with printf; lives in the arena. */
const char *wd_path(wd_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A string, percent-encoded for a query; lives in the arena. */
const char *wd_escape(wd_server *s, const char *text);

/* Status checks that print the request, the body and the server log. */
#define WD_EXPECT(r, st) wd_expect_at(__FILE__, __LINE__, (r), (st), NULL)
/* The status and error.code. */
#define WD_EXPECT_ERR(r, st, code) wd_expect_at(__FILE__, __LINE__, (r), (st), (code))
/* One of two statuses (where a test accepts either). */
#define WD_EXPECT_ONE_OF(r, a, b) wd_expect_one_of_at(__FILE__, __LINE__, (r), (a), (b))
void wd_expect_at(const char *file, int line, const wd_resp *r, long status, const char *code);
void wd_expect_one_of_at(const char *file, int line, const wd_resp *r, long a, long b);

/* --- JSON ------------------------------------------------------------------------ */

/* The value at a dotted path ("user.role", "rejected.0.code"), or NULL. */
json_t *wd_get(const json_t *j, const char *path);
/* The same, failing the test unless it has the type. */
#define WD_STR(j, path) wd_str_at(__FILE__, __LINE__, (j), (path))
#define WD_INT(j, path) wd_int_at(__FILE__, __LINE__, (j), (path))
#define WD_NUM(j, path) wd_num_at(__FILE__, __LINE__, (j), (path))
#define WD_ARR(j, path) wd_arr_at(__FILE__, __LINE__, (j), (path))
#define WD_OBJ(j, path) wd_obj_at(__FILE__, __LINE__, (j), (path))
const char *wd_str_at(const char *file, int line, const json_t *j, const char *path);
long long wd_int_at(const char *file, int line, const json_t *j, const char *path);
double wd_num_at(const char *file, int line, const json_t *j, const char *path);
json_t *wd_arr_at(const char *file, int line, const json_t *j, const char *path);
json_t *wd_obj_at(const char *file, int line, const json_t *j, const char *path);
/* A list response: the body itself when it is an array, else body[key]. */
#define WD_LIST(r, key) wd_list_at(__FILE__, __LINE__, (r), (key))
json_t *wd_list_at(const char *file, int line, const wd_resp *r, const char *key);
/* The element of array `a` whose `key` equals the string or integer, or NULL. */
json_t *wd_find(const json_t *a, const char *key, const char *str);
json_t *wd_find_int(const json_t *a, const char *key, long long value);
/* Hands a JSON value to the arena (decref'd at wd_gc/wd_stop); returns it. */
json_t *wd_keep(wd_server *s, json_t *j);
/* Doubles equal within eps. */
#define WD_NEAR(a, b, eps) wd_near_at(__FILE__, __LINE__, (a), (b), (eps))
void wd_near_at(const char *file, int line, double a, double b, double eps);

/* --- time ------------------------------------------------------------------------ */

int64_t wd_now_ms(void);
/* The monotonic clock, for durations. */
int64_t wd_mono_ms(void);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms; from a small rotating set of
 * thread-local buffers (valid for the next 15 calls). */
const char *wd_iso(int64_t ms);
/* Parses exactly docs/api.md's output form "YYYY-MM-DDTHH:MM:SS.mmmZ"; -1
 * when the text has any other form. */
int64_t wd_parse_time(const char *s);
/* The time at a dotted path, failing unless it is in the output form. */
#define WD_TIME(j, path) wd_time_at(__FILE__, __LINE__, (j), (path))
int64_t wd_time_at(const char *file, int line, const json_t *j, const char *path);
void wd_sleep_ms(long ms);

/* --- the command line ------------------------------------------------------------ */

/* Runs `$WARDD_BIN args...` (NULL-terminated) against nothing in particular:
 * `input` goes to stdin (NULL: empty), stdout is returned in *out (arena;
 * out may be NULL), stderr is appended to the server's log. Returns the
 * exit status (128 + signal when killed). */
int wd_cli(wd_server *s, const char *input, char **out, ...) __attribute__((sentinel));
/* Runs `'$WARDD_BIN' ARGS 2>&1` through the shell (ARGS printf-style,
 * quoted by the caller), without a server: the exit status (128 when
 * killed), and stdout and stderr together in *out (malloc'd; the caller
 * frees), for the command line's refusals, which go to stderr. */
int wd_wardd_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `wardd user add` on the server's database; asserts success. */
#define wd_user_add(s, name, role, pw) wd_user_add_at(__FILE__, __LINE__, (s), (name), (role), (pw))
void wd_user_add_at(const char *file, int line, wd_server *s, const char *name, const char *role,
                    const char *password);
/* `wardd bed add`; label may be NULL. */
#define wd_bed_add(s, id, label) wd_bed_add_at(__FILE__, __LINE__, (s), (id), (label))
void wd_bed_add_at(const char *file, int line, wd_server *s, const char *id, const char *label);
/* `wardd device add`; bed may be NULL. Returns the token; *id gets the id. */
#define wd_device_add(s, serial, bed, id)                                                          \
    wd_device_add_at(__FILE__, __LINE__, (s), (serial), (bed), (id))
const char *wd_device_add_at(const char *file, int line, wd_server *s, const char *serial,
                             const char *bed, long long *id);

/* POST /api/v1/session; asserts 200 and returns the token. */
#define wd_login(s, user, pw) wd_login_at(__FILE__, __LINE__, (s), (user), (pw))
const char *wd_login_at(const char *file, int line, wd_server *s, const char *user,
                        const char *password);

/* A name unique within this test binary: prefix followed by a number. */
const char *wd_uniq(wd_server *s, const char *prefix);

/* --- the standard fixture ---------------------------------------------------------- */

/* A server with users of each role (WD_ADMIN .. WD_VIEWER, WD_PASSWORD),
 * beds B1..B3 ("Bed 1".."Bed 3"), device "MON-B1" on B1, all staff logged
 * in. Everything is created with the command line, so the fixture does not
 * depend on the endpoints under test. */
typedef struct wd_fixture {
    wd_server *s;
    const char *admin, *physician, *nurse, *viewer; /* session tokens */
    const char *device;                             /* MON-B1's token */
    long long device_id;
} wd_fixture;

#define wd_fixture_new() wd_fixture_new_at(__FILE__, __LINE__, NULL)
/* The same with another --web directory. */
#define wd_fixture_new_web(webdir) wd_fixture_new_at(__FILE__, __LINE__, (webdir))
wd_fixture *wd_fixture_new_at(const char *file, int line, const char *webdir);
/* Logs every fixture user in again (after a restart). */
#define wd_fixture_login(f) wd_fixture_login_at(__FILE__, __LINE__, (f))
void wd_fixture_login_at(const char *file, int line, wd_fixture *f);
/* wd_stop and free. NULL is ignored. */
#define wd_fixture_free(f) wd_fixture_free_at(__FILE__, __LINE__, (f))
void wd_fixture_free_at(const char *file, int line, wd_fixture *f);
/* cmocka setup/teardown that put a fresh fixture in *state. */
int wd_fixture_setup(void **state);
int wd_fixture_teardown(void **state);

/* --- domain helpers ------------------------------------------------------------------ */

/* A new bed with a unique id (POST /api/v1/beds as the admin: faster than
 * the command line); returns the id. */
#define wd_new_bed(f) wd_new_bed_at(__FILE__, __LINE__, (f))
const char *wd_new_bed_at(const char *file, int line, wd_fixture *f);
/* A new device with a unique serial on `bed` (NULL: none) through
 * POST /api/v1/devices; returns its token, *id (may be NULL) its id. */
#define wd_new_device(f, bed, id) wd_new_device_at(__FILE__, __LINE__, (f), (bed), (id))
const char *wd_new_device_at(const char *file, int line, wd_fixture *f, const char *bed,
                             long long *id);
/* POST /api/v1/patients as the nurse: name and mrn made up, `bed`,
 * admitted_at when > 0, plus the members of `extra` (stolen; may be NULL).
 * Asserts 201; returns the id. */
#define wd_admit(f, bed, admitted_at, extra)                                                       \
    wd_admit_at(__FILE__, __LINE__, (f), (bed), (admitted_at), (extra))
long long wd_admit_at(const char *file, int line, wd_fixture *f, const char *bed,
                      int64_t admitted_at, json_t *extra);
/* One reading item {"id", "code", "value", "unit", "time"}; id and unit
 * may be NULL (omitted); value is stolen. */
json_t *wd_item(const char *id, const char *code, json_t *value, const char *unit, int64_t t);
/* POST /api/v1/readings with {"readings": items} (items stolen). */
#define wd_post_readings(s, token, items)                                                          \
    wd_reqj_at(__FILE__, __LINE__, (s), "POST", "/api/v1/readings", (token),                       \
               json_pack("{s:o}", "readings", (items)))
/* Every reading of a patient (all pages of GET .../readings, limit 100,
 * from/to wide enough for any test), optionally of one code. Asserts each
 * page is 200. A new array in the arena. */
#define wd_all_readings(s, token, pid, code)                                                       \
    wd_all_readings_at(__FILE__, __LINE__, (s), (token), (pid), (code))
json_t *wd_all_readings_at(const char *file, int line, wd_server *s, const char *token,
                           long long pid, const char *code);

/* --- threads ----------------------------------------------------------------------------- */

/* A client with its own CURL handle, for one thread. Never asserts. */
typedef struct wd_client wd_client;
wd_client *wd_client_new(const wd_server *s);
/* Sends one request; returns the status (0: no response). *json_out, when
 * not NULL, gets the parsed body (caller decrefs; NULL when not JSON). */
long wd_client_req(wd_client *c, const char *method, const char *path, const char *token,
                   const char *body, json_t **json_out);
/* fresh: every request of this client on a new TCP connection (default:
 * one keep-alive connection). */
void wd_client_fresh(wd_client *c, bool fresh);
void wd_client_free(wd_client *c);

/* Sends the same request from n threads at once (a barrier releases them
 * together), each with its own connection. statuses[i] gets thread i's
 * status (0: no response); bodies, when not NULL, the parsed bodies (in the
 * arena; NULL when not JSON). n is at most 64. */
void wd_race(wd_server *s, int n, const char *method, const char *path, const char *token,
             const char *body, long *statuses, json_t **bodies);

#endif
