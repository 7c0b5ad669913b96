// Administration (#/admin/{section}): patients (admit with baselines,
// transfer, discharge: nurse and up; read-only for viewers), beds, devices
// (token shown once), users, the rule set and its versions, the audit log.

import { get, post, patch, del, optional } from '../api.js';
import { h, append, clear, setText, icon, statusLine, showStatus } from '../dom.js';
import { fmtDateTime, fmtTime, fmtAge, compareBedIds } from '../format.js';
import { confirmButton, dataTable, pendingNote } from '../components.js';
import { errText, field } from './admin/common.js';
import { createAdmitForm } from './admin/admit.js';
import { feeds } from './feeds.js';
import { stations } from './admin/stations.js';

export const SECTIONS = [
  { key: 'patients', label: 'Patients', min: 'viewer' },
  { key: 'beds', label: 'Beds', min: 'viewer' },
  { key: 'devices', label: 'Devices', min: 'admin' },
  { key: 'stations', label: 'Stations', min: 'admin' },
  { key: 'users', label: 'Users', min: 'admin' },
  { key: 'rules', label: 'Rules', min: 'viewer' },
  { key: 'audit', label: 'Audit log', min: 'admin' },
  { key: 'feeds', label: 'HL7 feeds', min: 'admin' },
];

// Admin lists reload on events about their kind of record (and on a
// stream resync), never on the polling fallback: a reload would throw away
// a half-filled row (a transfer's chosen bed, a new password).
function touches(why, type) {
  return !!(why && why.reason === 'events' && why.events.some((e) => e.type === type || e.type === 'resync' || e.type === 'reset'));
}

// Reloads a list unless someone is working in it (focus inside, a confirm
// step open, a choice made but not applied); then waits until they leave,
// so a live event never throws away a half-done transfer or revoke.
function politeReload(box, load) {
  let pending = false;
  const busy = () => box.contains(document.activeElement) ||
    !!box.querySelector('.confirm-ask:not([hidden]), details[open]') ||
    [...box.querySelectorAll('select')].some((x) => x.value !== '');
  box.addEventListener('focusout', () => setTimeout(() => {
    if (pending && !busy()) { pending = false; load(); }
  }, 0));
  return () => {
    if (busy()) { pending = true; return; }
    load();
  };
}

export function mount(root, ctx, params) {
  const section = SECTIONS.find((s) => s.key === params.section) || SECTIONS[0];
  const allowed = SECTIONS.filter((s) => ctx.can(s.min));
  const st = { alive: true };
  const sub = h('nav.subnav', { 'aria-label': 'Administration' },
    allowed.map((s) => h('a', { href: `#/admin/${s.key}`, 'aria-current': s.key === section.key ? 'page' : null }, s.label)));
  const body = h('div.admin-body');
  root.append(h('section.admin-view', { 'aria-labelledby': 'admin-title' },
    h('div.board-bar', h('h1#admin-title', { tabindex: '-1' }, section.label)), sub, body));
  if (!ctx.can(section.min)) {
    body.append(h('p.banner.banner-warn', icon('warn'), h('span', `${section.label} is for ${section.min}s.`)));
    return { title: section.label, unmount() {} };
  }
  const impl = { patients, beds, devices, stations, users, rules, audit, feeds }[section.key];
  const ctl = impl(body, ctx, params, st) || {};
  return { title: section.label, refresh: ctl.refresh, tick: ctl.tick, unmount() { st.alive = false; } };
}

