// Patient view: the toxicity card — every CTCAE term of the rule set with
// its grade now, the highest grade this cycle, evidence and source; terms
// at grade 0 or not gradable fold away under "more".

import { h, clear, setText } from '../../dom.js';
import { fmtTime } from '../../format.js';
import { gradeBadge, evidenceText, dataTable, pendingNote } from '../../components.js';
import { human, loadErrorNote } from './common.js';

const COLUMNS = [
  { label: 'Term', cell: (x) => x.label || human(x.term) },
  { label: 'Grade', cell: (x) => h('span', gradeBadge(x.grade, { small: true }),
    x.grade === null && Array.isArray(x.missing) && x.missing.length ? h('span.sub', `needs ${x.missing.join(', ')}`) : null,
    Number.isInteger(x.clinician_grade) ? h('span.sub', `clinician ${x.clinician_grade}`) : null,
    x.suggested && x.suggested.grade ? h('span.sub.proxy', `suggested ${x.suggested.grade} (proxy, not used)`) : null) },
  { label: 'Since', cell: (x) => (x.since ? fmtTime(x.since) : '—') },
  { label: 'Max this cycle', cell: (x) => gradeBadge(x.max_grade, { small: true }) },
  { label: 'Evidence', cell: (x) => evidenceText(x.evidence), cls: 'ev' },
  { label: 'Source', cell: (x) => h('span.clamp', { title: x.source || '' }, x.source || '—'), cls: 'src' },
];

// Highest grade now first, then highest grade this cycle, then by label.
function sortTerms(list) {
  const score = (x) => (Number.isInteger(x.grade) ? x.grade * 10 : -10) + (Number.isInteger(x.max_grade) ? x.max_grade : 0);
  return [...list].sort((a, b) => score(b) - score(a) || String(a.label).localeCompare(String(b.label)));
}

// st: the view's state (tox, toxState, toxError).
export function createToxCard(st) {
  const body = h('div.tox-body');
  const meta = h('p.card-meta');
  const el = h('section.card.tox', { 'aria-labelledby': 'tox-h' }, h('div.card-head', h('h2#tox-h', 'Toxicity (CTCAE v5.0)'), meta), body);

  function render() {
    clear(body);
    if (st.toxState !== 'ok') {
      setText(meta, '');
      if (st.toxState === 'loading') body.append(h('p.muted', 'Loading…'));
      else if (st.toxState === 'error') body.append(loadErrorNote('Toxicity grades', st.toxError));
      else body.append(pendingNote('Toxicity grades'));
      return;
    }
    const terms = sortTerms(Array.isArray(st.tox.terms) ? st.tox.terms : []);
    const shown = terms.filter((x) => (x.grade || 0) > 0 || (x.max_grade || 0) > 0 || (x.suggested && x.suggested.grade > 0));
    const rest = terms.filter((x) => !shown.includes(x));
    setText(meta, `${shown.length} term${shown.length === 1 ? '' : 's'} graded above 0 this cycle · ${terms.length} in the rule set`);
    body.append(shown.length ? dataTable(COLUMNS, shown, { cls: 'tox-table' }) : h('p.muted', 'No term above grade 0 this cycle.'));
    if (rest.length) {
      body.append(h('details.more', { dataset: { keep: 'tox-more' } }, h('summary', `${rest.length} more terms at grade 0 or not gradable`),
        dataTable(COLUMNS, rest, { cls: 'tox-table' })));
    }
  }

  return { el, render };
}
