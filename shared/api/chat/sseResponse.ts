import { Readable } from 'node:stream';
import type { StreamedCompletion } from '../../gateway/CompletionService';
import { renderChatStream } from './renderChatStream';

/** The HTTP answer of every route: a buffered JSON string, or a stream piped to the client as it comes. */
export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // Proxies that buffer (nginx) must pass each event on at once.
  'x-accel-buffering': 'no',
} as const;

/**
 * A streamed completion as an HTTP response: the head now, the chunks as they come. A client
 * that goes away destroys the body, which aborts the upstream at once.
 */
export function chatSseResponse(
  streamed: StreamedCompletion,
  options: { includeUsage: boolean; requestId: string; headers?: Record<string, string> },
): GatewayResponse {
  const body = Readable.from(renderChatStream(streamed.meta, streamed.events, options), { objectMode: false });
  let ended = false;
  body.once('end', () => {
    ended = true;
  });
  body.once('close', () => {
    if (!ended) streamed.abort();
  });
  return {
    statusCode: 200,
    headers: { ...SSE_HEADERS, 'x-request-id': options.requestId, ...streamed.headers, ...options.headers },
    body,
  };
}
