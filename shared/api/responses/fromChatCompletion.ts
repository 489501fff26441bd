import type { FinishReason, StreamUsage } from '../../stream';
import {
  buildResponse,
  outputText,
  statusOf,
  type OutputItem,
  type OutputMessage,
  type ResponseEcho,
  type ResponseIds,
  type ResponseObject,
} from './responseObject';

interface ChatChoice {
  message?: {
    content?: unknown;
    refusal?: unknown;
    tool_calls?: Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>;
  };
  finish_reason?: unknown;
}

const FINISH_REASONS: ReadonlySet<string> = new Set(['stop', 'length', 'tool_calls', 'content_filter']);

const contentText = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof (part as { text?: unknown })?.text === 'string' ? (part as { text: string }).text : '')).join('');
};

/**
 * A buffered chat.completion as a response: the assistant's text (or refusal) as one message
 * item, then one function_call item per tool call. A message is always there unless the answer
 * is tool calls only, so `output_text` is `""` rather than missing for an empty answer.
 */
export function responseFromCompletion(completion: Record<string, unknown>, ids: ResponseIds, echo: ResponseEcho): ResponseObject {
  const choice = ((Array.isArray(completion.choices) ? completion.choices[0] : undefined) ?? {}) as ChatChoice;
  const finish = String(choice.finish_reason ?? 'stop');
  const finishReason = (FINISH_REASONS.has(finish) ? finish : 'stop') as FinishReason;
  const status = statusOf(finishReason);
  const text = contentText(choice.message?.content);
  const refusal = typeof choice.message?.refusal === 'string' ? choice.message.refusal : '';
  const toolCalls = Array.isArray(choice.message?.tool_calls) ? choice.message.tool_calls : [];

  const output: OutputItem[] = [];
  if (text !== '' || refusal !== '' || toolCalls.length === 0) {
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    const message: OutputMessage = { type: 'message', id: ids.message(), status: itemStatus, role: 'assistant', content: [] };
    if (text !== '' || refusal === '') message.content.push(outputText(text));
    if (refusal !== '') message.content.push({ type: 'refusal', refusal });
    output.push(message);
  }
  for (const call of toolCalls) {
    output.push({
      type: 'function_call',
      id: ids.functionCall(),
      call_id: String(call.id ?? ''),
      name: String(call.function?.name ?? ''),
      arguments: String(call.function?.arguments ?? ''),
      status: 'completed',
    });
  }
  return buildResponse(echo, {
    id: ids.response,
    createdAt: typeof completion.created === 'number' ? completion.created : 0,
    model: String(completion.model ?? ''),
    status,
    output,
    usage: isUsage(completion.usage) ? completion.usage : undefined,
    finishReason,
  });
}

const isUsage = (value: unknown): value is StreamUsage =>
  typeof value === 'object' && value !== null && typeof (value as { prompt_tokens?: unknown }).prompt_tokens === 'number';
