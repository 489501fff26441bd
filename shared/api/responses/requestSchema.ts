import * as z from 'zod';
import { MAX_LIST_ITEMS } from '../../gateway/requestSchemas';

/**
 * The Responses API request (`POST /v1/responses`), the stateless core every client sends: the
 * OpenAI SDKs, the Agents SDK, the AI SDK and LangChain. Top-level parameters are checked
 * strictly (an unknown one is a 400 naming it, so nothing a client asks for is dropped
 * unnoticed); items and parts are loose, because clients send back the output items they
 * received, with fields (`id`, `status`, `annotations`, ...) that carry no meaning here.
 */

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;

/**
 * The door's schemas, built on the first Responses request (`z.lazy` below), not at import: the
 * gateway's cold start would otherwise pay for constructing every door's zod objects, used or
 * not (`npm run bench:cold`). Built once.
 */
let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => (built ??= buildSchemas());

function buildSchemas() {
  const inputText = z.looseObject({ type: z.literal('input_text'), text: z.string() });
  const outputText = z.looseObject({ type: z.literal('output_text'), text: z.string() });
  const refusal = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
  const inputImage = z.looseObject({
    type: z.literal('input_image'),
    image_url: z.string().min(1).nullish(),
    file_id: z.string().min(1).nullish(),
    detail: z.enum(['low', 'high', 'auto', 'original']).nullish(),
  });
  /** Known, and refused with a message that says so (rather than "invalid discriminator"). */
  const inputFile = z.looseObject({ type: z.literal('input_file') });
  const inputAudio = z.looseObject({ type: z.literal('input_audio') });

  const contentPart = z.discriminatedUnion('type', [inputText, outputText, refusal, inputImage, inputFile, inputAudio], {
    error: 'unsupported content part type; supported: input_text, input_image (URL or data URL), output_text, refusal',
  });

  const message = z.looseObject({
    type: z.literal('message'),
    role: z.enum(['user', 'assistant', 'system', 'developer']),
    content: z.union([z.string(), z.array(contentPart).max(MAX_LIST_ITEMS)]),
  });

  const functionCall = z.looseObject({
    type: z.literal('function_call'),
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
  });

  const functionCallOutput = z.looseObject({
    type: z.literal('function_call_output'),
    call_id: z.string().min(1),
    output: z.union([z.string(), z.array(z.discriminatedUnion('type', [inputText, inputImage, inputFile]))]),
  });

  /** An output item of an earlier stored response, by id (what the AI SDK sends while `store` is on). */
  const itemReference = z.looseObject({ type: z.literal('item_reference'), id: z.string().min(1) });

  /** The model's private reasoning from an earlier turn: skipped (it has no place in a chat request). */
  const reasoning = z.looseObject({ type: z.literal('reasoning') });

  const SUPPORTED_ITEMS = 'message, function_call, function_call_output, item_reference, reasoning';

  /** `{role, content}` without a `type` is a message; `{id}` alone is an item reference (as OpenAI reads them). */
  const withDefaultType = (item: unknown): unknown => {
    if (typeof item !== 'object' || item === null || Array.isArray(item) || 'type' in item) return item;
    if ('role' in item) return { ...item, type: 'message' };
    if ('id' in item) return { ...item, type: 'item_reference' };
    return item;
  };

  const inputItemSchema = z.preprocess(
    withDefaultType,
    z.discriminatedUnion('type', [message, functionCall, functionCallOutput, itemReference, reasoning], {
      error: `unsupported input item type; supported: ${SUPPORTED_ITEMS}`,
    }),
  );

  const functionTool = z.looseObject({
    type: z.literal('function'),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes'),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  });

  const toolChoice = z.union([
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), name: z.string().min(1) }),
  ]);

  const textFormat = z.discriminatedUnion(
    'type',
    [
      z.looseObject({ type: z.literal('text') }),
      z.looseObject({ type: z.literal('json_object') }),
      z.looseObject({
        type: z.literal('json_schema'),
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes'),
        schema: z.record(z.string(), z.unknown()),
        description: z.string().nullish(),
        strict: z.boolean().nullish(),
      }),
    ],
    { error: 'text.format.type must be text, json_object or json_schema' },
  );

  const responsesRequestSchema = z.strictObject({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(inputItemSchema).max(MAX_LIST_ITEMS)], { error: 'must be a string or a list of input items' }),
    instructions: z.string().nullish(),
    tools: z.array(functionTool).max(MAX_LIST_ITEMS).nullish(),
    tool_choice: toolChoice.nullish(),
    text: z.strictObject({ format: textFormat.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
    max_output_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((value) => Object.keys(value).length <= 16, 'at most 16 keys')
      .nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    reasoning: z
      .strictObject({
        effort: z.enum(REASONING_EFFORTS).nullish(),
        summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
        generate_summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
      })
      .nullish(),
    user: z.string().nullish(),
    stream: z.boolean().nullish(),
    store: z.boolean().nullish(),
    previous_response_id: z.string().min(1).nullish(),
    // Accepted, with no effect on the answer (see README "Responses API"):
    include: z.array(z.string()).nullish(),
    truncation: z.enum(['auto', 'disabled']).nullish(),
    service_tier: z.string().nullish(),
    prompt_cache_key: z.string().nullish(),
    prompt_cache_retention: z.string().nullish(),
    safety_identifier: z.string().nullish(),
    stream_options: z.looseObject({}).nullish(),
    max_tool_calls: z.number().int().positive().nullish(),
    // Known, and refused unless off (see `refuseUnsupported`):
    background: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).nullish(),
    conversation: z.unknown().optional(),
    prompt: z.unknown().optional(),
  });

  return { inputItemSchema, responsesRequestSchema, contentPart, functionTool };
}

export const inputItemSchema = z.lazy(() => schemas().inputItemSchema);
/** Every top-level parameter this door knows; anything else is a 400 naming it. */
export const responsesRequestSchema = z.lazy(() => schemas().responsesRequestSchema);

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
export type InputItem = z.infer<typeof inputItemSchema>;
export type ContentPart = z.infer<ReturnType<typeof buildSchemas>['contentPart']>;
export type FunctionTool = z.infer<ReturnType<typeof buildSchemas>['functionTool']>;
