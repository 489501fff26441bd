/**
 * The engine's canonical stream: what every provider adapter yields and every API surface
 * renders (OpenAI chunks, Responses and Anthropic events). Provider-neutral and
 * small on purpose: N providers + M surfaces, never N x M translations.
 *
 * One choice only: a streamed request with `n > 1` is refused at the door.
 */
export type StreamEvent = TextDelta | ToolCallDelta | ThinkingDelta | FinishEvent | UsageEvent;

/** A piece of the assistant's text. */
export interface TextDelta {
  type: 'text';
  text: string;
}

/**
 * A piece of one tool call. The first delta of a call carries `id` and `name`; later ones
 * carry `arguments` fragments only. `index` tells parallel calls apart.
 */
export interface ToolCallDelta {
  type: 'tool_call';
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

/**
 * A piece of one block of the model's extended thinking (Anthropic's `thinking` and
 * `redacted_thinking` blocks). The Messages door renders it: a client that continues a tool-use
 * turn with thinking on must send the blocks back, signature and all. Surfaces with no place
 * for it (Chat Completions) leave it out. `index` tells blocks apart (0, 1, ... in their order);
 * a block's text comes first and its signature last; a redacted block comes whole, in one event.
 */
export interface ThinkingDelta {
  type: 'thinking';
  index: number;
  thinking: string;
  signature?: string;
  /** A redacted_thinking block's opaque `data`. */
  redacted?: string;
}

/** OpenAI's finish reasons; adapters map their provider's stop reasons onto these. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface FinishEvent {
  type: 'finish';
  reason: FinishReason;
}

/** The upstream's usage, in OpenAI's shape (the spend ledger and the renderers read this one). */
export interface StreamUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

export interface UsageEvent {
  type: 'usage';
  usage: StreamUsage;
  /**
   * The gateway's own facts, known only at the end (the final usage chunk's `x_breakwater`):
   * response headers cannot change once the stream's head is sent.
   */
  gateway?: {
    target: string;
    cost_usd: number;
    budget_remaining_usd?: number;
    /** The target whose stream broke mid-answer before another continued it. */
    recovered_from?: string;
  };
}

/**
 * Whether an event is content (text, a tool call, thinking), as opposed to bookkeeping: a stream
 * is committed at its first. Thinking counts: it is what a thinking model streams first, for
 * seconds, and it is billed as output.
 */
export const isContentEvent = (event: StreamEvent): event is TextDelta | ToolCallDelta | ThinkingDelta =>
  event.type === 'text' || event.type === 'tool_call' || event.type === 'thinking';
