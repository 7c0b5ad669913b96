/* mllp: the HL7 v2 listener (MLLP over TCP, optionally TLS) and the
 * inbound message path behind it (docs/hl7.md). */
#ifndef WARDD_MLLP_H
#define WARDD_MLLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;

typedef struct mllp_options {
    const char *listen;   /* "ADDR:PORT" (port 0: any free port) */
    size_t max_frame;     /* largest message, bytes (0: MLLP_FRAME_DEFAULT) */
    int idle_timeout_ms;  /* a connection silent this long is closed (0: 300 s) */
    int max_connections;  /* open connections at once (0: 128) */
    int max_per_client;   /* open connections per client address (0: 32) */
    const char *tls_cert; /* both set: MLLP over TLS (GnuTLS) */
    const char *tls_key;
} mllp_options;

typedef struct mllp_server mllp_server;

/* Checks the code map, binds and starts accepting. 0 with *out and *port
 * set, or -1 after logging why. */
int mllp_start(struct app *app, const mllp_options *o, mllp_server **out, uint16_t *port);
/* Stops accepting; lets every connection finish the message in flight
 * (its ACK is sent after the commit), then closes them; waits up to
 * timeout_ms. Call before the writer stops. NULL is ignored. */
void mllp_stop(mllp_server *s, int timeout_ms);

/* One message (the bytes of one frame) from a client: applies it and
 * returns the ACK to send (malloc'd, *len set; never NULL unless out of
 * memory). Blocks until the message's transaction is durable. `peer` is
 * the client's address, `fingerprint` its TLS certificate's SHA-256 hex
 * (NULL without TLS). */
char *hl7_inbound(struct app *app, const char *peer, const char *fingerprint, const char *data,
                  size_t n, size_t *len);

#endif
