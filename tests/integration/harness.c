/* harness: see harness.h. */
#include "harness.h"

#include <curl/curl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Bounds. Generous: under AddressSanitizer the daemon starts and answers
 * several times slower, and a 2-core machine runs the suites in turn. */
#define START_MS      60000 /* port file + /healthz */
#define STOP_MS       60000 /* SIGTERM to exit */
#define REQUEST_MS    60000 /* one HTTP request */
#define CLI_MAX_ARGS  32
#define LOG_TAIL_MAX  8000 /* bytes of server log printed on a failure */
#define BODY_SHOW_MAX 1500 /* bytes of a body printed on a failure */

/* --- the arena ------------------------------------------------------------------ */

typedef enum node_kind { NODE_FREE, NODE_JSON, NODE_RESP } node_kind;

typedef struct node {
    struct node *next;
    node_kind kind;
    void *p;
} node;

struct wd_server {
    pid_t pid; /* 0 when not running */
    char dir[1024];
    char db[PATH_MAX];
    char port_file[PATH_MAX];
    char log[PATH_MAX];
    char web[PATH_MAX];  /* "" for none */
    char cert[PATH_MAX]; /* TLS: certificate and key, "" without TLS */
    char key[PATH_MAX];
    unsigned port;
    CURL *curl;
    pthread_mutex_t mu;
    node *arena; /* freed by wd_gc */
    node *keep;  /* freed by wd_stop */
    struct wd_server *next_live;
    char extra[WD_SERVE_ARGS_MAX][256]; /* more serve flags (wd_serve_args) */
    int nextra;
};

/* wd_serve_args(): copied into each server started afterwards. */
static char serve_args[WD_SERVE_ARGS_MAX][256];
static int nserve_args;

void wd_serve_args(const char *const *args)
{
    nserve_args = 0;
    for (int i = 0; args && args[i] && i < WD_SERVE_ARGS_MAX; i++)
        snprintf(serve_args[nserve_args++], sizeof serve_args[0], "%s", args[i]);
}

struct wd_client {
    CURL *curl;
    unsigned port;
    bool tls;
    bool fresh; /* a new connection for every request (wd_client_fresh) */
};

static void node_free(node *n)
{
    while (n) {
        node *next = n->next;
        if (n->kind == NODE_JSON) {
            json_decref(n->p);
        } else if (n->kind == NODE_RESP) {
            wd_resp *r = n->p;
            json_decref(r->json);
            free(r->body);
            free(r);
        } else {
            free(n->p);
        }
        free(n);
        n = next;
    }
}

static void *remember(wd_server *s, bool keep, node_kind kind, void *p)
{
    node *n;

    if (!p)
        return NULL;
    n = calloc(1, sizeof *n);
    if (!n) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    n->kind = kind;
    n->p = p;
    pthread_mutex_lock(&s->mu);
    if (keep) {
        n->next = s->keep;
        s->keep = n;
    } else {
        n->next = s->arena;
        s->arena = n;
    }
    pthread_mutex_unlock(&s->mu);
    return p;
}

static char *keep_str(wd_server *s, bool keep, const char *text)
{
    char *copy = strdup(text);

    if (!copy) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return remember(s, keep, NODE_FREE, copy);
}

void wd_gc(wd_server *s)
{
    node *n;

    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    n = s->arena;
    s->arena = NULL;
    pthread_mutex_unlock(&s->mu);
    node_free(n);
}

json_t *wd_keep(wd_server *s, json_t *j)
{
    return remember(s, false, NODE_JSON, j);
}

/* --- live servers: killed at exit whatever happened ----------------------------- */

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static wd_server *live;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *dir)
{
    if (dir[0] && !getenv("WD_KEEP"))
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void kill_live_at_exit(void)
{
    pthread_mutex_lock(&live_mu);
    for (wd_server *s = live; s; s = s->next_live) {
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
        rm_rf(s->dir);
    }
    pthread_mutex_unlock(&live_mu);
}

static void harness_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    atexit(kill_live_at_exit);
}

static void live_add(wd_server *s)
{
    pthread_mutex_lock(&live_mu);
    s->next_live = live;
    live = s;
    pthread_mutex_unlock(&live_mu);
}

static void live_remove(wd_server *s)
{
    pthread_mutex_lock(&live_mu);
    for (wd_server **p = &live; *p; p = &(*p)->next_live) {
        if (*p == s) {
            *p = s->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live_mu);
}

/* --- time ------------------------------------------------------------------------ */

int64_t wd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wd_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wd_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

const char *wd_iso(int64_t ms)
{
    static _Thread_local char bufs[16][96];
    static _Thread_local unsigned next;
    char *buf = bufs[next++ % 16];
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, sizeof bufs[0], "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

int64_t wd_parse_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, ms;
    time_t secs;

    if (!s || strlen(s) != sizeof shape - 1)
        return -1;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -1;
    }
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &y, &mo, &d, &h, &mi, &sec, &ms) != 7)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    secs = timegm(&tm);
    if (tm.tm_mday != d) /* 31 February */
        return -1;
    return (int64_t)secs * 1000 + ms;
}

/* --- failure reports ------------------------------------------------------------ */

void wd_dump_log(const wd_server *s)
{
    FILE *f;
    long size;
    char *buf;
    size_t n;

    if (!s || !s->log[0] || !(f = fopen(s->log, "rb")))
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > LOG_TAIL_MAX)
        fseek(f, size - LOG_TAIL_MAX, SEEK_SET);
    else
        fseek(f, 0, SEEK_SET);
    buf = calloc(1, LOG_TAIL_MAX + 1);
    if (buf) {
        n = fread(buf, 1, LOG_TAIL_MAX, f);
        buf[n] = '\0';
        print_error("---- server log %s(%s) ----\n%s---- end of server log ----\n",
                    size > LOG_TAIL_MAX ? "tail " : "", s->log, buf);
        free(buf);
    }
    fclose(f);
}

static void show_resp(const wd_resp *r)
{
    int n;

    if (!r)
        return;
    n = (int)(r->body_len > BODY_SHOW_MAX ? BODY_SHOW_MAX : r->body_len);
    print_error("  request:  %s %s\n  response: %ld, Content-Type \"%s\"\n  body:     %.*s%s\n",
                r->method, r->path, r->status, r->content_type, n, r->body ? r->body : "",
                (size_t)n < r->body_len ? "..." : "");
}

