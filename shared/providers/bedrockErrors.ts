import { upstreamMessage } from './redact';
import type { UpstreamFailure } from './types';
import { isRecord } from './upstreamHttp';

/**
 * What Bedrock's SDK throws, sorted into the engine's outcomes: at `send` (a failed call, like
 * any buffered one) and in the middle of a ConverseStream (an {@link UpstreamFailure} the
 * stream's iterator throws). Pure, so every branch is tested without a server.
 */

/**
 * Bedrock's exceptions and the status each one answers with. The SDK's `$metadata` status is
 * the fallback for names not listed; the table pins the ones the engine's retry and failover
 * rules depend on (ModelNotReady is a "try again shortly", a 503 rather than AWS's 429, so it
 * is not charged to a rate limit).
 */
export const STATUS_BY_EXCEPTION: Record<string, number> = {
  ThrottlingException: 429,
  ServiceUnavailableException: 503,
  ModelNotReadyException: 503,
  InternalServerException: 500,
  ValidationException: 400,
  AccessDeniedException: 403,
  ModelTimeoutException: 408,
  ResourceNotFoundException: 404,
};

/** Node's codes for "no HTTP answer at all". */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

function networkCode(error: Record<string, unknown>): string | undefined {
  for (const candidate of [error, error.cause]) {
    if (isRecord(candidate) && typeof candidate.code === 'string' && NETWORK_CODES.has(candidate.code)) {
      return candidate.code;
    }
  }
  return undefined;
}

function responseHeaders(error: Record<string, unknown>): Record<string, string> {
  const response = error.$response;
  const headers = isRecord(response) ? response.headers : undefined;
  if (!isRecord(headers)) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') out[name.toLowerCase()] = value;
  return out;
}

/**
 * Sorts what the SDK threw into an {@link UpstreamFailure}. Pure, so every branch is tested
 * without a server; the attempt's timeout is decided by the caller, which owns the abort signal.
 */
export function converseErrorOutcome(error: unknown): UpstreamFailure {
  if (!isRecord(error) && !(error instanceof Error)) {
    return { kind: 'network_error', code: 'ENETWORK', message: 'bedrock call failed' };
  }
  const e = error as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = upstreamMessage(typeof e.message === 'string' && e.message !== '' ? e.message : name || 'no message');
  const metadata = isRecord(e.$metadata) ? e.$metadata : {};
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;

  const named = STATUS_BY_EXCEPTION[name];
  if (named !== undefined) return { kind: 'http_error', status: named, headers: responseHeaders(e), message };
  if (status !== undefined) {
    // A 2xx the SDK could not deserialize is the target's fault, not a failed HTTP call.
    if (status >= 200 && status < 300) return { kind: 'malformed', message: `unreadable ${status} answer: ${message}` };
    return { kind: 'http_error', status, headers: responseHeaders(e), message };
  }
  const code = networkCode(e);
  if (code) return { kind: 'network_error', code, message };
  // No credentials or no region: this target cannot serve any call until it is configured.
  if (name === 'CredentialsProviderError') return { kind: 'unavailable', reason: `no AWS credentials: ${message}` };
  return { kind: 'network_error', code: 'ENETWORK', message };
}

/** A stream member's key (`throttlingException`) → the exception's name (`ThrottlingException`). */
export const exceptionName = (memberKey: string): string => memberKey.charAt(0).toUpperCase() + memberKey.slice(1);

const asErrorStatus = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599 ? value : undefined;

/**
 * An exception met after the stream's head (thrown by the SDK's event iterator, or sent as an
 * exception member) → the failure the iterator throws. Named exceptions keep the status they
 * answer with outside a stream; ModelStreamErrorException, "retry your request" in AWS's words,
 * takes the model's own status when it gives one, else 500 (its 424 would read as the
 * client's fault and never be retried). A socket failure is a cut (`network_error`).
 */
export function converseStreamErrorOutcome(error: unknown): UpstreamFailure {
  const e: Record<string, unknown> = isRecord(error) || error instanceof Error ? (error as Record<string, unknown>) : {};
  const name = typeof e.name === 'string' ? e.name : '';
  const message = upstreamMessage(typeof e.message === 'string' && e.message !== '' ? e.message : name || 'stream failed');

  if (name === 'ModelStreamErrorException') {
    return { kind: 'http_error', status: asErrorStatus(e.originalStatusCode) ?? 500, headers: {}, message };
  }
  const named = STATUS_BY_EXCEPTION[name];
  if (named !== undefined) return { kind: 'http_error', status: named, headers: {}, message };
  const code = networkCode(e);
  if (code) return { kind: 'network_error', code, message };
  if (name.endsWith('Exception') || e.$fault !== undefined) {
    const metadata = isRecord(e.$metadata) ? e.$metadata : {};
    return { kind: 'http_error', status: asErrorStatus(metadata.httpStatusCode) ?? 500, headers: {}, message };
  }
  // Anything else (a truncated event message, a premature close) is the connection's doing.
  return { kind: 'network_error', code: 'ECONNRESET', message: `bedrock stream cut: ${message}` };
}
