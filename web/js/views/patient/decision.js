// Patient view: the "Next dose" banner — the recommendation with every
// reason (rule, source, evidence, when it resumes), the rules that could
// not be evaluated, and the NEWS2 and KDIGO scores beside it.

import { h, clear, setPrefixedClass, icon } from '../../dom.js';
import { decisionInfo, normDecision, fmtTime, codeLabel } from '../../format.js';
import { decisionBadge, evidenceText } from '../../components.js';
import { human, loadErrorText } from './common.js';

function reasonItem(r) {
  return h('li.reason-item',
    h('p.reason-text', r.class ? h(`span.tag.tag-${r.class}`, r.class) : null, ' ', r.text || r.rule),
    h('p.reason-meta', [
      r.action ? `asks: ${human(r.action)}` : null,
      r.rule ? `rule ${r.rule}` : null,
      r.since ? `since ${fmtTime(r.since)}` : null,
    ].filter(Boolean).join(' · ')),
    r.source ? h('p.reason-src.clamp2', { title: r.source }, `Source: ${r.source}`) : null,
    Array.isArray(r.evidence) && r.evidence.length ? h('p.reason-ev', `Evidence: ${evidenceText(r.evidence)}`) : null,
    r.resume ? h('p.reason-resume', `Resumes when: ${r.resume}`) : null);
}

// What the decision could not look at: required values without a recent
// reading, and rules whose data is missing.
function missingNotes(decision) {
  const missing = Array.isArray(decision && decision.missing) ? decision.missing : [];
  const ne = Array.isArray(decision && decision.not_evaluated) ? decision.not_evaluated : [];
  const out = [];
  if (missing.length) out.push(h('p.reason-missing', icon('question'), h('span', `No recent value for: ${missing.map(codeLabel).join(', ')} (needed within 4 h).`)));
  if (ne.length) {
    out.push(h('details.not-eval', { dataset: { keep: 'not-eval' } }, h('summary', `${ne.length} rule${ne.length === 1 ? '' : 's'} not evaluated (data missing)`),
      h('ul', ne.map((n) => h('li', `${n.rule}: missing ${(n.missing || []).join(', ') || '—'}`)))));
  }
  return out;
}

function scoreLines(t) {
  const side = [];
  if (t.news2) {
    const n = t.news2;
    side.push(h('p.score', h('span.score-k', 'NEWS2'), h('span.score-v', n.score !== null && n.score !== undefined ? String(n.score) : `≥${n.partial_score ?? '?'}`),
      h('span.score-w', n.risk ? `${n.risk} risk` : ''), n.complete === false ? h('span.muted', ' (incomplete)') : null));
  }
  if (t.kdigo) {
    side.push(h('p.score', h('span.score-k', 'KDIGO'), h('span.score-v', t.kdigo.stage !== null && t.kdigo.stage !== undefined ? `stage ${t.kdigo.stage}` : '—'),
      h('span.score-w', (t.kdigo.basis || []).join(', '))));
  }
  return side;
}

function notEvaluatedText(st) {
  if (st.toxState === 'loading') return 'Loading…';
  if (st.toxState === 'error') return `${loadErrorText('The dose decision', st.toxError)} Decide from the values and charts below.`;
  return 'The dose decision is not evaluated: this server does not provide toxicity grading yet. Decide from the values and charts below.';
}

// st: the view's state (tox, toxState, toxError).
export function createDecisionBanner(st) {
  const el = h('section.decision-banner', { 'aria-labelledby': 'dec-h' });

  function render() {
    clear(el);
    el.append(h('div.banner-head', h('h2#dec-h', 'Next dose')));
    if (st.toxState !== 'ok') {
      setPrefixedClass(el, 'sev-', 'sev-na');
      el.append(h('div.banner-body', decisionBadge(null, { big: true }), h('p.muted', notEvaluatedText(st))));
      return;
    }
    const t = st.tox;
    const d = normDecision(t.decision);
    const di = decisionInfo(d.action);
    setPrefixedClass(el, 'sev-', `sev-${di.cls.slice(4)}`);
    const reasons = h('ol.reasons', d.reasons.map(reasonItem));
    const side = scoreLines(t);
    el.append(h('div.banner-body',
      decisionBadge(d.action, { big: true }),
      h('div.banner-reasons',
        d.reasons.length ? reasons : h('p.muted', d.action === 'give' ? 'No rule asks to hold or stop the next dose.' : 'No reasons given.'),
        missingNotes(t.decision)),
      side.length ? h('div.banner-scores', side) : null),
      h('p.banner-foot', `Recommendation only; a clinician decides. Rule set ${t.ruleset ? `${t.ruleset.name} v${t.ruleset.version}` : '—'}, evaluated ${fmtTime(t.at)}.`,
        ' ', h('a', { href: '#/admin/rules' }, 'View rules')));
  }

  return { el, render };
}
