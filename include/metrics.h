/* metrics: process-wide counters for GET /metrics (Prometheus text
 * format). Lock-free (atomics); safe from any thread. */
#ifndef WARDD_METRICS_H
#define WARDD_METRICS_H

#include <stdint.h>

struct app;

void metrics_observe_request(unsigned status, uint64_t ns);
void metrics_count_readings(unsigned accepted, unsigned duplicates, unsigned rejected);
void metrics_count_storage_failure(void);
/* Renders every metric; caller frees the result with free(). */
char *metrics_render(struct app *app);

#endif
