// technical: the words for technical alerts, problems with wardd itself or
// its feeds rather than with a patient (GET /api/v1/technical-alerts,
// docs/api.md; the kinds are those of the technical_alerts table's CHECK
// constraint, schema/migrations/0011_disk_low.sql). Pure: no DOM, so
// tests/e2e/unit.test.mjs checks every sentence; techui.js shows them.
//
// The server's messages are written for engineers ("PID-3 names MRN ...");
// the ward needs plain words and what to do. The numbers are read back out
// of the message the server wrote (server/store/diskwatch.c,
// server/hl7/pcd01.c); a message of another shape is shown as it is.

// "72.0 GiB" -> "72 GiB"; "1.2 GiB" stays.
function size(s) {
  return String(s).replace(/\.0 /, ' ');
}

// Low disk space for the database: 1.2 GiB free of 250.0 GiB on /var/lib/wardd,
// below the warning threshold of 25.0 GiB (disk-warn-percent ...
const DISK_RE = /^Low disk space for the database: (.+?) free of (.+?) on (.+), below the warning threshold of (.+?) \(/;

export function parseDiskMessage(message) {
  const m = DISK_RE.exec(message || '');
  if (!m) return null;
  return { free: size(m[1]), size: size(m[2]), dir: m[3], threshold: size(m[4]) };
}

// Feed GW message GW1-000002: PID-3 names MRN 400456 but bed B1 holds another
// patient; 1 readings held unassigned.
const MISMATCH_RE = /^Feed (.+?) message (.+?): PID-3 names MRN (.+?) but bed (.+?) holds (another patient|nobody); (\d+) readings held unassigned\.$/;

export function parseMismatchMessage(message) {
  const m = MISMATCH_RE.exec(message || '');
  if (!m) return null;
  return { feed: m[1], control: m[2], mrn: m[3], bed: m[4], occupied: m[5] === 'another patient', held: Number(m[6]) };
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function diskWords(a) {
  const d = parseDiskMessage(a.message);
  return {
    title: 'Disk nearly full',
    detail: d ? `${d.free} free of ${d.size} (warning below ${d.threshold}).`
      : 'the database\'s disk has less free space than its warning threshold.',
    advice: 'Readings are still stored; ask IT to free space on the wardd server or enlarge its disk before it fills (a full disk stops new readings).',
  };
}

function mismatchWords(a) {
  const m = parseMismatchMessage(a.message);
  if (!m) {
    return {
      title: 'Patient identity mismatch',
      detail: `a monitor message${a.bed ? ` from bed ${a.bed}` : ''} names a different patient than the bed holds; its readings are on no patient's chart.`,
      advice: 'Check the patient\'s wristband and which bed the monitor is set to.',
    };
  }
  const where = m.occupied ? 'where another patient is admitted' : 'which is empty, while that patient is admitted elsewhere';
  return {
    title: 'Patient identity mismatch',
    detail: `monitor feed ${m.feed} sent readings for MRN ${m.mrn} from bed ${m.bed}, ${where}. ${m.held === 1 ? 'The reading is' : `The ${plural(m.held, 'reading', 'readings')} are`} on no patient's chart.`,
    advice: `Check the patient's wristband and which bed the monitor is set to (message ${m.control}).`,
  };
}

const KINDS = { disk_low: diskWords, identity_mismatch: mismatchWords };

// {title, detail, advice, text}: what the strip and the alerts page say.
// `text` is the whole sentence; a resolved alert has no advice.
export function techWords(a) {
  const fn = KINDS[a && a.kind];
  const w = fn ? fn(a) : { title: 'System problem', detail: (a && a.message) || 'no details given.', advice: '' };
  if (a && a.state && a.state !== 'active') w.advice = '';
  w.text = `${w.title}: ${w.detail}${w.advice ? ` ${w.advice}` : ''}`;
  return w;
}

// The active alerts, oldest first (the strip keeps lines in place as new ones
// come); the API lists newest first.
export function activeTech(alerts) {
  return (Array.isArray(alerts) ? alerts : []).filter((a) => a && a.state === 'active')
    .sort((x, y) => (Date.parse(x.raised_at) || 0) - (Date.parse(y.raised_at) || 0) || x.id - y.id);
}

// The newest `n` resolved alerts, newest first.
export function recentResolvedTech(alerts, n = 10) {
  return (Array.isArray(alerts) ? alerts : []).filter((a) => a && a.state === 'resolved')
    .sort((x, y) => (Date.parse(y.raised_at) || 0) - (Date.parse(x.raised_at) || 0) || y.id - x.id)
    .slice(0, n);
}
