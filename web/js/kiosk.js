// kiosk: a wall-display station (docs/dashboard.md "Stations"). An admin
// enrols the station and opens the link shown once, /#/kiosk?token=...,
// on the display. The token moves at once from the address into
// localStorage (and out of the address bar and history), and every
// request then carries it as `Authorization: Bearer`: a station is not a
// session, so no cookie, no session expiry, no idle timeout and no
// cross-site request can use it; after a power cut or a server restart
// the display comes back to the board without anyone signing in. Only a
// revocation ends it: the server's 401 clears the stored token.

import { setBearer } from './api.js';
import { h, clear, icon } from './dom.js';

const TOKEN_KEY = 'wardd.stationToken';

// The station token: from the address (stored, then removed from it) or
// from storage; null when this browser is not a station.
export function kioskToken() {
  const m = /^#\/kiosk\?(.*)$/.exec(location.hash);
  if (m) {
    const t = new URLSearchParams(m[1]).get('token');
    if (t) {
      try { localStorage.setItem(TOKEN_KEY, t); } catch (e) { setBearer(t); }
      history.replaceState(null, '', `${location.pathname}${location.search}#/kiosk`);
    }
  }
  let t = null;
  try { t = localStorage.getItem(TOKEN_KEY); } catch (e) { t = null; }
  if (t) setBearer(t);
  return t;
}

export function forgetKiosk() {
  try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* */ }
  setBearer(null);
}

// What a display shows when its token is refused (revoked or unknown).
export function kioskRefused(main) {
  clear(main).append(h('section.kiosk-refused', { 'aria-labelledby': 'kiosk-title' },
    h('h1#kiosk-title', { tabindex: '-1' }, 'This station is not enrolled'),
    h('p.banner.banner-warn', { role: 'alert' }, icon('warn'),
      h('span', 'The server refused this display\'s station token (revoked or unknown). It shows no ward data and sounds no alarms. An administrator enrols the station again under Administration, Stations, and opens the new link here.'))));
  document.title = 'Station not enrolled · wardd';
}
