/**
 * Reading certificate uploads, their status and the choice rule (SPEC §2, §4). Host names and
 * `hosts` scoping live in hosts/.
 */
export { parseUpload, MAX_CHAIN_LENGTH, MAX_FIELD_CHARS, MAX_PASSPHRASE_CHARS } from './upload.js';
export type { ParsedCertificate, UploadInput } from './upload.js';
export type { CertificateWarning } from './metadata.js';
export { computeStatus, EXPIRING_SOON_MS, type CertificateStatus } from './status.js';
export { chooseCertificate } from './choose.js';
