import type { FinishReason, StreamUsage } from '../stream/StreamEvent';
import { foldResponseFormat, readResponseFormat, refuseUnsupported } from './responseFormatTranslation';
import { isRecord } from './upstreamHttp';

/**
 * The provider-neutral half of translating OpenAI Chat Completions, no I/O. Anthropic's
 * Messages API and Bedrock's Converse API share the same rules (one system text, user and
 * assistant turns that alternate, tool results leading the user turn that answers a tool
 * call, tool arguments as JSON objects), so the request is read and validated once here into
 * neutral blocks, and each adapter only maps those blocks to its wire format. Likewise the
 * chat.completion answer is assembled here from what each adapter reads out of its reply.
 */

/** One piece of a turn; `Image` is the adapter's own image block, built while reading. */
export type ChatBlock<Image> =
  | { type: 'text'; text: string }
  | { type: 'image'; image: Image }
  | { type: 'toolUse'; id: string; name: string; input: Record<string, unknown> }
  /** `content` is the tool message's string as sent, or the non-empty texts of its parts. */
  | { type: 'toolResult'; toolCallId: string; content: string | string[] };

export interface ChatTurn<Image> {
  role: 'user' | 'assistant';
  content: ChatBlock<Image>[];
}

export interface ChatTool {
  name: string;
  description?: string;
  /** The JSON schema of the arguments; an empty object schema when the tool declares none. */
  parameters: Record<string, unknown>;
}

/** OpenAI's tool_choice: `{name}` forces that function. */
export type ChatToolChoice = 'auto' | 'required' | 'none' | { name: string };

/** An OpenAI chat request, validated and normalised; OpenAI-only fields are left to the adapter. */
export interface ChatRequest<Image> {
  model: string;
  /** The system and developer texts in order, empty ones left out. */
  system: string[];
  /** Alternating turns; a user turn's tool results come before anything else in it. */
  turns: ChatTurn<Image>[];
  /** `max_completion_tokens`, else `max_tokens`; undefined when neither is set. */
  maxTokens: number | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  /** Non-empty stop sequences. */
  stop: string[];
  tools: ChatTool[];
  /** Read only when there are tools (OpenAI ignores tool_choice without them). */
  toolChoice: ChatToolChoice | undefined;
  /**
   * `response_format` json_schema / json_object is sent as this tool (in `tools`, forced or
   * required): its call is the answer's content, as JSON text. Undefined for a text answer.
   */
  responseTool: string | undefined;
}

/** What differs between adapters while reading a request. */
export interface ChatRequestReader<Image> {
  /** Named in "is not supported by …" messages. */
  provider: string;
  /** Throws the adapter's own translation error (a 400: the client's mistake). */
  fail: (message: string) => never;
  /**
   * Builds the adapter's image block from an image part's URL, or fails. Called while reading,
   * so a bad image is reported before any fault later in the request.
   */
  image: (url: string, at: string) => Image;
}

/** How a value appears in an error message. */
export const shown = (value: unknown) => (value === undefined ? 'missing' : JSON.stringify(value));

/** A base64 data: URL; group 1 is the media type, group 2 the data. */
export const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** OpenAI Chat Completions body → {@link ChatRequest}; throws through `reader.fail` on what it cannot read. */
export function readChatRequest<Image>(body: Record<string, unknown>, reader: ChatRequestReader<Image>): ChatRequest<Image> {
  if (typeof body.model !== 'string' || body.model === '') reader.fail('`model` must be a non-empty string');
  if (!Array.isArray(body.messages)) reader.fail('`messages` must be an array');
  // Before anything else: a parameter the target lacks is refused whatever else is wrong.
  refuseUnsupported(body, reader.provider);

  const system: string[] = [];
  const turns: ChatTurn<Image>[] = [];
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(message)) reader.fail(`${at} must be an object`);
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textPieces(message.content, `${at}.content`, reader));
        break;
      case 'user':
        addTurn(turns, 'user', userBlocks(message.content, `${at}.content`, reader));
        break;
      case 'assistant':
        addTurn(turns, 'assistant', assistantBlocks(message, at, reader));
        break;
      case 'tool':
        addTurn(turns, 'user', [toolResultBlock(message, at, reader)]);
        break;
      default:
        reader.fail(`${at}.role ${shown(message.role)} is not supported`);
    }
  });

  // Read in this order so that, of several faults, the same one is always reported.
  const maxTokens = readMaxTokens(body, reader);
  const stop = stopSequences(body.stop, reader);
  const tools = readTools(body.tools, reader);
  const toolChoice = tools.length > 0 ? readToolChoice(body.tool_choice, reader) : undefined;
  const format = readResponseFormat(body, reader.provider, reader.fail);
  const plan = foldResponseFormat(tools, toolChoice, format, `${reader.provider}/${body.model}`);
  return {
    model: body.model,
    system: system.filter((text) => text !== ''),
    turns: trimPrefill(turns.map(({ role, content }) => ({ role, content: role === 'user' ? toolResultsFirst(content) : content }))),
    maxTokens,
    temperature: typeof body.temperature === 'number' ? body.temperature : undefined,
    topP: typeof body.top_p === 'number' ? body.top_p : undefined,
    stop,
    tools: plan.tools,
    toolChoice: plan.toolChoice,
    responseTool: plan.responseTool,
  };
}

