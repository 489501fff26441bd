import type { FinishReason, StreamEvent, StreamUsage } from './StreamEvent';

const FINISH_REASONS: ReadonlySet<string> = new Set(['stop', 'length', 'tool_calls', 'content_filter']);

/**
 * A stored chat.completion (a cache hit, an idempotent replay, a stale answer) as the
 * canonical stream, so a streaming client gets it as a stream like any other answer.
 */
export function* completionEvents(body: Record<string, unknown>): Generator<StreamEvent> {
  const choice = (Array.isArray(body.choices) ? body.choices[0] : undefined) as
    | { message?: { content?: unknown; tool_calls?: unknown; thinking_blocks?: unknown }; finish_reason?: unknown }
    | undefined;
  yield* thinkingEvents(choice?.message?.thinking_blocks);
  const content = choice?.message?.content;
  if (typeof content === 'string' && content !== '') yield { type: 'text', text: content };
  const toolCalls = Array.isArray(choice?.message?.tool_calls) ? choice.message.tool_calls : [];
  for (const [index, call] of (toolCalls as Array<{ id?: string; function?: { name?: string; arguments?: string } }>).entries()) {
    yield { type: 'tool_call', index, id: call.id, name: call.function?.name, arguments: call.function?.arguments ?? '' };
  }
  const finish = String(choice?.finish_reason ?? 'stop');
  yield { type: 'finish', reason: (FINISH_REASONS.has(finish) ? finish : 'stop') as FinishReason };
  if (body.usage && typeof body.usage === 'object') yield { type: 'usage', usage: body.usage as StreamUsage };
}

/** Stored Anthropic thinking blocks (`thinking_blocks`) as thinking events, one or two per block. */
function* thinkingEvents(blocks: unknown): Generator<StreamEvent> {
  if (!Array.isArray(blocks)) return;
  for (const [index, block] of (blocks as Array<Record<string, unknown> | null>).entries()) {
    if (block?.type === 'redacted_thinking' && typeof block.data === 'string') {
      yield { type: 'thinking', index, thinking: '', redacted: block.data };
    } else if (block?.type === 'thinking' && typeof block.thinking === 'string') {
      yield { type: 'thinking', index, thinking: block.thinking };
      if (typeof block.signature === 'string') yield { type: 'thinking', index, thinking: '', signature: block.signature };
    }
  }
}
