import { isRecord } from './upstreamHttp';

/**
 * Pure translation between OpenAI Chat Completions and Anthropic Messages, no I/O, so every
 * rule is unit-tested with plain objects. Both directions throw on input they cannot read:
 * a request that cannot be translated is the client's mistake (400), an answer that cannot be
 * read is the target's (malformed).
 */

type Block = Record<string, unknown>;
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

/** The part of the `anthropic` provider config that shapes a request. */
export interface AnthropicRequestConfig {
  default_max_tokens: number;
}

/** A request the Messages API cannot express; the message names the offending field. */
export class AnthropicTranslationError extends Error {
  override name = 'AnthropicTranslationError';
}

function fail(message: string): never {
  throw new AnthropicTranslationError(message);
}

const shown = (value: unknown) => (value === undefined ? 'missing' : JSON.stringify(value));

/** OpenAI Chat Completions body → Anthropic Messages body. Unknown OpenAI-only fields are dropped. */
export function toAnthropicRequest(body: Record<string, unknown>, config: AnthropicRequestConfig): Record<string, unknown> {
  if (typeof body.model !== 'string' || body.model === '') fail('`model` must be a non-empty string');
  if (!Array.isArray(body.messages)) fail('`messages` must be an array');

  const system: string[] = [];
  const turns: Turn[] = [];
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(message)) fail(`${at} must be an object`);
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textPieces(message.content, `${at}.content`));
        break;
      case 'user':
        addTurn(turns, 'user', userBlocks(message.content, `${at}.content`));
        break;
      case 'assistant':
        addTurn(turns, 'assistant', assistantBlocks(message, at));
        break;
      case 'tool':
        addTurn(turns, 'user', [toolResultBlock(message, at)]);
        break;
      default:
        fail(`${at}.role ${shown(message.role)} is not supported`);
    }
  });

  const out: Record<string, unknown> = {
    model: body.model,
    max_tokens: maxTokens(body, config),
    messages: turns.map(({ role, content }) => ({ role, content: role === 'user' ? toolResultsFirst(content) : content })),
  };
  const joinedSystem = system.filter((text) => text !== '').join('\n\n');
  if (joinedSystem !== '') out.system = joinedSystem;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  const stop = stopSequences(body.stop);
  if (stop.length > 0) out.stop_sequences = stop;
  if (typeof body.user === 'string' && body.user !== '') out.metadata = { user_id: body.user };

  const tools = anthropicTools(body.tools);
  if (tools.length > 0) {
    out.tools = tools;
    const choice = anthropicToolChoice(body.tool_choice);
    if (body.parallel_tool_calls === false && choice?.type !== 'none') {
      out.tool_choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
    } else if (choice) {
      out.tool_choice = choice;
    }
  }
  return out;
}

function maxTokens(body: Record<string, unknown>, config: AnthropicRequestConfig): number {
  for (const field of ['max_completion_tokens', 'max_tokens'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`\`${field}\` must be a positive integer`);
    return value;
  }
  return config.default_max_tokens;
}

function stopSequences(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop.filter((s) => s !== '');
  fail('`stop` must be a string or an array of strings');
}

/** Consecutive turns of one role are merged: Anthropic requires user and assistant to alternate. */
function addTurn(turns: Turn[], role: Turn['role'], blocks: Block[]): void {
  if (blocks.length === 0) return;
  const last = turns.at(-1);
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: [...blocks] });
}

/** Anthropic wants a user turn's tool_result blocks before anything else in it. */
const toolResultsFirst = (blocks: Block[]) => [
  ...blocks.filter((b) => b.type === 'tool_result'),
  ...blocks.filter((b) => b.type !== 'tool_result'),
];

/** The texts of a string or an array of text parts (system, developer and tool content). */
function textPieces(content: unknown, at: string): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) fail(`${at} must be a string or an array of text parts`);
  return content.map((part: unknown, j) => {
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') fail(`${at}[${j}] must be a text part`);
    return part.text;
  });
}

const textBlock = (text: string): Block => ({ type: 'text', text });

function userBlocks(content: unknown, at: string): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [textBlock(content)];
  if (!Array.isArray(content)) fail(`${at} must be a string or an array of content parts`);
  return content.flatMap((part: unknown, j): Block[] => {
    const partAt = `${at}[${j}]`;
    if (!isRecord(part)) fail(`${partAt} must be an object`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') fail(`${partAt}.text must be a string`);
      return part.text === '' ? [] : [textBlock(part.text)];
    }
    if (part.type === 'image_url') return [imageBlock(part.image_url, `${partAt}.image_url`)];
    fail(`${partAt}.type ${shown(part.type)} is not supported by anthropic`);
  });
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(imageUrl: unknown, at: string): Block {
  const url = isRecord(imageUrl) ? imageUrl.url : imageUrl;
  if (typeof url !== 'string') fail(`${at}.url must be a string`);
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  fail(`${at}.url must be an http(s) URL or a base64 data: URL`);
}

