import type { ThinkingDelta } from '../stream/StreamEvent';
import { malformedFrame } from './upstreamStream';
import { isRecord } from './upstreamHttp';

/**
 * Anthropic's extended thinking in the engine's terms. Thinking comes back only to a request
 * that asked for it, which only the Messages door's native pass-through can (the chat
 * translation has no `thinking` parameter); the Messages door gives the blocks back, since a
 * client that continues a tool-use turn with thinking on must send them back unchanged.
 */

/**
 * Reads the thinking and redacted_thinking blocks of a Messages stream as canonical
 * {@link ThinkingDelta}s numbered 0, 1, ... in their order. Each method returns undefined for a
 * block or delta that is not thinking, so the stream reader can try it first.
 */
export class ThinkingStreamReader {
  /** Content block index → the thinking block's ordinal. */
  private readonly blocks = new Map<number, number>();

  start(at: number, block: Record<string, unknown>): ThinkingDelta[] | undefined {
    if (block.type === 'redacted_thinking') {
      if (typeof block.data !== 'string') throw malformedFrame('a redacted_thinking block without data');
      return [{ type: 'thinking', index: this.open(at), thinking: '', redacted: block.data }];
    }
    if (block.type !== 'thinking') return undefined;
    const index = this.open(at);
    return typeof block.thinking === 'string' && block.thinking !== '' ? [{ type: 'thinking', index, thinking: block.thinking }] : [];
  }

  delta(at: number, delta: Record<string, unknown>): ThinkingDelta[] | undefined {
    if (delta.type !== 'thinking_delta' && delta.type !== 'signature_delta') return undefined;
    const index = this.blocks.get(at);
    if (index === undefined) throw malformedFrame(`a ${delta.type} outside a thinking block`);
    if (delta.type === 'signature_delta') {
      if (typeof delta.signature !== 'string') throw malformedFrame('a signature_delta without signature');
      return [{ type: 'thinking', index, thinking: '', signature: delta.signature }];
    }
    if (typeof delta.thinking !== 'string') throw malformedFrame('a thinking_delta without thinking');
    return delta.thinking === '' ? [] : [{ type: 'thinking', index, thinking: delta.thinking }];
  }

  private open(at: number): number {
    const index = this.blocks.size;
    this.blocks.set(at, index);
    return index;
  }
}

/** The thinking and redacted_thinking blocks of a Messages answer's content, in order. */
export function thinkingBlocksOf(content: unknown): Record<string, unknown>[] {
  if (!Array.isArray(content)) return [];
  return content.filter(
    (block): block is Record<string, unknown> => isRecord(block) && (block.type === 'thinking' || block.type === 'redacted_thinking'),
  );
}

/**
 * A chat.completion with the Messages answer's thinking blocks on its message, as
 * `thinking_blocks` (LiteLLM's name for them); unchanged when there are none.
 */
export function withThinkingBlocks(completion: Record<string, unknown>, anthropicAnswer: unknown): Record<string, unknown> {
  const blocks = thinkingBlocksOf(isRecord(anthropicAnswer) ? anthropicAnswer.content : undefined);
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (blocks.length === 0 || !isRecord(choice) || !isRecord(choice.message)) return completion;
  return { ...completion, choices: [{ ...choice, message: { ...choice.message, thinking_blocks: blocks } }] };
}
