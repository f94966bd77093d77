/**
 * A route's `upstream_tls.ca_pem`: one or more PEM certificates of the CA(s) that sign the upstream's
 * server certificate. Read with the linear PEM scanner (pem.ts): the lazy `[\s\S]+?` it replaces
 * rescanned the rest of the text from every BEGIN marker, so thousands of markers cost seconds.
 */
import { X509Certificate } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { CERTIFICATE_LABELS, encodePem, readPemBlocks } from './pem.js';

/** Mozilla's whole root store is about 150 certificates; a route trusts a handful. */
export const MAX_CA_CERTIFICATES = 200;

/** The field a bundle came in and what its CAs sign, for the messages. */
export interface CaBundleField {
  readonly field: string;
  readonly signs: string;
}

const UPSTREAM_CA: CaBundleField = {
  field: 'upstream_tls.ca_pem',
  signs: "the upstream's server certificate",
};

/**
 * The bundle normalised (64-column PEM, LF), or invalid_field naming what is wrong. Used for a
 * route's `upstream_tls.ca_pem` and for the CAs of callers' certificates (`client_auth.ca_pem`).
 */
export function readCaBundle(pem: string, where: CaBundleField = UPSTREAM_CA): string {
  const FIELD = where.field;
  const fail = (why: string): never => {
    throw new VaultgateError(
      'invalid_field',
      `${FIELD} must hold only PEM certificates ("-----BEGIN CERTIFICATE-----" blocks) of the CA that signed ${where.signs}: ${why}.`,
      FIELD,
    );
  };
  let blocks;
  try {
    blocks = readPemBlocks(pem, 'invalid_certificate', FIELD);
  } catch (err) {
    return fail(err instanceof VaultgateError ? err.message.replace(/\.$/, '') : 'it is not PEM');
  }
  if (blocks.length === 0) return fail('it holds no PEM block');
  if (blocks.length > MAX_CA_CERTIFICATES) {
    return fail(`it holds ${blocks.length} blocks, above the ${MAX_CA_CERTIFICATES} accepted`);
  }
  const out: string[] = [];
  for (const [i, block] of blocks.entries()) {
    if (!CERTIFICATE_LABELS.has(block.label)) fail(`block ${i + 1} is a "${block.label}", not a certificate`);
    try {
      new X509Certificate(block.der);
    } catch {
      fail(`block ${i + 1} is not a readable X.509 certificate`);
    }
    out.push(encodePem('CERTIFICATE', block.der));
  }
  return out.join('');
}