function assistantBlocks(message: Record<string, unknown>, at: string): Block[] {
  const blocks: Block[] = [];
  const { content } = message;
  if (typeof content === 'string') {
    if (content !== '') blocks.push(textBlock(content));
  } else if (Array.isArray(content)) {
    content.forEach((part: unknown, j) => {
      const text = isRecord(part) ? (part.type === 'refusal' ? part.refusal : part.text) : undefined;
      if (!isRecord(part) || typeof text !== 'string') fail(`${at}.content[${j}] must be a text or refusal part`);
      if (text !== '') blocks.push(textBlock(text));
    });
  } else if (content !== null && content !== undefined) {
    fail(`${at}.content must be a string, an array of parts or null`);
  }

  const toolCalls = message.tool_calls ?? [];
  if (!Array.isArray(toolCalls)) fail(`${at}.tool_calls must be an array`);
  toolCalls.forEach((call: unknown, j) => {
    const callAt = `${at}.tool_calls[${j}]`;
    if (!isRecord(call) || typeof call.id !== 'string') fail(`${callAt}.id must be a string`);
    const fn = call.function;
    if (!isRecord(fn) || typeof fn.name !== 'string') fail(`${callAt}.function.name must be a string`);
    blocks.push({ type: 'tool_use', id: call.id, name: fn.name, input: toolInput(fn.arguments, `${callAt}.function.arguments`) });
  });
  return blocks;
}

function toolInput(args: unknown, at: string): Record<string, unknown> {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') fail(`${at} must be a JSON string`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    fail(`${at} is not valid JSON`);
  }
  if (!isRecord(parsed)) fail(`${at} must encode a JSON object`);
  return parsed;
}

function toolResultBlock(message: Record<string, unknown>, at: string): Block {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    fail(`${at}.tool_call_id must be a non-empty string`);
  }
  const content =
    typeof message.content === 'string'
      ? message.content
      : textPieces(message.content, `${at}.content`).filter((t) => t !== '').map(textBlock);
  return { type: 'tool_result', tool_use_id: message.tool_call_id, content };
}

function anthropicTools(tools: unknown): Block[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) fail('`tools` must be an array');
  return tools.map((tool: unknown, i) => {
    const at = `tools[${i}]`;
    if (!isRecord(tool) || tool.type !== 'function') fail(`${at}.type must be "function"`);
    const fn = tool.function;
    if (!isRecord(fn) || typeof fn.name !== 'string') fail(`${at}.function.name must be a string`);
    const out: Block = { name: fn.name };
    if (typeof fn.description === 'string') out.description = fn.description;
    out.input_schema = isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} };
    return out;
  });
}

/**
 * `none` keeps the tools and sends `{type: 'none'}` rather than dropping them: a conversation
 * that already holds tool_use/tool_result blocks must still declare its tools.
 */
function anthropicToolChoice(choice: unknown): Block | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { type: 'tool', name: choice.function.name };
  }
  fail('`tool_choice` must be "auto", "required", "none" or {type: "function", function: {name}}');
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Anthropic's stop_reason → OpenAI's finish_reason; anything unknown reads as a plain stop. */
export function toFinishReason(stopReason: unknown): string {
  return (typeof stopReason === 'string' && FINISH_REASONS[stopReason]) || 'stop';
}

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * Anthropic's `input_tokens` leaves out cached tokens; OpenAI's `prompt_tokens` counts them.
 * The cache fields are kept as they are so cache reads and writes can be priced apart.
 */
export function toOpenAiUsage(usage: unknown): Record<string, unknown> {
  const u = isRecord(usage) ? usage : {};
  const cacheRead = count(u.cache_read_input_tokens);
  const cacheCreation = count(u.cache_creation_input_tokens);
  const prompt = count(u.input_tokens) + cacheRead + cacheCreation;
  const completion = count(u.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheCreation,
  };
}

/** Anthropic Messages answer → OpenAI chat.completion; throws when the body is not a message. */
export function fromAnthropicResponse(body: unknown, nowSeconds: number): Record<string, unknown> {
  if (!isRecord(body)) throw new Error('body is not a JSON object');
  if (!Array.isArray(body.content)) throw new Error('no `content` array');

  const texts: string[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  body.content.forEach((block: unknown, i) => {
    if (!isRecord(block)) throw new Error(`content[${i}] is not an object`);
    if (block.type === 'text') {
      if (typeof block.text !== 'string') throw new Error(`content[${i}].text is not a string`);
      texts.push(block.text);
    } else if (block.type === 'tool_use') {
      if (typeof block.id !== 'string' || typeof block.name !== 'string') {
        throw new Error(`content[${i}] is a tool_use without id or name`);
      }
      toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking and other block kinds have no Chat Completions equivalent.
  });

  const message: Record<string, unknown> = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: typeof body.id === 'string' ? body.id : '',
    object: 'chat.completion',
    created: nowSeconds,
    model: typeof body.model === 'string' ? body.model : '',
    choices: [{ index: 0, message, finish_reason: toFinishReason(body.stop_reason), logprobs: null }],
    usage: toOpenAiUsage(body.usage),
  };
}
