import { hkdfSync } from 'node:crypto';

/**
 * The inbound listener's session-ticket keys (48 bytes: name, HMAC and AES keys), the same in every
 * data-plane worker of one run so that a session resumes on whichever worker accepts the connection.
 * Derived from the server secret and the listener certificate, which is reissued at every start:
 * the keys change with each restart and are never stored or sent anywhere.
 */
export function sessionTicketKeys(serverSecret: Uint8Array, listenerCertPem: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', serverSecret, listenerCertPem, 'vaultgate inbound session tickets', 48),
  );
}
