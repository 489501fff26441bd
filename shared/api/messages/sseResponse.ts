import { Readable } from 'node:stream';
import type { StreamedCompletion } from '../../gateway/CompletionService';
import { SSE_HEADERS, yieldingToIo, type GatewayResponse } from '../chat/sseResponse';
import { renderMessageStream, type MessageStreamOptions } from './renderMessageStream';

/**
 * A streamed completion as Anthropic's Messages SSE: the head now, the events as they come. A
 * client that goes away destroys the body, which aborts the upstream at once.
 */
export function messagesSseResponse(
  streamed: StreamedCompletion,
  options: MessageStreamOptions & { headers?: Record<string, string> },
): GatewayResponse {
  const { requestId, headers, ...renderOptions } = options;
  const body = Readable.from(yieldingToIo(renderMessageStream(streamed.meta, streamed.events, { requestId, ...renderOptions })), {
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
    headers: { ...SSE_HEADERS, 'x-request-id': requestId, ...streamed.headers, ...headers },
    body,
  };
}
