import type { ProviderConfig } from '../config/schema';
import type { SecretSource } from '../credentials';
import { isRecord, sendUpstream } from './upstreamHttp';
import type { ProviderAdapter, UpstreamOutcome, UpstreamRequest } from './types';

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
  ) {
    this.baseUrl = config.base_url.replace(/\/+$/, '');
  }

  async call(request: UpstreamRequest): Promise<UpstreamOutcome> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...this.config.headers,
    };
    if (this.config.credential) {
      const secret = await this.secrets.get(this.config.credential);
      if (!secret?.api_key) return { kind: 'unavailable', reason: `credential "${this.config.credential}" is not set` };
      headers.authorization = `Bearer ${secret.api_key}`;
    }
    return sendUpstream(
      {
        url: this.baseUrl + PATHS[request.operation],
        method: 'POST',
        headers,
        body: JSON.stringify(request.body),
        timeoutMs: request.timeoutMs,
      },
      (body) => readOpenAiBody(request.operation, body),
    );
  }
}
