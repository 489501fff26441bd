import { HttpClientError, toHttpClientError } from '../http/httpClient';
import { httpStream, type ResponseBody } from '../http/httpStream';
import type { OutgoingToolRequest } from './auth/ServiceAuth';

/** An upstream answer at its head: the body is unread, to be relayed as it comes. */
export interface ToolUpstreamResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", " (`set-cookie` never goes further anyway). */
  headers: Record<string, string>;
  body: ResponseBody;
  /** Closes the connection at once. */
  abort(): void;
}

/** A failure below HTTP, with whether the request could have reached the service at all. */
export class ToolSendError extends HttpClientError {
  readonly isToolSendError = true;
  constructor(
    error: HttpClientError,
    /** False only when no connection was ever made: not one byte of the request left. */
    readonly reachedService: boolean,
  ) {
    super(error.code, error.message, { cause: error.cause ?? error });
    this.name = 'ToolSendError';
  }
}

/**
 * Sends one attempt of a tool call on the gateway's keep-alive pools (the providers' streaming
 * client) and resolves at the response head; `timeoutMs` bounds the wait for the head. Redirects are not followed (node never does):
 * a 3xx goes back to the client as it came, and the credential never follows it anywhere.
 * Rejects with a {@link ToolSendError}, which says whether the request may have reached the
 * service: a POST is retried without an Idempotency-Key only when it cannot have.
 */
export async function sendToolRequest(request: OutgoingToolRequest, timeoutMs: number): Promise<ToolUpstreamResponse> {
  const { url, method, headers, body } = request;
  try {
    return await httpStream({ url: url.href, method, headers, body: body !== undefined && body.length > 0 ? body : undefined, timeoutMs });
  } catch (error) {
    const failure = toHttpClientError(error);
    throw new ToolSendError(failure, failure.connected ?? true);
  }
}

export const isToolSendError = (error: unknown): error is ToolSendError =>
  typeof error === 'object' && error !== null && (error as { isToolSendError?: unknown }).isToolSendError === true;
