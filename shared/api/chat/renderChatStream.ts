import { GatewayError, isGatewayError } from '../../errors';
import type { CompletionMeta, StreamEvent } from '../../stream';

export interface ChatStreamOptions {
  /** `stream_options.include_usage`: a last chunk with `usage` and empty `choices`. */
  includeUsage: boolean;
  /** Says the request id in an error message, the same way a buffered error does. */
  requestId: string;
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/**
 * Renders the canonical stream as OpenAI's Chat Completions SSE: `chat.completion.chunk` lines,
 * the finish reason on the last content chunk, the usage chunk when asked, `data: [DONE]`.
 * When the stream breaks after its first byte, it ends with the OpenAI error object the SDKs
 * parse (`data: {"error":{...}}`) and no `[DONE]`, so no client mistakes a cut answer for a
 * whole one.
 */
export async function* renderChatStream(
  meta: CompletionMeta,
  events: AsyncIterable<StreamEvent>,
  options: ChatStreamOptions,
): AsyncGenerator<string> {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices,
    ...extra,
  });
  const delta = (content: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: content, logprobs: null, finish_reason: finishReason }]);
  const announcedToolCalls = new Set<number>();

  yield sse(delta({ role: 'assistant', content: '' }));
  try {
    for await (const event of events) {
      switch (event.type) {
        case 'text':
          yield sse(delta({ content: event.text }));
          break;
        case 'tool_call': {
          const first = !announcedToolCalls.has(event.index);
          announcedToolCalls.add(event.index);
          const fn: Record<string, unknown> = { arguments: event.arguments };
          if (event.name !== undefined) fn.name = event.name;
          const call: Record<string, unknown> = { index: event.index, function: fn };
          if (first || event.id !== undefined) Object.assign(call, { id: event.id, type: 'function' });
          yield sse(delta({ tool_calls: [call] }));
          break;
        }
        case 'finish':
          yield sse(delta({}, event.reason));
          break;
        case 'usage':
          if (options.includeUsage) {
            yield sse(chunk([], { usage: event.usage, ...(event.gateway ? { x_breakwater: event.gateway } : {}) }));
          }
          break;
      }
    }
  } catch (error) {
    const failure = isGatewayError(error)
      ? error
      : new GatewayError('internal_error', `internal error; quote request id ${options.requestId}`);
    yield sse(failure.toBody());
    return;
  }
  yield 'data: [DONE]\n\n';
}
