/* drift: device clock drift (docs/clinical.md "Device clock drift").
 *
 * A bedside device stamps its readings with its own clock; wardd files and
 * grades them by that time. A device whose clock runs ahead or behind
 * misplaces every reading in time (a dose slot's 4-hour freshness, a
 * window sum, a fever run). wardd cannot correct it, but it can notice it
 * and say so: a technical alert (kind device_clock) naming the device and
 * its offset, resolved when the offset is back within the margin.
 *
 * The rule, judged on "live" batches only:
 *  - A batch's sample is its newest accepted reading's time minus the time
 *    wardd received it (committed it). Only a batch whose newest reading is
 *    later than every reading the device sent before gives a sample; a
 *    re-sent or back-filled batch does not.
 *  - The device's last DRIFT_WINDOW (5) samples are judged together:
 *      fewer than 5                 unknown (no alert raised or cleared);
 *      spread (max - min) > margin/4 unknown: not steady. A device catching
 *                                   up after a reconnect sends old readings
 *                                   faster than real time, so its samples
 *                                   climb towards zero batch by batch; that
 *                                   lag is age, not a clock error;
 *      |median| > margin            drift, by the median;
 *      otherwise                    in time (an open alert resolves).
 * The margin defaults to 2 minutes (`serve --clock-drift-margin SECONDS`,
 * config `clock-drift-margin`; WARDD_CLOCK_DRIFT_MARGIN_MS for tests).
 * Readings more than 5 minutes ahead are refused at ingest, so a clock
 * further ahead shows as rejected readings, not as this alert.
 *
 * The judge (drift_judge) is pure. The per-device samples live in memory
 * (a restart starts them afresh: five batches later the judgement is
 * back); drift_note() is called after each committed device batch, any
 * thread. */
#ifndef WARDD_DRIFT_H
#define WARDD_DRIFT_H

#include "alerts.h"
#include "db.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRIFT_WINDOW            5
#define DRIFT_MARGIN_DEFAULT_MS (2 * 60000)

typedef enum drift_state { DRIFT_UNKNOWN, DRIFT_IN_TIME, DRIFT_OFF } drift_state;

/* Judges the samples (reading time minus receipt time, ms; oldest first;
 * only the last DRIFT_WINDOW count). *median_ms gets the median of those
 * (0 when fewer). Pure. */
drift_state drift_judge(const int64_t *samples, size_t n, int64_t margin_ms, int64_t *median_ms);

/* The margin in force (default DRIFT_MARGIN_DEFAULT_MS). Set once at start. */
void drift_set_margin_ms(int64_t margin_ms);
int64_t drift_margin_ms(void);

/* After a committed batch from device_id with at least one accepted
 * reading: its newest reading's time and when it was received. */
void drift_note(int64_t device_id, int64_t newest_reading_ms, int64_t received_ms);

/* Forgets every device (tests). */
void drift_reset(void);

/* The alert condition of one device: false when it is in time; true with
 * *out filled (present = true when drifting; present = false when unknown,
 * so that an open alert is neither raised again nor cleared). */
bool drift_condition(const rules_alerts *cfg, int64_t device_id, const char *serial,
                     const char *bed, alert_cond *out);

/* Appends the unresolved device_clock alerts to *open (malloc'd, *n
 * elements; grown), for check_devices' one reconcile over every device
 * condition. 0 or -1. */
int drift_open_append(db_conn *c, alert_open **open, size_t *n);

/* "3 min 20 s behind" / "45 s ahead" into buf. Pure. */
void drift_describe(int64_t offset_ms, char *buf, size_t len);

#endif
