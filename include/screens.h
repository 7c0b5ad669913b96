/* screens: which dashboards are open and whether each can sound alarms
 * (docs/dashboard.md "Alarms", docs/api.md "Screens"). In memory only: a
 * screen is a browser tab that reports itself every SCREEN_BEAT_MS with a
 * random id of its own; one that stops reporting for SCREEN_TTL_MS is no
 * longer counted, so the ward never believes a closed tab can sound. A
 * restart forgets every screen until its next heartbeat (at most
 * SCREEN_BEAT_MS later). Thread-safe (one mutex). */
#ifndef WARDD_SCREENS_H
#define WARDD_SCREENS_H

#include "principal.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SCREENS_MAX     256
#define SCREEN_ID_MAX   64
#define SCREEN_BEAT_MS  30000  /* what the dashboard sends; docs only */
#define SCREEN_TTL_MS   75000  /* two missed heartbeats and a half */
#define SCREEN_PAUSE_MS 120000 /* a pause lasts two minutes */

/* Whether `id` is a valid screen id: 8-64 of [A-Za-z0-9_-]. */
bool screens_id_valid(const char *id);
/* Records a heartbeat of screen `id` from `who` (borrowed) at wall time
 * now_ms. *paused_until_ms gets the screen's pause end (0 when none).
 * 0, or -1 when the registry is full of live screens. */
int screens_beat(const char *id, const principal *who, bool sound, int64_t now_ms,
                 int64_t *paused_until_ms);
/* The live screen's owner: 1 with *station_id (0 for a staff screen), 0
 * unknown. */
int screens_owner(const char *id, int64_t *station_id);
/* Pauses a live screen's sound until until_ms (wall). 1 done, 0 unknown. */
int screens_pause(const char *id, int64_t until_ms);
/* [{"screen", "who", "station", "sound", "paused_until", "last_seen"}] of
 * the live screens (new reference, NULL on allocation failure). */
json_t *screens_list(int64_t now_ms);
/* Live screens that can sound (sound on, not paused) and that cannot. */
void screens_count(int64_t now_ms, unsigned *on, unsigned *off);
/* Whether this is the first heartbeat of station `station_id` since the
 * process started (true once per station and process; its first use after
 * a start is audited, later beats only move last_seen). */
bool screens_station_first(int64_t station_id);
/* A station's screens: 1 one of them can sound, 0 none can, -1 none live. */
int screens_station_sound(int64_t station_id, int64_t now_ms);

#endif
