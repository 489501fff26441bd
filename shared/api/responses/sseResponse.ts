import { Readable } from 'node:stream';
import type { StreamedCompletion } from '../../gateway/CompletionService';
import { SSE_HEADERS, yieldingToIo, type GatewayResponse } from '../chat/sseResponse';
import { renderResponseStream, type ResponseStreamOptions } from './renderResponseStream';

/**
 * A streamed completion as a Responses API event stream: the head now, the events as they come.
 * A client that goes away destroys the body, which aborts the upstream at once (and nothing is
 * stored).
 */
export function responsesSseResponse(
  streamed: StreamedCompletion,
  options: Omit<ResponseStreamOptions, 'meta'> & { headers?: Record<string, string> },
): GatewayResponse {
  const { headers, ...renderOptions } = options;
  const body = Readable.from(yieldingToIo(renderResponseStream(streamed.events, { ...renderOptions, meta: streamed.meta })), {
    objectMode: false,
  });
  let ended = false;
  body.once('end', () => {
    ended = true;
  });
  body.once('close', () => {
    if (!ended) streamed.abort();
  });
  return {
    statusCode: 200,
    headers: { ...SSE_HEADERS, 'x-request-id': options.requestId, ...streamed.headers, ...headers },
    body,
  };
}
