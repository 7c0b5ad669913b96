// Login (#/login): POST /api/v1/session; the server sets the HttpOnly
// session cookie that every later same-origin request carries.

import { post } from '../api.js';
import { h, statusLine, showStatus } from '../dom.js';

export function mount(root, ctx, params) {
  const user = h('input#login-user', { type: 'text', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input#login-pass', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.btn.btn-primary.btn-wide', { type: 'submit' }, 'Sign in');
  const status = statusLine();
  const form = h('form.login-form', { 'aria-labelledby': 'login-title', novalidate: true },
    h('h1#login-title', { tabindex: '-1' }, 'wardd'),
    h('p.login-sub', 'IL-2 ward telemetry — sign in'),
    h('div.field', h('label', { for: 'login-user' }, 'Username'), user),
    h('div.field', h('label', { for: 'login-pass' }, 'Password'), pass),
    submit, status);
  root.append(h('div.login-view', form));
  if (params.query.reason === 'expired') showStatus(status, 'info', 'Your session has ended. Please sign in again.');
  if (params.query.reason === 'logout') showStatus(status, 'ok', 'Signed out.');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!user.value.trim() || !pass.value) {
      showStatus(status, 'error', 'Enter your username and password.');
      (user.value.trim() ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    showStatus(status, 'busy', 'Signing in…');
    try {
      const r = await post('/api/v1/session', { username: user.value.trim(), password: pass.value });
      pass.value = '';
      ctx.signedIn(r.user, params.query.next);
    } catch (e) {
      submit.disabled = false;
      showStatus(status, 'error', e.status === 401 ? 'Wrong username or password.'
        : e.status === 429 ? 'Too many attempts. Wait a minute and try again.'
        : `Could not sign in: ${e.describe ? e.describe() : e.message}`);
      pass.select();
    }
  });
  setTimeout(() => user.focus(), 0);
  return { title: 'Sign in' };
}
