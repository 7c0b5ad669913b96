/* listener: the MLLP server (include/mllp.h, docs/hl7.md "Transport").
 *
 * One thread per connection, under a total and a per-client cap. Why not
 * poll(): every message blocks its connection until its group commit is
 * durable (an ACK is sent only then), and MLLP senders wait for that ACK
 * before sending the next message, so a connection is a strictly
 * sequential conversation; a thread per connection keeps that sequence
 * as plain code, while the group commit still shares one fsync among all
 * connections whose messages arrive together. A ward has tens of
 * gateways and one ADT feed: the default cap (128 connections, 32 per
 * client address) bounds the threads (each with a small stack).
 *
 * Each connection reads with poll() on its socket and on a shutdown pipe,
 * so SIGTERM ends idle connections at once; a message being processed is
 * finished and acknowledged first (mllp_stop waits for it). */
#include "mllp.h"
#include "threadname.h"
#include "app.h"
#include "hl7.h"
#include "hl7_int.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENTS_MAX 512

struct mllp_server {
    struct app *app;
    mllp_options o;
    int fd;
    int wake[2]; /* written once at stop: every poll() sees it */
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int active; /* open connections */
    struct {
        char addr[INET6_ADDRSTRLEN];
        int n;
    } clients[CLIENTS_MAX];
    atomic_bool stopping;
    gnutls_certificate_credentials_t cred; /* MLLP over TLS when set */
    gnutls_priority_t prio;
};

typedef struct conn {
    mllp_server *s;
    int fd;
    char peer[INET6_ADDRSTRLEN];
    gnutls_session_t tls; /* NULL: plain TCP */
    char fingerprint[65]; /* the client certificate's SHA-256 hex, "" when none */
} conn;

/* --- per-client counts ----------------------------------------------------------- */

