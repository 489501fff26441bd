import { GatewayError, isGatewayError } from '../../errors';
import type { CompletionMeta, FinishReason, StreamEvent, StreamUsage, UsageEvent } from '../../stream';
import {
  buildResponse,
  outputText,
  statusOf,
  type ItemStatus,
  type OutputFunctionCall,
  type OutputItem,
  type OutputMessage,
  type ResponseEcho,
  type ResponseIds,
  type ResponseObject,
  type ResponseStatus,
} from './responseObject';

export interface ResponseStreamOptions {
  ids: ResponseIds;
  echo: ResponseEcho;
  meta: CompletionMeta;
  /** Says the request id in an unexpected error's message, as a buffered error does. */
  requestId: string;
  /**
   * The finished response, once its last event has been handed to the client and before the
   * stream ends (so a client that waits for the end can rely on what this does, e.g. storing it).
   * Not called for a failed or abandoned stream.
   */
  onCompleted?: (response: ResponseObject) => Promise<void>;
}

/**
 * Renders the canonical stream as the Responses API's SSE: `event:` names and a
 * `sequence_number` on every event, in the order the `openai` SDK's accumulator and the AI SDK
 * expect: `response.created`, `response.in_progress`; per output item `output_item.added`, its
 * content (`content_part.added`, `output_text.delta`..., `output_text.done`, `content_part.done`,
 * or `function_call_arguments.delta`..., `.done`) and `output_item.done`; then
 * `response.completed` (or `response.incomplete` when the answer hit its token cap) with the
 * whole response and its usage. The message item closes when a tool call starts; tool calls
 * close at the end (parallel calls may interleave). A failure after the first byte ends the
 * stream with `response.failed`: the response so far, status `failed` and `error`.
 */
export async function* renderResponseStream(events: AsyncIterable<StreamEvent>, options: ResponseStreamOptions): AsyncGenerator<string> {
  const { ids, echo, meta } = options;
  let sequence = 0;
  const frame = (type: string, payload: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`;
  const output: OutputItem[] = [];
  type Extra = { usage?: StreamUsage; finishReason?: FinishReason; error?: { code: string; message: string } };
  const snapshot = (status: ResponseStatus, extra: Extra = {}) =>
    buildResponse(echo, { id: ids.response, createdAt: meta.created, model: meta.model, status, output, ...extra });

  let message: { item: OutputMessage; index: number; text: string } | undefined;
  const calls = new Map<number, { item: OutputFunctionCall; index: number }>();
  let finishReason: FinishReason | undefined;
  let usage: UsageEvent | undefined;

  function* closeMessage(status: ItemStatus): Generator<string> {
    if (!message) return;
    const { item, index, text } = message;
    message = undefined;
    const part = outputText(text);
    yield frame('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text, logprobs: [] });
    yield frame('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part });
    item.content = [part];
    item.status = status;
    yield frame('response.output_item.done', { output_index: index, item });
  }

  const initial = snapshot('in_progress');
  yield frame('response.created', { response: initial });
  yield frame('response.in_progress', { response: initial });
  try {
    for await (const event of events) {
      switch (event.type) {
        case 'text': {
          if (event.text === '') break;
          if (!message) {
            const item: OutputMessage = { type: 'message', id: ids.message(), status: 'in_progress', role: 'assistant', content: [] };
            message = { item, index: output.length, text: '' };
            output.push(item);
            yield frame('response.output_item.added', { output_index: message.index, item });
            yield frame('response.content_part.added', { item_id: item.id, output_index: message.index, content_index: 0, part: outputText('') });
          }
          message.text += event.text;
          yield frame('response.output_text.delta', {
            item_id: message.item.id,
            output_index: message.index,
            content_index: 0,
            delta: event.text,
            logprobs: [],
          });
          break;
        }
        case 'tool_call': {
          yield* closeMessage('completed');
          let call = calls.get(event.index);
          if (!call) {
            const item: OutputFunctionCall = {
              type: 'function_call',
              id: ids.functionCall(),
              call_id: event.id ?? '',
              name: event.name ?? '',
              arguments: '',
              status: 'in_progress',
            };
            call = { item, index: output.length };
            calls.set(event.index, call);
            output.push(item);
            yield frame('response.output_item.added', { output_index: call.index, item });
          } else {
            if (event.name) call.item.name += event.name;
            if (event.id && !call.item.call_id) call.item.call_id = event.id;
          }
          if (event.arguments !== '') {
            call.item.arguments += event.arguments;
            yield frame('response.function_call_arguments.delta', { item_id: call.item.id, output_index: call.index, delta: event.arguments });
          }
          break;
        }
        case 'finish':
          finishReason = event.reason;
          break;
        case 'usage':
          usage = event;
          break;
      }
    }
  } catch (error) {
    const failure = isGatewayError(error) ? error : new GatewayError('internal_error', `internal error; quote request id ${options.requestId}`);
    if (message) {
      message.item.content = [outputText(message.text)];
      message.item.status = 'incomplete';
    }
    for (const { item } of calls.values()) item.status = 'incomplete';
    yield frame('response.failed', { response: snapshot('failed', { error: { code: failure.code, message: failure.message } }) });
    return;
  }

  const status = statusOf(finishReason);
  const itemStatus: ItemStatus = status === 'completed' ? 'completed' : 'incomplete';
  yield* closeMessage(itemStatus);
  for (const { item, index } of [...calls.values()].sort((a, b) => a.index - b.index)) {
    yield frame('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments });
    item.status = itemStatus;
    yield frame('response.output_item.done', { output_index: index, item });
  }
  const response = snapshot(status, { usage: usage?.usage, finishReason });
  yield frame(status === 'completed' ? 'response.completed' : 'response.incomplete', {
    response,
    ...(usage?.gateway ? { x_breakwater: usage.gateway } : {}),
  });
  await options.onCompleted?.(response);
}
