// Sign-in: the admin token is exchanged for an HttpOnly session cookie. The token lives only in the
// input field for the duration of the request; it is never stored or logged.

import { ApiError, api, setCsrfToken } from './api.js';
import { clear, errorBox, field, h } from './dom.js';

export function renderSignIn(root: HTMLElement, onSignedIn: () => void, notice?: string): void {
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const tokenField = field(
    'Admin token',
    token,
    'Printed when vaultgate first started, and kept in <data dir>/admin-token.',
  );
  const status = h('div', { 'aria-live': 'polite' }, notice ? h('p', { class: 'alert' }, notice) : null);
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
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (token.value.trim() === '') {
      clear(status, errorBox('Enter the admin token.'));
      token.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    api<{ csrf_token: string }>('POST', '/session', { token: token.value.trim() }).then(
      (session) => {
        token.value = '';
        setCsrfToken(session.csrf_token);
        onSignedIn();
      },
      (err: unknown) => {
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
      },
    );
  });
  clear(root, h('div', { class: 'signin-page' }, form));
  document.title = 'Sign in · vaultgate';
  token.focus();
}
