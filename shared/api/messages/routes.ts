import { estimateInputTokens } from '../../budget/estimate';
import type { GatewayResponse } from '../chat/sseResponse';
import { json } from '../json';
import type { CompletionRenderer, GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';
import { countTokens } from './countTokens';
import { toAnthropicMessage } from './messageObject';
import { messagesSseResponse } from './sseResponse';
import { parseMessagesRequest, toChatRequest } from './toChatRequest';

/** Anthropic's dialect: the engine's chat.completion and canonical stream, rendered as Messages. */
const anthropicRenderer = (body: Record<string, unknown>): CompletionRenderer => ({
  door: 'anthropic',
  buffered: (answer, headers, requestId) => json(200, toAnthropicMessage(answer), requestId, headers),
  streamed: (streamed, requestId, headers) =>
    messagesSseResponse(streamed, { requestId, headers, inputTokensEstimate: estimateInputTokens(body) }),
});

/** `request-id` is the header the Anthropic SDK reads (`error.requestID`, `_request_id`); the same id as `x-request-id`. */
const withRequestId = (response: GatewayResponse, requestId: string): GatewayResponse => ({
  ...response,
  headers: { ...response.headers, 'request-id': requestId },
});

/**
 * `POST /v1/messages` (buffered or streamed) and `POST /v1/messages/count_tokens`: Anthropic's
 * Messages API on the one engine. The request is translated to the chat form every target
 * serves, and carries the client's own body for Anthropic targets, which get it natively.
 * Errors under /v1/messages are rendered in Anthropic's shape (anthropicErrors.ts).
 */
export const messagesRoutes = (engine: GatewayEngine): RouteTable => ({
  '/v1/messages': {
    POST: async (request) => {
      const { event, requestId } = request;
      let body: Record<string, unknown>;
      try {
        body = toChatRequest(parseMessagesRequest(event.body), event.headers['anthropic-beta']);
      } catch (error) {
        // A caller without a valid key learns that first, as on every door (the engine checks the key before the body).
        await engine.authenticate(event.headers);
        throw error;
      }
      return withRequestId(await engine.serveCompletion(request, { operation: 'chat', body, renderer: anthropicRenderer(body) }), requestId);
    },
  },
  '/v1/messages/count_tokens': {
    POST: (request) => countTokens(engine, request),
  },
});
