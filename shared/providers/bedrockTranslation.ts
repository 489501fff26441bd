import type {
  ContentBlock,
  ConverseCommandInput,
  ImageFormat,
  InferenceConfiguration,
  SystemContentBlock,
  ToolChoice,
  ToolConfiguration,
  ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import {
  COMMON_FINISH_REASONS,
  DATA_URL,
  answerFinishReason,
  chatCompletion,
  finishReasonFrom,
  openAiToolCall,
  openAiUsage,
  readChatRequest,
  shown,
  type ChatBlock,
  type ChatRequest,
  type ChatRequestReader,
  type ChatToolChoice,
  type UsageFields,
} from './chatTranslation';
import { UnsupportedParameterError } from './responseFormatTranslation';
import { isRecord } from './upstreamHttp';

export { UnsupportedParameterError, isUnsupportedParameterError } from './responseFormatTranslation';

/** Smithy's JSON document type, taken from the SDK so @smithy/types need not be a dependency. */
type DocumentType = NonNullable<ToolUseBlock['input']>;

/**
 * Pure translation between OpenAI Chat Completions and Bedrock's Converse API, no I/O, so
 * every rule is unit-tested with plain objects. It mirrors anthropicTranslation.ts (the rules
 * both share live in chatTranslation.ts): a request that cannot be translated throws
 * {@link BedrockTranslationError} (the client's mistake, a 400); an answer that cannot be read
 * throws a plain Error (the target's fault, malformed).
 */

/** A request the Converse API cannot express; the message names the offending field. */
export class BedrockTranslationError extends Error {
  override name = 'BedrockTranslationError';
}

function fail(message: string): never {
  throw new BedrockTranslationError(message);
}

const reader: ChatRequestReader<ContentBlock> = { provider: 'bedrock', fail, image: imageBlock };

/** A translated request and the tool whose call is the answer's content (`response_format`), if any. */
export interface ConverseCall {
  input: ConverseCommandInput;
  responseTool: string | undefined;
}

/** {@link toConverseRequest}, with what reading its answer needs. */
export function toConverseCall(body: Record<string, unknown>): ConverseCall {
  const request = readChatRequest(body, reader);
  // Converse has no switch for it; refused rather than answered with several calls unasked.
  if (body.parallel_tool_calls === false && Array.isArray(body.tools) && body.tools.length > 0) {
    throw new UnsupportedParameterError('parallel_tool_calls', `bedrock/${request.model}`, 'set to false');
  }
  return { input: converseInput(request), responseTool: request.responseTool };
}

/**
 * OpenAI Chat Completions body → Converse input. `model` becomes `modelId` (a model id, an
 * inference profile id or an ARN). A parameter Converse cannot honour throws
 * {@link UnsupportedParameterError}; `seed`, `user` and fields that only steer OpenAI's own
 * service are left out.
 */
export function toConverseRequest(body: Record<string, unknown>): ConverseCommandInput {
  return toConverseCall(body).input;
}

function converseInput(request: ChatRequest<ContentBlock>): ConverseCommandInput {
  const out: ConverseCommandInput = {
    modelId: request.model,
    messages: request.turns.map(({ role, content }) => ({ role, content: content.map(converseBlock) })),
  };
  // Converse rejects blank text blocks; the reader has left the empty pieces out.
  const system: SystemContentBlock[] = request.system.map((text) => ({ text }));
  if (system.length > 0) out.system = system;
  const inference = inferenceConfig(request);
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  const toolConfig = converseToolConfig(request);
  if (toolConfig) out.toolConfig = toolConfig;
  return out;
}

function inferenceConfig(request: ChatRequest<ContentBlock>): InferenceConfiguration {
  const out: InferenceConfiguration = {};
  // Unlike the Messages API, Converse does not require maxTokens: the model's default applies.
  if (request.maxTokens !== undefined) out.maxTokens = request.maxTokens;
  if (request.temperature !== undefined) out.temperature = request.temperature;
  if (request.topP !== undefined) out.topP = request.topP;
  if (request.stop.length > 0) out.stopSequences = request.stop;
  return out;
}

function converseBlock(block: ChatBlock<ContentBlock>): ContentBlock {
  switch (block.type) {
    case 'text':
      return { text: block.text };
    case 'image':
      return block.image;
    case 'toolUse':
      return { toolUse: { toolUseId: block.id, name: block.name, input: block.input as DocumentType } };
    case 'toolResult': {
      const texts = typeof block.content === 'string' ? [block.content] : block.content;
      return { toolResult: { toolUseId: block.toolCallId, content: texts.map((text) => ({ text })) } };
    }
  }
}

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** Converse takes image bytes (or S3 locations), never a URL to fetch: only data: URLs translate. */
function imageBlock(url: string, at: string): ContentBlock {
  const data = DATA_URL.exec(url);
  if (!data) fail(`${at}.url must be a base64 data: URL (bedrock does not fetch image URLs)`);
  const mediaType = (data[1] ?? '').toLowerCase();
  const format = IMAGE_FORMATS[mediaType];
  if (!format) fail(`${at}.url has media type ${shown(mediaType)}; bedrock takes png, jpeg, gif or webp`);
  return { image: { format, source: { bytes: new Uint8Array(Buffer.from(data[2] ?? '', 'base64')) } } };
}

function converseToolChoice(choice: Exclude<ChatToolChoice, 'none'>): ToolChoice {
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.name } };
}

