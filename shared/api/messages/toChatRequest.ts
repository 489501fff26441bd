import { GatewayError } from '../../errors';
import { validateBody } from '../../gateway/validateBody';
import { ANTHROPIC_NATIVE_FIELD, nativeRequest, type AnthropicNative } from '../../providers/anthropicNative';
import {
  countTokensRequestSchema,
  messagesRequestSchema,
  type ContentBlock,
  type MessagesPrompt,
  type MessagesRequest,
} from './messagesRequestSchema';

/**
 * Anthropic's Messages request → the engine's form (an OpenAI Chat Completions body), pure.
 *
 * Translated for every target: system (string or text blocks) → a system message; text and
 * image blocks (base64 → data: URL) → content parts; tool_use → the assistant's tool_calls;
 * tool_result → tool messages (an error result says so in its text; its images and documents
 * follow in a user message, since OpenAI's tool messages take text only); documents → a `file`
 * part (PDF) or text; tools and tool_choice (any → required, tool → that function,
 * disable_parallel_tool_use → parallel_tool_calls: false); stop_sequences → stop;
 * metadata.user_id → user (the end user of per-user limits); output_config.format (structured
 * output) → response_format json_schema.
 *
 * Only for Anthropic targets, in the native body carried beside it: cache_control, thinking
 * (the parameter and history blocks), top_k, output_config.effort, unknown and beta fields.
 */

type Json = Record<string, unknown>;

/** Anthropic-defined tools, as their `type` starts: named in the refusal. */
const SERVER_TOOL_KINDS = /^(web_search|web_fetch|bash|text_editor|str_replace_based_edit_tool|str_replace_editor|computer|code_execution|memory|tool_search)/;

/**
 * Tools Anthropic defines: server tools run inside its API (web search, web fetch, code
 * execution), and the others (bash, text editor, computer use, memory) have a schema only its API
 * knows. No other target of a route could serve them, and the canonical stream cannot carry
 * server tool blocks, so they are refused by name, before anything else is read, rather than
 * served by some targets and not others.
 */
export function refuseServerTools(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const { tools, mcp_servers: mcpServers } = body as { tools?: unknown; mcp_servers?: unknown };
  if (Array.isArray(tools)) {
    tools.forEach((tool: unknown, i) => {
      const type = (tool as { type?: unknown } | null)?.type;
      if (type === undefined || type === null || type === 'custom') return;
      const kind = typeof type === 'string' ? (SERVER_TOOL_KINDS.exec(type)?.[1] ?? 'server') : 'server';
      throw new GatewayError(
        'unsupported_tool',
        `tools[${i}]: ${JSON.stringify(type)} is a tool Anthropic's API defines (${kind}); other targets cannot serve it, so the gateway does not take it. ` +
          'Declare a custom tool (name, description, input_schema) and run it on your side.',
        { details: { param: `tools[${i}]`, tool: type } },
      );
    });
  }
  if (mcpServers !== undefined && mcpServers !== null) {
    throw new GatewayError('unsupported_tool', 'mcp_servers: the MCP connector runs inside Anthropic\'s API; the gateway cannot run it', {
      details: { param: 'mcp_servers', tool: 'mcp' },
    });
  }
}

/** A Messages request body, checked: server tools refused, then the schema. */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  refuseServerTools(body);
  return validateBody(messagesRequestSchema, body);
}

/** A count_tokens request body, checked like a Messages request without max_tokens. */
export function parseCountTokensRequest(body: unknown): MessagesPrompt {
  refuseServerTools(body);
  return validateBody(countTokensRequestSchema, body);
}

/**
 * The chat body for a Messages request, with the client's own body carried under
 * {@link ANTHROPIC_NATIVE_FIELD} for Anthropic targets (`beta`: the `anthropic-beta` header).
 */
export function toChatRequest(request: MessagesRequest, beta?: string): Json {
  const chat: Json = { ...promptToChat(request), max_tokens: request.max_tokens };
  if (request.stream === true) chat.stream = true;
  if (request.temperature !== undefined) chat.temperature = request.temperature;
  if (request.top_p !== undefined) chat.top_p = request.top_p;
  const stop = (request.stop_sequences ?? []).filter((sequence) => sequence !== '');
  if (stop.length > 0) chat.stop = stop;
  const user = request.metadata?.user_id;
  if (typeof user === 'string' && user.trim() !== '') chat.user = user;
  const format = request.output_config?.format;
  if (format) chat.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema } };
  chat[ANTHROPIC_NATIVE_FIELD] = nativeRequest(nativeOf(request, beta));
  return chat;
}

/**
 * What the adapter sends an Anthropic target: the client's body without what the engine sets
 * (the target's model, `stream`, `metadata` from the chat body's `user`). Left out here so the
 * cache key does not split one question by delivery or by end user.
 */
