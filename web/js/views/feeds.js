// Administration > HL7 feeds (#/admin/feeds, admin): the registered HL7 v2
// senders with their last message, counts by ACK code and last error; a
// form to register one; disable / re-enable; and the bed-location map
// (PV1-3 point of care^room^bed of each bed). docs/hl7.md, docs/api.md.

import { get, post, patch, del } from '../api.js';
import { h, clear, statusLine, showStatus } from '../dom.js';
import { fmtDateTime } from '../format.js';
import { confirmButton, dataTable } from '../components.js';

const errText = (e) => (e && e.describe ? e.describe() : String(e && e.message));

function field(id, label, input, hint) {
  input.id = id;
  return h('div.field', h('label', { for: id }, label), input, hint ? h('p.hint', hint) : null);
}

function counts(c) {
  return h('span.feed-counts',
    h('span.feed-aa', `AA ${c.AA}`), ' · ', h('span.feed-ae', `AE ${c.AE}`), ' · ', h('span.feed-ar', `AR ${c.AR}`));
}

export function feeds(body, ctx, params, st) {
  const listBox = h('div');
  const status = statusLine();
  const bedBox = h('div');
  const bedStatus = statusLine();
  body.append(
    h('section.card', { 'aria-labelledby': 'feeds-h' }, h('div.card-head', h('h2#feeds-h', 'HL7 v2 feeds (MLLP)')), status, listBox),
    addForm(),
    h('section.card', { 'aria-labelledby': 'locs-h' }, h('div.card-head', h('h2#locs-h', 'Bed locations (PV1-3)')), bedStatus, bedBox));

  async function load() {
    try {
      const f = await get('/api/v1/feeds');
      if (!st.alive) return;
      clear(listBox).append(dataTable([
        { label: 'Feed', cell: (x) => h('span', h('strong', x.name), h('span.muted', ` ${x.kind}`)) },
        { label: 'Sender (MSH-3 / MSH-4)', cell: (x) => `${x.sending_application} / ${x.sending_facility || '—'}` },
        { label: 'Addresses', cell: (x) => (x.addresses || []).join(', ') + (x.tls_fingerprint ? ' (client certificate pinned)' : '') },
        { label: 'Last message', cell: (x) => (x.last_message_at ? fmtDateTime(x.last_message_at) : h('span.muted', 'none yet')) },
        { label: 'Answered', cell: (x) => counts(x.counts) },
        { label: 'Last error', cls: 'ev', cell: (x) => (x.last_error ? h('span', { title: fmtDateTime(x.last_error_at) }, x.last_error) : '—') },
        { label: '', cell: (x) => (x.enabled
          ? confirmButton('Disable', 'Disable feed', async () => {
            try { await del(`/api/v1/feeds/${x.id}`); showStatus(status, 'ok', `${x.name} disabled.`); load(); } catch (e) { showStatus(status, 'error', `Not disabled: ${errText(e)}`); }
          }, { danger: true })
          : h('button.btn', { type: 'button', 'data-feed': x.id }, 'Enable')) },
      ], f.feeds || []));
      listBox.querySelectorAll('button[data-feed]').forEach((b) => b.addEventListener('click', async () => {
        try { await patch(`/api/v1/feeds/${b.dataset.feed}`, { enabled: true }); load(); } catch (e) { showStatus(status, 'error', `Not enabled: ${errText(e)}`); }
      }));
    } catch (e) { if (e.status !== 401) showStatus(status, 'error', `Could not load feeds: ${errText(e)}`); }
  }

  async function loadBeds() {
    try {
      const b = await get('/api/v1/bed-locations');
      if (!st.alive) return;
      clear(bedBox).append(dataTable([
        { label: 'Bed', cell: (x) => x.id },
        { label: 'HL7 location', cell: (x) => {
          const input = h('input', { type: 'text', maxlength: '64', value: x.location || '', placeholder: 'IL2U^101^1', 'aria-label': `Location of ${x.id}` });
          const save = h('button.btn', { type: 'button' }, 'Save');
          save.addEventListener('click', async () => {
            try {
              await patch(`/api/v1/beds/${encodeURIComponent(x.id)}`, { location: input.value.trim() || null });
              showStatus(bedStatus, 'ok', `${x.id}: location saved.`);
            } catch (e) { showStatus(bedStatus, 'error', `Not saved: ${errText(e)}`); }
          });
          return h('span', input, ' ', save);
        } },
      ], b.beds || []));
    } catch (e) { if (e.status !== 401) showStatus(bedStatus, 'error', `Could not load beds: ${errText(e)}`); }
  }

  function addForm() {
    const name = h('input', { type: 'text', required: true, maxlength: '64' });
    const kind = h('select', h('option', { value: 'device_gateway' }, 'Device gateway (ORU^R01, PCD-01)'), h('option', { value: 'adt' }, 'ADT (admissions)'));
    const app = h('input', { type: 'text', required: true, maxlength: '180' });
    const fac = h('input', { type: 'text', maxlength: '180' });
    const addr = h('input', { type: 'text', required: true, placeholder: '10.1.2.3, 10.1.2.4' });
    const fs = statusLine();
    const form = h('form.card.inline-form', { 'aria-labelledby': 'feed-add-h' },
      h('div.card-head', h('h2#feed-add-h', 'Register a feed')),
      h('div.obs-grid', field('feed-name', 'Name', name), field('feed-kind', 'Kind', kind),
        field('feed-app', 'Sending application (MSH-3)', app), field('feed-fac', 'Sending facility (MSH-4)', fac),
        field('feed-addr', 'Client addresses', addr, 'Comma-separated IP addresses')),
      h('div.form-actions', h('button.btn.btn-primary', { type: 'submit' }, 'Register')), fs);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await post('/api/v1/feeds', {
          name: name.value.trim(), kind: kind.value, sending_application: app.value.trim(),
          sending_facility: fac.value.trim(), addresses: addr.value.split(',').map((s) => s.trim()).filter(Boolean),
        });
        showStatus(fs, 'ok', `Feed ${name.value.trim()} registered.`);
        form.reset();
        load();
      } catch (e) { showStatus(fs, 'error', `Not registered: ${errText(e)}`); }
    });
    return form;
  }

  load();
  loadBeds();
  return { refresh: (why) => { if (why && why.reason !== 'events') load(); } };
}
