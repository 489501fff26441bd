import { isRecord } from './upstreamHttp';
import type { ProviderAdapter, UpstreamRequest } from './types';

/**
 * The Anthropic Messages door's native pass-through. The door translates a Messages request into
 * the engine's form (Chat Completions) so any target can serve it, and carries the client's own
 * Messages body beside it under this reserved field. The Anthropic adapter sends that body as it
 * came (so `cache_control` breakpoints, thinking, history thinking blocks and beta features
 * survive); every other adapter gets the chat body without the field (see
 * {@link withoutNativeField}). The field stays in the cache key and the idempotency payload: the
 * native body (thinking budget, beta features) can change the answer.
 */
export const ANTHROPIC_NATIVE_FIELD = 'x_breakwater_anthropic';

export interface AnthropicNative {
  /** The client's Messages body without `model`, `stream` and `metadata`, which the adapter sets. */
  body: Record<string, unknown>;
  /** The client's `anthropic-beta` header, forwarded as is. */
  beta?: string;
}

/**
 * The native requests the Messages door made in this process. The field is a plain JSON value, so
 * a client could put one in a chat or Responses body, or a task (queued as JSON), and have the
 * Anthropic adapter send content the engine never screened or estimated. Only an object the door
 * itself made is trusted: the engine passes it along by reference, and anything forged, or
 * rebuilt from JSON, is ignored (the chat body is translated as usual).
 */
const madeByTheDoor = new WeakSet<object>();

/** A native request for the chat body's {@link ANTHROPIC_NATIVE_FIELD}; only the Messages door calls this. */
export function nativeRequest(native: AnthropicNative): AnthropicNative {
  madeByTheDoor.add(native);
  return native;
}

/** The native request a chat body carries, if the Messages door made it. */
export function nativeAnthropicOf(body: Readonly<Record<string, unknown>>): AnthropicNative | undefined {
  const native = body[ANTHROPIC_NATIVE_FIELD];
  if (!isRecord(native) || !madeByTheDoor.has(native) || !isRecord(native.body)) return undefined;
  return { body: native.body, ...(typeof native.beta === 'string' && native.beta !== '' ? { beta: native.beta } : {}) };
}

/** The chat body without the native request: what every target but Anthropic gets. */
export function withoutNativeField<T extends Readonly<Record<string, unknown>>>(body: T): T {
  if (!(ANTHROPIC_NATIVE_FIELD in body)) return body;
  const { [ANTHROPIC_NATIVE_FIELD]: _native, ...rest } = body;
  return rest as T;
}

/**
 * The Messages body sent upstream for a native request. What the engine decided on the chat
 * body wins over the client's native values: the target's model, and the fields a route's
 * `override_params` may set (`max_tokens`, `temperature`, `top_p`), which the door copied there
 * from the native body in the first place. The end user (`user`, from `metadata.user_id`) goes
 * back into `metadata`.
 */
export function nativeMessagesBody(native: AnthropicNative, chat: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...native.body, model: chat.model };
  const maxTokens = chat.max_completion_tokens ?? chat.max_tokens;
  if (typeof maxTokens === 'number') out.max_tokens = maxTokens;
  for (const field of ['temperature', 'top_p'] as const) if (typeof chat[field] === 'number') out[field] = chat[field];
  if (typeof chat.user === 'string' && chat.user !== '') out.metadata = { user_id: chat.user };
  return out;
}

/** Strips the native field from every request: for adapters that do not speak Anthropic's Messages API. */
export function withoutAnthropicNative(adapter: ProviderAdapter): ProviderAdapter {
  const strip = (request: UpstreamRequest): UpstreamRequest =>
    ANTHROPIC_NATIVE_FIELD in request.body ? { ...request, body: withoutNativeField(request.body) } : request;
  const stripped: ProviderAdapter = {
    call: (request) => adapter.call(strip(request)),
    stream: (request) => adapter.stream(strip(request)),
  };
  // Every other method of the interface is passed on as is.
  if (adapter.unsupported) stripped.unsupported = (request) => adapter.unsupported!({ ...request, body: withoutNativeField(request.body) });
  return stripped;
}
