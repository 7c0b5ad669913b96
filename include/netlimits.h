/* netlimits: who is really calling, and how much of the server one client
 * address may hold (docs/security.md "Ingest is never starved").
 *
 * - Trusted proxies (`behind-proxy`): X-Forwarded-For is honoured only on
 *   connections from these addresses; the client is then the rightmost
 *   address of that header that is not itself a trusted proxy.
 * - Per-address connections: a new connection from an address that
 *   already holds `per_ip_max` is refused at accept (trusted proxies are
 *   exempt: they carry many clients; the proxy limits them itself).
 * - Header deadline: a connection must complete its request header within
 *   `header_timeout_ms` of being accepted, or of finishing its previous
 *   request; otherwise it is shut down. libmicrohttpd's own timeout
 *   restarts with every byte, so a client sending a header line every few
 *   seconds would otherwise hold a connection forever. A timer thread
 *   checks the deadline four times a second.
 * - Body deadline: once its header is complete, a request must have sent
 *   its whole body within `body_timeout_ms`; otherwise the connection is
 *   shut down. A client trickling a body a byte at a time would otherwise
 *   hold its connection (and its request's memory) forever too. A request
 *   whose body is complete is never cut: an event stream, a write waiting
 *   for the writer, a held refusal.
 * - Reserve: connections that have not completed a header (anonymous: no
 *   credential seen yet) may hold at most `pending_max` places; beyond
 *   that the oldest of them is shut down, so a flood of idle sockets
 *   cannot take the places a device needs to post its readings.
 *
 * Thread-safe; the MHD callbacks below are installed by http.c. */
#ifndef WARDD_NETLIMITS_H
#define WARDD_NETLIMITS_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest textual address (IPv6) and its NUL. */
#define NET_ADDR_LEN 64

typedef struct netlimits_config {
    unsigned per_ip_max;         /* 0: no per-address limit */
    unsigned pending_max;        /* 0: no reserve */
    unsigned header_timeout_ms;  /* 0: no header deadline */
    unsigned body_timeout_ms;    /* 0: no body deadline */
    const char *trusted_proxies; /* comma-separated addresses, or NULL */
} netlimits_config;

/* Applies the configuration and starts the deadline timer. 0, or -1 when
 * a trusted proxy is not a numeric address (logged). */
int netlimits_start(const netlimits_config *cfg);
/* Stops the timer (after the daemon stopped). */
void netlimits_stop(void);

/* MHD_AcceptPolicyCallback: refuses an address over its limit. */
enum MHD_Result netlimits_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* MHD_NotifyConnectionCallback: tracks connections. */
void netlimits_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);
/* A request's header is complete (first access-handler call) / the
 * request is over (completion callback): the deadline stops / restarts. */
void netlimits_request_begin(struct MHD_Connection *conn);
void netlimits_request_end(struct MHD_Connection *conn);
/* The request's body has all arrived: its body deadline stops. */
void netlimits_body_complete(struct MHD_Connection *conn);

/* Whether any trusted proxy is configured. */
bool netlimits_behind_proxy(void);
/* Whether the connection's peer is a trusted proxy. */
bool netlimits_from_proxy(struct MHD_Connection *conn);
/* The client's address as text: the peer, or from X-Forwarded-For when
 * the peer is a trusted proxy. "unknown" when it cannot be told. */
void netlimits_client_addr(struct MHD_Connection *conn, char out[NET_ADDR_LEN]);
/* Whether a numeric address is a loopback address (127/8, ::1). */
bool netlimits_is_loopback(const struct sockaddr *sa);

/* Connections tracked now, and those shut by the header deadline or the
 * reserve so far (for /metrics and tests). */
size_t netlimits_open(void);
unsigned long netlimits_shut_total(void);

#endif