/* Prints the message, the response and the server log, then fails the
 * test at file:line. */
__attribute__((format(printf, 5, 6), noreturn)) static void
report(const char *file, int line, const wd_server *s, const wd_resp *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s\n", file, line, msg);
    show_resp(r);
    wd_dump_log(s);
    _fail(file, line);
    abort(); /* _fail does not return inside a test */
}

/* --- the daemon ------------------------------------------------------------------ */

static const char *wardd_bin(void)
{
    const char *bin = getenv("WARDD_BIN");

    return bin && *bin ? bin : "build/wardd";
}

static int open_log(const wd_server *s)
{
    return open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* In the child: dies with the test binary, never outlives it. */
static void child_common(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_DFL);
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int wd_wait_exit(wd_server *s, int timeout_ms)
{
    int64_t deadline = wd_mono_ms() + timeout_ms;
    int status = 0;

    if (s->pid <= 0)
        return -1;
    for (;;) {
        pid_t p = waitpid(s->pid, &status, WNOHANG);
        if (p == s->pid) {
            s->pid = 0;
            return exit_code(status);
        }
        if (p < 0 && errno != EINTR) {
            s->pid = 0;
            return -1;
        }
        if (wd_mono_ms() > deadline)
            return -1;
        wd_sleep_ms(10);
    }
}

void wd_signal(wd_server *s, int sig)
{
    if (s && s->pid > 0)
        kill(s->pid, sig);
}

static size_t sink(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static bool healthz_ok(wd_server *s)
{
    char url[128];
    long status = 0;

    snprintf(url, sizeof url, "%s://127.0.0.1:%u/healthz", s->cert[0] ? "https" : "http", s->port);
    curl_easy_reset(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(s->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, sink);
    if (curl_easy_perform(s->curl) != CURLE_OK)
        return false;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    return status == 200;
}

/* Starts the process and waits for it to answer. NULL on success, else
 * why not (the process is gone then). */
static const char *launch(wd_server *s)
{
    const char *argv[20 + WD_SERVE_ARGS_MAX];
    int argc = 0;
    int64_t deadline;
    pid_t pid;
    int status;

    unlink(s->port_file);
    s->port = 0;
    argv[argc++] = wardd_bin();
    argv[argc++] = "serve";
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "--db";
    argv[argc++] = s->db;
    argv[argc++] = "--port-file";
    argv[argc++] = s->port_file;
    if (s->web[0]) {
        argv[argc++] = "--web";
        argv[argc++] = s->web;
    }
    if (s->cert[0]) {
        argv[argc++] = "--tls-cert";
        argv[argc++] = s->cert;
        argv[argc++] = "--tls-key";
        argv[argc++] = s->key;
    }
    if (getenv("WD_TIME_ZONE")) { /* the ward's default zone (it_wardtime) */
        argv[argc++] = "--time-zone";
        argv[argc++] = getenv("WD_TIME_ZONE");
    }
    for (int i = 0; i < s->nextra; i++)
        argv[argc++] = s->extra[i];
    argv[argc] = NULL;
    pid = fork();
    if (pid < 0)
        return "fork failed";
    if (pid == 0) {
        int logfd = open_log(s);
        int nullfd = open("/dev/null", O_RDONLY);
        child_common();
        if (logfd < 0 || nullfd < 0)
            _exit(126);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    deadline = wd_mono_ms() + START_MS;
    while (s->port == 0) {
        FILE *f;
        unsigned port = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            return "wardd serve exited before writing its port file";
        }
        f = fopen(s->port_file, "r");
        if (f) {
            if (fscanf(f, "%u", &port) == 1 && port > 0 && port < 65536)
                s->port = port;
            fclose(f);
        }
        if (s->port)
            break;
        if (wd_mono_ms() > deadline)
            goto timeout;
        wd_sleep_ms(20);
    }
    while (!healthz_ok(s)) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            return "wardd serve exited before /healthz answered";
        }
        if (wd_mono_ms() > deadline)
            goto timeout;
        wd_sleep_ms(20);
    }
    return NULL;
timeout:
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s->pid = 0;
    return "wardd serve did not answer /healthz in time";
}

static void server_free(wd_server *s)
{
    live_remove(s);
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->curl)
        curl_easy_cleanup(s->curl);
    node_free(s->arena);
    node_free(s->keep);
    rm_rf(s->dir);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static wd_server *start(const char *file, int line, const char *dbpath, const char *webdir,
                        bool tls)
{
    const char *tmp = getenv("TMPDIR");
    const char *web = webdir ? webdir : getenv("WARDD_WEB");
    const char *why;
    wd_server *s;

    pthread_once(&init_once, harness_init);
    s = calloc(1, sizeof *s);
    if (!s)
        report(file, line, NULL, NULL, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->dir, sizeof s->dir, "%s/wardd-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        server_free(s);
        report(file, line, NULL, NULL, "mkdtemp failed: %s", strerror(errno));
    }
    live_add(s);
    if (dbpath)
        snprintf(s->db, sizeof s->db, "%s", dbpath);
    else
        snprintf(s->db, sizeof s->db, "%s/ward.db", s->dir);
    snprintf(s->port_file, sizeof s->port_file, "%s/port", s->dir);
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    if (web && *web)
        snprintf(s->web, sizeof s->web, "%s", web);
    memcpy(s->extra, serve_args, sizeof s->extra);
    s->nextra = nserve_args;
    if (tls) {
        char cmd[4 * PATH_MAX];
        snprintf(s->cert, sizeof s->cert, "%s/cert.pem", s->dir);
        snprintf(s->key, sizeof s->key, "%s/key.pem", s->dir);
        snprintf(cmd, sizeof cmd,
                 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                 "-keyout '%s' -out '%s' >>'%s' 2>&1",
                 s->key, s->cert, s->log);
        if (system(cmd) != 0) {
            wd_dump_log(s);
            server_free(s);
            report(file, line, NULL, NULL, "cannot make a certificate with openssl");
        }
    }
    s->curl = curl_easy_init();
    if (!s->curl) {
        server_free(s);
        report(file, line, NULL, NULL, "curl_easy_init failed");
    }
    why = launch(s);
    if (why) {
        print_error("%s:%d: %s (binary %s)\n", file, line, why, wardd_bin());
        wd_dump_log(s);
        server_free(s);
        _fail(file, line);
        return NULL;
    }
    return s;
}

/* SIGTERM and wait; NULL when it exited 0, else why not. */
static const char *terminate(wd_server *s, int *code)
{
    *code = 0;
    if (s->pid <= 0)
        return NULL;
    kill(s->pid, SIGTERM);
    *code = wd_wait_exit(s, STOP_MS);
    if (*code == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        return "wardd did not exit within the bound after SIGTERM";
    }
    return *code == 0 ? NULL : "wardd did not exit with status 0 after SIGTERM";
}

void wd_stop_at(const char *file, int line, wd_server *s)
{
    const char *why;
    int code;

    if (!s)
        return;
    why = terminate(s, &code);
    if (why) {
        print_error("%s:%d: %s (exit status %d)\n", file, line, why, code);
        wd_dump_log(s);
        server_free(s);
        _fail(file, line);
        return;
    }
    server_free(s);
}

void wd_kill9_at(const char *file, int line, wd_server *s)
{
    (void)file;
    (void)line;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

void wd_restart_at(const char *file, int line, wd_server *s)
{
    const char *why;
    int code;

    why = terminate(s, &code);
    if (why)
        report(file, line, s, NULL, "%s (exit status %d)", why, code);
    why = launch(s);
    if (why)
        report(file, line, s, NULL, "restart: %s", why);
}

wd_server *wd_start_at(const char *file, int line, const char *dbpath, const char *webdir)
{
    return start(file, line, dbpath, webdir, false);
}

wd_server *wd_start_tls_at(const char *file, int line, const char *dbpath)
{
    return start(file, line, dbpath, NULL, true);
}

const char *wd_dir(const wd_server *s)
{
    return s->dir;
}

const char *wd_db(const wd_server *s)
{
    return s->db;
}

unsigned wd_port(const wd_server *s)
{
    return s->port;
}

long wd_pid(const wd_server *s)
{
    return (long)s->pid;
}

long wd_thread_ticks(const wd_server *s, const char *name)
{
    char path[64];
    long ticks = -1;
    glob_t g;

    snprintf(path, sizeof path, "/proc/%ld/task/*/stat", wd_pid(s));
    assert_int_equal(glob(path, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char line[1024] = "", comm[32] = "";
        const char *open, *close;
        long utime = 0, stime = 0;
        FILE *f = fopen(g.gl_pathv[i], "r");
        if (!f)
            continue; /* a thread that ended meanwhile */
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        /* "tid (name) state ...": utime and stime are fields 14 and 15,
         * counted after the name's closing parenthesis */
        open = strchr(line, '(');
        close = strrchr(line, ')');
        if (!open || !close || close <= open || (size_t)(close - open - 1) >= sizeof comm)
            continue;
        memcpy(comm, open + 1, (size_t)(close - open - 1));
        if (strcmp(comm, name) == 0 &&
            sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                   &stime) == 2)
            ticks = (ticks < 0 ? 0 : ticks) + utime + stime;
    }
    globfree(&g);
    return ticks;
}

/* --- HTTP ------------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *grown;
        while (cap < b->len + n + 1)
            cap *= 2;
        grown = realloc(b->p, cap);
        if (!grown)
            return -1;
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    return buf_add(arg, data, size * n) == 0 ? size * n : 0;
}

/* Copies the value of header line `line` into out when its name is `name`. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    size_t vlen;

    if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
        return;
    line += nlen + 1;
    len -= nlen + 1;
    while (len && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
        len--;
    if (out[0]) /* keep the first occurrence */
        return;
    vlen = len < outlen - 1 ? len : outlen - 1;
    memcpy(out, line, vlen);
    out[vlen] = '\0';
}

static void parse_header_line(wd_resp *r, const char *line, size_t len)
{
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after 100 Continue): forget earlier headers. */
        r->content_type[0] = r->allow[0] = r->retry_after[0] = r->set_cookie[0] = '\0';
        r->location[0] = '\0';
        return;
    }
    header_value(line, len, "Content-Type", r->content_type, sizeof r->content_type);
    header_value(line, len, "Location", r->location, sizeof r->location);
    header_value(line, len, "Allow", r->allow, sizeof r->allow);
    header_value(line, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    header_value(line, len, "Set-Cookie", r->set_cookie, sizeof r->set_cookie);
}

