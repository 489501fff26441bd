import type {
  ContentBlock,
  ConverseCommandInput,
  ImageFormat,
  InferenceConfiguration,
  Message,
  SystemContentBlock,
  Tool,
  ToolChoice,
  ToolConfiguration,
  ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import { isRecord } from './upstreamHttp';

/** Smithy's JSON document type, taken from the SDK so @smithy/types need not be a dependency. */
type DocumentType = NonNullable<ToolUseBlock['input']>;

/**
 * Pure translation between OpenAI Chat Completions and Bedrock's Converse API, no I/O, so
 * every rule is unit-tested with plain objects. It mirrors anthropicTranslation.ts: a request
 * that cannot be translated throws {@link BedrockTranslationError} (the client's mistake, a
 * 400); an answer that cannot be read throws a plain Error (the target's fault, malformed).
 */

interface Turn {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

/** A request the Converse API cannot express; the message names the offending field. */
export class BedrockTranslationError extends Error {
  override name = 'BedrockTranslationError';
}

function fail(message: string): never {
  throw new BedrockTranslationError(message);
}

const shown = (value: unknown) => (value === undefined ? 'missing' : JSON.stringify(value));

/**
 * OpenAI Chat Completions body → Converse input. `model` becomes `modelId` (a model id, an
 * inference profile id or an ARN); OpenAI-only fields without a Converse equivalent
 * (`n`, `seed`, `user`, `parallel_tool_calls`, ...) are dropped.
 */
export function toConverseRequest(body: Record<string, unknown>): ConverseCommandInput {
  if (typeof body.model !== 'string' || body.model === '') fail('`model` must be a non-empty string');
  if (!Array.isArray(body.messages)) fail('`messages` must be an array');

  const system: SystemContentBlock[] = [];
  const turns: Turn[] = [];
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(message)) fail(`${at} must be an object`);
    switch (message.role) {
      case 'system':
      case 'developer':
        // Converse rejects blank text blocks, so empty pieces are left out.
        for (const text of textPieces(message.content, `${at}.content`)) if (text !== '') system.push({ text });
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

  const messages: Message[] = turns.map(({ role, content }) => ({
    role,
    content: role === 'user' ? toolResultsFirst(content) : content,
  }));
  const out: ConverseCommandInput = { modelId: body.model, messages };
  if (system.length > 0) out.system = system;
  const inference = inferenceConfig(body);
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  const toolConfig = converseToolConfig(body, messages);
  if (toolConfig) out.toolConfig = toolConfig;
  return out;
}

function inferenceConfig(body: Record<string, unknown>): InferenceConfiguration {
  const out: InferenceConfiguration = {};
  const max = maxTokens(body);
  // Unlike the Messages API, Converse does not require maxTokens: the model's default applies.
  if (max !== undefined) out.maxTokens = max;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.topP = body.top_p;
  const stop = stopSequences(body.stop);
  if (stop.length > 0) out.stopSequences = stop;
  return out;
}

function maxTokens(body: Record<string, unknown>): number | undefined {
  for (const field of ['max_completion_tokens', 'max_tokens'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`\`${field}\` must be a positive integer`);
    return value;
  }
  return undefined;
}

function stopSequences(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop.filter((s) => s !== '');
  fail('`stop` must be a string or an array of strings');
}

/** Consecutive turns of one role are merged: Converse requires user and assistant to alternate. */
function addTurn(turns: Turn[], role: Turn['role'], blocks: ContentBlock[]): void {
  if (blocks.length === 0) return;
  const last = turns.at(-1);
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: [...blocks] });
}

/** Tool results answer the previous assistant turn, so they lead the user turn that holds them. */
const toolResultsFirst = (blocks: ContentBlock[]) => [
  ...blocks.filter((b) => b.toolResult !== undefined),
  ...blocks.filter((b) => b.toolResult === undefined),
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

function userBlocks(content: unknown, at: string): ContentBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) fail(`${at} must be a string or an array of content parts`);
  return content.flatMap((part: unknown, j): ContentBlock[] => {
    const partAt = `${at}[${j}]`;
    if (!isRecord(part)) fail(`${partAt} must be an object`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') fail(`${partAt}.text must be a string`);
      return part.text === '' ? [] : [{ text: part.text }];
    }
    if (part.type === 'image_url') return [imageBlock(part.image_url, `${partAt}.image_url`)];
    fail(`${partAt}.type ${shown(part.type)} is not supported by bedrock`);
  });
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** Converse takes image bytes (or S3 locations), never a URL to fetch: only data: URLs translate. */
function imageBlock(imageUrl: unknown, at: string): ContentBlock {
  const url = isRecord(imageUrl) ? imageUrl.url : imageUrl;
  if (typeof url !== 'string') fail(`${at}.url must be a string`);
  const data = DATA_URL.exec(url);
  if (!data) fail(`${at}.url must be a base64 data: URL (bedrock does not fetch image URLs)`);
  const mediaType = (data[1] ?? '').toLowerCase();
  const format = IMAGE_FORMATS[mediaType];
  if (!format) fail(`${at}.url has media type ${shown(mediaType)}; bedrock takes png, jpeg, gif or webp`);
  return { image: { format, source: { bytes: new Uint8Array(Buffer.from(data[2] ?? '', 'base64')) } } };
}

function assistantBlocks(message: Record<string, unknown>, at: string): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  const { content } = message;
  if (typeof content === 'string') {
    if (content !== '') blocks.push({ text: content });
  } else if (Array.isArray(content)) {
    content.forEach((part: unknown, j) => {
      const text = isRecord(part) ? (part.type === 'refusal' ? part.refusal : part.text) : undefined;
      if (!isRecord(part) || typeof text !== 'string') fail(`${at}.content[${j}] must be a text or refusal part`);
      if (text !== '') blocks.push({ text });
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
    blocks.push({
      toolUse: { toolUseId: call.id, name: fn.name, input: toolInput(fn.arguments, `${callAt}.function.arguments`) },
    });
  });
  return blocks;
}

