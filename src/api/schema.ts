import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { VaultgateError } from '../errors.js';

/**
 * Request bodies are checked against JSON Schemas at the boundary (STYLE 5). The same schema objects
 * feed the OpenAPI document, so the docs cannot drift from what is enforced. Every object schema is
 * closed (`additionalProperties: false`): an unknown field is refused, never ignored.
 */
export type JsonSchema = Record<string, unknown>;

/**
 * The TypeScript type of what `schema` accepts. Schemas are written `as const`, so a request body's
 * type and an answer's type come from the one schema that validates or describes them (issue 15:
 * no hand-written interface beside a schema).
 */
export type { FromSchema } from 'json-schema-to-ts';

/** Fragments several answers share. */
export const timestamp = { type: 'string', format: 'date-time' } as const;
export const nullableString = { type: ['string', 'null'] } as const;
export const stringList = { type: 'array', items: { type: 'string' } } as const;
export const certificateStatus = {
  type: 'string',
  enum: ['valid', 'expiring_soon', 'expired', 'not_yet_valid'],
  description: 'expiring_soon: within 30 days of not_after',
} as const;
/** One certificate of a stored chain, leaf first. */
export const chainEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['subject', 'issuer', 'not_after'],
  properties: { subject: { type: 'string' }, issuer: { type: 'string' }, not_after: timestamp },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function describe(error: ErrorObject): VaultgateError {
  const at = pointerToField(error.instancePath);
  const label = at || 'the request body';
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = (error.params as { additionalProperty: string }).additionalProperty;
      const field = at ? `${at}.${name}` : name;
      return new VaultgateError(
        'unknown_field',
        `Unknown field "${field}": remove it, this endpoint does not accept it.`,
        field,
      );
    }
    case 'required': {
      const name = (error.params as { missingProperty: string }).missingProperty;
      const field = at ? `${at}.${name}` : name;
      return new VaultgateError('invalid_field', `The field "${field}" is required.`, field);
    }
    case 'type':
      return new VaultgateError(
        'invalid_field',
        `"${label}" must be ${article((error.params as { type: string | string[] }).type)}.`,
        at || undefined,
      );
    case 'enum':
      return new VaultgateError(
        'invalid_field',
        `"${label}" must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}.`,
        at || undefined,
      );
    case 'maxLength':
    case 'maxItems':
    case 'maxProperties':
      return new VaultgateError(
        'invalid_field',
        `"${label}" is too long: ${error.message ?? 'over the limit'}.`,
        at || undefined,
      );
    case 'minLength':
      return new VaultgateError('invalid_field', `"${label}" must not be empty.`, at || undefined);
    case 'pattern':
    case 'format':
      return new VaultgateError('invalid_field', `"${label}" has an invalid format.`, at || undefined);
    default:
      return new VaultgateError(
        'invalid_field',
        `"${label}" is invalid: ${error.message ?? 'check its value'}.`,
        at || undefined,
      );
  }
}

/** "a string", "an integer", "a string or null" from ajv's `type` param (one type, or several). */
function article(type: string | string[]): string {
  const [name = 'value', ...others] = Array.isArray(type) ? type : type.split(',');
  const first = /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
  return [first, ...others].join(' or ');
}

/** Validates `body` against `schema`; throws the first problem as a VaultgateError naming the field. */
export function validate<T>(schema: JsonSchema, body: unknown): T {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  if (!fn(body)) {
    // An unknown field is reported before anything else: a misspelt name also shows up as a missing
    // required field, and "unknown field" is the message that tells the user what to fix.
    const errors = fn.errors ?? [];
    const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0];
    throw first ? describe(first) : new VaultgateError('invalid_field', 'The request body is invalid.');
  }
  return body as T;
}