typedef struct header_ctx {
    wd_resp *r;
    bool cut; /* an event stream, abandoned after its headers */
} header_ctx;

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    header_ctx *h = arg;
    size_t len = size * n;

    parse_header_line(h->r, data, len);
    /* The blank line after the headers of an event stream: the stream
     * never ends, so stop here with the status and headers. */
    if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
        if (strncasecmp(h->r->content_type, "text/event-stream", 17) == 0) {
            h->cut = true;
            return 0;
        }
    }
    return len;
}

typedef struct upload {
    const char *p;
    size_t left;
} upload;

static size_t on_read(char *out, size_t size, size_t n, void *arg)
{
    upload *u = arg;
    size_t want = size * n;
    /* Small pieces, so a chunked body really arrives in many chunks. */
    size_t give = u->left < want ? u->left : want;

    if (give > 65536)
        give = 65536;
    memcpy(out, u->p, give);
    u->p += give;
    u->left -= give;
    return give;
}

static bool is_json_type(const char *ct)
{
    size_t n = strncasecmp(ct, "application/json", 16) == 0        ? 16
               : strncasecmp(ct, "application/fhir+json", 21) == 0 ? 21
                                                                   : 0;

    return n && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void finish_body(wd_resp *r, buf *b)
{
    r->body = b->p ? b->p : strdup("");
    r->body_len = b->len;
    b->p = NULL;
    if (r->body_len && is_json_type(r->content_type))
        r->json = json_loadb(r->body, r->body_len, 0, NULL);
}

/* Whether `headers` (NULL-terminated, may be NULL) has a line starting
 * with `name` (case-insensitive, e.g. "Expect:"). */
static bool has_header(const char *const *headers, const char *name)
{
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, strlen(name)) == 0)
            return true;
    return false;
}

