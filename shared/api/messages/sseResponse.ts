import type { StreamedCompletion } from '../../gateway/CompletionService';
import { sseResponse, type GatewayResponse } from '../chat/sseResponse';
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
  return sseResponse(streamed, renderMessageStream(streamed.meta, streamed.events, { requestId, ...renderOptions }), requestId, headers);
}
