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
    ca_pem: { type: 'string', maxLength: MAX_FIELD_CHARS },
    crl_pem: { type: 'string', maxLength: MAX_FIELD_CHARS },
  },
};

export const clientAuthSchema = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['off', 'optional', 'required'] },
    ca_subjects: { type: 'array', items: { type: 'string' } },
    crl: { type: 'boolean', description: 'Whether a CRL is checked' },
  },
};

/** Caller mTLS settings checked in an offload thread (a CA bundle and CRLs are user-sized input). */
export async function readClientAuth(
  ctx: ApiContext,
  input: ClientAuthInput | undefined,
  field: string,
): Promise<ClientAuthSettings | undefined> {
  if (input === undefined) return undefined;
  return ctx.offload.run('checkClientAuth', { settings: input, field });
}
