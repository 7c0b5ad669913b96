/* engine_sched: where the patient is in the aldesleukin schedule
 * (policy 16, docs/rules.md 9; the label's Table 1 regimen, docs/rules.md 7.7).
 *
 * - Doses are q8h at the ward times (00:00, 08:00, 16:00 by default) in
 *   ward-local time, in the ward's IANA zone with its daylight-saving rules
 *   (tz.h): on the day clocks go forward the 00:00 and 08:00 slots are 7 h
 *   apart; a wall-clock time that occurs twice is its first occurrence.
 * - Day 1 is the local date of the first dose record (given or held); days
 *   are local dates (a day may last 23 or 25 h). Cycle
 *   N begins at the first dose's time of day on its first day (cycle 2 at
 *   day 15, so it starts at 08:00 when the first dose was at 08:00: S03,
 *   S04) and ends at local midnight after its last day.
 * - A slot is taken when a dose record (given or held) lies within half an
 *   interval of it; held doses are not made up (S04).
 * - At most max_doses_per_cycle given doses a cycle and
 *   max_doses_per_course a course.
 * Only dose records with time <= T count. Before any dose is recorded the
 * next ward slot is dose 1 of cycle 1 (S01). */
#include "engine_int.h"

#include <string.h>

#define MS_PER_DAY INT64_C(86400000)
#define MS_PER_MIN INT64_C(60000)

const char *engine_sched_status_name(engine_sched_status s)
{
    switch (s) {
    case ENGINE_SCHED_DUE:
        return "due";
    case ENGINE_SCHED_REST:
        return "rest";
    case ENGINE_SCHED_CYCLE_COMPLETE:
        return "cycle_complete";
    case ENGINE_SCHED_COURSE_COMPLETE:
        return "course_complete";
    case ENGINE_SCHED_NOT_SCHEDULED:
        return "not_scheduled";
    }
    return "?";
}

/* Local day number (days since 1970-01-01 in ward time). */
static int64_t local_day(const rules_set *rs, int64_t t)
{
    return tz_local_day(rs->zone, t);
}

/* UTC ms of local midnight starting local day d. */
static int64_t day_start(const rules_set *rs, int64_t d)
{
    return tz_day_start(rs->zone, d);
}

/* UTC ms of ward time `minutes` past midnight on local day d. */
static int64_t slot_at(const rules_set *rs, int64_t d, int minutes)
{
    return tz_local_to_utc(rs->zone, d * MS_PER_DAY + minutes * MS_PER_MIN);
}

typedef struct win {
    int64_t start, end; /* [start, end) */
} win;

static win cycle_window(const rules_set *rs, int64_t first, size_t c)
{
    int64_t day1 = local_day(rs, first);
    win w;
    /* the first dose's local time of day on the cycle's first day */
    w.start = tz_local_to_utc(rs->zone, tz_to_local(rs->zone, first) +
                                            (rs->cycles[c].first_day - 1) * MS_PER_DAY);
    w.end = day_start(rs, day1 + rs->cycles[c].last_day);
    return w;
}

static bool slot_taken(const engine_patient *pt, size_t n_doses, int64_t slot, int64_t half)
{
    for (size_t i = 0; i < n_doses; i++) {
        int64_t d = pt->doses[i].t_ms - slot;
        if (d > -half && d <= half)
            return true;
    }
    return false;
}

/* Given and held doses per cycle window, and given in the course. */
static void count_doses(const rules_set *rs, const engine_patient *pt, size_t n_doses,
                        int64_t first, int64_t half, int *given_c, int *held_c,
                        engine_schedule *out)
{
    for (size_t i = 0; i < n_doses; i++) {
        if (pt->doses[i].given)
            out->given_in_course++;
        for (size_t c = 0; c < rs->n_cycles; c++) {
            win w = cycle_window(rs, first, c);
            if (pt->doses[i].t_ms >= w.start - half && pt->doses[i].t_ms < w.end) {
                given_c[c] += pt->doses[i].given;
                held_c[c] += !pt->doses[i].given;
            }
        }
    }
}

/* Whether slot s lies on a rest day between cycles (or before a cycle's
 * start) with a later cycle still to come. */
