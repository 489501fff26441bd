import http from 'node:http';
import https from 'node:https';
import { HTTP_ERROR_CODES, HttpClientError, headerRecord, httpAgent, httpsAgent, toHttpClientError } from '../http/httpClient';
import { ResponseBody } from '../http/httpStream';
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
 * Sends one attempt of a tool call on the gateway's keep-alive pools and resolves at the response
 * head; `timeoutMs` bounds the wait for the head. Redirects are not followed (node never does):
 * a 3xx goes back to the client as it came, and the credential never follows it anywhere.
 * Rejects with a {@link ToolSendError}, which says whether the request may have reached the
 * service: a POST is retried without an Idempotency-Key only when it cannot have.
 */
export function sendToolRequest(request: OutgoingToolRequest, timeoutMs: number): Promise<ToolUpstreamResponse> {
  const { url, method, body } = request;
  const isHttps = url.protocol === 'https:';
  const headers: Record<string, string | number> = { ...request.headers };
  if (body !== undefined && body.length > 0) headers['content-length'] = body.length;
  else if (!['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method)) headers['content-length'] = 0;
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = (isHttps ? https : http).request(url, { method, headers, agent: isHttps ? httpsAgent : httpAgent });
    req.on('socket', (socket) => {
      // A pooled socket was connected before; a new one is once it says so.
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    const timer = setTimeout(() => {
      req.destroy(new HttpClientError(HTTP_ERROR_CODES.TIMEOUT, `no response head within ${timeoutMs} ms`));
    }, timeoutMs);
    const beforeHead = (error: unknown) => {
      clearTimeout(timer);
      reject(new ToolSendError(toHttpClientError(error), connected));
    };
    req.on('error', beforeHead);
    req.once('response', (res) => {
      clearTimeout(timer);
      req.off('error', beforeHead);
      req.on('error', () => undefined);
      const responseBody = new ResponseBody(res);
      resolve({
        status: res.statusCode ?? 0,
        headers: headerRecord(res.headers),
        body: responseBody,
        abort: () => {
          responseBody.destroy();
          req.destroy();
        },
      });
    });
    req.end(body && body.length > 0 ? body : undefined);
  });
}

export const isToolSendError = (error: unknown): error is ToolSendError =>
  typeof error === 'object' && error !== null && (error as { isToolSendError?: unknown }).isToolSendError === true;