// ---- patients -----------------------------------------------------------------------
function patients(body, ctx, params, st) {
  const canEdit = ctx.can('nurse');
  let showAll = false;
  const listBox = h('div');
  const listStatus = statusLine();
  const toggle = h('input#show-discharged', { type: 'checkbox', onchange: () => { showAll = toggle.checked; load(); } });
  body.append(h('section.card', { 'aria-labelledby': 'pl-h' },
    h('div.card-head', h('h2#pl-h', 'Patients'),
      h('label.check', { for: 'show-discharged' }, toggle, 'Include discharged')),
    listStatus, listBox));
  let admit = null;
  if (canEdit) { admit = createAdmitForm(params.query.bed, () => load()); body.append(admit.el); }
  else body.append(h('p.hint', 'Read-only: admitting, transferring and discharging need a nurse login.'));

  let beds = [];
  async function load() {
    try {
      const [p, b] = await Promise.all([get(`/api/v1/patients?status=${showAll ? 'all' : 'admitted'}`), get('/api/v1/beds')]);
      if (!st.alive) return;
      beds = (b.beds || []).sort((x, y) => compareBedIds(x.id, y.id));
      const free = beds.filter((x) => !x.patient_id);
      render(p.patients || [], free);
      if (admit) admit.setBeds(free);
    } catch (e) {
      if (e.status !== 401) showStatus(listStatus, 'error', `Could not load patients: ${errText(e)}`);
    }
  }

  function render(list, free) {
    clear(listBox);
    list.sort((a, b) => (a.status === b.status ? compareBedIds(a.bed || 'Z', b.bed || 'Z') : a.status === 'admitted' ? -1 : 1));
    if (!list.length) { listBox.append(h('p.muted', 'No patients.')); return; }
    listBox.append(dataTable([
      { label: 'Name', cell: (p) => h('a', { href: `#/patient/${p.id}` }, p.name) },
      { label: 'MRN', cell: (p) => p.mrn },
      { label: 'Bed', cell: (p) => p.bed || '—' },
      { label: 'Status', cell: (p) => (p.status === 'admitted' ? `admitted ${fmtDateTime(p.admitted_at)}` : `discharged ${fmtDateTime(p.discharged_at)}`) },
      { label: 'Diagnosis', cell: (p) => (p.diagnosis === 'rcc' ? 'RCC' : p.diagnosis || '—') },
      { label: 'Actions', cls: 'actions', cell: (p) => (canEdit && p.status === 'admitted' ? actions(p, free) : '—') },
    ], list, { cls: 'patients-table', rowAttrs: (p) => ({ dataset: { patient: String(p.id) } }) }));
  }

  function actions(p, free) {
    const sel = h('select', { id: `transfer-${p.id}`, 'aria-label': `Transfer ${p.name} to bed` },
      h('option', { value: '' }, free.length ? 'to bed…' : 'no free bed'), free.map((b) => h('option', { value: b.id }, b.label || b.id)));
    const move = h('button.btn', { type: 'button', disabled: !free.length }, 'Transfer');
    move.addEventListener('click', async () => {
      if (!sel.value) { showStatus(listStatus, 'error', `Choose the bed to move ${p.name} to.`); sel.focus(); return; }
      try {
        await post(`/api/v1/patients/${p.id}/transfer`, { bed: sel.value });
        showStatus(listStatus, 'ok', `${p.name} moved to ${sel.value}.`);
        load();
      } catch (e) { showStatus(listStatus, 'error', `Not transferred: ${errText(e)}`); }
    });
    const discharge = confirmButton('Discharge', `Confirm discharge of ${p.name}`, async () => {
      try {
        await post(`/api/v1/patients/${p.id}/discharge`);
        showStatus(listStatus, 'ok', `${p.name} discharged.`);
        load();
      } catch (e) { showStatus(listStatus, 'error', `Not discharged: ${errText(e)}`); }
    }, { danger: true });
    return h('div.row-actions', sel, move, discharge);
  }

  load();
  const reload = politeReload(listBox, load);
  return { refresh: (why) => { if (touches(why, 'patient')) reload(); } };
}