function readMaxTokens(body: Record<string, unknown>, reader: ChatRequestReader<unknown>): number | undefined {
  for (const field of ['max_completion_tokens', 'max_tokens'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) reader.fail(`\`${field}\` must be a positive integer`);
    return value;
  }
  return undefined;
}

function stopSequences(stop: unknown, reader: ChatRequestReader<unknown>): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop.filter((s) => s !== '');
  reader.fail('`stop` must be a string or an array of strings');
}

/** Consecutive turns of one role are merged: both APIs require user and assistant to alternate. */
function addTurn<Image>(turns: ChatTurn<Image>[], role: ChatTurn<Image>['role'], blocks: ChatBlock<Image>[]): void {
  if (blocks.length === 0) return;
  const last = turns.at(-1);
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: [...blocks] });
}

/**
 * A conversation that ends on an assistant turn is a prefill: the model continues that text
 * (the engine uses it to resume a cut answer). Both Anthropic and Bedrock's Claude models
 * refuse a final assistant text that ends in whitespace, so it is trimmed there, and a text
 * left empty is dropped (empty text blocks are refused too), with its turn if nothing remains.
 */
function trimPrefill<Image>(turns: ChatTurn<Image>[]): ChatTurn<Image>[] {
  const last = turns.at(-1);
  const block = last?.content.at(-1);
  if (last?.role !== 'assistant' || block?.type !== 'text') return turns;
  const text = block.text.trimEnd();
  if (text === block.text) return turns;
  const content = text === '' ? last.content.slice(0, -1) : [...last.content.slice(0, -1), { type: 'text' as const, text }];
  return content.length === 0 ? turns.slice(0, -1) : [...turns.slice(0, -1), { role: last.role, content }];
}

/** Tool results answer the previous assistant turn, so they lead the user turn that holds them. */
const toolResultsFirst = <Image>(blocks: ChatBlock<Image>[]) => [
  ...blocks.filter((b) => b.type === 'toolResult'),
  ...blocks.filter((b) => b.type !== 'toolResult'),
];

/** The texts of a string or an array of text parts (system, developer and tool content). */
function textPieces(content: unknown, at: string, reader: ChatRequestReader<unknown>): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) reader.fail(`${at} must be a string or an array of text parts`);
  return content.map((part: unknown, j) => {
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') reader.fail(`${at}[${j}] must be a text part`);
    return part.text;
  });
}

const textBlock = <Image>(text: string): ChatBlock<Image> => ({ type: 'text', text });

function userBlocks<Image>(content: unknown, at: string, reader: ChatRequestReader<Image>): ChatBlock<Image>[] {
  if (typeof content === 'string') return content === '' ? [] : [textBlock(content)];
  if (!Array.isArray(content)) reader.fail(`${at} must be a string or an array of content parts`);
  return content.flatMap((part: unknown, j): ChatBlock<Image>[] => {
    const partAt = `${at}[${j}]`;
    if (!isRecord(part)) reader.fail(`${partAt} must be an object`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') reader.fail(`${partAt}.text must be a string`);
      return part.text === '' ? [] : [textBlock(part.text)];
    }
    if (part.type === 'image_url') return [{ type: 'image', image: imageOf(part.image_url, `${partAt}.image_url`, reader) }];
    reader.fail(`${partAt}.type ${shown(part.type)} is not supported by ${reader.provider}`);
  });
}

