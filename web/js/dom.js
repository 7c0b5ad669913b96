// dom: the small helpers every view uses to build DOM without innerHTML
// (no markup is ever built from API data, so a patient named "<b>" is just
// text) and without inline handlers (the page works under a strict CSP).

// h('a#id.tile.big', {href: '#/x', onclick: fn}, 'text', child, [more])
// Attribute keys: class, text, dataset, on<event>, aria-*/role/etc.,
// and properties (value, checked, disabled, hidden) set as properties.
const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open',
  'required', 'readOnly', 'tabIndex', 'htmlFor']);

export function h(tag, attrs, ...children) {
  const [head, ...classes] = tag.split('.');
  const [name, id] = head.split('#');
  const el = document.createElement(name || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Sets text only when it changed (no needless reflow, no flicker).
export function setText(el, text) {
  const t = text === null || text === undefined ? '' : String(text);
  if (el.textContent !== t) el.textContent = t;
}

export function setClass(el, cls, on) {
  if (el.classList.contains(cls) !== !!on) el.classList.toggle(cls, !!on);
}

// Replaces every class starting with `prefix` by `cls`.
export function setPrefixedClass(el, prefix, cls) {
  for (const c of [...el.classList]) if (c.startsWith(prefix) && c !== cls) el.classList.remove(c);
  if (cls && !el.classList.contains(cls)) el.classList.add(cls);
}

// Line icons (24x24, stroked with currentColor). Always decorative: the
// text beside an icon says what it means.
const ICONS = {
  check: 'M4.5 12.5l5 5L19.5 7',
  pause: 'M8.5 5v14M15.5 5v14',
  stop: 'M7.9 2.5h8.2l5.4 5.4v8.2l-5.4 5.4H7.9l-5.4-5.4V7.9z M8.5 8.5l7 7M15.5 8.5l-7 7',
  question: 'M12 21.5a9.5 9.5 0 1 0 0-19 9.5 9.5 0 0 0 0 19z M9.2 9.3a2.9 2.9 0 0 1 5.6 1c0 2-2.8 2.4-2.8 4.2 M12 17.6v.2',
  dash: 'M12 21.5a9.5 9.5 0 1 0 0-19 9.5 9.5 0 0 0 0 19z M7.5 12h9',
  bell: 'M18 9a6 6 0 0 0-12 0c0 6.5-2.5 8.5-2.5 8.5h17S18 15.5 18 9z M10 20.5a2.2 2.2 0 0 0 4 0',
  pulse: 'M2 12h4.5l2.5-7 5 14 2.5-7H22',
  clock: 'M12 21.5a9.5 9.5 0 1 0 0-19 9.5 9.5 0 0 0 0 19z M12 7v5.2l3.4 2',
  warn: 'M10.3 3.9L1.9 18.2A2 2 0 0 0 3.6 21h16.8a2 2 0 0 0 1.7-2.8L13.7 3.9a2 2 0 0 0-3.4 0z M12 9v4.5 M12 17.2v.2',
  info: 'M12 21.5a9.5 9.5 0 1 0 0-19 9.5 9.5 0 0 0 0 19z M12 11v6 M12 7.3v.2',
  live: 'M12 16a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M5 5a10 10 0 0 0 0 14 M19 5a10 10 0 0 1 0 14',
  sync: 'M20 11a8 8 0 0 0-14.6-4.5L3.5 9 M3.5 4v5h5 M4 13a8 8 0 0 0 14.6 4.5l1.9-2.5 M20.5 20v-5h-5',
  off: 'M12 21.5a9.5 9.5 0 1 0 0-19 9.5 9.5 0 0 0 0 19z M5.3 5.3l13.4 13.4',
  arrowLeft: 'M19 12H5 M11 6l-6 6 6 6',
  drop: 'M12 2.5s6.5 7.3 6.5 12a6.5 6.5 0 0 1-13 0c0-4.7 6.5-12 6.5-12z',
  bed: 'M3 18V6 M3 14h18v4 M21 14v-2.5a3 3 0 0 0-3-3h-7v5.5 M7 11.5a1.8 1.8 0 1 0 0-.1',
  // Two stacked server units: technical alerts (wardd itself, not a patient).
  server: 'M4 3.5h16a1 1 0 0 1 1 1v5a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-5a1 1 0 0 1 1-1z M4 13.5h16a1 1 0 0 1 1 1v5a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-5a1 1 0 0 1 1-1z M7 7h.01 M7 17h.01 M11 7h6 M11 17h6',
};

const SVGNS = 'http://www.w3.org/2000/svg';
export function icon(name, cls = '') {
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon ${cls}`.trim());
  const p = document.createElementNS(SVGNS, 'path');
  p.setAttribute('d', ICONS[name] || ICONS.dash);
  svg.appendChild(p);
  return svg;
}

// Replaces the icon inside `el` when its name changed.
export function setIcon(el, name) {
  if (el.dataset.icon === name) return;
  el.dataset.icon = name;
  clear(el).appendChild(icon(name));
}

// A live status line for forms: role=status, text changes are announced.
export function statusLine(cls = '') {
  return h(`p.form-status${cls ? '.' + cls : ''}`, { role: 'status', 'aria-live': 'polite' });
}

export function showStatus(el, kind, text) {
  el.className = `form-status ${kind ? 'is-' + kind : ''}`.trim();
  clear(el);
  if (text) {
    el.append(icon(kind === 'error' ? 'warn' : kind === 'ok' ? 'check' : 'info'), h('span', text));
  }
}