// ---- beds -----------------------------------------------------------------------------
function beds(body, ctx, params, st) {
  const listBox = h('div');
  const status = statusLine();
  body.append(h('section.card', { 'aria-labelledby': 'beds-h' }, h('div.card-head', h('h2#beds-h', 'Beds')), status, listBox));
  async function load() {
    try {
      const [b, p] = await Promise.all([get('/api/v1/beds'), get('/api/v1/patients')]);
      if (!st.alive) return;
      const names = new Map((p.patients || []).map((x) => [x.id, x.name]));
      clear(listBox).append(dataTable([
        { label: 'Bed', cell: (x) => x.id },
        { label: 'Label', cell: (x) => x.label || '—' },
        { label: 'Patient', cell: (x) => (x.patient_id ? h('a', { href: `#/patient/${x.patient_id}` }, names.get(x.patient_id) || `#${x.patient_id}`) : h('span.muted', 'empty')) },
      ], (b.beds || []).sort((x, y) => compareBedIds(x.id, y.id))));
    } catch (e) { if (e.status !== 401) showStatus(status, 'error', `Could not load beds: ${errText(e)}`); }
  }
  if (ctx.can('admin')) {
    const id = h('input', { type: 'text', required: true, maxlength: '32', autocomplete: 'off' });
    const label = h('input', { type: 'text', maxlength: '64', autocomplete: 'off' });
    const fs = statusLine();
    const form = h('form.card.inline-form', { 'aria-labelledby': 'bed-add-h' },
      h('div.card-head', h('h2#bed-add-h', 'Add a bed')),
      h('div.obs-grid', field('bed-id', 'Bed id (e.g. B9)', id), field('bed-label', 'Label', label)),
      h('div.form-actions', h('button.btn.btn-primary', { type: 'submit' }, 'Add bed')), fs);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const body2 = { id: id.value.trim() };
        if (label.value.trim()) body2.label = label.value.trim();
        await post('/api/v1/beds', body2);
        showStatus(fs, 'ok', `Bed ${body2.id} added.`);
        form.reset();
        load();
      } catch (e) { showStatus(fs, 'error', `Not added: ${errText(e)}`); }
    });
    body.append(form);
  }
  load();
  return { refresh: (why) => { if (touches(why, 'patient') || touches(why, 'device')) load(); } };
}

