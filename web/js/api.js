// api: every request the dashboard makes goes through here. Same-origin
// fetch with the session cookie (HttpOnly, set by POST /api/v1/session);
// errors arrive as ApiError carrying the API's {error: {code, message,
// details}} (docs/api.md "Conventions").

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.details = Array.isArray(e.details) ? e.details : [];
  }

  // "message: field must be …; other …" for a form's status line.
  describe() {
    const parts = this.details.map((d) => {
      if (typeof d === 'string') return d;
      const where = d.field || d.path || (d.index !== undefined ? `item ${d.index + 1}` : '');
      const what = d.message || d.code || '';
      return [where, what].filter(Boolean).join(' ');
    }).filter(Boolean);
    if (this.status === 0) return 'The server could not be reached. Check the network and try again.';
    return parts.length ? `${this.message} (${parts.join('; ')})` : this.message;
  }
}

// A wall-display station authenticates with its bearer token instead of
// the session cookie (docs/dashboard.md "Stations"); null for staff.
let bearer = null;
export function setBearer(token) { bearer = token || null; }
export function authHeaders() { return bearer ? { Authorization: `Bearer ${bearer}` } : {}; }

let unauthorized = () => {};
export function onUnauthorized(fn) { unauthorized = fn; }

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: authHeaders() };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: { code: 'network', message: 'Network error' } });
  }
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !(method === 'POST' && path === '/api/v1/session')) unauthorized();
    throw err;
  }
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

// Endpoints of the clinical engine (toxicity, doses, alerts, rules, events)
// are absent from a server that predates it: the router answers 404 "No
// such path." (or 501). optional() answers {ok: false, absent: true} for
// those instead of throwing, and remembers the absence for a minute so the
// dashboard does not keep asking (each failed request is also a line in
// the browser's console).
//
// Any other failure — a 503 (database busy, shutting down), a 500, a lost
// connection — is transient: {ok: false, absent: false, error} comes back,
// nothing is remembered, the next refresh asks again, and the view shows
// the error rather than "not provided".
const ABSENT_RECHECK_MS = 60 * 1000;
const absent = new Map(); // family -> time it was found absent

// Only the router's 404 ("No such path.") means the endpoint is missing; a
// 404 naming a resource (an unknown patient) does not.
export function isAbsentError(e) {
  if (!(e instanceof ApiError)) return false;
  return e.status === 501 || (e.status === 404 && e.message === 'No such path.');
}

export async function optional(family, path) {
  const since = absent.get(family);
  if (since !== undefined && Date.now() - since < ABSENT_RECHECK_MS) {
    return { ok: false, status: 404, absent: true };
  }
  try {
    const data = await get(path);
    absent.delete(family);
    return { ok: true, data };
  } catch (e) {
    if (isAbsentError(e)) {
      absent.set(family, Date.now());
      return { ok: false, status: e.status, absent: true, error: e };
    }
    return { ok: false, status: e.status || 0, absent: false, error: e };
  }
}

export function markPresent(family) { absent.delete(family); }
export function knownAbsent(family) {
  const since = absent.get(family);
  return since !== undefined && Date.now() - since < ABSENT_RECHECK_MS;
}
