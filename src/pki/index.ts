export { createCa, issueListenerCertificate, MAX_LISTENER_DAYS } from './ca.js';
export type { CreateCaOptions, ListenerCertificate, ListenerCertificateOptions, PemKeyPair } from './ca.js';
export { privateKeyFromPem } from './crypto.js';
export { LeafMinter } from './leaf-minter.js';
export type { LeafMinterOptions, LeafMinterStats, MintedLeaf } from './leaf-minter.js';
