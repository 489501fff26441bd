import type { ProviderConfig } from '../config/schema';
import type { SecretSource } from '../credentials';
import { OpenAiStreamReader } from './openAiStream';
import { isRecord, sendUpstream } from './upstreamHttp';
import { openSseStream } from './upstreamStream';
import type { ProviderAdapter, StreamOutcome, UpstreamOutcome, UpstreamRequest, UpstreamStream } from './types';
import { withCredentialRefresh, type CredentialRefreshOptions } from './withCredentialRefresh';

type OpenAiProviderConfig = Extract<ProviderConfig, { type: 'openai' }>;

const PATHS = { chat: '/chat/completions', embeddings: '/embeddings' } as const;

/** Checks the fields a client relies on, so a proxy's junk 200 counts as a failed target. */
export function readOpenAiBody(operation: UpstreamRequest['operation'], body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw new Error('body is not a JSON object');
  if (operation === 'chat' && !Array.isArray(body.choices)) throw new Error('no `choices` array');
  if (operation === 'embeddings' && !Array.isArray(body.data)) throw new Error('no `data` array');
  return body;
}

/** Any OpenAI-compatible server: OpenAI, Azure-style gateways, vLLM, Ollama, LM Studio. */
export class OpenAiProvider implements ProviderAdapter {
  private readonly baseUrl: string;

  constructor(
    private readonly config: OpenAiProviderConfig,
    private readonly secrets: SecretSource,
    /** The refused-credential counter and clock, from ProviderDeps. */
    private readonly refresh: CredentialRefreshOptions = {},
  ) {
    this.baseUrl = config.base_url.replace(/\/+$/, '');
  }

  async call(request: UpstreamRequest): Promise<UpstreamOutcome> {
    const headers = this.headers('application/json');
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        sendUpstream(
          {
            url: this.baseUrl + PATHS[request.operation],
            method: 'POST',
            headers: withKey(headers, apiKey),
            body: JSON.stringify(request.body),
            timeoutMs,
          },
          (body) => readOpenAiBody(request.operation, body),
        ),
    );
  }

  async stream(request: UpstreamRequest): Promise<StreamOutcome> {
    if (request.operation !== 'chat') return { kind: 'unavailable', reason: `openai cannot stream ${request.operation}` };
    const body = JSON.stringify(streamingBody(request.body));
    const headers = this.headers('text/event-stream');
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh<UpstreamStream>(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        openSseStream(
          { url: this.baseUrl + PATHS.chat, method: 'POST', headers: withKey(headers, apiKey), body, timeoutMs },
          (secrets) => new OpenAiStreamReader(secrets),
        ),
    );
  }

  private headers(accept: string): Record<string, string> {
    return { 'content-type': 'application/json', accept, ...this.config.headers };
  }
}

const withKey = (headers: Record<string, string>, apiKey: string | undefined) =>
  apiKey === undefined ? headers : { ...headers, authorization: `Bearer ${apiKey}` };

/**
 * The body of a streamed call. Usage is always asked for, whatever the client said: spend
 * settles from the stream's usage, and the client's own `include_usage` only decides whether
 * it is shown the usage chunk.
 */
export function streamingBody(body: Record<string, unknown>): Record<string, unknown> {
  const options = isRecord(body.stream_options) ? body.stream_options : {};
  return { ...body, stream: true, stream_options: { ...options, include_usage: true } };
}