export function nativeOf(request: MessagesPrompt, beta?: string): AnthropicNative {
  const { model: _model, stream: _stream, metadata: _metadata, ...body } = request as Json;
  return { body, ...(beta ? { beta } : {}) };
}

/** The prompt half (system, messages, tools, tool_choice) in chat form: what count_tokens estimates. */
export function promptToChat(request: MessagesPrompt): Json {
  const messages: Json[] = [];
  const system = typeof request.system === 'string' ? request.system : (request.system ?? []).map((block) => block.text).join('\n\n');
  if (system !== '') messages.push({ role: 'system', content: system });
  request.messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    if (typeof message.content === 'string') {
      if (message.content !== '') messages.push({ role: message.role, content: message.content });
      return;
    }
    const blocks = message.content as ContentBlock[];
    messages.push(...(message.role === 'user' ? userMessages(blocks, at) : assistantMessages(blocks, at)));
  });
  const chat: Json = { model: request.model, messages };
  const tools = request.tools ?? [];
  if (tools.length > 0) {
    chat.tools = tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, ...(tool.description !== undefined ? { description: tool.description } : {}), parameters: tool.input_schema },
    }));
    Object.assign(chat, toolChoiceOf(request.tool_choice));
  }
  return chat;
}

function toolChoiceOf(choice: MessagesPrompt['tool_choice']): Json {
  if (!choice) return {};
  const parallel = 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case 'auto':
      return { tool_choice: 'auto', ...parallel };
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'tool':
      return { tool_choice: { type: 'function', function: { name: choice.name } }, ...parallel };
    case 'none':
      return { tool_choice: 'none' };
  }
}

const misplaced = (at: string, type: string, role: string): never => {
  throw new GatewayError('invalid_request', `${at}: a ${type} block cannot be in a ${role} message`, { details: { param: at } });
};

/**
 * A user turn: its tool results first, as tool messages (OpenAI wants them right after the
 * assistant's tool calls), then one user message with everything else, the tool results' images
 * and documents first (OpenAI's tool messages take text only).
 */
function userMessages(blocks: ContentBlock[], at: string): Json[] {
  const toolMessages: Json[] = [];
  const resultAttachments: Json[] = [];
  const parts: Json[] = [];
  blocks.forEach((block, j) => {
    const blockAt = `${at}.content[${j}]`;
    switch (block.type) {
      case 'text':
        if (block.text !== '') parts.push({ type: 'text', text: block.text });
        break;
      case 'image':
        parts.push(imagePart(block));
        break;
      case 'document':
        parts.push(documentPart(block));
        break;
      case 'tool_result': {
        const { text, attachments } = toolResultContent(block);
        toolMessages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: text });
        resultAttachments.push(...attachments);
        break;
      }
      default:
        misplaced(blockAt, block.type, 'user');
    }
  });
  const rest = [...resultAttachments, ...parts];
  return rest.length > 0 ? [...toolMessages, { role: 'user', content: rest }] : toolMessages;
}

/** An assistant turn: its texts joined, its tool_use blocks as tool_calls; thinking is native-only. */
function assistantMessages(blocks: ContentBlock[], at: string): Json[] {
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  blocks.forEach((block, j) => {
    switch (block.type) {
      case 'text':
        texts.push(block.text as string);
        break;
      case 'tool_use':
        toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } });
        break;
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        misplaced(`${at}.content[${j}]`, block.type, 'assistant');
    }
  });
  const text = texts.join('');
  if (text === '' && toolCalls.length === 0) return [];
  return [{ role: 'assistant', content: text === '' ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }];
}

function imagePart(block: ContentBlock): Json {
  const source = block.source as { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
  const url = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
  return { type: 'image_url', image_url: { url } };
}

function documentPart(block: ContentBlock): Json {
  const source = block.source as { type: 'base64'; media_type: string; data: string } | { type: 'text'; data: string };
  const title = typeof block.title === 'string' && block.title !== '' ? block.title : undefined;
  if (source.type === 'text') return { type: 'text', text: title ? `${title}\n\n${source.data}` : source.data };
  return { type: 'file', file: { filename: title ?? 'document.pdf', file_data: `data:${source.media_type};base64,${source.data}` } };
}

/**
 * A tool result's text (an error result says so, since OpenAI's tool messages have no flag), and
 * its images and documents as parts for the user message that follows.
 */
function toolResultContent(block: ContentBlock): { text: string; attachments: Json[] } {
  const content = block.content as string | ContentBlock[] | undefined;
  const blocks = typeof content === 'string' ? [{ type: 'text', text: content }] : (content ?? []);
  const text = blocks
    .filter((part) => part.type === 'text')
    .map((part) => part.text as string)
    .join('\n');
  const attachments = blocks.flatMap((part) => (part.type === 'image' ? [imagePart(part)] : part.type === 'document' ? [documentPart(part)] : []));
  return { text: block.is_error === true ? `Error: ${text}` : text, attachments };
}
