import type { ProviderConfig } from '../config/schema';
import type { SecretSource } from '../credentials';
import { isRecord, sendUpstream } from './upstreamHttp';
import type { ProviderAdapter, UpstreamOutcome, UpstreamRequest } from './types';
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
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...this.config.headers,
    };
    const credential = request.credential ?? this.config.credential;
    return withCredentialRefresh(
      { ...this.refresh, secrets: this.secrets, credential, timeoutMs: request.timeoutMs },
      (apiKey, timeoutMs) =>
        sendUpstream(
          {
            url: this.baseUrl + PATHS[request.operation],
            method: 'POST',
            headers: apiKey === undefined ? headers : { ...headers, authorization: `Bearer ${apiKey}` },
            body: JSON.stringify(request.body),
            timeoutMs,
          },
          (body) => readOpenAiBody(request.operation, body),
        ),
    );
  }
}