function toolInput(args: unknown, at: string): DocumentType {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') fail(`${at} must be a JSON string`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    fail(`${at} is not valid JSON`);
  }
  if (!isRecord(parsed)) fail(`${at} must encode a JSON object`);
  return parsed as DocumentType;
}

function toolResultBlock(message: Record<string, unknown>, at: string): ContentBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    fail(`${at}.tool_call_id must be a non-empty string`);
  }
  const texts =
    typeof message.content === 'string'
      ? [message.content]
      : textPieces(message.content, `${at}.content`).filter((t) => t !== '');
  return { toolResult: { toolUseId: message.tool_call_id, content: texts.map((text) => ({ text })) } };
}

function converseTools(tools: unknown): Tool[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) fail('`tools` must be an array');
  return tools.map((tool: unknown, i): Tool => {
    const at = `tools[${i}]`;
    if (!isRecord(tool) || tool.type !== 'function') fail(`${at}.type must be "function"`);
    const fn = tool.function;
    if (!isRecord(fn) || typeof fn.name !== 'string') fail(`${at}.function.name must be a string`);
    const schema = isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} };
    return {
      toolSpec: {
        name: fn.name,
        ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
        inputSchema: { json: schema as DocumentType },
      },
    };
  });
}

function converseToolChoice(choice: unknown): ToolChoice | 'none' | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (choice === 'none') return 'none';
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { tool: { name: choice.function.name } };
  }
  fail('`tool_choice` must be "auto", "required", "none" or {type: "function", function: {name}}');
}

const holdsToolBlocks = (messages: Message[]) =>
  messages.some((m) => m.content?.some((b) => b.toolUse !== undefined || b.toolResult !== undefined));

/**
 * Converse has no `none` tool choice. `none` therefore drops the tools, except when the
 * conversation already holds toolUse/toolResult blocks: Converse then rejects a request
 * without toolConfig, so the tools stay (with the model's default choice) and the request
 * still succeeds.
 */
function converseToolConfig(body: Record<string, unknown>, messages: Message[]): ToolConfiguration | undefined {
  const tools = converseTools(body.tools);
  if (tools.length === 0) return undefined;
  const choice = converseToolChoice(body.tool_choice);
  if (choice === 'none') return holdsToolBlocks(messages) ? { tools } : undefined;
  return choice ? { tools, toolChoice: choice } : { tools };
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

/** Converse's stopReason → OpenAI's finish_reason; anything unknown reads as a plain stop. */
export function toFinishReason(stopReason: unknown): string {
  return (typeof stopReason === 'string' && FINISH_REASONS[stopReason]) || 'stop';
}

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * Bedrock's `inputTokens` leaves out cached tokens, as Anthropic's `input_tokens` does: AWS's
 * prompt-caching guide reports `cacheReadInputTokens` and `cacheWriteInputTokens` beside it,
 * not inside it. OpenAI's `prompt_tokens` counts them, so they are added back. The cache
 * fields keep the anthropic adapter's names and meaning (`cache_creation_input_tokens` is
 * Bedrock's `cacheWriteInputTokens`), so usage is priced the same whichever route served it.
 * `totalTokens` is not read: it is recomputed so that it always equals prompt + completion.
 */
export function toOpenAiUsage(usage: unknown): Record<string, unknown> {
  const u = isRecord(usage) ? usage : {};
  const cacheRead = count(u.cacheReadInputTokens);
  const cacheCreation = count(u.cacheWriteInputTokens);
  const prompt = count(u.inputTokens) + cacheRead + cacheCreation;
  const completion = count(u.outputTokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheCreation,
  };
}

/** What a Converse answer lacks and the chat.completion needs. */
export interface ConverseAnswerContext {
  /** Converse answers carry no id; the adapter derives one from the AWS request id. */
  id: string;
  /** The model the client asked for (Converse answers do not name it). */
  model: string;
  /** The `created` stamp, in seconds. */
  nowSeconds: number;
}

/** Converse output → OpenAI chat.completion; throws when the answer holds no message. */
export function fromConverseResponse(output: unknown, context: ConverseAnswerContext): Record<string, unknown> {
  if (!isRecord(output)) throw new Error('answer is not an object');
  const message = isRecord(output.output) ? output.output.message : undefined;
  if (!isRecord(message) || !Array.isArray(message.content)) throw new Error('no `output.message.content` array');

  const texts: string[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  message.content.forEach((block: unknown, i) => {
    if (!isRecord(block)) throw new Error(`content[${i}] is not an object`);
    if (block.text !== undefined) {
      if (typeof block.text !== 'string') throw new Error(`content[${i}].text is not a string`);
      texts.push(block.text);
    } else if (block.toolUse !== undefined) {
      const use = block.toolUse;
      if (!isRecord(use) || typeof use.toolUseId !== 'string' || typeof use.name !== 'string') {
        throw new Error(`content[${i}] is a toolUse without toolUseId or name`);
      }
      toolCalls.push({
        id: use.toolUseId,
        type: 'function',
        function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
      });
    }
    // reasoningContent, citations and other block kinds have no Chat Completions equivalent.
  });

  const out: Record<string, unknown> = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) out.tool_calls = toolCalls;
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.nowSeconds,
    model: context.model,
    choices: [{ index: 0, message: out, finish_reason: toFinishReason(output.stopReason), logprobs: null }],
    usage: toOpenAiUsage(output.usage),
  };
}