function imageOf<Image>(imageUrl: unknown, at: string, reader: ChatRequestReader<Image>): Image {
  const url = isRecord(imageUrl) ? imageUrl.url : imageUrl;
  if (typeof url !== 'string') reader.fail(`${at}.url must be a string`);
  return reader.image(url, at);
}

function assistantBlocks<Image>(message: Record<string, unknown>, at: string, reader: ChatRequestReader<Image>): ChatBlock<Image>[] {
  const blocks: ChatBlock<Image>[] = [];
  const { content } = message;
  if (typeof content === 'string') {
    if (content !== '') blocks.push(textBlock(content));
  } else if (Array.isArray(content)) {
    content.forEach((part: unknown, j) => {
      const text = isRecord(part) ? (part.type === 'refusal' ? part.refusal : part.text) : undefined;
      if (!isRecord(part) || typeof text !== 'string') reader.fail(`${at}.content[${j}] must be a text or refusal part`);
      if (text !== '') blocks.push(textBlock(text));
    });
  } else if (content !== null && content !== undefined) {
    reader.fail(`${at}.content must be a string, an array of parts or null`);
  }

  const toolCalls = message.tool_calls ?? [];
  if (!Array.isArray(toolCalls)) reader.fail(`${at}.tool_calls must be an array`);
  toolCalls.forEach((call: unknown, j) => {
    const callAt = `${at}.tool_calls[${j}]`;
    if (!isRecord(call) || typeof call.id !== 'string') reader.fail(`${callAt}.id must be a string`);
    const fn = call.function;
    if (!isRecord(fn) || typeof fn.name !== 'string') reader.fail(`${callAt}.function.name must be a string`);
    blocks.push({ type: 'toolUse', id: call.id, name: fn.name, input: toolInput(fn.arguments, `${callAt}.function.arguments`, reader) });
  });
  return blocks;
}

function toolInput(args: unknown, at: string, reader: ChatRequestReader<unknown>): Record<string, unknown> {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') reader.fail(`${at} must be a JSON string`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    reader.fail(`${at} is not valid JSON`);
  }
  if (!isRecord(parsed)) reader.fail(`${at} must encode a JSON object`);
  return parsed;
}

function toolResultBlock<Image>(message: Record<string, unknown>, at: string, reader: ChatRequestReader<Image>): ChatBlock<Image> {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    reader.fail(`${at}.tool_call_id must be a non-empty string`);
  }
  const content =
    typeof message.content === 'string'
      ? message.content
      : textPieces(message.content, `${at}.content`, reader).filter((t) => t !== '');
  return { type: 'toolResult', toolCallId: message.tool_call_id, content };
}

function readTools(tools: unknown, reader: ChatRequestReader<unknown>): ChatTool[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) reader.fail('`tools` must be an array');
  return tools.map((tool: unknown, i): ChatTool => {
    const at = `tools[${i}]`;
    if (!isRecord(tool) || tool.type !== 'function') reader.fail(`${at}.type must be "function"`);
    const fn = tool.function;
    if (!isRecord(fn) || typeof fn.name !== 'string') reader.fail(`${at}.function.name must be a string`);
    return {
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      parameters: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
  });
}

function readToolChoice(choice: unknown, reader: ChatRequestReader<unknown>): ChatToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'required' || choice === 'none') return choice;
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { name: choice.function.name };
  }
  reader.fail('`tool_choice` must be "auto", "required", "none" or {type: "function", function: {name}}');
}

/**
 * Stop reasons → OpenAI's finish_reason, for the names both APIs use (Converse took Anthropic's
 * names); each adapter adds its own.
 */
export const COMMON_FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
};

/** A stop reason → OpenAI's finish_reason by the adapter's table; anything unknown reads as a plain stop. */
export function finishReasonFrom(table: Readonly<Record<string, string>>, stopReason: unknown): string {
  return (typeof stopReason === 'string' && table[stopReason]) || 'stop';
}

