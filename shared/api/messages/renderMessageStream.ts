import { GatewayError, isGatewayError } from '../../errors';
import type { CompletionMeta, StreamEvent, UsageEvent } from '../../stream';
import { anthropicErrorBody } from './anthropicErrors';
import { anthropicUsage, messageIdOf, stopReasonOf, toolUseIdOf } from './messageObject';

const frame = (type: string, data: Record<string, unknown> = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

export interface MessageStreamOptions {
  /** Says the request id in an error message, the same way a buffered error does. */
  requestId: string;
  /**
   * `message_start`'s input tokens. Anthropic knows them there; the engine only at the end, so
   * this is its (high) estimate, and `message_delta` gives the real count. A client that reads
   * only the first (older SDKs) over-counts its context rather than thinking it empty.
   */
  inputTokensEstimate?: number;
}

/** The content block being written: its kind, and which text, thinking block or tool call it is. */
type OpenBlock = { kind: 'text' } | { kind: 'thinking'; index: number } | { kind: 'tool'; index: number };

/**
 * Renders the canonical stream as Anthropic's Messages SSE: `message_start`, `ping`, each
 * content block (`content_block_start`, its `text_delta` / `thinking_delta` + `signature_delta`
 * / `input_json_delta` deltas, `content_block_stop`), `message_delta` with the stop reason and
 * the usage, `message_stop`. Blocks are numbered in the order they open. Input tokens are known
 * only at the end: `message_start` has the estimate, `message_delta` every real count (current
 * SDKs take them from there). When the stream breaks after its first byte, it ends with an `error` event
 * and no `message_stop`: the SDK raises it, so a cut answer is never taken for a whole one.
 */
export async function* renderMessageStream(
  meta: CompletionMeta,
  events: AsyncIterable<StreamEvent>,
  options: MessageStreamOptions,
): AsyncGenerator<string> {
  yield frame('message_start', {
    message: {
      id: messageIdOf(meta.id),
      type: 'message',
      role: 'assistant',
      model: meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: options.inputTokensEstimate ?? 0, output_tokens: 0 },
    },
  });
  yield frame('ping');

  let blocks = 0;
  let open: (OpenBlock & { at: number }) | undefined;
  /** Tool call and thinking block → its content block index. */
  const toolBlocks = new Map<number, number>();
  const thinkingBlocks = new Map<number, number>();
  let finishReason: string | undefined;
  let usage: UsageEvent | undefined;

  function* close(): Generator<string> {
    if (open) yield frame('content_block_stop', { index: open.at });
    open = undefined;
  }
  function* start(block: OpenBlock, content: Record<string, unknown>): Generator<string> {
    yield* close();
    open = { ...block, at: blocks++ };
    yield frame('content_block_start', { index: open.at, content_block: content });
  }

  try {
    for await (const event of events) {
      switch (event.type) {
        case 'text':
          if (open?.kind !== 'text') yield* start({ kind: 'text' }, { type: 'text', text: '' });
          yield frame('content_block_delta', { index: open!.at, delta: { type: 'text_delta', text: event.text } });
          break;
        case 'thinking': {
          let at = thinkingBlocks.get(event.index);
          if (at === undefined) {
            const content =
              event.redacted !== undefined ? { type: 'redacted_thinking', data: event.redacted } : { type: 'thinking', thinking: '', signature: '' };
            yield* start({ kind: 'thinking', index: event.index }, content);
            at = open!.at;
            thinkingBlocks.set(event.index, at);
          }
          if (event.thinking !== '') yield frame('content_block_delta', { index: at, delta: { type: 'thinking_delta', thinking: event.thinking } });
          if (event.signature !== undefined) yield frame('content_block_delta', { index: at, delta: { type: 'signature_delta', signature: event.signature } });
          break;
        }
        case 'tool_call': {
          let at = toolBlocks.get(event.index);
          if (at === undefined) {
            yield* start({ kind: 'tool', index: event.index }, { type: 'tool_use', id: toolUseIdOf(event.id), name: event.name ?? '', input: {} });
            at = open!.at;
            toolBlocks.set(event.index, at);
          }
          if (event.arguments !== '') yield frame('content_block_delta', { index: at, delta: { type: 'input_json_delta', partial_json: event.arguments } });
          break;
        }
        case 'finish':
          finishReason = event.reason;
          yield* close();
          break;
        case 'usage':
          usage = event;
          break;
      }
    }
  } catch (error) {
    const failure = isGatewayError(error) ? error : new GatewayError('internal_error', `internal error; quote request id ${options.requestId}`);
    yield frame('error', { error: anthropicErrorBody(failure, options.requestId).error });
    return;
  }
  yield* close();
  yield frame('message_delta', {
    delta: { stop_reason: stopReasonOf(finishReason), stop_sequence: null },
    usage: anthropicUsage(usage?.usage),
    ...(usage?.gateway ? { x_breakwater: usage.gateway } : {}),
  });
  yield frame('message_stop');
}
