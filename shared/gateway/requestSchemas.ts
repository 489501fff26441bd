import * as z from 'zod';
import { MAX_EMBEDDING_INPUTS, MAX_TOKENS_PER_EMBEDDING_INPUT } from './embeddingsInput';

/**
 * OpenAI request bodies, checked strictly where a wrong type would reach the upstream and
 * loosely elsewhere (unknown fields pass through: providers add parameters faster than we can).
 */

/**
 * The most items a request's lists (messages, input items, content parts, tools) may hold: far
 * past any model's context (10,000 turns), and the bound that keeps a refusal cheap. zod checks
 * a list's length before its items, and a list of 300,000 bad items would otherwise cost one
 * issue object each: seconds of one CPU for a 2 MB body.
 */
export const MAX_LIST_ITEMS = 10_000;

/** Longer than any provider's model or deployment name (Bedrock ARNs run to about 150). */
export const MAX_MODEL_NAME_LENGTH = 256;

/**
 * No control, format (zero-width, bidi overrides), surrogate, private-use or unassigned code
 * point, and no line or paragraph separator: a model name is printable text. Letters of any
 * script pass (a deployment may be named in one); where a name is written into a header it is
 * percent-encoded (see `headerSafe`).
 */
const PRINTABLE = /^[^\p{C}\p{Zl}\p{Zp}]+$/u;

/**
 * The `model` of every door's request. The name keys per-target state (breakers, retry
 * budgets), is logged, priced and sent upstream, and reaches a response header, so its size
 * and characters are bounded before any of that.
 */
export const modelNameSchema = z
  .string()
  .min(1)
  .max(MAX_MODEL_NAME_LENGTH, `must be at most ${MAX_MODEL_NAME_LENGTH} characters`)
  .regex(PRINTABLE, 'must be printable text (no control or invisible format characters)');

/**
 * The chat completion body: built on its first parse (`z.lazy`), not at import. Each door's
 * schemas are dozens of zod objects whose construction the gateway's cold start would otherwise
 * pay for every door, used or not (`npm run bench:cold`).
 */
export const chatCompletionRequestSchema = z.lazy(buildChatCompletionRequestSchema);

function buildChatCompletionRequestSchema() {
  const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
  const contentPart = z.looseObject({ type: z.string().min(1) });
  const content = z.union([z.string(), z.array(contentPart).max(MAX_LIST_ITEMS)]);

  const toolCall = z.looseObject({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
  });

  const message = z.discriminatedUnion('role', [
    z.looseObject({ role: z.literal('system'), content: z.union([z.string(), z.array(textPart)]), name: z.string().optional() }),
    z.looseObject({ role: z.literal('developer'), content: z.union([z.string(), z.array(textPart)]), name: z.string().optional() }),
    z.looseObject({ role: z.literal('user'), content, name: z.string().optional() }),
    z.looseObject({
      role: z.literal('assistant'),
      content: content.nullish(),
      tool_calls: z.array(toolCall).optional(),
      name: z.string().optional(),
    }),
    z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) }),
    z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }),
  ]);

  const tool = z.looseObject({
    type: z.literal('function'),
    function: z.looseObject({
      name: z.string().min(1),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
    }),
  });

  return z.looseObject({
    model: modelNameSchema,
    messages: z.array(message).min(1).max(MAX_LIST_ITEMS),
    stream: z.boolean().nullish(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    n: z.number().int().min(1).max(128).nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
    presence_penalty: z.number().min(-2).max(2).nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    seed: z.number().int().nullish(),
    user: z.string().optional(),
    tools: z.array(tool).max(MAX_LIST_ITEMS).optional(),
    tool_choice: z
      .union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })])
      .optional(),
    response_format: z.looseObject({ type: z.string() }).optional(),
  });
}

/** Built on its first parse, as {@link chatCompletionRequestSchema}. */
export const embeddingsRequestSchema = z.lazy(() =>
  z.looseObject({
    model: modelNameSchema,
    /**
     * Sizes are checked first, in one pass ({@link checkEmbeddingsInputBounds}); the schema then
     * runs on a bounded input. The cheap-to-fail options come first: a union tries each option in
     * turn, and an array of strings fails on every element of an array of numbers.
     */
    input: z.union([
      z.string().min(1),
      z.array(z.number().int()).min(1).max(MAX_TOKENS_PER_EMBEDDING_INPUT),
      z.array(z.array(z.number().int()).min(1).max(MAX_TOKENS_PER_EMBEDDING_INPUT)).min(1).max(MAX_EMBEDDING_INPUTS),
      z.array(z.string()).min(1).max(MAX_EMBEDDING_INPUTS),
    ]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().positive().optional(),
    user: z.string().optional(),
  }),
);

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;
