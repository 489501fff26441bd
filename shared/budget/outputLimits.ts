import type { ProviderAdapter, UpstreamRequest } from '../providers/types';

/**
 * Applies a reservation's output limits to what is actually sent: the reservation paid for at
 * most `limit` output tokens a choice, so the upstream is told exactly that, whatever the
 * client, the route's override_params or the provider's default would have asked for.
 */

const LIMIT_FIELDS = ['max_completion_tokens', 'max_tokens'] as const;

/**
 * OpenAI's reasoning models refuse `max_tokens` and take only `max_completion_tokens`; every
 * other model and translation (Anthropic, Bedrock, OpenAI-compatible servers) reads `max_tokens`.
 */
const TAKES_COMPLETION_TOKENS = /(^|[/.])(o\d|gpt-5)/i;

/** The body with its output limit at most `limit`: the fields it names are lowered, or one is set. */
export function limitOutput(body: Readonly<Record<string, unknown>>, limit: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  const named = LIMIT_FIELDS.filter((field) => typeof body[field] === 'number');
  for (const field of LIMIT_FIELDS) if (body[field] === null) delete out[field];
  if (named.length === 0) named.push(TAKES_COMPLETION_TOKENS.test(String(body.model)) ? 'max_completion_tokens' : 'max_tokens');
  for (const field of named) out[field] = Math.min(typeof body[field] === 'number' ? (body[field] as number) : Infinity, limit);
  return out;
}

/**
 * The adapter with every chat call held to `limits` (per model; a model not listed gets the
 * smallest, which no reservation can have under-counted).
 */
export function withOutputLimits(adapter: ProviderAdapter, limits: ReadonlyMap<string, number>): ProviderAdapter {
  if (limits.size === 0) return adapter;
  const smallest = Math.min(...limits.values());
  const limited = <R extends UpstreamRequest>(request: R): R =>
    request.operation === 'chat' ? { ...request, body: limitOutput(request.body, limits.get(String(request.body.model)) ?? smallest) } : request;
  const wrapped: ProviderAdapter = {
    call: (request) => adapter.call(limited(request)),
    stream: (request) => adapter.stream(limited(request)),
  };
  if (adapter.unsupported) wrapped.unsupported = (request) => adapter.unsupported!(request);
  return wrapped;
}
