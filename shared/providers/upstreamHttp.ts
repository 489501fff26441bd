import { HTTP_ERROR_CODES, httpRequest, isHttpClientError, type HttpRequest } from '../http/httpClient';
import { upstreamMessage } from './redact';
import type { UpstreamFailure, UpstreamOutcome } from './types';

/** Headers that carry the credential we sent; their values must never come back in a message. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key'];

/** The exact credential values in a request's headers (without the `Bearer ` scheme). */
export function credentialValues(headers: Readonly<Record<string, string>>): string[] {
  return CREDENTIAL_HEADERS.flatMap((name) => {
    const value = headers[name];
    if (!value) return [];
    const bare = value.replace(/^bearer\s+/i, '');
    return bare === value ? [value] : [value, bare];
  });
}

/** Reads `error.message` from OpenAI- and Anthropic-style error bodies, else the raw text. */
export function errorMessageFromBody(body: string, secrets: readonly string[] = []): string {
  let message = body || 'no message';
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
    else if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    else if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON: an HTML error page from a proxy, say.
  }
  // Shape-based redaction misses keys that look like nothing in particular (Azure's hex keys),
  // so the exact values we sent are cut out first.
  for (const secret of secrets) if (secret.length >= 8) message = message.split(secret).join('[redacted]');
  return upstreamMessage(message);
}

/** What the HTTP client threw before any answer → the failure the engine classifies. */
export function httpFailureOutcome(error: unknown, timeoutMs: number): UpstreamFailure {
  if (isHttpClientError(error)) {
    if (error.code === HTTP_ERROR_CODES.TIMEOUT) return { kind: 'timeout', timeoutMs };
    return { kind: 'network_error', code: error.code, message: error.message };
  }
  return { kind: 'network_error', code: 'ENETWORK', message: 'network failure' };
}

/**
 * Sends one HTTP call and sorts what happened into an {@link UpstreamOutcome}; `translate`
 * turns a 2xx body into OpenAI's format or throws when it cannot (a malformed answer).
 */
export async function sendUpstream(
  request: HttpRequest,
  translate: (body: unknown) => Record<string, unknown>,
): Promise<UpstreamOutcome> {
  let response;
  try {
    response = await httpRequest(request);
  } catch (error) {
    return httpFailureOutcome(error, request.timeoutMs);
  }
  const { status, headers, body } = response;
  if (status < 200 || status >= 300) {
    return { kind: 'http_error', status, headers, message: errorMessageFromBody(body, credentialValues(request.headers)) };
  }
  try {
    return { kind: 'success', status, headers, body: translate(JSON.parse(body)) };
  } catch (error) {
    return { kind: 'malformed', message: `unreadable ${status} answer: ${(error as Error).message}` };
  }
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