/* --- the response log ---------------------------------------------------------------- */

/* When $WARDD_RESPONSE_LOG names a file, every response to an /api/ path
 * (and /healthz, /readyz, /metrics) is appended to it as one JSON line
 * {"method", "path", "status", "content_type", "body"}, for
 * tests/api/validate-responses.mjs to check against docs/openapi.json
 * (make api-contract). One write(2) per line on an O_APPEND descriptor,
 * under a lock: the wd_client_* threads log too. */
static pthread_mutex_t response_log_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local bool response_log_off; /* wd_response_log(false) */

void wd_response_log(bool on)
{
    response_log_off = !on;
}

static bool logged_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0 || strncmp(path, "/healthz", 8) == 0 ||
           strncmp(path, "/readyz", 7) == 0 || strncmp(path, "/metrics", 8) == 0;
}

static void log_response(const wd_resp *r)
{
    const char *file = getenv("WARDD_RESPONSE_LOG");
    json_t *line, *body;
    char *text;
    int fd;

    if (!file || !*file || r->status == 0 || !logged_path(r->path) || response_log_off)
        return;
    /* A body that is not UTF-8 (never expected from /api) is logged as null. */
    body = r->body ? json_stringn(r->body, r->body_len) : NULL;
    line = json_pack("{s:s, s:s, s:i, s:s, s:o}", "method", r->method, "path", r->path, "status",
                     (int)r->status, "content_type", r->content_type, "body",
                     body ? body : json_null());
    text = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&response_log_mu);
    fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        size_t n = strlen(text);
        text[n] = '\n'; /* json_dumps' NUL becomes the line end */
        if (write(fd, text, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "harness: cannot append to %s\n", file);
        close(fd);
    }
    pthread_mutex_unlock(&response_log_mu);
    free(text);
}

/* Runs one request on handle h; fills r. Returns NULL, or a transport
 * error (into err). */
static const char *perform(CURL *h, unsigned port, bool tls, const wd_raw_req *q, wd_resp *r,
                           char *err, size_t errlen)
{
    struct curl_slist *hdrs = NULL;
    char line[2048], url[1024];
    char cerr[CURL_ERROR_SIZE] = "";
    upload up = {q->body, q->body_len};
    header_ctx hc = {r, false};
    buf b = {0};
    CURLcode rc;

    snprintf(r->method, sizeof r->method, "%s", q->method);
    snprintf(r->path, sizeof r->path, "%s", q->path);
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", tls ? "https" : "http", port, q->path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* The test's own self-signed certificate. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->max_ms > 0 ? q->max_ms : (long)REQUEST_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hc);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    if (strcmp(q->method, "GET") == 0 && !q->body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        if (q->chunked) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &up);
            hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        } else if (q->body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        } else if (strcmp(q->method, "POST") == 0 || strcmp(q->method, "PUT") == 0 ||
                   strcmp(q->method, "PATCH") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
    }
    /* Only what the test asked for: no default Content-Type, no Expect. */
    if (q->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", q->content_type);
        hdrs = curl_slist_append(hdrs, line);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:");
    }
    if (!has_header(q->headers, "Expect:"))
        hdrs = curl_slist_append(hdrs, "Expect:");
    if (q->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", q->token);
        hdrs = curl_slist_append(hdrs, line);
    }
    for (size_t i = 0; q->headers && q->headers[i]; i++)
        hdrs = curl_slist_append(hdrs, q->headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    finish_body(r, &b);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && hc.cut) ||
        (rc == CURLE_OPERATION_TIMEDOUT && q->max_ms > 0 && r->status > 0)) {
        log_response(r);
        return NULL;
    }
    snprintf(err, errlen, "transport error: %s (%s)", curl_easy_strerror(rc), cerr);
    r->status = 0;
    return err;
}

static bool snake_case(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* What docs/api.md's conventions say about any response; NULL when it is fine. */
static const char *contract_problem(const wd_resp *r)
{
    bool api = strncmp(r->path, "/api/", 5) == 0;
    bool fhir = strncmp(r->path, "/fhir", 5) == 0;
    bool stream = strncasecmp(r->content_type, "text/event-stream", 17) == 0;
    const json_t *e;

    if (r->body_len && is_json_type(r->content_type) && !r->json)
        return "the body is labelled application/json but does not parse";
    if (fhir && r->status >= 400 && strcmp(r->method, "HEAD") != 0) {
        /* docs/fhir.md: errors under /fhir are OperationOutcomes */
        if (strncasecmp(r->content_type, "application/fhir+json", 21) != 0)
            return "a /fhir error without Content-Type application/fhir+json";
        if (!json_is_string(json_object_get(r->json, "resourceType")) ||
            strcmp(json_string_value(json_object_get(r->json, "resourceType")),
                   "OperationOutcome") != 0 ||
            json_array_size(json_object_get(r->json, "issue")) == 0)
            return "a /fhir error that is not an OperationOutcome with an issue";
    } else if (r->status >= 400 && strcmp(r->method, "HEAD") != 0) {
        if (!is_json_type(r->content_type))
            return "an error response without Content-Type application/json";
        e = json_object_get(r->json, "error");
        if (!json_is_object(e))
            return "an error response without the {\"error\": {...}} object";
        if (!snake_case(json_string_value(json_object_get(e, "code"))))
            return "error.code is missing or not a snake_case string";
        if (!json_is_string(json_object_get(e, "message")) ||
            json_string_length(json_object_get(e, "message")) == 0)
            return "error.message is missing or empty";
        if (json_object_get(e, "details") && !json_is_array(json_object_get(e, "details")))
            return "error.details is present but not an array";
    }
    if (r->status == 405 && !r->allow[0])
        return "405 without an Allow header";
    if ((r->status == 429 || r->status == 503) && !r->retry_after[0])
        return "429/503 without a Retry-After header";
    if (api && r->status < 400 && r->body_len && !stream && !is_json_type(r->content_type))
        return "an /api response whose Content-Type is not application/json";
    return NULL;
}

static wd_resp *resp_new(wd_server *s)
{
    wd_resp *r = calloc(1, sizeof *r);

    if (!r) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    r->server = s;
    return r;
}

wd_resp *wd_raw_at(const char *file, int line, wd_server *s, const wd_raw_req *q)
{
    wd_resp *r = resp_new(s);
    char err[512];
    const char *why;

    why = perform(s->curl, s->port, s->cert[0] != '\0', q, r, err, sizeof err);
    remember(s, false, NODE_RESP, r);
    if (why)
        report(file, line, s, r, "%s %s: %s", q->method, q->path, why);
    why = contract_problem(r);
    if (why)
        report(file, line, s, r, "%s %s: %s (docs/api.md Conventions)", q->method, q->path, why);
    return r;
}

wd_resp *wd_req_at(const char *file, int line, wd_server *s, const char *method, const char *path,
                   const char *token, const char *body)
{
    wd_raw_req q = {.method = method,
                    .path = path,
                    .token = token,
                    .content_type = body ? "application/json" : NULL,
                    .body = body,
                    .body_len = body ? strlen(body) : 0};

    return wd_raw_at(file, line, s, &q);
}

wd_resp *wd_reqj_at(const char *file, int line, wd_server *s, const char *method, const char *path,
                    const char *token, json_t *json)
{
    char *text = NULL;
    wd_resp *r;

    if (json) {
        text = json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(17));
        json_decref(json);
        if (!text)
            report(file, line, s, NULL, "cannot serialise the request body");
    }
    r = wd_req_at(file, line, s, method, path, token, text);
    free(text);
    return r;
}

