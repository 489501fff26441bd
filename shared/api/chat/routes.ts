import { GatewayError } from '../../errors';
import { json } from '../json';
import type { CompletionRenderer, GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';
import { encodeEmbeddings } from './encodeEmbeddings';
import { chatSseResponse } from './sseResponse';

/** OpenAI's own dialect: the engine's form is already Chat Completions, so nothing is translated. */
const openAiRenderer = (body: unknown): CompletionRenderer => ({
  door: 'openai',
  buffered: (answer, headers, requestId) => json(200, answer, requestId, headers),
  streamed: (streamed, requestId, headers) => chatSseResponse(streamed, { includeUsage: wantsUsage(body), requestId, headers }),
});

/** Embeddings come from the engine as floats; they go out in the `encoding_format` the client asked for. */
const embeddingsRenderer = (body: unknown): CompletionRenderer => ({
  ...openAiRenderer(body),
  buffered: (answer, headers, requestId) =>
    json(200, encodeEmbeddings(answer, (body as { encoding_format?: unknown } | null)?.encoding_format), requestId, headers),
});

const wantsUsage = (body: unknown) =>
  (body as { stream_options?: { include_usage?: unknown } | null } | null)?.stream_options?.include_usage === true;

/**
 * The legacy Completions API (`prompt` in, `choices[].text` out) is not served: every provider
 * Breakwater speaks to answers chat, and a clear 404 beats a half translation.
 */
const legacyCompletions = async (): Promise<never> => {
  throw new GatewayError(
    'unknown_route',
    'the legacy Completions API (POST /v1/completions) is not served: send the prompt as a user message to POST /v1/chat/completions',
  );
};

/** `POST /v1/chat/completions` (buffered or streamed), `POST /v1/embeddings`, and a 404 for `/v1/completions`. */
export const chatRoutes = (engine: GatewayEngine): RouteTable => ({
  '/v1/chat/completions': {
    POST: (request) => engine.serveCompletion(request, { operation: 'chat', body: request.event.body, renderer: openAiRenderer(request.event.body) }),
  },
  '/v1/embeddings': {
    POST: (request) =>
      engine.serveCompletion(request, { operation: 'embeddings', body: request.event.body, renderer: embeddingsRenderer(request.event.body) }),
  },
  '/v1/completions': { POST: legacyCompletions },
});
