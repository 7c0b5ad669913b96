// Helpers the administration sections share.

import { h } from '../../dom.js';

export const errText = (e) => (e && e.describe ? e.describe() : String(e && e.message));

export function field(id, label, input, hint) {
  input.id = id;
  return h('div.field', h('label', { for: id }, label), input, hint ? h('p.hint', hint) : null);
}