static bool between_cycles(const rules_set *rs, int64_t first, int64_t half, int64_t s)
{
    bool in_any = false, later = false;

    for (size_t c = 0; c < rs->n_cycles; c++) {
        win w = cycle_window(rs, first, c);
        in_any |= s >= w.start - half && s < w.end;
        later |= s < w.start - half;
    }
    return !in_any && later;
}

/* The first open slot after `from` (ENGINE_NO_TIME when none within 400
 * days): not taken by a dose record, not before the first dose, not on a
 * rest day. */
static int64_t first_open_slot(const rules_set *rs, const engine_patient *pt, size_t n_doses,
                               int64_t first, int64_t half, int64_t from)
{
    int64_t d0 = local_day(rs, from);

    for (int64_t d = d0; d < d0 + 400; d++)
        for (size_t k = 0; k < rs->n_ward_times; k++) {
            int64_t s = slot_at(rs, d, rs->ward_minutes[k]);
            if (s <= from || slot_taken(pt, n_doses, s, half))
                continue;
            if (first != ENGINE_NO_TIME && (s < first || between_cycles(rs, first, half, s)))
                continue;
            return s;
        }
    return ENGINE_NO_TIME;
}

/* The first slot of cycle window wn. */
static int64_t cycle_first_slot(const rules_set *rs, win wn, int64_t half)
{
    for (int64_t d = local_day(rs, wn.start); d <= local_day(rs, wn.end - 1); d++)
        for (size_t k = 0; k < rs->n_ward_times; k++) {
            int64_t s = slot_at(rs, d, rs->ward_minutes[k]);
            if (s >= wn.start - half)
                return s;
        }
    return ENGINE_NO_TIME;
}

/* The course gate (docs/clinical.md "Courses"; the legacy label: a new
 * course only after at least 7 weeks from the discharge of the last one,
 * "only if there is some tumor shrinkage following the last course and
 * retreatment is not contraindicated"). True when this course may not
 * start, with the reason in out->gate_*: a permanent discontinue in an
 * earlier course or progressive disease end treatment (discontinue); a
 * missing response evaluation or a short interval hold it. The interval
 * counts ward-local dates from the discharge to the course's first dose
 * (or T before any). */
static bool course_gate(const rules_set *rs, const engine_patient *pt, int64_t at, int64_t first,
                        engine_schedule *out)
{
    const engine_course *c = &pt->course;
    int64_t start = first != ENGINE_NO_TIME ? first : at, days;

    out->gate_action = ENGINE_DISCONTINUE;
    if (c->permanent_rule[0]) { /* an earlier admission, of this course or one before */
        out->gate_rule = "COURSE-CONTRAINDICATED";
        snprintf(out->gate_text, sizeof out->gate_text,
                 "retreatment contraindicated: %s (permanent discontinue) fired in course %d",
                 c->permanent_rule, c->permanent_course);
        return true;
    }
    if (c->number <= 1)
        return false;
    if (strcmp(c->prev_response, "PD") == 0) {
        out->gate_rule = "COURSE-PD";
        snprintf(out->gate_text, sizeof out->gate_text,
                 "course %d response PD (progressive disease, %s): no further course",
                 c->number - 1, c->prev_response_date);
        return true;
    }
    out->gate_action = ENGINE_HOLD;
    if (c->prev_response[0] == '\0') {
        out->gate_rule = "COURSE-RESPONSE";
        snprintf(out->gate_text, sizeof out->gate_text,
                 "no response evaluation recorded for course %d: course %d may not start",
                 c->number - 1, c->number);
        return true;
    }
    if (c->prev_discharge_ms == ENGINE_NO_TIME)
        return false;
    days = local_day(rs, start) - local_day(rs, c->prev_discharge_ms);
    if (days >= rs->course_interval_days)
        return false;
    out->gate_rule = "COURSE-INTERVAL";
    snprintf(out->gate_text, sizeof out->gate_text,
             "%lld days since the discharge of course %d; course %d may start %d days after it",
             (long long)days, c->number - 1, c->number, rs->course_interval_days);
    return true;
}

