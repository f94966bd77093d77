import { VaultgateError } from '../errors.js';
import type { ApiTokenRole } from '../store/types.js';

export type Role = ApiTokenRole;

/** Each role may do everything the roles before it may (SPEC §2 "API tokens and roles"). */
const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** Who is calling: the token, and whether it came as a bearer token or through a dashboard session. */
export interface Caller {
  readonly tokenId: string;
  readonly tokenName: string;
  readonly role: Role;
  readonly via: 'bearer' | 'session';
}

/** The audit trail's name for a caller (SPEC §2): "token:<name>" or "dashboard:<name>". */
export function actorOf(caller: Caller): string {
  return `${caller.via === 'session' ? 'dashboard' : 'token'}:${caller.tokenName}`;
}

export function allows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** 403 forbidden, naming the role the call needs and the one the token has. */
export function forbidden(caller: Caller, needed: Role, what = 'This call'): VaultgateError {
  return new VaultgateError(
    'forbidden',
    `${what} needs the ${needed} role; the token "${caller.tokenName}" is ${caller.role === 'viewer' ? 'a' : 'an'} ${caller.role} token. Ask an admin for a token with that role.`,
  );
}