// ---- devices ----------------------------------------------------------------------------
function devices(body, ctx, params, st) {
  const listBox = h('div');
  const status = statusLine();
  const tokenBox = h('div.token-box', { hidden: true, role: 'region', 'aria-label': 'New device token', tabindex: '-1' });
  let list = [];
  body.append(tokenBox, h('section.card', { 'aria-labelledby': 'dev-h' }, h('div.card-head', h('h2#dev-h', 'Devices')), status, listBox));

  function showToken(d, what) {
    clear(tokenBox).append(
      h('p.token-warn', icon('warn'), h('span', `${what} for ${d.serial}. Copy it into the device now: it is shown once and cannot be retrieved later.`)),
      h('div.token-line', h('code#device-token', d.token),
        h('button.btn', { type: 'button', onclick: async (ev) => {
          const btn = ev.currentTarget;
          try { await navigator.clipboard.writeText(d.token); setText(btn, 'Copied'); } catch (e) {
            const r = document.createRange(); r.selectNodeContents(tokenBox.querySelector('code'));
            const s = getSelection(); s.removeAllRanges(); s.addRange(r); setText(btn, 'Selected: press Ctrl+C');
          }
        } }, 'Copy'),
        h('button.btn.btn-quiet', { type: 'button', onclick: () => { tokenBox.hidden = true; clear(tokenBox); } }, 'Done, hide it')));
    tokenBox.hidden = false;
    tokenBox.focus();
  }

  async function load() {
    try {
      const [d, b] = await Promise.all([get('/api/v1/devices'), get('/api/v1/beds')]);
      if (!st.alive) return;
      list = d.devices || [];
      bedOptions(b.beds || []);
      clear(listBox).append(dataTable([
        { label: 'Id', cell: (x) => String(x.id) },
        { label: 'Serial', cell: (x) => x.serial },
        { label: 'Model', cell: (x) => x.model || '—' },
        { label: 'Bed', cell: (x) => x.bed || '—' },
        { label: 'Last seen', cell: (x) => (x.last_seen ? `${fmtTime(x.last_seen)} (${fmtAge((Date.now() - Date.parse(x.last_seen)) / 1000)} ago)` : 'never') },
        { label: 'State', cell: (x) => (x.revoked_at ? h('span.tag.tag-off', `revoked ${fmtDateTime(x.revoked_at)}`) : h('span.tag.tag-on', 'active')) },
        { label: 'Actions', cls: 'actions', cell: (x) => (x.revoked_at ? '—' : h('div.row-actions',
          confirmButton('Rotate token', 'Confirm: issue a new token', async () => {
            try { const r = await post(`/api/v1/devices/${x.id}/rotate-token`); showToken({ ...x, ...r }, 'New token'); load(); } catch (e) { showStatus(status, 'error', `Not rotated: ${errText(e)}`); }
          }),
          confirmButton('Revoke', `Confirm: revoke ${x.serial}`, async () => {
            try { await del(`/api/v1/devices/${x.id}`); showStatus(status, 'ok', `${x.serial} revoked.`); load(); } catch (e) { showStatus(status, 'error', `Not revoked: ${errText(e)}`); }
          }, { danger: true }))) },
      ], list, { rowAttrs: (x) => ({ dataset: { device: String(x.id) } }) }));
    } catch (e) { if (e.status !== 401) showStatus(status, 'error', `Could not load devices: ${errText(e)}`); }
  }

  const serial = h('input', { type: 'text', required: true, maxlength: '64', autocomplete: 'off' });
  const model = h('input', { type: 'text', maxlength: '128', autocomplete: 'off' });
  const bed = h('select');
  const bedOptions = (beds) => {
    const keep = bed.value;
    append(clear(bed), [h('option', { value: '' }, 'no bed'),
      beds.sort((x, y) => compareBedIds(x.id, y.id)).map((b) => h('option', { value: b.id, selected: b.id === keep }, b.label || b.id))]);
  };
  const fs = statusLine();
  const form = h('form.card.inline-form', { 'aria-labelledby': 'dev-add-h' },
    h('div.card-head', h('h2#dev-add-h', 'Register a device')),
    h('div.obs-grid', field('dev-serial', 'Serial (required)', serial), field('dev-model', 'Model', model), field('dev-bed', 'Bed', bed)),
    h('div.form-actions', h('button.btn.btn-primary', { type: 'submit' }, 'Register device')), fs);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!serial.value.trim()) { showStatus(fs, 'error', 'The serial is required.'); serial.focus(); return; }
    const b = { serial: serial.value.trim() };
    if (model.value.trim()) b.model = model.value.trim();
    if (bed.value) b.bed = bed.value;
    try {
      const r = await post('/api/v1/devices', b);
      showStatus(fs, 'ok', `${r.serial} registered.`);
      form.reset();
      showToken(r, 'Device token');
      load();
    } catch (e) { showStatus(fs, 'error', `Not registered: ${errText(e)}`); }
  });
  body.append(form);
  load();
  const reload = politeReload(listBox, load);
  return { refresh: (why) => { if (touches(why, 'device')) reload(); } };
}

