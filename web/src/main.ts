// The dashboard's entry point: find out whether a session exists, then show sign-in or the app.

import { api, setCsrfToken, whenSessionLost } from './api.js';
import { renderSignIn } from './signin.js';
import { startShell } from './shell.js';

const root = document.getElementById('app') as HTMLElement;

function signIn(notice?: string): void {
  setCsrfToken(null);
  renderSignIn(root, () => startShell(root, () => signIn()), notice);
}

whenSessionLost(() => signIn('Your session has ended; sign in again.'));

// The cookie is HttpOnly, so the only way to know whether we are signed in is to ask.
api<{ csrf_token: string | null }>('GET', '/session').then(
  (session) => {
    if (!session.csrf_token) {
      signIn();
      return;
    }
    setCsrfToken(session.csrf_token);
    startShell(root, () => signIn());
  },
  () => signIn(),
);
