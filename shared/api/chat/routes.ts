import { json } from '../json';
import type { CompletionRenderer, GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';
import { chatSseResponse } from './sseResponse';

/** OpenAI's own dialect: the engine's form is already Chat Completions, so nothing is translated. */
const openAiRenderer = (includeUsage: (body: unknown) => boolean, body: unknown): CompletionRenderer => ({
  door: 'openai',
  buffered: (answer, headers, requestId) => json(200, answer, requestId, headers),
  streamed: (streamed, requestId, headers) => chatSseResponse(streamed, { includeUsage: includeUsage(body), requestId, headers }),
});

const wantsUsage = (body: unknown) =>
  (body as { stream_options?: { include_usage?: unknown } | null } | null)?.stream_options?.include_usage === true;

/** `POST /v1/chat/completions` (buffered or streamed) and `POST /v1/embeddings`. */
export const chatRoutes = (engine: GatewayEngine): RouteTable => ({
  '/v1/chat/completions': {
    POST: (request) =>
      engine.serveCompletion(request, { operation: 'chat', body: request.event.body, renderer: openAiRenderer(wantsUsage, request.event.body) }),
  },
  '/v1/embeddings': {
    POST: (request) =>
      engine.serveCompletion(request, { operation: 'embeddings', body: request.event.body, renderer: openAiRenderer(wantsUsage, request.event.body) }),
  },
});
