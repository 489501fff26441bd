import { GatewayError } from '../errors';
import { IDEMPOTENCY_KEY_HEADER } from './idempotencyErrors';

/** Long enough for any UUID or ULID with a prefix; short enough to bound what we hash. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * Reads the `Idempotency-Key` header value. The IETF draft makes it a Structured Field string
 * (`"8e03978e-..."`, quoted); most clients (Stripe's, SDKs) send it bare, so both are
 * accepted and mean the same key.
 *
 * @returns the key, or `undefined` when the header is absent (the request is then not idempotent)
 * @throws GatewayError `invalid_request` when present but not 1..255 printable ASCII characters
 */
export function parseIdempotencyKey(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  let key = headerValue.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !PRINTABLE_ASCII.test(key)) {
    throw new GatewayError(
      'invalid_request',
      `the ${IDEMPOTENCY_KEY_HEADER} header must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
      { details: { param: IDEMPOTENCY_KEY_HEADER } },
    );
  }
  return key;
}
