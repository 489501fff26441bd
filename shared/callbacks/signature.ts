import { createHmac, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../resilience/clock';

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'x-breakwater-signature';
/** Version tag of the scheme; a future scheme gets a new tag and both can be sent side by side. */
export const SIGNATURE_VERSION = 'v1';

export type SignedBody = string | Uint8Array;

/** Hex HMAC-SHA256 of `<t>.<body>`: the timestamp is signed too, so it cannot be swapped. */
function hmacHex(body: SignedBody, secret: string, timestampSeconds: number): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

/**
 * The signature header value for `body`, e.g. `t=1700000000,v1=5f3c...`. Sign the exact bytes
 * that are sent: a receiver re-serialising the JSON would not get the same HMAC.
 */
export function signPayload(body: SignedBody, secret: string, timestampSeconds: number): string {
  const t = Math.floor(timestampSeconds);
  return `t=${t},${SIGNATURE_VERSION}=${hmacHex(body, secret, t)}`;
}

export interface ParsedSignature {
  timestamp: number;
  /** Every `v1` value in the header (a sender rotating its secret may send two). */
  signatures: string[];
}

/** Splits a signature header into its timestamp and `v1` values, or undefined when malformed. */
export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === SIGNATURE_VERSION) {
      signatures.push(value);
    }
    // Unknown keys are other schemes' values: ignored, so senders can add schemes later.
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

export interface VerifySignatureOptions {
  /**
   * Seconds the header's timestamp may differ from now, either way. Bounds how long a captured
   * request can be replayed while allowing for clock skew and the sender's retries (each retry
   * is signed afresh).
   * @default 300
   */
  toleranceSeconds?: number;
  /** @default systemClock */
  clock?: Pick<Clock, 'now'>;
}

/**
 * For receivers: true when `header` is a valid signature of the raw request body under
 * `secret` and its timestamp is within the tolerance. Comparison is constant-time, so the
 * time taken says nothing about how much of a forged signature was right.
 */
export function verifySignature(
  header: string | undefined,
  body: SignedBody,
  secret: string,
  options: VerifySignatureOptions = {},
): boolean {
  if (header === undefined) return false;
  const parsed = parseSignatureHeader(header);
  if (!parsed) return false;
  const nowSeconds = (options.clock ?? systemClock).now() / 1000;
  if (Math.abs(nowSeconds - parsed.timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(hmacHex(body, secret, parsed.timestamp), 'utf8');
  let valid = false;
  for (const candidate of parsed.signatures) {
    const given = Buffer.from(candidate, 'utf8');
    // The length of a hex SHA-256 is public (64), so checking it first leaks nothing.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}