/* Adds one connection for addr under both caps: true when allowed. */
static bool admit(mllp_server *s, const char *addr)
{
    int free_slot = -1, i;
    bool ok = false;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < CLIENTS_MAX; i++) {
        if (s->clients[i].n > 0 && strcmp(s->clients[i].addr, addr) == 0)
            break;
        if (s->clients[i].n == 0 && free_slot < 0)
            free_slot = i;
    }
    if (i == CLIENTS_MAX)
        i = free_slot;
    if (i >= 0 && s->active < s->o.max_connections && s->clients[i].n < s->o.max_per_client) {
        snprintf(s->clients[i].addr, sizeof s->clients[i].addr, "%s", addr);
        s->clients[i].n++;
        s->active++;
        ok = true;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void release(mllp_server *s, const char *addr)
{
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (s->clients[i].n > 0 && strcmp(s->clients[i].addr, addr) == 0) {
            s->clients[i].n--;
            break;
        }
    s->active--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* --- one connection --------------------------------------------------------------- */

static int send_all(conn *cn, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = cn->tls ? gnutls_record_send(cn->tls, p, n) : send(cn->fd, p, n, MSG_NOSIGNAL);
        if ((k < 0 && errno == EINTR && !cn->tls) ||
            (cn->tls && (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)))
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends an ACK in its MLLP frame, in one write: some clients
 * (node-hl7-client 1.x) lose a frame whose start and end arrive in
 * separate TCP segments. */
static int send_frame(conn *cn, const char *ack, size_t len)
{
    char *buf = malloc(len + 3);
    int rc;

    if (!buf)
        return -1;
    buf[0] = MLLP_SB;
    memcpy(buf + 1, ack, len);
    buf[len + 1] = MLLP_EB;
    buf[len + 2] = MLLP_CR;
    rc = send_all(cn, buf, len + 3);
    free(buf);
    return rc;
}

/* Answers one complete frame; -1 when the connection must close. */
static int answer(conn *cn, const char *frame, size_t len)
{
    size_t alen = 0;
    char *ack = hl7_inbound(cn->s->app, cn->peer, cn->fingerprint[0] ? cn->fingerprint : NULL,
                            frame, len, &alen);
    int rc;

    if (!ack)
        return -1;
    rc = send_frame(cn, ack, alen);
    free(ack);
    return rc;
}

/* An oversize frame: AR naming the limit (answering the MSH read so far,
 * when it parses), then the connection closes: the stream cannot be
 * re-synchronised. */
static void oversize(conn *cn, const mllp_framer *f)
{
    size_t n, alen = 0, msh = 0;
    const char *p = mllp_frame(f, &n);
    hl7_err e;
    hl7_msg *m;
    char *ack;

    while (msh < n && p[msh] != '\r' && p[msh] != '\n')
        msh++;
    m = hl7_parse(p, msh, NULL);
    hl7_err_set(&e, "MSH", 1, 0, HL7_INTERNAL, "message larger than %zu bytes: refused", f->max);
    ack = hl7_ack_build(m, "AR", &e, 1, 0, "WARDD-OVERSIZE", &alen);
    if (ack)
        send_frame(cn, ack, alen);
    free(ack);
    hl7_free(m);
    log_info("hl7: %s sent a frame over %zu bytes; connection closed", cn->peer, f->max);
}

/* Waits for input: 1 readable, 0 idle timeout or stopping, -1 error. */
static int wait_input(conn *cn)
{
    struct pollfd p[2] = {{.fd = cn->fd, .events = POLLIN},
                          {.fd = cn->s->wake[0], .events = POLLIN}};
    int rc = poll(p, 2, cn->s->o.idle_timeout_ms);

    if (rc < 0)
        return errno == EINTR ? 1 : -1;
    if (p[0].revents)
        return 1;
    /* Idle timeout or stopping: an unfinished frame is never acknowledged,
     * so its sender resends it. */
    return 0;
}

/* The SHA-256 of the client's certificate (DER), as hex. */
static void client_fingerprint(conn *cn)
{
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(cn->tls, &n);
    unsigned char digest[32];

    cn->fingerprint[0] = '\0';
    if (!certs || n == 0 ||
        gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[0].data, certs[0].size, digest) != 0)
        return;
    for (int i = 0; i < 32; i++)
        snprintf(cn->fingerprint + 2 * i, 3, "%02x", digest[i]);
}

/* MLLP over TLS: the same certificate and key as HTTPS; a client
 * certificate is asked for, not required (a feed may pin one by its
 * fingerprint). 0, or -1 (the connection closes). */
static int tls_handshake(conn *cn)
{
    int rc;

    if (gnutls_init(&cn->tls, GNUTLS_SERVER) != GNUTLS_E_SUCCESS) {
        cn->tls = NULL;
        return -1;
    }
    if (gnutls_priority_set(cn->tls, cn->s->prio) != GNUTLS_E_SUCCESS ||
        gnutls_credentials_set(cn->tls, GNUTLS_CRD_CERTIFICATE, cn->s->cred) != GNUTLS_E_SUCCESS)
        return -1;
    gnutls_certificate_server_set_request(cn->tls, GNUTLS_CERT_REQUEST);
    gnutls_transport_set_int(cn->tls, cn->fd);
    gnutls_handshake_set_timeout(cn->tls, 10000);
    do
        rc = gnutls_handshake(cn->tls);
    while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        log_info("hl7: TLS handshake with %s failed: %s", cn->peer, gnutls_strerror(rc));
        return -1;
    }
    client_fingerprint(cn);
    return 0;
}

static void *conn_main(void *arg)
{
    conn *cn = arg;
    mllp_framer f;
    char buf[16384];

    thread_name("wd-mllp-conn");
    if (mllp_init(&f, cn->s->o.max_frame) != 0)
        goto out;
    if (cn->s->cred && tls_handshake(cn) != 0) {
        mllp_free(&f);
        goto out;
    }
    while (!atomic_load(&cn->s->stopping) && wait_input(cn) == 1) {
        ssize_t k = cn->tls ? gnutls_record_recv(cn->tls, buf, sizeof buf)
                            : recv(cn->fd, buf, sizeof buf, 0);
        size_t off = 0;
        if ((k < 0 && !cn->tls && errno == EINTR) ||
            (cn->tls && (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)))
            continue;
        if (k <= 0)
            break;
        while (off < (size_t)k) {
            size_t used = 0, flen;
            mllp_event ev = mllp_feed(&f, buf + off, (size_t)k - off, &used);
            off += used;
            if (ev == MLLP_OVERSIZE) {
                oversize(cn, &f);
                goto done;
            }
            if (ev == MLLP_FRAME) {
                const char *frame = mllp_frame(&f, &flen);
                if (answer(cn, frame, flen) != 0)
                    goto done;
            }
        }
    }
done:
    mllp_free(&f);
    if (cn->tls)
        gnutls_bye(cn->tls, GNUTLS_SHUT_WR);
out:
    if (cn->tls)
        gnutls_deinit(cn->tls);
    close(cn->fd);
    release(cn->s, cn->peer);
    free(cn);
    return NULL;
}

/* --- accepting ---------------------------------------------------------------------- */

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        /* IPv4-mapped addresses are matched as IPv4 ("127.0.0.1"). */
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], out, (socklen_t)len);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)len);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
    }
}

