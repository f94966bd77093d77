/**
 * Caller mTLS settings of an inbound name (SPEC §2 `client_auth`, a vault's `inbound_client_auth`):
 * the mode, the CA bundle callers' certificates must chain to and the CRLs of revoked ones. Checked
 * with the TLS machinery that will enforce them: the bundle and CRLs must load into a SecureContext
 * exactly as the inbound listener loads them for the name.
 */
import tls from 'node:tls';
import { VaultgateError } from '../errors.js';
import type { ClientAuthMode, ClientAuthSettings } from '../store/types.js';
import { readCaBundle } from './ca-bundle.js';
import { encodePem, readPemBlocks } from './pem.js';
import { readCertificateFields } from './x509-fields.js';

export interface ClientAuthInput {
  readonly mode: ClientAuthMode;
  readonly ca_pem?: string | undefined;
  readonly crl_pem?: string | undefined;
}

/** A CRL per CA is plenty; the cap keeps a hostile bundle from costing the listener memory. */
const MAX_CRLS = 200;

/** `field` is where the settings came in (`client_auth` or `inbound_client_auth`), for messages. */
export function checkClientAuth(input: ClientAuthInput, field: string): ClientAuthSettings {
  if (input.mode === 'off') {
    if (input.ca_pem !== undefined || input.crl_pem !== undefined) {
      throw new VaultgateError(
        'invalid_field',
        `${field}.ca_pem and ${field}.crl_pem apply when ${field}.mode is "optional" or "required"; leave them out with "off".`,
        `${field}.mode`,
      );
    }
    return { mode: 'off' };
  }
  if (input.ca_pem === undefined || input.ca_pem.trim() === '') {
    throw new VaultgateError(
      'invalid_field',
      `${field}.mode "${input.mode}" needs ${field}.ca_pem: the PEM certificates of the CA(s) that issue your callers' client certificates.`,
      `${field}.ca_pem`,
    );
  }
  const caPem = readCaBundle(input.ca_pem, {
    field: `${field}.ca_pem`,
    signs: "your callers' client certificates",
  });
  const crlPem =
    input.crl_pem === undefined || input.crl_pem.trim() === ''
      ? undefined
      : readCrls(input.crl_pem, `${field}.crl_pem`);
  try {
    // The listener's context for the name (snapshot/inbound-names.ts) is built with these options.
    tls.createSecureContext({ ca: caPem, ...(crlPem === undefined ? {} : { crl: crlPem }) });
  } catch (err) {
    throw new VaultgateError(
      'invalid_field',
      `The TLS stack cannot load ${field}.${crlPem === undefined ? 'ca_pem' : 'crl_pem'}: ${(err as Error).message}.`,
      `${field}.${crlPem === undefined ? 'ca_pem' : 'crl_pem'}`,
    );
  }
  const subjects = readPemBlocks(caPem, 'invalid_certificate', `${field}.ca_pem`).map(
    (block) => readCertificateFields(block.der).subject,
  );
  return {
    mode: input.mode,
    ca_pem: caPem,
    ...(crlPem === undefined ? {} : { crl_pem: crlPem }),
    ca_subjects: subjects,
  };
}

function readCrls(pem: string, field: string): string {
  const fail = (why: string): never => {
    throw new VaultgateError(
      'invalid_field',
      `${field} must hold only PEM CRLs ("-----BEGIN X509 CRL-----" blocks), one for each CA in ca_pem whose callers you accept: ${why}.`,
      field,
    );
  };
  let blocks;
  try {
    blocks = readPemBlocks(pem, 'invalid_certificate', field);
  } catch (err) {
    return fail(err instanceof VaultgateError ? err.message.replace(/\.$/, '') : 'it is not PEM');
  }
  if (blocks.length === 0) return fail('it holds no PEM block');
  if (blocks.length > MAX_CRLS)
    return fail(`it holds ${blocks.length} blocks, above the ${MAX_CRLS} accepted`);
  return blocks
    .map((block, i) =>
      block.label === 'X509 CRL'
        ? encodePem('X509 CRL', block.der)
        : fail(`block ${i + 1} is a "${block.label}", not a CRL`),
    )
    .join('');
}

/** The settings as answers show them: the mode and whom it trusts, never the PEM itself. */
export function presentClientAuth(settings: ClientAuthSettings | null): {
  mode: ClientAuthMode;
  ca_subjects: string[];
  crl: boolean;
} {
  return {
    mode: settings?.mode ?? 'off',
    ca_subjects: settings?.ca_subjects ?? [],
    crl: settings?.crl_pem !== undefined,
  };
}
