/**
 * The one catalogue of error codes (SPEC §5). Every rejection the management API or the data plane
 * sends uses a code from here, with the status the SPEC gives it. `test/errors.test.ts` fails when this
 * list, SPEC §5 and docs/errors.md disagree.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  unknown_field: 400,
  invalid_target: 400,
  unknown_parameter: 400,
  invalid_parameter: 400,
  unauthorized: 401,
  client_certificate_required: 401,
  forbidden: 403,
  upstream_blocked: 403,
  source_not_allowed: 403,
  vault_not_found: 404,
  route_not_found: 404,
  credential_not_found: 404,
  certificate_not_found: 404,
  hostname_not_found: 404,
  certificate_request_not_found: 404,
  webhook_not_found: 404,
  api_token_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  proxy_auth_required: 407,
  vault_not_empty: 409,
  credential_in_use: 409,
  route_in_use: 409,
  hostname_taken: 409,
  certificate_request_completed: 409,
  request_timeout: 408,
  payload_too_large: 413,
  misdirected_request: 421,
  invalid_certificate: 422,
  invalid_private_key: 422,
  invalid_pkcs12: 422,
  passphrase_required: 422,
  bad_passphrase: 422,
  key_mismatch: 422,
  certificate_expired: 422,
  weak_key: 422,
  weak_signature: 422,
  unusable_certificate: 422,
  invalid_association: 422,
  invalid_field: 422,
  unsupported_filter: 422,
  hostname_mismatch: 422,
  too_many_requests: 429,
  internal_error: 500,
  not_implemented: 501,
  upstream_unreachable: 502,
  upstream_client_certificate_rejected: 502,
  upstream_certificate_untrusted: 502,
  upstream_tls_error: 502,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error meant for the user: a stable code, its HTTP status and a sentence they can act on. */
export class VaultgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'VaultgateError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.field = field;
  }

  toJSON(): { error: { code: ErrorCode; message: string; field?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
      },
    };
  }
}

export function isVaultgateError(err: unknown): err is VaultgateError {
  return err instanceof VaultgateError;
}
