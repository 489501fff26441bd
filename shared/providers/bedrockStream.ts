import type { ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import type { StreamEvent } from '../stream/StreamEvent';
import { UpstreamStreamError } from '../stream/UpstreamStreamError';
import { converseStreamErrorOutcome, exceptionName } from './bedrockErrors';
import { toFinishReason, toOpenAiUsage } from './bedrockTranslation';
import { answerFinishReason, toStreamFinishReason, toStreamUsage } from './chatTranslation';
import { isRecord } from './upstreamHttp';
import { StreamLedger, malformedFrame, type FrameReader } from './upstreamStream';

/**
 * Bedrock's ConverseStream members → canonical events. Pure, no I/O.
 *
 * messageStart → content blocks (contentBlockStart for a toolUse, contentBlockDelta with text
 * or toolUse input, contentBlockStop) → messageStop (stopReason) → metadata (usage), then the
 * stream ends. Tool calls are numbered 0, 1, ... in their order; reasoning content is skipped.
 * Exception members (a throttle, a model failure mid-stream) throw like a thrown exception.
 */

/** The exception members a ConverseStream may carry instead of an event. */
const EXCEPTION_MEMBERS = [
  'internalServerException',
  'modelStreamErrorException',
  'serviceUnavailableException',
  'throttlingException',
  'validationException',
] as const;

interface ToolBlock {
  index: number;
  hasArguments: boolean;
}

export class BedrockStreamReader implements FrameReader<ConverseStreamOutput> {
  private readonly ledger = new StreamLedger();
  private readonly tools = new Map<number, ToolBlock>();
  /** Content block index → the `response_format` tool's block, whose input is streamed as text. */
  private readonly answers = new Map<number, { hasText: boolean }>();
  private stopped = false;

  /** @param responseTool the `response_format` tool: its input deltas become text deltas */
  constructor(private readonly responseTool?: string) {}

  /** Converse sends its usage after messageStop, so the stream is read to its end. */
  readonly done = false;

  read(frame: ConverseStreamOutput): StreamEvent[] {
    const member = frame as unknown as Record<string, unknown>;
    for (const key of EXCEPTION_MEMBERS) {
      const exception = member[key];
      if (exception !== undefined) {
        const fields = isRecord(exception) ? exception : {};
        throw new UpstreamStreamError(converseStreamErrorOutcome({ ...fields, name: exceptionName(key), message: fields.message }));
      }
    }
    if (isRecord(member.contentBlockStart)) return this.startBlock(member.contentBlockStart);
    if (isRecord(member.contentBlockDelta)) return this.delta(member.contentBlockDelta);
    if (isRecord(member.contentBlockStop)) return this.stopBlock(member.contentBlockStop);
    if (isRecord(member.messageStop)) {
      this.stopped = true;
      const reason = toFinishReason(member.messageStop.stopReason);
      return this.ledger.finish(toStreamFinishReason(answerFinishReason(reason, { fromTool: this.answers.size > 0, toolCalls: this.tools.size })));
    }
    if (isRecord(member.metadata) && isRecord(member.metadata.usage)) {
      this.ledger.recordUsage(toStreamUsage(toOpenAiUsage(member.metadata.usage)));
    }
    // messageStart, and members added after this was written.
    return [];
  }

  end(): StreamEvent[] {
    return this.ledger.close(this.stopped);
  }

  private startBlock(event: Record<string, unknown>): StreamEvent[] {
    const start = isRecord(event.start) ? event.start : {};
    if (!isRecord(start.toolUse)) return [];
    const { toolUseId, name } = start.toolUse;
    if (typeof toolUseId !== 'string' || typeof name !== 'string') throw malformedFrame('a toolUse start without toolUseId or name');
    if (name === this.responseTool) {
      this.answers.set(blockIndex(event), { hasText: false });
      return [];
    }
    const tool: ToolBlock = { index: this.tools.size, hasArguments: false };
    this.tools.set(blockIndex(event), tool);
    return [{ type: 'tool_call', index: tool.index, id: toolUseId, name, arguments: '' }];
  }

  private delta(event: Record<string, unknown>): StreamEvent[] {
    const delta = isRecord(event.delta) ? event.delta : {};
    if (typeof delta.text === 'string') return delta.text === '' ? [] : [{ type: 'text', text: delta.text }];
    if (isRecord(delta.toolUse)) {
      const answer = this.answers.get(blockIndex(event));
      const tool = this.tools.get(blockIndex(event));
      if (!tool && !answer) throw malformedFrame('a toolUse delta outside a toolUse block');
      const input = delta.toolUse.input;
      if (typeof input !== 'string') throw malformedFrame('a toolUse delta without input');
      if (input === '') return [];
      if (answer) {
        answer.hasText = true;
        return [{ type: 'text', text: input }];
      }
      if (!tool) return [];
      tool.hasArguments = true;
      return [{ type: 'tool_call', index: tool.index, arguments: input }];
    }
    // reasoningContent, citations: nothing a Chat Completions client reads.
    return [];
  }

  private stopBlock(event: Record<string, unknown>): StreamEvent[] {
    const answer = this.answers.get(blockIndex(event));
    if (answer && !answer.hasText) {
      answer.hasText = true;
      return [{ type: 'text', text: '{}' }];
    }
    const tool = this.tools.get(blockIndex(event));
    // As the buffered answer does, a tool called without parameters gets `{}`, not ''.
    if (!tool || tool.hasArguments) return [];
    tool.hasArguments = true;
    return [{ type: 'tool_call', index: tool.index, arguments: '{}' }];
  }
}

function blockIndex(event: Record<string, unknown>): number {
  if (typeof event.contentBlockIndex !== 'number') throw malformedFrame('a content block event without contentBlockIndex');
  return event.contentBlockIndex;
}
