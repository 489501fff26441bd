import {
  COMMON_FINISH_REASONS,
  DATA_URL,
  answerFinishReason,
  chatCompletion,
  finishReasonFrom,
  openAiToolCall,
  openAiUsage,
  readChatRequest,
  type ChatBlock,
  type ChatRequest,
  type ChatRequestReader,
  type ChatToolChoice,
  type UsageFields,
} from './chatTranslation';
import { isRecord } from './upstreamHttp';

export { UnsupportedParameterError, isUnsupportedParameterError } from './responseFormatTranslation';

/**
 * Pure translation between OpenAI Chat Completions and Anthropic Messages, no I/O, so every
 * rule is unit-tested with plain objects. Both directions throw on input they cannot read:
 * a request that cannot be translated is the client's mistake (400), an answer that cannot be
 * read is the target's (malformed). The rules Anthropic shares with Bedrock live in
 * chatTranslation.ts; this file maps its neutral blocks to the Messages format.
 */

type Block = Record<string, unknown>;

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

const reader: ChatRequestReader<Block> = { provider: 'anthropic', fail, image: imageBlock };

/**
 * OpenAI Chat Completions body → Anthropic Messages body. A parameter Anthropic cannot honour
 * throws {@link UnsupportedParameterError}; `seed` and fields that only steer OpenAI's own
 * service (`store`, `service_tier`, `stream_options`...) are left out.
 */
export function toAnthropicRequest(body: Record<string, unknown>, config: AnthropicRequestConfig): Record<string, unknown> {
  return toAnthropicCall(body, config).request;
}

function messagesBody(body: Record<string, unknown>, request: ChatRequest<Block>, config: AnthropicRequestConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    model: request.model,
    max_tokens: request.maxTokens ?? config.default_max_tokens,
    messages: request.turns.map(({ role, content }) => ({ role, content: content.map(anthropicBlock) })),
  };
  const joinedSystem = request.system.join('\n\n');
  if (joinedSystem !== '') out.system = joinedSystem;
  if (request.temperature !== undefined) out.temperature = request.temperature;
  if (request.topP !== undefined) out.top_p = request.topP;
  if (request.stop.length > 0) out.stop_sequences = request.stop;
  if (typeof body.user === 'string' && body.user !== '') out.metadata = { user_id: body.user };

  if (request.tools.length > 0) {
    out.tools = request.tools.map(({ name, description, parameters }) => ({
      name,
      ...(description !== undefined ? { description } : {}),
      input_schema: parameters,
    }));
    const choice = anthropicToolChoice(request.toolChoice);
    if (body.parallel_tool_calls === false && choice?.type !== 'none') {
      out.tool_choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
    } else if (choice) {
      out.tool_choice = choice;
    }
  }
  return out;
}

const textBlock = (text: string): Block => ({ type: 'text', text });

function anthropicBlock(block: ChatBlock<Block>): Block {
  switch (block.type) {
    case 'text':
      return textBlock(block.text);
    case 'image':
      return block.image;
    case 'toolUse':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'toolResult':
      return {
        type: 'tool_result',
        tool_use_id: block.toolCallId,
        content: typeof block.content === 'string' ? block.content : block.content.map(textBlock),
      };
  }
}

function imageBlock(url: string, at: string): Block {
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  fail(`${at}.url must be an http(s) URL or a base64 data: URL`);
}

/**
 * `none` keeps the tools and sends `{type: 'none'}` rather than dropping them: a conversation
 * that already holds tool_use/tool_result blocks must still declare its tools.
 */
function anthropicToolChoice(choice: ChatToolChoice | undefined): Block | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.name };
}

const FINISH_REASONS = { ...COMMON_FINISH_REASONS, pause_turn: 'stop', refusal: 'content_filter' };

/** Anthropic's stop_reason → OpenAI's finish_reason; anything unknown reads as a plain stop. */
export const toFinishReason = (stopReason: unknown): string => finishReasonFrom(FINISH_REASONS, stopReason);

const USAGE_FIELDS: UsageFields = {
  input: 'input_tokens',
  output: 'output_tokens',
  cacheRead: 'cache_read_input_tokens',
  cacheWrite: 'cache_creation_input_tokens',
};

/**
 * Anthropic's `input_tokens` leaves out cached tokens; OpenAI's `prompt_tokens` counts them.
 * The cache fields are kept as they are so cache reads and writes can be priced apart.
 */
export const toOpenAiUsage = (usage: unknown): Record<string, unknown> => openAiUsage(usage, USAGE_FIELDS);

/**
 * Everything a translated request needs to be answered: the Messages body, and the tool whose
 * call is the answer's content (`response_format`), if any.
 */
export interface AnthropicCall {
  request: Record<string, unknown>;
  responseTool: string | undefined;
}

/** {@link toAnthropicRequest}, with what reading its answer needs. */
export function toAnthropicCall(body: Record<string, unknown>, config: AnthropicRequestConfig): AnthropicCall {
  const request = readChatRequest(body, reader);
  return { request: messagesBody(body, request, config), responseTool: request.responseTool };
}

/**
 * Anthropic Messages answer → OpenAI chat.completion; throws when the body is not a message.
 * A call of `responseTool` (the `response_format` tool) is the message content, as JSON text.
 */
export function fromAnthropicResponse(body: unknown, nowSeconds: number, responseTool?: string): Record<string, unknown> {
  if (!isRecord(body)) throw new Error('body is not a JSON object');
  if (!Array.isArray(body.content)) throw new Error('no `content` array');

  const texts: string[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  let fromTool = false;
  body.content.forEach((block: unknown, i) => {
    if (!isRecord(block)) throw new Error(`content[${i}] is not an object`);
    if (block.type === 'text') {
      if (typeof block.text !== 'string') throw new Error(`content[${i}].text is not a string`);
      texts.push(block.text);
    } else if (block.type === 'tool_use') {
      if (typeof block.id !== 'string' || typeof block.name !== 'string') {
        throw new Error(`content[${i}] is a tool_use without id or name`);
      }
      if (block.name === responseTool) {
        texts.push(JSON.stringify(block.input ?? {}));
        fromTool = true;
      } else toolCalls.push(openAiToolCall(block.id, block.name, block.input));
    }
    // thinking and other block kinds have no Chat Completions equivalent.
  });

  return chatCompletion({
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : '',
    created: nowSeconds,
    texts,
    toolCalls,
    finishReason: answerFinishReason(toFinishReason(body.stop_reason), { fromTool, toolCalls: toolCalls.length }),
    usage: toOpenAiUsage(body.usage),
  });
}
