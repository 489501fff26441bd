import type { ProviderConfig } from '../config/schema';
import type { SecretSource } from '../credentials';
import { AnthropicStreamReader } from './anthropicStream';
import { fromAnthropicResponse, toAnthropicRequest } from './anthropicTranslation';
import type { ProviderAdapter, StreamOutcome, UpstreamFailure, UpstreamOutcome, UpstreamRequest, UpstreamStream } from './types';
import { sendUpstream } from './upstreamHttp';
import { openSseStream } from './upstreamStream';
import { withCredentialRefresh, type CredentialRefreshOptions } from './withCredentialRefresh';

export {
  AnthropicTranslationError,
  fromAnthropicResponse,
  toAnthropicRequest,
  toFinishReason,
  toOpenAiUsage,
  type AnthropicRequestConfig,
} from './anthropicTranslation';

type AnthropicProviderConfig = Extract<ProviderConfig, { type: 'anthropic' }>;

const systemNowSeconds = () => Math.floor(Date.now() / 1000);

/** Anthropic's Messages API behind OpenAI's Chat Completions format. */
export class AnthropicProvider implements ProviderAdapter {
  private readonly baseUrl: string;

  constructor(
    private readonly config: AnthropicProviderConfig,
    private readonly secrets: SecretSource,
    /** The `created` stamp of translated answers, in seconds; injected for tests. */
    private readonly nowSeconds: () => number = systemNowSeconds,
    /** The refused-credential counter and clock, from ProviderDeps. */
    private readonly refresh: CredentialRefreshOptions = {},
  ) {
    this.baseUrl = config.base_url.replace(/\/+$/, '');
  }

  async call(request: UpstreamRequest): Promise<UpstreamOutcome> {
    if (request.operation === 'embeddings') return NO_EMBEDDINGS;
    const body = this.translate(request);
    if ('kind' in body) return body;

    const headers = this.headers('application/json');
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        sendUpstream(
          {
            url: `${this.baseUrl}/messages`,
            method: 'POST',
            headers: withKey(headers, apiKey),
            body: JSON.stringify(body.request),
            timeoutMs,
          },
          (answer) => fromAnthropicResponse(answer, this.nowSeconds()),
        ),
    );
  }

  async stream(request: UpstreamRequest): Promise<StreamOutcome> {
    if (request.operation === 'embeddings') return NO_EMBEDDINGS;
    const body = this.translate(request);
    if ('kind' in body) return body;

    const payload = JSON.stringify({ ...body.request, stream: true });
    const headers = this.headers('text/event-stream');
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh<UpstreamStream>(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        openSseStream(
          { url: `${this.baseUrl}/messages`, method: 'POST', headers: withKey(headers, apiKey), body: payload, timeoutMs },
          (secrets) => new AnthropicStreamReader(secrets),
        ),
    );
  }

  /** The Messages request, or the 400 a request that cannot be translated gets. */
  private translate(request: UpstreamRequest): { request: Record<string, unknown> } | UpstreamFailure {
    try {
      return { request: toAnthropicRequest(request.body, this.config) };
    } catch (error) {
      // The client's request, not the target, is at fault: a 400 that no retry or fallback fixes.
      const reason = error instanceof Error ? error.message : 'request cannot be translated';
      return { kind: 'http_error', status: 400, headers: {}, message: `invalid request for anthropic: ${reason}` };
    }
  }

  private headers(accept: string): Record<string, string> {
    return { 'content-type': 'application/json', accept, 'anthropic-version': this.config.anthropic_version };
  }
}

const NO_EMBEDDINGS: UpstreamFailure = { kind: 'unavailable', reason: 'anthropic has no embeddings API' };

const withKey = (headers: Record<string, string>, apiKey: string | undefined) =>
  apiKey === undefined ? headers : { ...headers, 'x-api-key': apiKey };
