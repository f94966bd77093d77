/** The `client_auth` / `inbound_client_auth` body and answer shapes, shared by hostnames and vaults. */
import type { ClientAuthInput } from '../certificates/client-auth.js';
import { MAX_FIELD_CHARS } from '../certificates/upload.js';
import type { ClientAuthSettings } from '../store/types.js';
import type { ApiContext } from './context.js';

export const clientAuthBody = {
  type: 'object',
  additionalProperties: false,
  required: ['mode'],
  properties: {
    mode: { type: 'string', enum: ['off', 'optional', 'required'] },
    ca_pem: {
      type: 'string',
      maxLength: MAX_FIELD_CHARS,
      description: "PEM bundle of the CA(s) that issue callers' certificates; needed unless mode is off",
    },
    crl_pem: { type: 'string', maxLength: MAX_FIELD_CHARS, description: 'PEM CRLs of revoked callers' },
  },
} as const;

export const clientAuthSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['mode', 'ca_subjects', 'crl'],
  properties: {
    mode: { type: 'string', enum: ['off', 'optional', 'required'] },
    ca_subjects: {
      type: 'array',
      items: { type: 'string' },
      description: 'The subjects of the CA certificates (the bundle itself is not returned)',
    },
    crl: { type: 'boolean', description: 'Whether a CRL is checked' },
  },
} as const;

/** The codes a client_auth setting can be refused with (ca-bundle.ts, client-auth.ts). */
export const CLIENT_AUTH_ERRORS = ['invalid_certificate'] as const;

/** Caller mTLS settings checked in an offload thread (a CA bundle and CRLs are user-sized input). */
export async function readClientAuth(
  ctx: ApiContext,
  input: ClientAuthInput | undefined,
  field: string,
): Promise<ClientAuthSettings | undefined> {
  if (input === undefined) return undefined;
  return ctx.offload.run('checkClientAuth', { settings: input, field });
}
