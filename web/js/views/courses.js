// courses: the patient page's course card: which course and cycle the
// patient is in ("C2 of course 2"), why a new course is not scheduled
// (the server's schedule.reason: under 7 weeks since the last discharge,
// no response evaluation, progressive disease, or a permanent discontinue
// in an earlier course), the person's courses across admissions and their
// response evaluations (RECIST CR/PR/SD/PD), and, for a physician, a form
// to record one (POST /api/v1/patients/{id}/responses).
// Hooked into views/patient.js: mountCourses(parent, ctx, id) appends the
// card; update(tox) after each toxicity load; reload() after live events.

import { get, post } from '../api.js';
import { h, clear, setText, statusLine, showStatus } from '../dom.js';
import { fmtDateTime } from '../format.js';
import { dataTable } from '../components.js';

const CATEGORIES = [
  ['CR', 'CR: complete response'], ['PR', 'PR: partial response'],
  ['SD', 'SD: stable disease'], ['PD', 'PD: progressive disease'],
];

// "C2 of course 2" from the toxicity view's schedule.
export function courseCycleText(s) {
  if (!s || typeof s !== 'object') return null;
  const course = s.course || 1;
  if (s.status === 'not_scheduled') return `Course ${course}: not scheduled`;
  return s.cycle ? `C${s.cycle} of course ${course}` : `Course ${course}, before the first dose`;
}

export function mountCourses(parent, ctx, id) {
  const head = h('p.course-now');
  const gate = h('p.course-gate', { role: 'note' });
  const list = h('div.course-list');
  const form = ctx.can('physician') ? buildForm() : null;
  const card = h('section.card.courses', { 'aria-labelledby': 'course-h' },
    h('div.card-head', h('h2#course-h', 'Courses and response')), head, gate, list,
    form ? form.el : null);
  parent.append(card);
  gate.hidden = true;
  let courses = [];

  function update(tox) {
    const s = tox && tox.schedule;
    setText(head, courseCycleText(s) || 'Course not evaluated');
    gate.hidden = !(s && s.status === 'not_scheduled');
    setText(gate, s && s.status === 'not_scheduled' ? `Not scheduled: ${s.reason || ''}` : '');
  }

  function render(data) {
    courses = data.courses || [];
    clear(list);
    list.append(dataTable([
      { label: 'Course', cell: (c) => String(c.course) },
      { label: 'Admitted', cell: (c) => fmtDateTime(c.admitted_at) },
      { label: 'Discharged', cell: (c) => (c.discharged_at ? fmtDateTime(c.discharged_at) : 'in hospital') },
    ], courses, { caption: 'Admissions and their courses' }));
    const rs = data.responses || [];
    list.append(rs.length ? dataTable([
      { label: 'Course', cell: (r) => String(r.course) },
      { label: 'Response', cell: (r) => r.category },
      { label: 'Date', cell: (r) => r.date },
      { label: 'Note', cell: (r) => r.note || '' },
      { label: 'By', cell: (r) => r.recorded_by },
    ], rs, { caption: 'Response evaluations' }) : h('p.muted', 'No response evaluation recorded.'));
    if (form) form.sync(courses);
  }

  async function reload() {
    try { render(await get(`/api/v1/patients/${id}/responses`)); } catch (e) { /* shown on the next refresh */ }
  }

  function buildForm() {
    const course = h('select', { name: 'course', 'aria-label': 'Course' });
    const cat = h('select', { name: 'category', 'aria-label': 'Response' },
      CATEGORIES.map(([v, l]) => h('option', { value: v }, l)));
    const date = h('input', { type: 'date', name: 'date', required: true, 'aria-label': 'Date of the evaluation' });
    const note = h('input', { type: 'text', name: 'note', maxlength: 1000, placeholder: 'Note (scan, measurements)', 'aria-label': 'Note' });
    const status = statusLine();
    const el = h('form.course-form', { onsubmit: async (ev) => {
      ev.preventDefault();
      const body = { course: Number(course.value), category: cat.value, date: date.value };
      if (note.value.trim()) body.note = note.value.trim();
      try {
        await post(`/api/v1/patients/${id}/responses`, body);
        showStatus(status, 'ok', `Response ${body.category} recorded for course ${body.course}.`);
        note.value = '';
        await reload();
      } catch (e) {
        showStatus(status, 'error', e.message || 'The response was not recorded.');
      }
    } }, h('fieldset', h('legend', 'Record a response evaluation'), course, cat, date, note,
      h('button.btn.btn-primary', { type: 'submit' }, 'Record')), status);
    return {
      el,
      sync(cs) {
        const keep = course.value;
        clear(course);
        for (const c of cs) course.append(h('option', { value: String(c.course) }, `Course ${c.course}`));
        if (keep) course.value = keep;
      },
    };
  }

  reload();
  return { update, reload };
}
