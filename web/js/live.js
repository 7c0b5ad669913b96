// live: keeps the open view current. The primary path is the server's
// event stream, GET /api/v1/events (docs/api.md "Live updates"): one long-lived
// fetch() read by the SSE parser of sse.js, reconnected automatically with
// Last-Event-ID so the server can replay what was missed. fetch() rather
// than EventSource because EventSource cannot set Last-Event-ID on a
// connection it did not open itself and hides the HTTP status (a 401 must
// lead to the login page, a 404 to the fallback below).
//
// Every event (or burst of events) makes the open view refresh what it
// shows, so a reading appears within a second of its 201; the events'
// payloads (docs/events.md) are passed on for views that filter on them
// (patient_id), but nothing depends on more of their shape. A `reset`
// event (the client fell behind the server's replay ring) and each new
// connection (`resync`, made up here) make the view reload everything.

import { SSEParser } from './sse.js';
import { authHeaders } from './api.js';

export const EVENTS_URL = '/api/v1/events';

// TEMPORARY FALLBACK - remove when /api/v1/events is in every deployment.
// While the event stream is not live (endpoint missing, or reconnecting),
// the open view refreshes itself every FALLBACK_POLL_MS. Override for tests
// or a busy wall display with ?poll=MS in the page URL or
// localStorage['wardd.pollMs']; 0 turns the fallback off. Deleting this
// constant and the three functions marked FALLBACK below leaves pure SSE.
export const FALLBACK_POLL_MS = 5000;

const RETRY_MIN_MS = 1000;       // first reconnect delay (server "retry:" wins)
const RETRY_MAX_MS = 15000;      // backoff ceiling
const ABSENT_RETRY_MS = 30000;   // endpoint missing: look again this often
const SILENCE_MS = 75000;        // a stream that sent heartbeats and then went quiet is dead
const COALESCE_MS = 120;         // events within this window cause one refresh

// FALLBACK
function fallbackInterval() {
  const pick = (v) => {
    if (v === null || v === undefined || v === '') return null;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? Math.max(n === 0 ? 0 : 250, Math.floor(n)) : null;
  };
  let v = null;
  try { v = pick(new URLSearchParams(location.search).get('poll')); } catch (e) { v = null; }
  if (v === null) {
    try { v = pick(localStorage.getItem('wardd.pollMs')); } catch (e) { v = null; }
  }
  return v === null ? FALLBACK_POLL_MS : v;
}

export class Live {
  constructor() {
    this.state = 'idle';      // idle | connecting | live | reconnecting | unavailable
    this.lastEventId = '';
    this.retryMs = RETRY_MIN_MS;
    this.serverRetry = null;
    this.failures = 0;
    this.abort = null;
    this.timer = null;
    this.pollTimer = null;
    this.pollMs = fallbackInterval();
    this.stopped = true;
    this.stateListeners = new Set();
    this.eventListeners = new Set();
    this.refresher = null;     // the open view's refresh(reason)
    this.pending = null;       // coalesced events waiting for one refresh
    this.lastByteAt = 0;
    this.heartbeats = false;
    this.watchdog = null;
    this.onUnauthorized = () => {};
  }

