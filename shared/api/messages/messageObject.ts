import { randomUUID } from 'node:crypto';
import type { StreamUsage } from '../../stream';

/**
 * The engine's answer (a chat.completion, or the canonical stream's usage) in Anthropic's
 * Messages format, pure.
 */

type Json = Record<string, unknown>;

/** finish_reason → stop_reason. A stop sequence reads as a plain stop in the canonical form: end_turn. */
const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

export const stopReasonOf = (finishReason: unknown): string =>
  (typeof finishReason === 'string' && STOP_REASONS[finishReason]) || 'end_turn';

/** An Anthropic message id (`msg_…`) for the engine's completion id. */
export function messageIdOf(id: unknown): string {
  if (typeof id === 'string' && id.startsWith('msg_')) return id;
  const bare = typeof id === 'string' ? id.replace(/^chatcmpl-/, '').replace(/[^A-Za-z0-9_-]/g, '') : '';
  return `msg_${bare || randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

export const toolUseIdOf = (id: unknown): string =>
  typeof id === 'string' && id !== '' ? id : `toolu_${randomUUID().replace(/-/g, '').slice(0, 24)}`;

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);

/**
 * OpenAI-shaped usage → Anthropic's. OpenAI's `prompt_tokens` counts cached tokens (and, as the
 * engine normalises Anthropic's usage, cache writes); Anthropic's `input_tokens` leaves both out.
 */
export function anthropicUsage(usage: unknown): AnthropicUsage {
  const u = (typeof usage === 'object' && usage !== null ? usage : {}) as Partial<StreamUsage> & Json;
  const details = (u.prompt_tokens_details ?? {}) as Json;
  const cacheRead = count(details.cached_tokens ?? u.cache_read_input_tokens);
  const cacheWrite = count(details.cache_write_tokens ?? u.cache_creation_input_tokens);
  return {
    input_tokens: Math.max(0, count(u.prompt_tokens) - cacheRead - cacheWrite),
    output_tokens: count(u.completion_tokens),
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  };
}

/**
 * A tool call's arguments as the tool_use block's `input` object. A model (not Claude: its
 * inputs are objects by construction) that wrote arguments that are not a JSON object gets `{}`,
 * which the client's own schema check then refuses, rather than a string the SDK cannot type.
 */
export function toolInputOf(args: unknown): Json {
  if (typeof args !== 'string' || args === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : {};
  } catch {
    return {};
  }
}

/** A buffered chat.completion → Anthropic's `message`: thinking blocks, text, tool_use blocks. */
export function toAnthropicMessage(completion: Json): Json {
  const choice = (Array.isArray(completion.choices) ? completion.choices[0] : undefined) as
    | { message?: { content?: unknown; tool_calls?: unknown; thinking_blocks?: unknown }; finish_reason?: unknown }
    | undefined;
  const message = choice?.message ?? {};
  const content: Json[] = Array.isArray(message.thinking_blocks) ? [...(message.thinking_blocks as Json[])] : [];
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content });
  const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) : [];
  for (const call of toolCalls) {
    content.push({ type: 'tool_use', id: toolUseIdOf(call.id), name: String(call.function?.name ?? ''), input: toolInputOf(call.function?.arguments) });
  }
  return {
    id: messageIdOf(completion.id),
    type: 'message',
    role: 'assistant',
    model: String(completion.model ?? ''),
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(completion.usage),
  };
}
