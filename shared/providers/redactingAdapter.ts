import type { SecretRedactor } from '../redaction/SecretRedactor';
import { redactStreamEvents } from '../redaction/redactStreamEvents';
import type { ProviderAdapter, StreamOutcome, UpstreamOutcome } from './types';

/**
 * An adapter whose every outcome has the credentials in use cut out, where the upstream's
 * answer enters the engine: an upstream (or a model) that echoes a key, in plain or base64,
 * in a 200 body, a stream or an error message, reaches no client, cache, idempotency record,
 * stored response, task result or log line.
 */
export function redactingAdapter(adapter: ProviderAdapter, redactor: SecretRedactor): ProviderAdapter {
  return {
    // Anthropic's own extra (the count_tokens door looks for it) stays callable, redacted too.
    ...countTokensOf(adapter, redactor),
    call: async (request) => redactOutcome(await adapter.call(request), redactor),
    stream: async (request) => {
      const outcome: StreamOutcome = await adapter.stream(request);
      if (outcome.kind !== 'success') return redactOutcome(outcome, redactor);
      return { ...outcome, body: { events: redactStreamEvents(outcome.body.events, redactor), abort: () => outcome.body.abort() } };
    },
    ...(adapter.unsupported ? { unsupported: adapter.unsupported.bind(adapter) } : {}),
  };
}

function redactOutcome<Body>(outcome: UpstreamOutcome<Body>, redactor: SecretRedactor): UpstreamOutcome<Body> {
  switch (outcome.kind) {
    case 'success':
      return { ...outcome, body: redactor.redactDeep(outcome.body) };
    case 'http_error':
    case 'network_error':
    case 'malformed':
      return { ...outcome, message: redactor.redactCredentials(outcome.message) };
    default:
      return outcome;
  }
}

type TokenCounting = { countTokens(request: unknown): Promise<UpstreamOutcome> };

function countTokensOf(adapter: ProviderAdapter, redactor: SecretRedactor): Partial<TokenCounting> {
  const counter = adapter as Partial<TokenCounting>;
  if (typeof counter.countTokens !== 'function') return {};
  const countTokens = counter.countTokens.bind(adapter);
  return { countTokens: async (request) => redactOutcome(await countTokens(request), redactor) };
}
