// What the signed-in token's role may do in the dashboard (SPEC §2 "API tokens and roles"). Controls
// a role may not use are left out of the page, not shown and then refused: this module is the only
// place that decides, and every page asks it through `can` or `writable`.

import type { Role, SessionToken } from './types.js';

/** Everything a page offers beyond reading, plus the pages only some roles see. */
export type Action =
  | 'vault.write'
  | 'client_auth.write'
  | 'certificate.write'
  | 'certificate_request.write'
  | 'credential.write'
  | 'route.write'
  | 'hostname.write'
  | 'webhook.write'
  | 'token.write'
  | 'audit.page'
  | 'tokens.page';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * The least role each action needs. The API enforces the same table (a call above the role is
 * `403 forbidden`); the dashboard mirrors it so nobody is offered a button that can only fail.
 * The audit log is readable by viewers through the API, but the page is for the people who change
 * things (issue 17); the token list likewise is an admin's page.
 */
const LEAST: Record<Action, Role> = {
  'vault.write': 'admin',
  'client_auth.write': 'operator',
  'certificate.write': 'operator',
  'certificate_request.write': 'operator',
  'credential.write': 'operator',
  'route.write': 'operator',
  'hostname.write': 'operator',
  'webhook.write': 'admin',
  'token.write': 'admin',
  'audit.page': 'operator',
  'tokens.page': 'admin',
};

const ROLE_TEXT: Record<Role, string> = { admin: 'Admin', operator: 'Operator', viewer: 'Viewer' };

/** A role as the header, the token list and the token dialog show it: a badge. */
export function roleBadge(role: Role): HTMLElement {
  const badge = document.createElement('span');
  badge.className = `badge badge--${role}`;
  badge.textContent = ROLE_TEXT[role] ?? role;
  return badge;
}

export function can(role: Role, action: Action): boolean {
  return RANK[role] >= RANK[LEAST[action]];
}

// Until the shell knows whose session this is, nothing beyond reading is offered.
let signedIn: SessionToken | null = null;

/** Set by the shell from GET /session; null at sign-out. */
export function setSignedIn(token: SessionToken | null): void {
  signedIn = token;
}

export function signedInToken(): SessionToken | null {
  return signedIn;
}

/** Whether the signed-in session may do `action`. */
export function allowed(action: Action): boolean {
  return signedIn !== null && can(signedIn.role, action);
}

/**
 * The control when the session may use it, marked `data-write="<action>"` (the Chromium role test
 * finds every write control by that mark); otherwise null, which `h` and `clear` leave out, so the
 * control never reaches the page.
 */
export function writable<T extends HTMLElement>(action: Action, control: T): T | null {
  if (!allowed(action)) return null;
  control.dataset['write'] = action;
  return control;
}