/** Where an API's usage object reports each token count. */
export interface UsageFields {
  /** Uncached input tokens. */
  input: string;
  output: string;
  cacheRead: string;
  cacheWrite: string;
}

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * An answer's usage object → OpenAI's usage record; a count that is not a finite number reads
 * as 0. Both APIs' input count leaves out cached tokens while OpenAI's `prompt_tokens` counts
 * them, so they are added back; the cache fields keep Anthropic's names and meaning so cache
 * reads and writes are priced apart, the same whichever route served it.
 */
export function openAiUsage(usage: unknown, fields: UsageFields): Record<string, unknown> {
  const u = isRecord(usage) ? usage : {};
  const cacheRead = count(u[fields.cacheRead]);
  const cacheCreation = count(u[fields.cacheWrite]);
  const prompt = count(u[fields.input]) + cacheRead + cacheCreation;
  const completion = count(u[fields.output]);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheCreation,
  };
}

/** One OpenAI tool call; the input is re-encoded as the JSON arguments string. */
export function openAiToolCall(id: string, name: string, input: unknown): Record<string, unknown> {
  return { id, type: 'function', function: { name, arguments: JSON.stringify(input ?? {}) } };
}

/**
 * The finish reason of an answer whose `response_format` tool call became its content: the
 * model stopped on a tool call, but unless a real one remains, the client sees a plain stop.
 */
export const answerFinishReason = (reason: string, answer: { fromTool: boolean; toolCalls: number }): string =>
  reason === 'tool_calls' && answer.fromTool && answer.toolCalls === 0 ? 'stop' : reason;

/** What an adapter read out of its answer. */
export interface ChatAnswer {
  id: string;
  model: string;
  /** The `created` stamp, in seconds. */
  created: number;
  /** The text blocks in order; joined into the message content (null when there are none). */
  texts: string[];
  toolCalls: Record<string, unknown>[];
  finishReason: string;
  usage: Record<string, unknown>;
}

/** The OpenAI chat.completion with one choice. */
export function chatCompletion(answer: ChatAnswer): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: answer.texts.length > 0 ? answer.texts.join('') : null };
  if (answer.toolCalls.length > 0) message.tool_calls = answer.toolCalls;
  return {
    id: answer.id,
    object: 'chat.completion',
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, message, finish_reason: answer.finishReason, logprobs: null }],
    usage: answer.usage,
  };
}

const FINISH_REASON_NAMES: ReadonlySet<string> = new Set<FinishReason>(['stop', 'length', 'tool_calls', 'content_filter']);

/** A finish_reason string → the stream's {@link FinishReason}; anything else reads as a plain stop. */
export const toStreamFinishReason = (reason: unknown): FinishReason =>
  typeof reason === 'string' && FINISH_REASON_NAMES.has(reason) ? (reason as FinishReason) : 'stop';

const optionalCount = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/**
 * An OpenAI-shaped usage record (OpenAI's own, or what {@link openAiUsage} built from another
 * API's) → the stream's usage event payload. Cache writes, which OpenAI does not report, come
 * from `cache_creation_input_tokens`; undefined when `usage` is not an object.
 */
export function toStreamUsage(usage: unknown): StreamUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const prompt = count(usage.prompt_tokens);
  const completion = count(usage.completion_tokens);
  const out: StreamUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: optionalCount(usage.total_tokens) ?? prompt + completion,
  };
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const cached = optionalCount(details.cached_tokens) ?? optionalCount(usage.cache_read_input_tokens);
  const cacheWrite = optionalCount(details.cache_write_tokens) ?? optionalCount(usage.cache_creation_input_tokens);
  if (cached !== undefined || cacheWrite !== undefined) {
    out.prompt_tokens_details = {
      ...(cached !== undefined ? { cached_tokens: cached } : {}),
      ...(cacheWrite !== undefined ? { cache_write_tokens: cacheWrite } : {}),
    };
  }
  const reasoning = isRecord(usage.completion_tokens_details) ? optionalCount(usage.completion_tokens_details.reasoning_tokens) : undefined;
  if (reasoning !== undefined) out.completion_tokens_details = { reasoning_tokens: reasoning };
  return out;
}
