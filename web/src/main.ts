// The dashboard's entry point: find out whether a session exists and whose it is, then show sign-in
// or the app.

import { api, setCsrfToken, whenSessionLost } from './api.js';
import { setSignedIn } from './roles.js';
import { renderSignIn } from './signin.js';
import { startShell } from './shell.js';
import type { Session } from './types.js';

const root = document.getElementById('app') as HTMLElement;
let inShell = false;

function signIn(notice?: { title: string; reason?: string }): void {
  inShell = false;
  setCsrfToken(null);
  setSignedIn(null);
  // A dialog left open (a form, a token just created) would otherwise stay over the sign-in screen.
  for (const dialog of document.querySelectorAll('dialog')) dialog.close();
  renderSignIn(root, enter, notice);
}

/** Reads the session (the CSRF token, and the token's name and role), then opens the app. */
function enter(): Promise<void> {
  // The cookie is HttpOnly, so the only way to know whether we are signed in is to ask.
  return api<Session>('GET', '/session').then((session) => {
    if (!session.csrf_token) {
      signIn();
      return;
    }
    setCsrfToken(session.csrf_token);
    setSignedIn(session.token);
    inShell = true;
    startShell(root, session.token, () => signIn());
  });
}

// Several calls of one screen may answer 401 together; the first one signs out.
whenSessionLost((reason) => {
  if (!inShell) return;
  signIn({ title: 'Your session has ended; sign in again.', reason });
});

enter().catch(() => signIn());
