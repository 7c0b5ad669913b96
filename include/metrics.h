/* metrics: process-wide counters for GET /metrics (Prometheus text
 * format). Lock-free (atomics); safe from any thread. */
#ifndef WARDD_METRICS_H
#define WARDD_METRICS_H

#include <stdint.h>

struct app;

void metrics_observe_request(unsigned status, uint64_t ns);
void metrics_count_readings(unsigned accepted, unsigned duplicates, unsigned rejected);
void metrics_count_storage_failure(void);
/* One HL7 v2 message answered: type "ORU^R01", ACK code "AA"/"AE"/"AR",
 * the feed's name (NULL: unregistered). */
void metrics_count_hl7(const char *type, const char *code, const char *feed);
/* Renders every metric; caller frees the result with free(). */
char *metrics_render(struct app *app);

#endif
