import type { ProviderConfig } from '../config/schema';
import type { SecretSource } from '../credentials';
import { fromAnthropicResponse, toAnthropicRequest } from './anthropicTranslation';
import type { ProviderAdapter, UpstreamOutcome, UpstreamRequest } from './types';
import { sendUpstream } from './upstreamHttp';
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
    if (request.operation === 'embeddings') return { kind: 'unavailable', reason: 'anthropic has no embeddings API' };

    let body: Record<string, unknown>;
    try {
      body = toAnthropicRequest(request.body, this.config);
    } catch (error) {
      // The client's request, not the target, is at fault: a 400 that no retry or fallback fixes.
      const reason = error instanceof Error ? error.message : 'request cannot be translated';
      return { kind: 'http_error', status: 400, headers: {}, message: `invalid request for anthropic: ${reason}` };
    }

    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': this.config.anthropic_version,
    };
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        sendUpstream(
          {
            url: `${this.baseUrl}/messages`,
            method: 'POST',
            headers: apiKey === undefined ? headers : { ...headers, 'x-api-key': apiKey },
            body: JSON.stringify(body),
            timeoutMs,
          },
          (answer) => fromAnthropicResponse(answer, this.nowSeconds()),
        ),
    );
  }
}
