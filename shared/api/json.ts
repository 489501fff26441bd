import type { GatewayResponse } from './chat/sseResponse';

/** A buffered JSON answer with the request id every response carries. */
export function json(statusCode: number, body: unknown, requestId: string, headers: Record<string, string> = {}): GatewayResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify(body),
  };
}