/* Parses a raw HTTP/1.1 response into r. */
static void parse_raw_response(wd_resp *r, char *data, size_t len)
{
    char *hdr_end = NULL;
    char *p, *body;
    size_t body_len;
    long clen = -1;
    bool chunked = false;
    buf b = {0};

    for (size_t i = 0; i + 3 < len; i++) {
        if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
            hdr_end = data + i;
            break;
        }
    }
    if (!hdr_end || len < 12 || strncmp(data, "HTTP/1.", 7) != 0) {
        finish_body(r, &b);
        return;
    }
    r->status = strtol(data + 9, NULL, 10);
    for (p = strstr(data, "\r\n") + 2; p < hdr_end;) {
        char *eol = strstr(p, "\r\n");
        char tmp[32] = "";
        parse_header_line(r, p, (size_t)(eol - p));
        header_value(p, (size_t)(eol - p), "Content-Length", tmp, sizeof tmp);
        if (tmp[0])
            clen = strtol(tmp, NULL, 10);
        tmp[0] = '\0';
        header_value(p, (size_t)(eol - p), "Transfer-Encoding", tmp, sizeof tmp);
        if (strcasecmp(tmp, "chunked") == 0)
            chunked = true;
        p = eol + 2;
    }
    body = hdr_end + 4;
    body_len = len - (size_t)(body - data);
    if (chunked) {
        size_t at = 0;
        while (at < body_len) {
            char *end = NULL;
            unsigned long n = strtoul(body + at, &end, 16);
            char *crlf = strstr(body + at, "\r\n");
            if (!crlf || n == 0)
                break;
            at = (size_t)(crlf - body) + 2;
            if (at + n > body_len)
                n = body_len - at;
            buf_add(&b, body + at, n);
            at += n + 2;
        }
    } else {
        if (clen >= 0 && (size_t)clen < body_len)
            body_len = (size_t)clen;
        buf_add(&b, body, body_len);
    }
    finish_body(r, &b);
}

/* A socket connected to 127.0.0.1:port, or -1 (errno set). */
static int loopback_connect(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        fd = -1;
    }
    return fd;
}

int wd_raw_open(const wd_server *s, const char *head)
{
    size_t n = strlen(head);
    int fd = loopback_connect(s->port);

    if (fd < 0)
        fail_msg("connect to 127.0.0.1:%u: %s", s->port, strerror(errno));
    if (send(fd, head, n, MSG_NOSIGNAL) != (ssize_t)n)
        fail_msg("send to 127.0.0.1:%u: %s", s->port, strerror(errno));
    return fd;
}

bool wd_raw_read(int fd, long ms, char *out, size_t size)
{
    int64_t until = wd_mono_ms() + ms;
    size_t len = strlen(out);

    for (;;) {
        int64_t left = until - wd_mono_ms();
        struct pollfd p = {fd, POLLIN, 0};
        char chunk[4096];
        ssize_t n;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            return true;
        if (len + (size_t)n < size) {
            memcpy(out + len, chunk, (size_t)n);
            len += (size_t)n;
            out[len] = '\0';
        }
    }
}

wd_resp *wd_sock_at(const char *file, int line, wd_server *s, const char *request, size_t len,
                    int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    wd_resp *r = resp_new(s);
    int64_t deadline = wd_mono_ms() + timeout_ms;
    buf in = {0};
    size_t sent = 0;
    int fd;
    const char *sp1, *sp2;

    remember(s, false, NODE_RESP, r);
    /* The request line, for messages. */
    sp1 = memchr(request, ' ', len);
    sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - request)) : NULL;
    if (sp1 && sp2) {
        snprintf(r->method, sizeof r->method, "%.*s", (int)(sp1 - request), request);
        snprintf(r->path, sizeof r->path, "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
    }
    fd = loopback_connect(s->port);
    if (fd < 0)
        report(file, line, s, r, "connect: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (sent < len) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer early and close */
        sent += (size_t)n;
    }
    while (wd_mono_ms() < deadline) {
        char chunk[16384];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            break;
        buf_add(&in, chunk, (size_t)n);
    }
    close(fd);
    if (in.p)
        parse_raw_response(r, in.p, in.len);
    else
        finish_body(r, &in);
    free(in.p);
    if (r->status == 0)
        report(file, line, s, r, "no HTTP response within %d ms", timeout_ms);
    if (r->status != 414 && r->status != 431)
        log_response(r);
    /* 414 and 431 are answered by libmicrohttpd itself, before wardd sees
     * the request, with its fixed HTML body (docs/api.md, limitations). */
    if (r->status != 414 && r->status != 431 && contract_problem(r))
        report(file, line, s, r, "%s (docs/api.md Conventions)", contract_problem(r));
    return r;
}

