import { GatewayError } from '../../errors';
import type { ContentPart, InputItem, ResponsesRequest } from './requestSchema';

type ChatMessage = Record<string, unknown>;

/** The text of message content, parts joined (output_text, input_text and refusal read alike). */
const textOf = (content: string | ContentPart[]): string =>
  typeof content === 'string'
    ? content
    : content.map((part) => (part.type === 'refusal' ? part.refusal : 'text' in part && typeof part.text === 'string' ? part.text : '')).join('');

/** User content: a string stays one; parts become chat text and image_url parts. */
function userContent(content: string | ContentPart[]): string | Array<Record<string, unknown>> {
  if (typeof content === 'string') return content;
  return content.map((part) => {
    if (part.type === 'input_image') {
      // `original` has no chat equivalent; `high` is the closest detail there is.
      const detail = part.detail === 'original' ? 'high' : (part.detail ?? undefined);
      return { type: 'image_url', image_url: { url: part.image_url!, ...(detail ? { detail } : {}) } };
    }
    return { type: 'text', text: part.type === 'refusal' ? part.refusal : String((part as { text?: unknown }).text ?? '') };
  });
}

const toolOutputOf = (output: string | Array<{ type: string; text?: unknown }>): string =>
  typeof output === 'string' ? output : output.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');

/**
 * The conversation's items as Chat Completions messages: `instructions` first as the system
 * message, message items by role, consecutive `function_call` items as one assistant message's
 * `tool_calls` (joined to the assistant text just before them, as one turn), each
 * `function_call_output` as a `tool` message. Reasoning items are left out: they are the model's
 * private notes and a chat request has no place for them. `item_reference`s are resolved before.
 */
export function toChatMessages(items: readonly InputItem[], instructions?: string | null): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (instructions) messages.push({ role: 'system', content: instructions });
  /** The assistant turn a following function_call belongs to. */
  let turn: ChatMessage | undefined;
  for (const item of items) {
    switch (item.type) {
      case 'message':
        if (item.role === 'assistant') {
          turn = { role: 'assistant', content: textOf(item.content) };
          messages.push(turn);
        } else {
          turn = undefined;
          messages.push({ role: item.role, content: item.role === 'user' ? userContent(item.content) : textOf(item.content) });
        }
        break;
      case 'function_call': {
        if (!turn) {
          turn = { role: 'assistant', content: null };
          messages.push(turn);
        }
        if (turn.content === '') turn.content = null;
        const calls = ((turn.tool_calls as unknown[] | undefined) ??= []);
        calls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
        break;
      }
      case 'function_call_output':
        turn = undefined;
        messages.push({ role: 'tool', tool_call_id: item.call_id, content: toolOutputOf(item.output) });
        break;
      case 'reasoning':
        break;
      case 'item_reference':
        throw new Error(`item_reference ${item.id} reached translation unresolved`);
    }
  }
  return messages;
}

/**
 * A Responses request as the engine's Chat Completions body. Only what the client set is sent:
 * `tool_choice` and `parallel_tool_calls` only with tools (OpenAI refuses them without), and
 * nothing of `store` or `metadata`, which are this door's own.
 */
export function toChatRequest(request: ResponsesRequest, items: readonly InputItem[]): Record<string, unknown> {
  const messages = toChatMessages(items, request.instructions);
  if (messages.length === 0) {
    throw new GatewayError('invalid_request', '`input` is empty: there is nothing to answer', { details: { param: 'input' } });
  }
  const body: Record<string, unknown> = { model: request.model, messages };
  if (request.stream) body.stream = true;
  if (request.max_output_tokens != null) body.max_tokens = request.max_output_tokens;
  if (request.temperature != null) body.temperature = request.temperature;
  if (request.top_p != null) body.top_p = request.top_p;
  if (request.user) body.user = request.user;
  if (request.reasoning?.effort) body.reasoning_effort = request.reasoning.effort;
  if (request.text?.verbosity) body.verbosity = request.text.verbosity;

  const tools = request.tools ?? [];
  if (tools.length > 0) {
    body.tools = tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description != null ? { description: tool.description } : {}),
        ...(tool.parameters != null ? { parameters: tool.parameters } : {}),
        ...(tool.strict != null ? { strict: tool.strict } : {}),
      },
    }));
    const choice = request.tool_choice;
    if (choice != null) body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
    if (request.parallel_tool_calls != null) body.parallel_tool_calls = request.parallel_tool_calls;
  } else if (request.tool_choice === 'required' || typeof request.tool_choice === 'object') {
    throw new GatewayError('invalid_request', '`tool_choice` asks for a tool call, but `tools` is empty', { details: { param: 'tool_choice' } });
  }

  const format = request.text?.format;
  if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.description != null ? { description: format.description } : {}),
        ...(format.strict != null ? { strict: format.strict } : {}),
      },
    };
  }
  return body;
}
