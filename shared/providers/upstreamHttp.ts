import { HTTP_ERROR_CODES, httpRequest, isHttpClientError, type HttpRequest } from '../http/httpClient';
import { upstreamMessage } from './redact';
import type { UpstreamOutcome } from './types';

/** Reads `error.message` from OpenAI- and Anthropic-style error bodies, else the raw text. */
export function errorMessageFromBody(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') return upstreamMessage(parsed.error);
    if (typeof parsed.error?.message === 'string') return upstreamMessage(parsed.error.message);
    if (typeof parsed.message === 'string') return upstreamMessage(parsed.message);
  } catch {
    // Not JSON: an HTML error page from a proxy, say.
  }
  return upstreamMessage(body || 'no message');
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
    if (isHttpClientError(error)) {
      if (error.code === HTTP_ERROR_CODES.TIMEOUT) return { kind: 'timeout', timeoutMs: request.timeoutMs };
      return { kind: 'network_error', code: error.code, message: error.message };
    }
    return { kind: 'network_error', code: 'ENETWORK', message: 'network failure' };
  }
  const { status, headers, body } = response;
  if (status < 200 || status >= 300) {
    return { kind: 'http_error', status, headers, message: errorMessageFromBody(body) };
  }
  try {
    return { kind: 'success', status, headers, body: translate(JSON.parse(body)) };
  } catch (error) {
    return { kind: 'malformed', message: `unreadable ${status} answer: ${(error as Error).message}` };
  }
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