const char *wd_path(wd_server *s, const char *fmt, ...)
{
    char text[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return keep_str(s, false, text);
}

const char *wd_escape(wd_server *s, const char *text)
{
    char *e = curl_easy_escape(s->curl, text, 0);
    const char *out;

    if (!e) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    out = keep_str(s, false, e);
    curl_free(e);
    return out;
}

static const char *error_code(const wd_resp *r)
{
    return json_string_value(wd_get(r->json, "error.code"));
}

void wd_expect_at(const char *file, int line, const wd_resp *r, long status, const char *code)
{
    if (r->status != status)
        report(file, line, r->server, r, "expected HTTP %ld, got %ld", status, r->status);
    if (code && (!error_code(r) || strcmp(error_code(r), code) != 0))
        report(file, line, r->server, r, "expected error.code \"%s\", got \"%s\"", code,
               error_code(r) ? error_code(r) : "(none)");
}

void wd_expect_one_of_at(const char *file, int line, const wd_resp *r, long a, long b)
{
    if (r->status != a && r->status != b)
        report(file, line, r->server, r, "expected HTTP %ld or %ld, got %ld", a, b, r->status);
}

/* --- JSON ------------------------------------------------------------------------------ */

json_t *wd_get(const json_t *j, const char *path)
{
    char key[256];
    const char *p = path;

    while (j && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        p += n;
        if (*p == '.')
            p++;
        if (json_is_array(j)) {
            char *end = NULL;
            unsigned long i = strtoul(key, &end, 10);
            if (!key[0] || *end)
                return NULL;
            j = json_array_get(j, i);
        } else if (json_is_object(j)) {
            j = json_object_get(j, key);
        } else {
            return NULL;
        }
    }
    return (json_t *)j;
}

static __attribute__((noreturn)) void json_fail(const char *file, int line, const json_t *j,
                                                const char *path, const char *want)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    print_error("%s:%d: expected %s at \"%s\" in %.*s\n", file, line, want, path, BODY_SHOW_MAX,
                text ? text : "(null)");
    free(text);
    _fail(file, line);
    abort();
}

const char *wd_str_at(const char *file, int line, const json_t *j, const char *path)
{
    json_t *v = wd_get(j, path);

    if (!json_is_string(v))
        json_fail(file, line, j, path, "a string");
    return json_string_value(v);
}

long long wd_int_at(const char *file, int line, const json_t *j, const char *path)
{
    json_t *v = wd_get(j, path);

    if (!json_is_integer(v))
        json_fail(file, line, j, path, "an integer");
    return json_integer_value(v);
}

double wd_num_at(const char *file, int line, const json_t *j, const char *path)
{
    json_t *v = wd_get(j, path);

    if (!json_is_number(v))
        json_fail(file, line, j, path, "a number");
    return json_number_value(v);
}

json_t *wd_arr_at(const char *file, int line, const json_t *j, const char *path)
{
    json_t *v = wd_get(j, path);

    if (!json_is_array(v))
        json_fail(file, line, j, path, "an array");
    return v;
}

json_t *wd_obj_at(const char *file, int line, const json_t *j, const char *path)
{
    json_t *v = wd_get(j, path);

    if (!json_is_object(v))
        json_fail(file, line, j, path, "an object");
    return v;
}

int64_t wd_time_at(const char *file, int line, const json_t *j, const char *path)
{
    json_t *v = wd_get(j, path);
    int64_t t = json_is_string(v) ? wd_parse_time(json_string_value(v)) : -1;

    if (t < 0)
        json_fail(file, line, j, path, "a UTC time \"YYYY-MM-DDTHH:MM:SS.mmmZ\" (docs/api.md)");
    return t;
}

json_t *wd_list_at(const char *file, int line, const wd_resp *r, const char *key)
{
    json_t *v = json_is_array(r->json) ? r->json : json_object_get(r->json, key);

    if (!json_is_array(v))
        report(file, line, r->server, r, "expected a list: an array or {\"%s\": [...]}", key);
    return v;
}

json_t *wd_find(const json_t *a, const char *key, const char *str)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(json_object_get(v, key));
        if (s && strcmp(s, str) == 0)
            return v;
    }
    return NULL;
}

json_t *wd_find_int(const json_t *a, const char *key, long long value)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        json_t *k = json_object_get(v, key);
        if (json_is_integer(k) && json_integer_value(k) == value)
            return v;
    }
    return NULL;
}

void wd_near_at(const char *file, int line, double a, double b, double eps)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s:%d: expected %.17g to be within %g of %.17g\n", file, line, a, eps, b);
        _fail(file, line);
    }
}

/* --- the command line ------------------------------------------------------------------ */