const holdsToolBlocks = (request: ChatRequest<ContentBlock>) =>
  request.turns.some((turn) => turn.content.some((b) => b.type === 'toolUse' || b.type === 'toolResult'));

/**
 * Converse has no `none` tool choice. `none` therefore drops the tools, except when the
 * conversation already holds toolUse/toolResult blocks: Converse then rejects a request
 * without toolConfig, so the tools stay (with the model's default choice) and the request
 * still succeeds.
 */
function converseToolConfig(request: ChatRequest<ContentBlock>): ToolConfiguration | undefined {
  if (request.tools.length === 0) return undefined;
  const tools = request.tools.map(({ name, description, parameters }) => ({
    toolSpec: {
      name,
      ...(description !== undefined ? { description } : {}),
      inputSchema: { json: parameters as DocumentType },
    },
  }));
  const choice = request.toolChoice;
  if (choice === 'none') return holdsToolBlocks(request) ? { tools } : undefined;
  return choice ? { tools, toolChoice: converseToolChoice(choice) } : { tools };
}

const FINISH_REASONS = { ...COMMON_FINISH_REASONS, guardrail_intervened: 'content_filter', content_filtered: 'content_filter' };

/** Converse's stopReason → OpenAI's finish_reason; anything unknown reads as a plain stop. */
export const toFinishReason = (stopReason: unknown): string => finishReasonFrom(FINISH_REASONS, stopReason);

/**
 * Bedrock's `inputTokens` leaves out cached tokens, as Anthropic's `input_tokens` does: AWS's
 * prompt-caching guide reports `cacheReadInputTokens` and `cacheWriteInputTokens` beside it,
 * not inside it. OpenAI's `prompt_tokens` counts them, so they are added back. The cache
 * fields keep the anthropic adapter's names and meaning (`cache_creation_input_tokens` is
 * Bedrock's `cacheWriteInputTokens`), so usage is priced the same whichever route served it.
 * `totalTokens` is not read: it is recomputed so that it always equals prompt + completion.
 */
const USAGE_FIELDS: UsageFields = {
  input: 'inputTokens',
  output: 'outputTokens',
  cacheRead: 'cacheReadInputTokens',
  cacheWrite: 'cacheWriteInputTokens',
};

/** Converse's usage → OpenAI's usage record (see {@link USAGE_FIELDS}). */
export const toOpenAiUsage = (usage: unknown): Record<string, unknown> => openAiUsage(usage, USAGE_FIELDS);

/** What a Converse answer lacks and the chat.completion needs. */
export interface ConverseAnswerContext {
  /** Converse answers carry no id; the adapter derives one from the AWS request id. */
  id: string;
  /** The model the client asked for (Converse answers do not name it). */
  model: string;
  /** The `created` stamp, in seconds. */
  nowSeconds: number;
  /** The `response_format` tool: its call is the message content, as JSON text. */
  responseTool?: string;
}

/** Converse output → OpenAI chat.completion; throws when the answer holds no message. */
export function fromConverseResponse(output: unknown, context: ConverseAnswerContext): Record<string, unknown> {
  if (!isRecord(output)) throw new Error('answer is not an object');
  const message = isRecord(output.output) ? output.output.message : undefined;
  if (!isRecord(message) || !Array.isArray(message.content)) throw new Error('no `output.message.content` array');

  const texts: string[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  let fromTool = false;
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
      if (use.name === context.responseTool) {
        texts.push(JSON.stringify(use.input ?? {}));
        fromTool = true;
      } else toolCalls.push(openAiToolCall(use.toolUseId, use.name, use.input));
    }
    // reasoningContent, citations and other block kinds have no Chat Completions equivalent.
  });

  return chatCompletion({
    id: context.id,
    model: context.model,
    created: context.nowSeconds,
    texts,
    toolCalls,
    finishReason: answerFinishReason(toFinishReason(output.stopReason), { fromTool, toolCalls: toolCalls.length }),
    usage: toOpenAiUsage(output.usage),
  });
}