// ---- users ---------------------------------------------------------------------------------
const ROLES = ['viewer', 'nurse', 'physician', 'admin'];
function users(body, ctx, params, st) {
  const listBox = h('div');
  const status = statusLine();
  body.append(h('section.card', { 'aria-labelledby': 'users-h' }, h('div.card-head', h('h2#users-h', 'Users')), status, listBox));
  async function load() {
    try {
      const u = await get('/api/v1/users');
      if (!st.alive) return;
      clear(listBox).append(dataTable([
        { label: 'User', cell: (x) => x.username },
        { label: 'Role', cell: (x) => {
          const sel = h('select', { 'aria-label': `Role of ${x.username}` }, ROLES.map((r) => h('option', { value: r, selected: r === x.role }, r)));
          sel.addEventListener('change', async () => {
            try { await patch(`/api/v1/users/${encodeURIComponent(x.username)}`, { role: sel.value }); showStatus(status, 'ok', `${x.username} is now ${sel.value}.`); }
            catch (e) { sel.value = x.role; showStatus(status, 'error', `Role not changed: ${errText(e)}`); }
          });
          return sel;
        } },
        { label: 'State', cell: (x) => (x.disabled ? h('span.tag.tag-off', 'disabled') : h('span.tag.tag-on', 'active')) },
        { label: 'Since', cell: (x) => fmtDateTime(x.created_at) },
        { label: 'Actions', cls: 'actions', cell: (x) => {
          const pw = h('input', { type: 'password', autocomplete: 'new-password', minlength: '10', 'aria-label': `New password for ${x.username}`, placeholder: 'new password' });
          const set = h('button.btn', { type: 'submit' }, 'Set password');
          // A form of its own, so the browser treats the field as a password form.
          const who = h('input', { type: 'text', name: 'username', autocomplete: 'username', value: x.username, readOnly: true, hidden: true, tabIndex: -1 });
          const form = h('form.row-actions', { novalidate: true }, who, pw, set);
          form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            if (pw.value.length < 10) { showStatus(status, 'error', 'Passwords need at least 10 characters.'); pw.focus(); return; }
            try { await patch(`/api/v1/users/${encodeURIComponent(x.username)}`, { password: pw.value }); pw.value = ''; showStatus(status, 'ok', `Password of ${x.username} changed.`); }
            catch (e) { showStatus(status, 'error', `Password not changed: ${errText(e)}`); }
          });
          const toggle = confirmButton(x.disabled ? 'Enable' : 'Disable', `Confirm: ${x.disabled ? 'enable' : 'disable'} ${x.username}`, async () => {
            try { await patch(`/api/v1/users/${encodeURIComponent(x.username)}`, { disabled: !x.disabled }); load(); }
            catch (e) { showStatus(status, 'error', `Not changed: ${errText(e)}`); }
          }, { danger: !x.disabled });
          return h('div.row-actions', form, toggle);
        } },
      ], u.users || [], { rowAttrs: (x) => ({ dataset: { user: x.username } }) }));
    } catch (e) { if (e.status !== 401) showStatus(status, 'error', `Could not load users: ${errText(e)}`); }
  }
  const name = h('input', { type: 'text', required: true, maxlength: '64', autocomplete: 'off' });
  const pw = h('input', { type: 'password', required: true, minlength: '10', autocomplete: 'new-password' });
  const role = h('select', ROLES.map((r) => h('option', { value: r, selected: r === 'nurse' }, r)));
  const fs = statusLine();
  const form = h('form.card.inline-form', { 'aria-labelledby': 'user-add-h', novalidate: true },
    h('div.card-head', h('h2#user-add-h', 'Add a user')),
    h('div.obs-grid', field('user-name', 'Username', name), field('user-pw', 'Password (10+ characters)', pw), field('user-role', 'Role', role)),
    h('div.form-actions', h('button.btn.btn-primary', { type: 'submit' }, 'Add user')), fs);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!name.value.trim() || pw.value.length < 10) { showStatus(fs, 'error', 'A username and a password of at least 10 characters are needed.'); return; }
    try {
      await post('/api/v1/users', { username: name.value.trim(), password: pw.value, role: role.value });
      showStatus(fs, 'ok', `${name.value.trim()} added as ${role.value}.`);
      form.reset();
      load();
    } catch (e) { showStatus(fs, 'error', `Not added: ${errText(e)}`); }
  });
  body.append(form);
  load();
  return {};
}