static int run_cli(wd_server *s, const char *input, char **out, const char *const *args)
{
    const char *argv[CLI_MAX_ARGS + 2];
    int in[2], outp[2];
    int argc = 0, status = 0;
    buf b = {0};
    pid_t pid;

    argv[argc++] = wardd_bin();
    for (size_t i = 0; args[i] && argc < CLI_MAX_ARGS; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(outp, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        int logfd = open_log(s);
        child_common();
        dup2(in[0], 0);
        dup2(outp[1], 1);
        if (logfd >= 0)
            dup2(logfd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    if (pid < 0) {
        close(in[1]);
        close(outp[0]);
        return -1;
    }
    if (input) {
        size_t len = strlen(input), done = 0;
        while (done < len) {
            ssize_t n = write(in[1], input + done, len - done);
            if (n <= 0)
                break;
            done += (size_t)n;
        }
    }
    close(in[1]);
    for (;;) {
        char chunk[4096];
        ssize_t n = read(outp[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf_add(&b, chunk, (size_t)n);
    }
    close(outp[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!b.p)
        buf_add(&b, "", 0);
    if (out)
        *out = remember(s, false, NODE_FREE, b.p);
    else
        free(b.p);
    return exit_code(status);
}

int wd_wardd_run(char **out, const char *fmt, ...)
{
    char args[1800], cmd[2048], line[4096];
    size_t len = 0;
    FILE *p;
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("WARDD_BIN"), args);
    p = popen(cmd, "r");
    assert_non_null(p);
    *out = calloc(1, 1);
    assert_non_null(*out);
    while (fgets(line, sizeof line, p)) {
        char *np = realloc(*out, len + strlen(line) + 1);
        assert_non_null(np);
        *out = np;
        memcpy(*out + len, line, strlen(line) + 1);
        len += strlen(line);
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int wd_cli(wd_server *s, const char *input, char **out, ...)
{
    const char *args[CLI_MAX_ARGS + 1];
    size_t n = 0;
    const char *a;
    va_list ap;

    va_start(ap, out);
    while ((a = va_arg(ap, const char *)) != NULL && n < CLI_MAX_ARGS)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return run_cli(s, input, out, args);
}

void wd_user_add_at(const char *file, int line, wd_server *s, const char *name, const char *role,
                    const char *password)
{
    char input[1200];
    int rc;

    snprintf(input, sizeof input, "%s\n", password);
    rc = wd_cli(s, input, NULL, "user", "add", "--db", s->db, "--username", name, "--role", role,
                (char *)NULL);
    if (rc != 0)
        report(file, line, s, NULL, "wardd user add %s (%s) exited %d", name, role, rc);
}

void wd_bed_add_at(const char *file, int line, wd_server *s, const char *id, const char *label)
{
    int rc;

    if (label)
        rc = wd_cli(s, NULL, NULL, "bed", "add", "--db", s->db, "--id", id, "--label", label,
                    (char *)NULL);
    else
        rc = wd_cli(s, NULL, NULL, "bed", "add", "--db", s->db, "--id", id, (char *)NULL);
    if (rc != 0)
        report(file, line, s, NULL, "wardd bed add %s exited %d", id, rc);
}

const char *wd_device_add_at(const char *file, int line, wd_server *s, const char *serial,
                             const char *bed, long long *id)
{
    char *out = NULL;
    json_t *j;
    const char *token;
    int rc;

    if (bed)
        rc = wd_cli(s, NULL, &out, "device", "add", "--db", s->db, "--serial", serial, "--bed", bed,
                    (char *)NULL);
    else
        rc =
            wd_cli(s, NULL, &out, "device", "add", "--db", s->db, "--serial", serial, (char *)NULL);
    if (rc != 0)
        report(file, line, s, NULL, "wardd device add %s exited %d", serial, rc);
    j = wd_keep(s, json_loads(out, 0, NULL));
    if (!json_is_string(json_object_get(j, "token")) ||
        !json_is_integer(json_object_get(j, "id")) || !json_is_string(json_object_get(j, "serial")))
        report(file, line, s, NULL,
               "wardd device add printed %s; docs/api.md: one JSON object "
               "{\"id\",\"serial\",\"token\"}",
               out);
    token = keep_str(s, true, json_string_value(json_object_get(j, "token")));
    if (id)
        *id = json_integer_value(json_object_get(j, "id"));
    return token;
}

const char *wd_login_at(const char *file, int line, wd_server *s, const char *user,
                        const char *password)
{
    wd_resp *r = wd_reqj_at(file, line, s, "POST", "/api/v1/session", NULL,
                            json_pack("{s:s, s:s}", "username", user, "password", password));

    wd_expect_at(file, line, r, 200, NULL);
    return keep_str(s, true, wd_str_at(file, line, r->json, "token"));
}

const char *wd_uniq(wd_server *s, const char *prefix)
{
    static atomic_uint counter;
    char text[128];

    snprintf(text, sizeof text, "%s%u", prefix, atomic_fetch_add(&counter, 1) + 1);
    return keep_str(s, true, text);
}

/* --- the fixture ------------------------------------------------------------------------ */

wd_fixture *wd_fixture_new_at(const char *file, int line, const char *webdir)
{
    static const char *const users[][2] = {
        {WD_ADMIN, "admin"},
        {WD_PHYSICIAN, "physician"},
        {WD_NURSE, "nurse"},
        {WD_VIEWER, "viewer"},
    };
    wd_fixture *f = calloc(1, sizeof *f);

    if (!f)
        report(file, line, NULL, NULL, "out of memory");
    f->s = wd_start_at(file, line, NULL, webdir);
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        wd_user_add_at(file, line, f->s, users[i][0], users[i][1], WD_PASSWORD);
    wd_bed_add_at(file, line, f->s, "B1", "Bed 1");
    wd_bed_add_at(file, line, f->s, "B2", "Bed 2");
    wd_bed_add_at(file, line, f->s, "B3", "Bed 3");
    f->device = wd_device_add_at(file, line, f->s, "MON-B1", "B1", &f->device_id);
    wd_fixture_login_at(file, line, f);
    return f;
}

void wd_fixture_login_at(const char *file, int line, wd_fixture *f)
{
    f->admin = wd_login_at(file, line, f->s, WD_ADMIN, WD_PASSWORD);
    f->physician = wd_login_at(file, line, f->s, WD_PHYSICIAN, WD_PASSWORD);
    f->nurse = wd_login_at(file, line, f->s, WD_NURSE, WD_PASSWORD);
    f->viewer = wd_login_at(file, line, f->s, WD_VIEWER, WD_PASSWORD);
}

void wd_fixture_free_at(const char *file, int line, wd_fixture *f)
{
    wd_server *s;

    if (!f)
        return;
    s = f->s;
    free(f);
    wd_stop_at(file, line, s);
}

int wd_fixture_setup(void **state)
{
    *state = wd_fixture_new();
    return *state ? 0 : -1;
}

int wd_fixture_teardown(void **state)
{
    wd_fixture_free((wd_fixture *)*state);
    *state = NULL;
    return 0;
}

/* --- domain helpers ------------------------------------------------------------------------ */

const char *wd_new_bed_at(const char *file, int line, wd_fixture *f)
{
    const char *id = wd_uniq(f->s, "W");
    wd_resp *r = wd_reqj_at(file, line, f->s, "POST", "/api/v1/beds", f->admin,
                            json_pack("{s:s}", "id", id));

    wd_expect_at(file, line, r, 201, NULL);
    return id;
}

const char *wd_new_device_at(const char *file, int line, wd_fixture *f, const char *bed,
                             long long *id)
{
    json_t *body = json_pack("{s:s, s:s}", "serial", wd_uniq(f->s, "MON-"), "model", "Test");
    wd_resp *r;

    if (bed)
        json_object_set_new(body, "bed", json_string(bed));
    r = wd_reqj_at(file, line, f->s, "POST", "/api/v1/devices", f->admin, body);
    wd_expect_at(file, line, r, 201, NULL);
    if (id)
        *id = wd_int_at(file, line, r->json, "id");
    return keep_str(f->s, true, wd_str_at(file, line, r->json, "token"));
}

long long wd_admit_at(const char *file, int line, wd_fixture *f, const char *bed,
                      int64_t admitted_at, json_t *extra)
{
    json_t *p = json_pack("{s:s, s:s, s:s}", "mrn", wd_uniq(f->s, "MRN-"), "name",
                          wd_uniq(f->s, "Patient "), "bed", bed);
    wd_resp *r;

    if (admitted_at > 0)
        json_object_set_new(p, "admitted_at", json_string(wd_iso(admitted_at)));
    if (extra) {
        json_object_update(p, extra);
        json_decref(extra);
    }
    r = wd_reqj_at(file, line, f->s, "POST", "/api/v1/patients", f->nurse, p);
    wd_expect_at(file, line, r, 201, NULL);
    return wd_int_at(file, line, r->json, "id");
}

json_t *wd_item(const char *id, const char *code, json_t *value, const char *unit, int64_t t)
{
    json_t *o = json_object();

    if (id)
        json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "value", value);
    if (unit)
        json_object_set_new(o, "unit", json_string(unit));
    json_object_set_new(o, "time", json_string(wd_iso(t)));
    return o;
}

json_t *wd_all_readings_at(const char *file, int line, wd_server *s, const char *token,
                           long long pid, const char *code)
{
    json_t *all = wd_keep(s, json_array());
    char cursor[512] = "";
    int64_t now = wd_now_ms();

    for (int page = 0; page < 100000; page++) {
        char path[1024];
        wd_resp *r;
        json_t *next;
        size_t i;
        json_t *v;

        snprintf(path, sizeof path,
                 "/api/v1/patients/%lld/readings?limit=100&from=%s&to=%s%s%s%s%s", pid,
                 wd_iso(now - 30LL * 86400000), wd_iso(now + 86400000), code ? "&code=" : "",
                 code ? code : "", cursor[0] ? "&cursor=" : "", cursor);
        r = wd_req_at(file, line, s, "GET", path, token, NULL);
        wd_expect_at(file, line, r, 200, NULL);
        json_array_foreach(wd_arr_at(file, line, r->json, "readings"), i, v)
        {
            json_array_append(all, v);
        }
        next = json_object_get(r->json, "next");
        if (!next || json_is_null(next))
            return all;
        if (json_is_string(next))
            snprintf(cursor, sizeof cursor, "%s", wd_escape(s, json_string_value(next)));
        else if (json_is_integer(next))
            snprintf(cursor, sizeof cursor, "%lld", json_integer_value(next));
        else
            report(file, line, s, r, "\"next\" is neither a cursor nor null");
        if (json_array_size(wd_arr_at(file, line, r->json, "readings")) == 0)
            report(file, line, s, r, "an empty page with a non-null \"next\"");
    }
    report(file, line, s, NULL, "pagination did not end");
}

/* --- threads ------------------------------------------------------------------------------- */

wd_client *wd_client_new(const wd_server *s)
{
    wd_client *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->curl = curl_easy_init();
    c->port = s->port;
    c->tls = s->cert[0] != '\0';
    if (!c->curl) {
        free(c);
        return NULL;
    }
    return c;
}

long wd_client_req(wd_client *c, const char *method, const char *path, const char *token,
                   const char *body, json_t **json_out)
{
    wd_raw_req q = {.method = method,
                    .path = path,
                    .token = token,
                    .content_type = body ? "application/json" : NULL,
                    .body = body,
                    .body_len = body ? strlen(body) : 0};
    wd_resp r = {0};
    char err[512];
    long status;

    if (json_out)
        *json_out = NULL;
    if (c->fresh) { /* a new handle has no connection to reuse */
        curl_easy_cleanup(c->curl);
        c->curl = curl_easy_init();
        if (!c->curl)
            return 0;
    }
    if (perform(c->curl, c->port, c->tls, &q, &r, err, sizeof err))
        r.status = 0;
    status = r.status;
    if (json_out)
        *json_out = r.json;
    else
        json_decref(r.json);
    free(r.body);
    return status;
}

void wd_client_fresh(wd_client *c, bool fresh)
{
    c->fresh = fresh;
}

void wd_client_free(wd_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

typedef struct racer {
    pthread_t thread;
    pthread_barrier_t *start;
    wd_client *c;
    const char *method, *path, *token, *body;
    long status;
    json_t *json;
} racer;

static void *racer_run(void *arg)
{
    racer *r = arg;

    pthread_barrier_wait(r->start);
    r->status = wd_client_req(r->c, r->method, r->path, r->token, r->body, &r->json);
    return NULL;
}

void wd_race(wd_server *s, int n, const char *method, const char *path, const char *token,
             const char *body, long *statuses, json_t **bodies)
{
    racer rs[64];
    pthread_barrier_t start;

    if (n > 64)
        n = 64;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        rs[i] = (racer){.start = &start,
                        .c = wd_client_new(s),
                        .method = method,
                        .path = path,
                        .token = token,
                        .body = body};
        /* Connect first, so that the barrier releases requests, not handshakes. */
        wd_client_req(rs[i].c, "GET", "/healthz", NULL, NULL, NULL);
    }
    for (int i = 0; i < n; i++)
        pthread_create(&rs[i].thread, NULL, racer_run, &rs[i]);
    for (int i = 0; i < n; i++) {
        pthread_join(rs[i].thread, NULL);
        statuses[i] = rs[i].status;
        if (bodies)
            bodies[i] = wd_keep(s, rs[i].json);
        else
            json_decref(rs[i].json);
        wd_client_free(rs[i].c);
    }
    pthread_barrier_destroy(&start);
}
