import * as z from 'zod';
import { MAX_LIST_ITEMS, modelNameSchema } from '../../gateway/requestSchemas';

/**
 * Anthropic's Messages request, as the Anthropic SDK, Claude Code and the Claude Agent SDK send
 * it. Checked strictly where the translation to the engine's chat form reads a field, loosely
 * elsewhere: unknown fields (`context_management`, `service_tier`, what the next beta adds) pass
 * through to Anthropic targets in the native body and are left out for the others.
 */

export type ContentBlock = { type: string } & Record<string, unknown>;

/**
 * The door's schemas, built on the first Messages request (`z.lazy` below), not at import: the
 * gateway's cold start would otherwise pay for constructing every door's zod objects, used or
 * not (`npm run bench:cold`). Built once.
 */
let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => (built ??= buildSchemas());

function buildSchemas() {
  const cacheControl = z.looseObject({ type: z.string().min(1) }).nullish();

  const textBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });

  const imageSource = z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal('url'), url: z.string().min(1) }),
  ]);
  const imageBlock = z.looseObject({ type: z.literal('image'), source: imageSource, cache_control: cacheControl });

  /**
   * Documents the translation can give every target: a base64 PDF (OpenAI's `file` part) or plain
   * text. A URL or Files API source cannot be fetched here, so it is refused rather than dropped.
   */
  const documentBlock = z.looseObject({
    type: z.literal('document'),
    source: z.discriminatedUnion('type', [
      z.looseObject({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: z.string().min(1) }),
      z.looseObject({ type: z.literal('text'), data: z.string() }),
    ]),
    title: z.string().nullish(),
    cache_control: cacheControl,
  });

  const toolUseBlock = z.looseObject({
    type: z.literal('tool_use'),
    id: z.string().min(1),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
    cache_control: cacheControl,
  });

  const toolResultBlock = z.looseObject({
    type: z.literal('tool_result'),
    tool_use_id: z.string().min(1),
    content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock, documentBlock]))]).optional(),
    is_error: z.boolean().optional(),
    cache_control: cacheControl,
  });

  /** History only: the model's own thinking, sent back unchanged for Anthropic targets. */
  const thinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() });
  const redactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });

  const BLOCKS: Readonly<Record<string, z.ZodType>> = {
    text: textBlock,
    image: imageBlock,
    document: documentBlock,
    tool_use: toolUseBlock,
    tool_result: toolResultBlock,
    thinking: thinkingBlock,
    redacted_thinking: redactedThinkingBlock,
  };

  /**
   * One content block, checked against its own type's schema so an error names the field that is
   * wrong (`messages[0].content[1].source.data`), not "no union member matched". Blocks the
   * canonical form cannot carry (server tool use and results, search results, container uploads)
   * are refused by name.
   */
  const contentBlock = z.looseObject({ type: z.string().min(1) }).superRefine((block, ctx) => {
    const schema = BLOCKS[block.type];
    if (!schema) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `content blocks of type "${block.type}" are not supported through the gateway (supported: ${Object.keys(BLOCKS).join(', ')})`,
      });
      return;
    }
    const parsed = schema.safeParse(block);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  });

  const message = z.looseObject({
    role: z.enum(['user', 'assistant']),
    content: z.union([z.string(), z.array(contentBlock).max(MAX_LIST_ITEMS)]),
  });

  /** A custom tool; server tools (a `type` other than `custom`) are refused before this is read. */
  const tool = z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    input_schema: z.record(z.string(), z.unknown()),
    type: z.literal('custom').nullish(),
    cache_control: cacheControl,
  });

  const parallel = { disable_parallel_tool_use: z.boolean().optional() };
  const toolChoice = z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('auto'), ...parallel }),
    z.looseObject({ type: z.literal('any'), ...parallel }),
    z.looseObject({ type: z.literal('tool'), name: z.string().min(1), ...parallel }),
    z.looseObject({ type: z.literal('none') }),
  ]);

  /** What a count_tokens request and a Messages request share: the prompt. */
  const prompt = {
    model: modelNameSchema,
    messages: z.array(message).min(1).max(MAX_LIST_ITEMS),
    system: z.union([z.string(), z.array(textBlock)]).optional(),
    tools: z.array(tool).max(MAX_LIST_ITEMS).optional(),
    tool_choice: toolChoice.optional(),
    /** Passed to Anthropic targets natively; other targets have no equivalent and do not get it. */
    thinking: z.looseObject({ type: z.string().min(1), budget_tokens: z.number().int().positive().optional() }).optional(),
  };

  const messagesRequestSchema = z.looseObject({
    ...prompt,
    max_tokens: z.number().int().positive(),
    // OpenAI's `stop` takes at most 4, and any target of the route may have to honour them.
    stop_sequences: z.array(z.string()).max(4, 'at most 4 stop sequences pass through the gateway').optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    /** Passed to Anthropic targets natively; OpenAI's format has no top_k, so other targets do not get it. */
    top_k: z.number().int().nonnegative().optional(),
    metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
    stream: z.boolean().optional(),
    /** `format` (structured output) is translated to `response_format`; `effort` is passed to Anthropic targets only. */
    output_config: z
      .looseObject({ format: z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish() })
      .nullish(),
  });

  const countTokensRequestSchema = z.looseObject(prompt);

  return { messagesRequestSchema, countTokensRequestSchema };
}

export const messagesRequestSchema = z.lazy(() => schemas().messagesRequestSchema);
export const countTokensRequestSchema = z.lazy(() => schemas().countTokensRequestSchema);

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;
export type MessagesPrompt = CountTokensRequest;
