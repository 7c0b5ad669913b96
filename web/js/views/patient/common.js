// Helpers the patient view's sections share.

import { h, icon } from '../../dom.js';
import { toLocalInput } from '../../format.js';

export const human = (s) => String(s || '').replace(/_/g, ' ');

// A time field showing "now"; until someone edits it, the form uses the
// moment it is saved (the field only has minutes).
export function setNow(input) {
  input.value = toLocalInput();
  input.dataset.auto = '1';
}

// The dose log as a list, whichever shape the response had.
export function doseList(doses) {
  if (Array.isArray(doses)) return doses;
  if (doses && Array.isArray(doses.doses)) return doses.doses;
  return [];
}

// The text of a section whose data could not be fetched (st.<x>State is
// 'error'): a transient failure, retried on the next refresh.
export function loadErrorText(what, err) {
  const why = err ? (err.describe ? err.describe() : err.message) : 'unknown error';
  return `${what} could not be loaded (${why}); retrying on the next update.`;
}

export function loadErrorNote(what, err) {
  return h('p.pending.load-error', { role: 'status' }, icon('warn'), h('span', loadErrorText(what, err)));
}
