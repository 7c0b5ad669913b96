// Administration: wall-display stations (admin). Enrol (name, location)
// -> the link with the token, shown once; the list with last contact and
// whether the display can sound alarms now; revoke. docs/api.md "Stations".

import { get, post, del } from '../../api.js';
import { h, clear, setText, icon, statusLine, showStatus } from '../../dom.js';
import { fmtDateTime, fmtTime, fmtAge } from '../../format.js';
import { confirmButton, dataTable } from '../../components.js';
import { errText, field } from './common.js';

function kioskLink(token) {
  return `${location.origin}${location.pathname}#/kiosk?token=${encodeURIComponent(token)}`;
}

function soundCell(x) {
  if (x.revoked_at) return '—';
  if (!x.online) return h('span.tag.tag-off', 'not connected');
  return x.can_sound ? h('span.tag.tag-on', 'can sound') : h('span.tag.tag-warn', icon('warn'), 'cannot sound');
}

// Longer than most on purpose: one closure for the section's list, form
// and the token box they share.
export function stations(body, ctx, params, st) {
  const listBox = h('div');
  const status = statusLine();
  const tokenBox = h('div.token-box', { hidden: true, role: 'region', 'aria-label': 'New station link', tabindex: '-1' });
  body.append(tokenBox, h('section.card', { 'aria-labelledby': 'st-h' },
    h('div.card-head', h('h2#st-h', 'Stations (wall displays)')), status, listBox));

  function showToken(s) {
    const link = kioskLink(s.token);
    clear(tokenBox).append(
      h('p.token-warn', icon('warn'), h('span', `Station link for ${s.name}. Open it once on the display (it keeps the token and survives restarts); it is shown once and cannot be retrieved later.`)),
      h('div.token-line', h('code#station-link', link),
        h('button.btn', { type: 'button', onclick: async (ev) => {
          try { await navigator.clipboard.writeText(link); setText(ev.currentTarget, 'Copied'); } catch (e) { setText(ev.currentTarget, 'Select and copy'); }
        } }, 'Copy'),
        h('button.btn.btn-quiet', { type: 'button', onclick: () => { tokenBox.hidden = true; clear(tokenBox); } }, 'Done, hide it')));
    tokenBox.hidden = false;
    tokenBox.focus();
  }

  async function load() {
    try {
      const r = await get('/api/v1/stations');
      if (!st.alive) return;
      clear(listBox).append(dataTable([
        { label: 'Id', cell: (x) => String(x.id) },
        { label: 'Name', cell: (x) => x.name },
        { label: 'Location', cell: (x) => x.location || '—' },
        { label: 'Last seen', cell: (x) => (x.last_seen ? `${fmtTime(x.last_seen)} (${fmtAge((Date.now() - Date.parse(x.last_seen)) / 1000)} ago)` : 'never') },
        { label: 'Alarm sound', cell: soundCell },
        { label: 'State', cell: (x) => (x.revoked_at ? h('span.tag.tag-off', `revoked ${fmtDateTime(x.revoked_at)}`) : h('span.tag.tag-on', 'active')) },
        { label: 'Actions', cls: 'actions', cell: (x) => (x.revoked_at ? '—' : confirmButton('Revoke', `Confirm: revoke ${x.name}`, async () => {
          try { await del(`/api/v1/stations/${x.id}`); showStatus(status, 'ok', `${x.name} revoked.`); load(); } catch (e) { showStatus(status, 'error', `Not revoked: ${errText(e)}`); }
        }, { danger: true })) },
      ], r.stations || [], { rowAttrs: (x) => ({ dataset: { station: String(x.id) } }) }));
    } catch (e) { if (e.status !== 401) showStatus(status, 'error', `Could not load stations: ${errText(e)}`); }
  }

  const name = h('input', { type: 'text', required: true, maxlength: '64', autocomplete: 'off' });
  const where = h('input', { type: 'text', maxlength: '128', autocomplete: 'off' });
  const fs = statusLine();
  const form = h('form.card.inline-form', { 'aria-labelledby': 'st-add-h' },
    h('div.card-head', h('h2#st-add-h', 'Enrol a station')),
    h('div.obs-grid', field('st-name', 'Name (required)', name), field('st-location', 'Location', where)),
    h('div.form-actions', h('button.btn.btn-primary', { type: 'submit' }, 'Enrol station')), fs);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) { showStatus(fs, 'error', 'The name is required.'); name.focus(); return; }
    const b = { name: name.value.trim() };
    if (where.value.trim()) b.location = where.value.trim();
    try {
      const r = await post('/api/v1/stations', b);
      showStatus(fs, 'ok', `${r.name} enrolled.`);
      form.reset();
      showToken(r);
      load();
    } catch (e) { showStatus(fs, 'error', `Not enrolled: ${errText(e)}`); }
  });
  body.append(form);
  load();
  const timer = setInterval(() => { if (st.alive) load(); else clearInterval(timer); }, 30000);
  return {};
}
