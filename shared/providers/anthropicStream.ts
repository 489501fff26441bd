import type { StreamEvent } from '../stream/StreamEvent';
import { UpstreamStreamError } from '../stream/UpstreamStreamError';
import { ThinkingStreamReader } from './anthropicThinking';
import { toFinishReason, toOpenAiUsage } from './anthropicTranslation';
import { answerFinishReason, toStreamFinishReason, toStreamUsage } from './chatTranslation';
import type { SseEvent } from './sseEvents';
import { errorMessageFromBody, isRecord } from './upstreamHttp';
import { StreamLedger, malformedFrame, parseFrameJson, type FrameReader } from './upstreamStream';

/**
 * Anthropic's streamed Messages events → canonical events. Pure, no I/O.
 *
 * message_start (input and cache tokens) → content blocks (start, deltas, stop) →
 * message_delta (stop_reason, output tokens) → message_stop. Text blocks become text deltas,
 * tool_use blocks tool-call deltas numbered 0, 1, ... in their order, thinking blocks thinking
 * deltas (see anthropicThinking.ts); server-tool blocks have no canonical equivalent and are
 * skipped.
 */

/**
 * Anthropic's error types and the statuses they answer with outside a stream: an `error`
 * event mid-stream is judged as if the call had failed with that status (an overload is
 * retried, an invalid request is not). Unknown types read as 500.
 */
export const ANTHROPIC_ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * The usage counts message_start gives and message_delta may restate. They are running
 * totals, so the larger one is kept: a proxy that restates a count as 0 cannot undercount.
 */
const USAGE_COUNTS = ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const;

interface ToolBlock {
  /** The tool call's ordinal among this answer's tool_use blocks. */
  index: number;
  /** Whether any argument text came: a tool without parameters streams none. */
  hasArguments: boolean;
}

export class AnthropicStreamReader implements FrameReader<SseEvent> {
  private readonly ledger = new StreamLedger();
  /** Content block index → its tool call; only tool_use blocks are here. */
  private readonly tools = new Map<number, ToolBlock>();
  /** Content block index → the `response_format` tool's block, whose input is streamed as text. */
  private readonly answers = new Map<number, { hasText: boolean }>();
  private readonly thinking = new ThinkingStreamReader();
  private readonly usage: Record<string, number> = {};
  private sawUsage = false;
  private stopped = false;

  /**
   * @param secrets the credential values sent, cut out of in-stream error messages
   * @param responseTool the `response_format` tool: its input_json_delta becomes text deltas
   */
  constructor(
    private readonly secrets: readonly string[] = [],
    private readonly responseTool?: string,
  ) {}

  get done(): boolean {
    return this.stopped;
  }

  read(frame: SseEvent): StreamEvent[] {
    if (frame.data.trim() === '') return [];
    const event = parseFrameJson(frame.data);
    if (!isRecord(event)) throw malformedFrame('an event is not a JSON object');
    const type = typeof event.type === 'string' ? event.type : frame.event;
    switch (type) {
      case 'message_start':
        this.addUsage(isRecord(event.message) ? event.message.usage : undefined);
        return [];
      case 'content_block_start':
        return this.startBlock(event);
      case 'content_block_delta':
        return this.delta(event);
      case 'content_block_stop':
        return this.stopBlock(event);
      case 'message_delta': {
        this.addUsage(event.usage);
        const delta = isRecord(event.delta) ? event.delta : {};
        const reason = delta.stop_reason;
        if (reason === undefined || reason === null) return [];
        return this.ledger.finish(toStreamFinishReason(answerFinishReason(toFinishReason(reason), { fromTool: this.answers.size > 0, toolCalls: this.tools.size })));
      }
      case 'message_stop':
        this.stopped = true;
        return [];
      case 'error':
        throw this.streamError(event, frame.data);
      default:
        // ping, and event types added after this was written.
        return [];
    }
  }

  end(): StreamEvent[] {
    if (this.sawUsage) this.ledger.recordUsage(toStreamUsage(toOpenAiUsage(this.usage)));
    return this.ledger.close(this.stopped);
  }

  private startBlock(event: Record<string, unknown>): StreamEvent[] {
    const block = isRecord(event.content_block) ? event.content_block : {};
    const at = blockIndex(event);
    const thinking = this.thinking.start(at, block);
    if (thinking) return thinking;
    if (block.type === 'text') {
      return typeof block.text === 'string' && block.text !== '' ? [{ type: 'text', text: block.text }] : [];
    }
    if (block.type !== 'tool_use') return [];
    if (typeof block.id !== 'string' || typeof block.name !== 'string') throw malformedFrame('a tool_use block without id or name');
    if (block.name === this.responseTool) {
      this.answers.set(at, { hasText: false });
      return [];
    }
    const tool: ToolBlock = { index: this.tools.size, hasArguments: false };
    this.tools.set(at, tool);
    return [{ type: 'tool_call', index: tool.index, id: block.id, name: block.name, arguments: '' }];
  }

  private delta(event: Record<string, unknown>): StreamEvent[] {
    const delta = isRecord(event.delta) ? event.delta : {};
    if (delta.type === 'text_delta') {
      if (typeof delta.text !== 'string') throw malformedFrame('a text_delta without text');
      return delta.text === '' ? [] : [{ type: 'text', text: delta.text }];
    }
    if (delta.type === 'input_json_delta') {
      const answer = this.answers.get(blockIndex(event));
      if (answer) {
        if (typeof delta.partial_json !== 'string') throw malformedFrame('an input_json_delta without partial_json');
        if (delta.partial_json === '') return [];
        answer.hasText = true;
        return [{ type: 'text', text: delta.partial_json }];
      }
      const tool = this.tools.get(blockIndex(event));
      if (!tool) throw malformedFrame('an input_json_delta outside a tool_use block');
      if (typeof delta.partial_json !== 'string') throw malformedFrame('an input_json_delta without partial_json');
      if (delta.partial_json === '') return [];
      tool.hasArguments = true;
      return [{ type: 'tool_call', index: tool.index, arguments: delta.partial_json }];
    }
    // citations_delta: nothing the canonical stream carries.
    return this.thinking.delta(blockIndex(event), delta) ?? [];
  }

  private stopBlock(event: Record<string, unknown>): StreamEvent[] {
    const answer = this.answers.get(blockIndex(event));
    if (answer && !answer.hasText) {
      answer.hasText = true;
      return [{ type: 'text', text: '{}' }];
    }
    const tool = this.tools.get(blockIndex(event));
    // The buffered answer re-encodes a tool's input, so a call without parameters reads `{}`
    // there; the stream says the same rather than an empty, unparseable arguments string.
    if (!tool || tool.hasArguments) return [];
    tool.hasArguments = true;
    return [{ type: 'tool_call', index: tool.index, arguments: '{}' }];
  }

  private addUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    for (const name of USAGE_COUNTS) {
      const value = usage[name];
      if (typeof value === 'number' && Number.isFinite(value)) {
        this.usage[name] = Math.max(this.usage[name] ?? 0, value);
        this.sawUsage = true;
      }
    }
  }

  private streamError(event: Record<string, unknown>, data: string): UpstreamStreamError {
    const error = isRecord(event.error) ? event.error : {};
    const status = (typeof error.type === 'string' && ANTHROPIC_ERROR_STATUS[error.type]) || 500;
    return new UpstreamStreamError({ kind: 'http_error', status, headers: {}, message: errorMessageFromBody(data, this.secrets) });
  }
}

function blockIndex(event: Record<string, unknown>): number {
  if (typeof event.index !== 'number') throw malformedFrame(`a ${String(event.type)} event without an index`);
  return event.index;
}