static void spawn(mllp_server *s, int fd, const char *peer)
{
    pthread_attr_t attr;
    pthread_t t;
    conn *cn = calloc(1, sizeof *cn);

    if (!cn || !admit(s, peer)) {
        if (cn)
            log_info("hl7: connection from %s refused: connection limit", peer);
        free(cn);
        close(fd);
        return;
    }
    cn->s = s;
    cn->fd = fd;
    snprintf(cn->peer, sizeof cn->peer, "%s", peer);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&t, &attr, conn_main, cn) != 0) {
        close(fd);
        release(s, peer);
        free(cn);
    }
    pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
    mllp_server *s = arg;

    thread_name("wd-mllp-accept");
    while (!atomic_load(&s->stopping)) {
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                              {.fd = s->wake[0], .events = POLLIN}};
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char peer[INET6_ADDRSTRLEN] = "";
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents || !(p[0].revents & POLLIN))
            continue;
        fd = accept(s->fd, (struct sockaddr *)&ss, &sl);
        if (fd < 0)
            continue;
        peer_name(&ss, peer, sizeof peer);
        spawn(s, fd, peer);
    }
    return NULL;
}

/* Binds "ADDR:PORT" ("[v6]:PORT" too); the socket or -1 (logged). */
static int bind_listen(const char *listen_on, uint16_t *port)
{
    char host[256];
    const char *colon = strrchr(listen_on, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = -1, one = 1;

    if (!colon || colon == listen_on || (size_t)(colon - listen_on) >= sizeof host) {
        log_error("--mllp %s: expected ADDR:PORT", listen_on);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen_on), listen_on);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) {
        log_error("--mllp %s: not a numeric address and port", listen_on);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        log_error("--mllp %s: cannot listen: %s", listen_on, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Loads the certificate and key (PEM) for MLLP over TLS. 0 or -1 (logged). */
static int tls_setup(mllp_server *s, const mllp_options *o)
{
    int rc;

    if (!o->tls_cert || !o->tls_key) {
        log_error("--tls-cert and --tls-key go together");
        return -1;
    }
    if (gnutls_certificate_allocate_credentials(&s->cred) != GNUTLS_E_SUCCESS)
        return -1;
    rc =
        gnutls_certificate_set_x509_key_file(s->cred, o->tls_cert, o->tls_key, GNUTLS_X509_FMT_PEM);
    if (rc < 0 || gnutls_priority_init(&s->prio, NULL, NULL) != GNUTLS_E_SUCCESS) {
        log_error("MLLP over TLS: cannot load %s / %s: %s", o->tls_cert, o->tls_key,
                  gnutls_strerror(rc));
        gnutls_certificate_free_credentials(s->cred);
        s->cred = NULL;
        return -1;
    }
    return 0;
}

int mllp_start(struct app *app, const mllp_options *o, mllp_server **out, uint16_t *port)
{
    mllp_server *s;

    if (codemap_load() != 0) {
        log_error("the HL7 code map (schema/hl7/codemap.tsv) is invalid");
        return -1;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if ((o->tls_cert || o->tls_key) && tls_setup(s, o) != 0) {
        free(s);
        return -1;
    }
    s->app = app;
    s->o = *o;
    if (!s->o.max_frame)
        s->o.max_frame = MLLP_FRAME_DEFAULT;
    if (s->o.idle_timeout_ms <= 0)
        s->o.idle_timeout_ms = 300000;
    if (s->o.max_connections <= 0)
        s->o.max_connections = 128;
    if (s->o.max_per_client <= 0)
        s->o.max_per_client = 32;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->fd = bind_listen(o->listen, port);
    if (s->fd < 0 || pipe2(s->wake, O_CLOEXEC) != 0 ||
        pthread_create(&s->acceptor, NULL, accept_main, s) != 0) {
        if (s->fd >= 0)
            close(s->fd);
        if (s->cred) {
            gnutls_priority_deinit(s->prio);
            gnutls_certificate_free_credentials(s->cred);
        }
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void mllp_stop(mllp_server *s, int timeout_ms)
{
    struct timespec until;
    int open_left;
    char b = 1;

    if (!s)
        return;
    atomic_store(&s->stopping, true);
    if (write(s->wake[1], &b, 1) != 1)
        log_error("hl7: cannot wake the MLLP threads");
    pthread_join(s->acceptor, NULL);
    close(s->fd);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (s->active > 0)
        if (pthread_cond_timedwait(&s->idle, &s->lock, &until) != 0)
            break;
    open_left = s->active;
    pthread_mutex_unlock(&s->lock);
    if (open_left > 0)
        log_error("hl7: %d MLLP connections still open at shutdown", open_left);
    /* Connections still open (stuck in a send) keep s: it is leaked then,
     * on purpose, rather than freed under them. */
    if (open_left == 0) {
        close(s->wake[0]);
        close(s->wake[1]);
        if (s->cred) {
            gnutls_priority_deinit(s->prio);
            gnutls_certificate_free_credentials(s->cred);
        }
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->idle);
        free(s);
    }
}