// ---- rules (read-only) -----------------------------------------------------------------------
function rules(body, ctx, params, st) {
  const box = h('div');
  body.append(box);
  async function load() {
    const [r, v] = await Promise.all([optional('rules', '/api/v1/rules'), optional('rules', '/api/v1/rules/versions')]);
    if (!st.alive) return;
    clear(box);
    if (!r.ok && !r.absent) {
      box.append(h('section.card', h('p.pending.load-error', icon('warn'),
        h('span', `The rule set could not be loaded (${r.error.describe ? r.error.describe() : r.error.message}); reload to try again.`))));
      return;
    }
    if (!r.ok) { box.append(h('section.card', pendingNote('The rule set is'))); return; }
    const doc = r.data && (r.data.ruleset && r.data.ruleset.rules ? r.data.ruleset : r.data);
    const ruleList = Array.isArray(doc.rules) ? doc.rules : [];
    const terms = Array.isArray(doc.terms) ? doc.terms : [];
    box.append(h('section.card', { 'aria-labelledby': 'rs-h' },
      h('div.card-head', h('h2#rs-h', `Active rule set: ${doc.name || '—'}${doc.version !== undefined ? ` v${doc.version}` : ''}`)),
      h('p.card-meta', `${ruleList.length} decision rules · ${terms.length} graded terms. Read-only here; changes go through PUT /api/v1/rules (validated, versioned, audited).`),
      ruleList.length ? dataTable([
        { label: 'Rule', cell: (x) => x.id },
        { label: 'Asks', cell: (x) => x.action || '—' },
        { label: 'Class', cell: (x) => x.class || '—' },
        { label: 'Text', cell: (x) => x.text || '—' },
        { label: 'Resumes when', cell: (x) => (x.resume && x.resume.text) || '—' },
        { label: 'Source', cell: (x) => h('span.clamp', { title: x.source || '' }, x.source || '—'), cls: 'src' },
      ], ruleList, { cls: 'rules-table' }) : null,
      terms.length ? h('details.more', h('summary', `${terms.length} graded terms`), dataTable([
        { label: 'Term', cell: (x) => x.id || x.term || '—' },
        { label: 'Label', cell: (x) => x.label || '—' },
        { label: 'Source', cell: (x) => x.source || '—', cls: 'src' },
      ], terms)) : null,
      h('details.more', h('summary', 'The rule set as JSON'), h('pre.json', JSON.stringify(r.data, null, 2)))));
    const versions = v.ok ? (Array.isArray(v.data) ? v.data : v.data.versions || []) : null;
    box.append(h('section.card', { 'aria-labelledby': 'rv-h' }, h('div.card-head', h('h2#rv-h', 'Versions')),
      versions === null ? pendingNote('Rule set versions are') : versions.length ? dataTable([
        { label: 'Version', cell: (x) => String(x.version ?? '—') },
        { label: 'Name', cell: (x) => x.name || '—' },
        { label: 'Created', cell: (x) => fmtDateTime(x.created_at || x.at) },
        { label: 'By', cell: (x) => x.created_by || x.user || x.by || '—' },
        { label: 'Active', cell: (x) => (x.active ? 'yes' : '') },
      ], versions) : h('p.muted', 'No versions.')));
  }
  load().catch(() => {});
  return {};
}

// ---- audit ------------------------------------------------------------------------------------
function audit(body, ctx, params, st) {
  const box = h('div');
  const status = statusLine();
  body.append(h('section.card', { 'aria-labelledby': 'audit-h' }, h('div.card-head', h('h2#audit-h', 'Audit log (latest first)')), status, box));
  async function load() {
    try {
      const a = await get('/api/v1/audit');
      if (!st.alive) return;
      const rows = (a.entries || []).slice(0, 200);
      clear(box).append(dataTable([
        { label: 'When', cell: (x) => fmtDateTime(x.at) },
        { label: 'Who', cell: (x) => x.user || '—' },
        { label: 'Action', cell: (x) => x.action },
        { label: 'What', cell: (x) => `${x.entity || ''}${x.entity_id ? ' ' + x.entity_id : ''}` },
        { label: 'Change', cls: 'ev', cell: (x) => (x.before || x.after ? h('details', h('summary', 'before / after'),
          h('pre.json', `before: ${JSON.stringify(x.before, null, 1)}\nafter: ${JSON.stringify(x.after, null, 1)}`)) : '—') },
      ], rows));
    } catch (e) { if (e.status !== 401) showStatus(status, 'error', `Could not load the audit log: ${errText(e)}`); }
  }
  load();
  const reload = politeReload(box, load);
  return { refresh: (why) => { if (why && why.reason === 'events' && why.events.some((e) => e.type !== 'reading')) reload(); } };
}

