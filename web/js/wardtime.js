// wardtime: the ward's time zone. Ward times (dose slots, reading and alert
// times) are shown in the zone the server names in GET /api/v1/ward
// (`time_zone.name`, an IANA name such as "America/New_York"), not in the
// browser's: a wall display in another zone, or a laptop set to UTC, shows
// the same clock as the ward. Formatting uses Intl.DateTimeFormat with
// that timeZone, so daylight saving follows the browser's own tz data.
// Until the zone is known (or if the browser does not know it) the
// browser's local time is used. Pure (no DOM, no fetch), like format.js:
// main.js and the board pass the zone in.

let zone = null;
let parts = null; // Intl formatter for the zone

export function setWardZone(name) {
  if (!name || name === zone) return;
  try {
    parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: name, year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', hourCycle: 'h23',
    });
    zone = name;
  } catch (e) {
    parts = null; // an unknown zone: stay with the browser's time
  }
}

export function wardZone() { return zone; }

// {year, month (1-12), day, hour, minute} of a Date in ward time.
export function wardParts(t) {
  if (!parts) {
    return { year: t.getFullYear(), month: t.getMonth() + 1, day: t.getDate(),
      hour: t.getHours(), minute: t.getMinutes() };
  }
  const o = {};
  for (const p of parts.formatToParts(t)) if (p.type !== 'literal') o[p.type] = Number(p.value);
  return { year: o.year, month: o.month, day: o.day, hour: o.hour, minute: o.minute };
}