  onState(fn) { this.stateListeners.add(fn); fn(this.state, this); return () => this.stateListeners.delete(fn); }
  onEvent(fn) { this.eventListeners.add(fn); return () => this.eventListeners.delete(fn); }
  setRefresher(fn) { this.refresher = fn; }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    if (s === 'live') this.stopFallback(); else if (!this.stopped) this.startFallback();
    for (const fn of this.stateListeners) fn(s, this);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState('connecting');
    this.startFallback();
    this.connect();
    this.watchdog = setInterval(() => this.checkSilence(), 15000);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    this.stopFallback();
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.lastEventId = '';
    this.setState('idle');
  }

  async connect() {
    if (this.stopped) return;
    const ctl = new AbortController();
    this.abort = ctl;
    const headers = { Accept: 'text/event-stream', ...authHeaders() };
    if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
    let res;
    try {
      res = await fetch(EVENTS_URL, { headers, credentials: 'same-origin', cache: 'no-store',
                                      signal: ctl.signal });
    } catch (e) {
      if (!ctl.signal.aborted) this.reconnectLater();
      return;
    }
    if (this.stopped || ctl.signal.aborted) return;
    const type = res.headers.get('Content-Type') || '';
    if (res.status === 401) {
      this.cancel(res);
      this.stop();
      this.onUnauthorized();
      return;
    }
    if (!res.ok && res.status !== 404 && res.status !== 501) {
      // A transient failure (503 shutting down or storage, 500, 429): the
      // stream exists; retry with backoff, the fallback polls meanwhile.
      this.cancel(res);
      this.reconnectLater();
      return;
    }
    if (!res.ok || !type.startsWith('text/event-stream') || !res.body) {
      // Not (yet) served by this wardd: stay on the fallback, look again later.
      this.cancel(res);
      this.setState('unavailable');
      this.timer = setTimeout(() => this.connect(), ABSENT_RETRY_MS);
      return;
    }
    this.failures = 0;
    this.retryMs = this.serverRetry || RETRY_MIN_MS;
    this.lastByteAt = Date.now();
    this.setState('live');
    // Whatever happened while we were away: one full refresh.
    this.kick({ type: 'resync', data: null, id: null });
    const parser = new SSEParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.lastByteAt = Date.now();
        const events = parser.feed(decoder.decode(value, { stream: true }));
        if (parser.sawComment) this.heartbeats = true;
        if (parser.retry !== null) this.serverRetry = parser.retry;
        if (parser.lastEventId) this.lastEventId = parser.lastEventId;
        for (const ev of events) this.kick(ev);
      }
    } catch (e) {
      // aborted or network error: reconnect below
    }
    if (this.abort === ctl && !this.stopped) this.reconnectLater();
  }

  cancel(res) {
    try { if (res.body) res.body.cancel().catch(() => {}); } catch (e) { /* already closed */ }
  }

  reconnectLater() {
    if (this.stopped) return;
    this.setState('reconnecting');
    this.failures++;
    const base = this.serverRetry || RETRY_MIN_MS;
    const delay = Math.min(RETRY_MAX_MS, base * 2 ** Math.min(this.failures - 1, 4));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  checkSilence() {
    if (this.state === 'live' && this.heartbeats && Date.now() - this.lastByteAt > SILENCE_MS) {
      if (this.abort) this.abort.abort();
      this.reconnectLater();
    }
  }

  // Deliver an event to listeners at once; coalesce the view refresh.
  kick(ev) {
    let data = ev.data;
    if (typeof data === 'string') {
      try { data = JSON.parse(data); } catch (e) { /* plain text payload */ }
    }
    const event = { type: ev.type, id: ev.id, data };
    for (const fn of this.eventListeners) {
      try { fn(event); } catch (e) { /* a listener's bug must not stop the stream */ }
    }
    if (!this.pending) {
      this.pending = [];
      setTimeout(() => {
        const batch = this.pending;
        this.pending = null;
        this.runRefresh({ reason: 'events', events: batch });
      }, COALESCE_MS);
    }
    this.pending.push(event);
  }

  runRefresh(why) {
    if (!this.refresher) return;
    Promise.resolve().then(() => this.refresher(why)).catch(() => {});
  }

  // FALLBACK
  startFallback() {
    if (this.pollTimer || !this.pollMs) return;
    this.pollTimer = setInterval(() => this.runRefresh({ reason: 'poll', events: [] }), this.pollMs);
  }

  // FALLBACK
  stopFallback() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  // What the header's connection indicator shows: an icon and a word
  // (never colour alone), a short note, and a tooltip.
  describe() {
    const n = this.pollMs;
    const every = n ? `refresh every ${n >= 1000 ? `${Math.round(n / 1000)} s` : `${n} ms`}` : 'no auto-refresh';
    switch (this.state) {
      case 'live': return { cls: 'conn-live', icon: 'live', text: 'Live', note: '', detail: 'Connected to the live event stream' };
      case 'connecting': return { cls: 'conn-wait', icon: 'sync', text: 'Connecting…', note: every, detail: 'Opening the live event stream' };
      case 'reconnecting': return { cls: 'conn-warn', icon: 'sync', text: 'Reconnecting…', note: every, detail: `Live event stream lost; reconnecting (${every} meanwhile)` };
      case 'unavailable': return { cls: 'conn-poll', icon: 'clock', text: 'Auto-refresh', note: every, detail: `This server has no live event stream yet (${every})` };
      default: return { cls: 'conn-off', icon: 'off', text: 'Offline', note: '', detail: 'Not connected' };
    }
  }
}
