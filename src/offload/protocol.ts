/** The messages between OffloadPool and worker.ts, and the jobs' types (without their code). */
import type { ClientAuthInput } from '../certificates/client-auth.js';
import type { ParsedCertificate, UploadInput } from '../certificates/upload.js';
import type { ClientAuthSettings } from '../store/types.js';

export interface Jobs {
  parseUpload: { input: UploadInput; output: ParsedCertificate };
  /** Throws invalid_field (field host_endpoint) when the regex cannot be a host_endpoint. */
  checkHostEndpoint: { input: string; output: null };
  /** Returns the normalised bundle; throws invalid_field (field upstream_tls.ca_pem). */
  checkCaPem: { input: string; output: string };
  /** Caller mTLS settings checked and normalised; throws invalid_field under `field`. */
  checkClientAuth: { input: { settings: ClientAuthInput; field: string }; output: ClientAuthSettings };
}

export type JobName = keyof Jobs;
export type JobInput<N extends JobName> = Jobs[N]['input'];
export type JobOutput<N extends JobName> = Jobs[N]['output'];

export interface JobRequest {
  readonly id: number;
  readonly name: JobName;
  readonly input: unknown;
}

export type WorkerReply =
  | { readonly ready: true }
  | { readonly id: number; readonly value: unknown }
  | {
      readonly id: number;
      /** code and field only for a VaultgateError; a plain Error carries a message only. */
      readonly error: { readonly code?: string; readonly message: string; readonly field?: string };
    };
