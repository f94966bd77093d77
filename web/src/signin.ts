// Sign-in: a token (an API token, or the admin token printed at first start) is exchanged for an
// HttpOnly session cookie that carries the token's role. The token lives only in the input field for
// the duration of the request; it is never stored or logged.

import { ApiError, api, setCsrfToken } from './api.js';
import { clear, errorBox, field, h } from './dom.js';

export interface SignInNotice {
  title: string;
  /** The API's words for why the session ended (the token was deleted, or expired). */
  reason?: string;
}

export function renderSignIn(
  root: HTMLElement,
  onSignedIn: () => Promise<void>,
  notice?: SignInNotice,
): void {
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const tokenField = field(
    'API token or admin token',
    token,
    'An API token an admin created for you, or the admin token printed when vaultgate first started (kept in <data dir>/admin-token).',
  );
  const status = h(
    'div',
    { 'aria-live': 'polite' },
    notice
      ? h(
          'div',
          { class: 'alert', role: 'status' },
          h('p', {}, h('strong', {}, notice.title)),
          notice.reason ? h('p', { class: 'muted' }, notice.reason) : null,
        )
      : null,
  );
  const submit = h('button', { type: 'submit', class: 'btn btn--primary btn--block' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin card', novalidate: true },
    h('h1', { class: 'signin__brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'vaultgate'),
    h('p', { class: 'muted' }, 'Sign in to manage vaults, mutual TLS certificates, credentials and routes.'),
    status,
    tokenField.wrap,
    submit,
  );
  const failed = (err: unknown): void => {
    submit.disabled = false;
    submit.textContent = 'Sign in';
    const message =
      err instanceof ApiError && err.status === 401
        ? err.message
        : err instanceof Error
          ? err.message
          : 'Sign-in failed.';
    clear(status, errorBox(message));
    token.select();
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (token.value.trim() === '') {
      clear(status, errorBox('Enter your token.'));
      token.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    api<{ csrf_token: string }>('POST', '/session', { token: token.value.trim() }).then((session) => {
      token.value = '';
      setCsrfToken(session.csrf_token);
      return onSignedIn().catch(failed);
    }, failed);
  });
  clear(root, h('div', { class: 'signin-page' }, form));
  document.title = 'Sign in · vaultgate';
  token.focus();
}
