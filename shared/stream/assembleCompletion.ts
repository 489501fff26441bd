import type { FinishReason, StreamEvent, StreamUsage } from './StreamEvent';

/** What a chat.completion carries beyond its content. */
export interface CompletionMeta {
  id: string;
  model: string;
  created: number;
}

interface AssembledToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Anthropic's thinking block shapes, as the Messages API gives them back. */
type ThinkingBlock = { type: 'thinking'; thinking: string; signature: string } | { type: 'redacted_thinking'; data: string };

/**
 * Folds the canonical stream into one answer: text deltas joined, each tool call's argument
 * fragments joined in order, thinking blocks as the message's `thinking_blocks`. What the cache
 * and idempotency store keep of a stream, and what a buffered surface would send.
 */
export class CompletionAssembler {
  private text = '';
  private readonly toolCalls: AssembledToolCall[] = [];
  private readonly thinking: ThinkingBlock[] = [];
  finishReason: FinishReason | undefined;
  usage: StreamUsage | undefined;
  /** UTF-8 bytes of content sent so far: bounds the output tokens of a cut stream. */
  contentBytes = 0;

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'text':
        this.text += event.text;
        this.contentBytes += Buffer.byteLength(event.text);
        return;
      case 'tool_call': {
        const call = (this.toolCalls[event.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (event.id) call.id = event.id;
        if (event.name) call.function.name += event.name;
        call.function.arguments += event.arguments;
        this.contentBytes += Buffer.byteLength(event.arguments) + Buffer.byteLength(event.name ?? '');
        return;
      }
      case 'thinking': {
        if (event.redacted !== undefined) {
          this.thinking[event.index] = { type: 'redacted_thinking', data: event.redacted };
          return;
        }
        const block = (this.thinking[event.index] ??= { type: 'thinking', thinking: '', signature: '' });
        if (block.type !== 'thinking') return;
        block.thinking += event.thinking;
        if (event.signature !== undefined) block.signature = event.signature;
        // Thinking is billed as output: it bounds a cut stream's output like text does.
        this.contentBytes += Buffer.byteLength(event.thinking);
        return;
      }
      case 'finish':
        this.finishReason = event.reason;
        return;
      case 'usage':
        this.usage = event.usage;
    }
  }

  /** The text so far (a prefill for a continuation). */
  get partialText(): string {
    return this.text;
  }

  get hasToolCalls(): boolean {
    return this.toolCalls.length > 0;
  }

  /** An OpenAI chat.completion body. */
  toCompletion(meta: CompletionMeta): Record<string, unknown> {
    const toolCalls = this.toolCalls.filter((call) => call !== undefined);
    const message: Record<string, unknown> = { role: 'assistant', content: toolCalls.length > 0 && this.text === '' ? null : this.text };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    const thinking = this.thinking.filter((block) => block !== undefined);
    if (thinking.length > 0) message.thinking_blocks = thinking;
    return {
      id: meta.id,
      object: 'chat.completion',
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, message, finish_reason: this.finishReason ?? 'stop' }],
      ...(this.usage ? { usage: this.usage } : {}),
    };
  }
}