/* The cycle and status of the open slot against the cycle windows. */
static void place_slot(const rules_set *rs, int64_t at, int64_t first, int64_t half, int64_t slot,
                       const int *given_c, const int *held_c, engine_schedule *out)
{
    size_t cyc = rs->n_cycles; /* which cycle the open slot belongs to: none */
    for (size_t c = 0; c < rs->n_cycles && slot != ENGINE_NO_TIME; c++) {
        win w = cycle_window(rs, first, c);
        if (slot >= w.start - half && slot < w.end)
            cyc = c;
    }
    size_t cur = 0; /* the cycle T is in or has most recently begun */
    for (size_t c = 0; c < rs->n_cycles; c++)
        if (at >= cycle_window(rs, first, c).start - half)
            cur = c;
    win wcur = cycle_window(rs, first, cur);

    out->cycle = rs->cycles[cur].number;
    out->cycle_start_ms = wcur.start;
    out->given_in_cycle = given_c[cur];
    out->held_in_cycle = held_c[cur];
    out->next_dose_ms = ENGINE_NO_TIME;
    if (out->given_in_course >= rs->max_per_course || slot == ENGINE_NO_TIME ||
        cyc == rs->n_cycles) {
        out->status = ENGINE_SCHED_COURSE_COMPLETE;
    } else if (cyc != cur || at >= wcur.end) {
        /* T is after the end of cycle `cur`: rest until cycle `cyc` begins */
        out->status = ENGINE_SCHED_REST;
        out->next_dose_ms = slot;
    } else if (given_c[cyc] >= rs->max_per_cycle) {
        /* cap reached inside the cycle window: next is the following cycle */
        bool more = cyc + 1 < rs->n_cycles;
        out->status = more ? ENGINE_SCHED_CYCLE_COMPLETE : ENGINE_SCHED_COURSE_COMPLETE;
        if (more)
            out->next_dose_ms = cycle_first_slot(rs, cycle_window(rs, first, cyc + 1), half);
    } else {
        out->status = ENGINE_SCHED_DUE;
        out->dose_due = true;
        out->dose_in_cycle = given_c[cyc] + 1;
        out->dose_in_course = out->given_in_course + 1;
        out->next_dose_ms = slot;
    }
}

void engine_schedule_at(const rules_set *rs, const engine_patient *pt, int64_t at,
                        engine_schedule *out)
{
    int64_t half = rs->interval_hours * INT64_C(3600000) / 2;
    int given_c[RULES_MAX_CYCLES] = {0}, held_c[RULES_MAX_CYCLES] = {0};
    size_t n_doses = 0; /* dose records visible at T */

    memset(out, 0, sizeof *out);
    out->max_per_cycle = rs->max_per_cycle;
    out->max_per_course = rs->max_per_course;
    out->next_dose_ms = ENGINE_NO_TIME;
    out->first_dose_ms = ENGINE_NO_TIME;
    out->cycle_start_ms = ENGINE_NO_TIME;
    out->course = pt->course.number > 0 ? pt->course.number : 1;
    while (n_doses < pt->n_doses && pt->doses[n_doses].t_ms <= at)
        n_doses++;
    int64_t first = n_doses > 0 ? pt->doses[0].t_ms : ENGINE_NO_TIME;
    count_doses(rs, pt, n_doses, first, half, given_c, held_c, out);
    /* the first open slot from half an interval before T */
    int64_t slot = first_open_slot(rs, pt, n_doses, first, half, at - half);

    if (first == ENGINE_NO_TIME) {
        out->status = ENGINE_SCHED_DUE;
        out->dose_due = true;
        out->cycle = 1;
        out->dose_in_cycle = 1;
        out->dose_in_course = 1;
        out->next_dose_ms = slot;
    } else {
        out->first_dose_ms = first;
        out->day = (int)(local_day(rs, at) - local_day(rs, first)) + 1;
        place_slot(rs, at, first, half, slot, given_c, held_c, out);
    }
    if (course_gate(rs, pt, at, first, out)) {
        out->status = ENGINE_SCHED_NOT_SCHEDULED;
        out->dose_due = false;
        out->dose_in_cycle = out->dose_in_course = 0;
        out->next_dose_ms = ENGINE_NO_TIME;
    }
}
