import type { StreamedCompletion } from '../../gateway/CompletionService';
import { sseResponse, type GatewayResponse } from '../chat/sseResponse';
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
  return sseResponse(streamed, renderResponseStream(streamed.events, { ...renderOptions, meta: streamed.meta }), options.requestId, headers);
}
