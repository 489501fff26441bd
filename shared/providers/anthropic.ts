import type { ProviderConfig } from '../config/schema';
import type { SecretSource } from '../credentials';
import { AnthropicStreamReader } from './anthropicStream';
import { nativeAnthropicOf, nativeMessagesBody } from './anthropicNative';
import { withThinkingBlocks } from './anthropicThinking';
import { fromAnthropicResponse, isUnsupportedParameterError, toAnthropicCall } from './anthropicTranslation';
import { unsupportedParameterOf } from './responseFormatTranslation';
import type {
  ProviderAdapter,
  StreamOutcome,
  UnsupportedParameter,
  UpstreamFailure,
  UpstreamOutcome,
  UpstreamRequest,
  UpstreamStream,
} from './types';
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

    const headers = this.headers('application/json', body.beta);
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
          (answer) => withThinkingBlocks(fromAnthropicResponse(answer, this.nowSeconds(), body.responseTool), answer),
        ),
    );
  }

  async stream(request: UpstreamRequest): Promise<StreamOutcome> {
    if (request.operation === 'embeddings') return NO_EMBEDDINGS;
    const body = this.translate(request);
    if ('kind' in body) return body;

    const payload = JSON.stringify({ ...body.request, stream: true });
    const headers = this.headers('text/event-stream', body.beta);
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh<UpstreamStream>(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        openSseStream(
          { url: `${this.baseUrl}/messages`, method: 'POST', headers: withKey(headers, apiKey), body: payload, timeoutMs },
          (secrets) => new AnthropicStreamReader(secrets, body.responseTool),
        ),
    );
  }

  /**
   * `POST /messages/count_tokens` with a native Messages body (the Messages door's
   * count_tokens): `{input_tokens}` on success. Not retried: a failure is the caller's to judge.
   */
  async countTokens(request: { body: Record<string, unknown>; beta?: string; timeoutMs: number; credential?: string }): Promise<UpstreamOutcome> {
    const headers = this.headers('application/json', request.beta);
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        sendUpstream(
          { url: `${this.baseUrl}/messages/count_tokens`, method: 'POST', headers: withKey(headers, apiKey), body: JSON.stringify(request.body), timeoutMs },
          (answer) => {
            const tokens = (answer as { input_tokens?: unknown } | null)?.input_tokens;
            if (typeof tokens !== 'number' || !Number.isFinite(tokens)) throw new Error('no `input_tokens` number');
            return { input_tokens: tokens };
          },
        ),
    );
  }

  /**
   * The Messages request, or the 400 a request that cannot be translated gets. A request that
   * carries the client's native Messages body (the Messages door) is sent as that body.
   */
  private translate(
    request: UpstreamRequest,
  ): { request: Record<string, unknown>; beta?: string; responseTool?: string } | UpstreamFailure {
    const native = nativeAnthropicOf(request.body);
    if (native) return { request: nativeMessagesBody(native, request.body), beta: native.beta };
    try {
      return toAnthropicCall(request.body, this.config);
    } catch (error) {
      if (isUnsupportedParameterError(error)) return error.toOutcome();
      // The client's request, not the target, is at fault: a 400 that no retry or fallback fixes.
      const reason = error instanceof Error ? error.message : 'request cannot be translated';
      return { kind: 'http_error', status: 400, headers: {}, message: `invalid request for anthropic: ${reason}` };
    }
  }

  /** A chat parameter the Messages API cannot honour (`logprobs`, `n` > 1...), checked before any call. */
  unsupported(request: Pick<UpstreamRequest, 'operation' | 'body'>): UnsupportedParameter | undefined {
    if (request.operation !== 'chat' || nativeAnthropicOf(request.body)) return undefined;
    return unsupportedParameterOf(request.body, 'anthropic');
  }

  private headers(accept: string, beta?: string): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept, 'anthropic-version': this.config.anthropic_version };
    if (beta !== undefined) headers['anthropic-beta'] = beta;
    return headers;
  }
}

const NO_EMBEDDINGS: UpstreamFailure = { kind: 'unavailable', reason: 'anthropic has no embeddings API' };

const withKey = (headers: Record<string, string>, apiKey: string | undefined) =>
  apiKey === undefined ? headers : { ...headers, 'x-api-key': apiKey };
