/**
 * Token usage as the providers report it, normalised to four disjoint buckets so one price
 * table prices them all. The providers disagree on whether cached tokens sit inside the prompt
 * count, and counting a bucket twice (or not at all) is exactly the bug a budget cannot have.
 */
export interface TokenUsage {
  /** Prompt tokens neither read from nor written to a prompt cache. */
  input: number;
  /** Prompt tokens served from a prompt cache. */
  cacheRead: number;
  /** Prompt tokens written to a prompt cache (Anthropic-style caches charge extra for these). */
  cacheWrite: number;
  /** Generated tokens, reasoning included. */
  output: number;
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A token count, or undefined when the field is absent or not a sane count. */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.ceil(value) : undefined;
}

const anyCount = (...values: Array<number | undefined>) => values.some((value) => value !== undefined);

/**
 * OpenAI Chat Completions / Embeddings usage: `prompt_tokens` INCLUDES the cached tokens
 * (`prompt_tokens_details.cached_tokens`), and OpenAI reports no cache writes.
 * Returns undefined when the object carries no token count at all.
 */
export function normalizeOpenAiUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const prompt = count(usage.prompt_tokens);
  const completion = count(usage.completion_tokens);
  if (!anyCount(prompt, completion)) return undefined;
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const cached = count(details.cached_tokens) ?? 0;
  // A cached count above the prompt count is nonsense; keeping the larger reading never under-counts.
  return { input: Math.max(0, (prompt ?? 0) - cached), cacheRead: cached, cacheWrite: 0, output: completion ?? 0 };
}

/**
 * Raw Anthropic Messages usage: `input_tokens` EXCLUDES `cache_read_input_tokens` and
 * `cache_creation_input_tokens`, which are reported beside it.
 */
export function normalizeAnthropicUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const input = count(usage.input_tokens);
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  const output = count(usage.output_tokens);
  if (!anyCount(input, cacheRead, cacheWrite, output)) return undefined;
  return { input: input ?? 0, cacheRead: cacheRead ?? 0, cacheWrite: cacheWrite ?? 0, output: output ?? 0 };
}

/**
 * Bedrock Converse usage (`inputTokens`, `cacheReadInputTokens`, `cacheWriteInputTokens`,
 * `outputTokens`). AWS's prompt-caching guide states that with caching on, `inputTokens` counts
 * only the non-cached tokens (total input = inputTokens + cacheRead + cacheWrite), the same split
 * as Anthropic's own API, so the buckets are taken as they are. Reading them as disjoint is also
 * the safe side: were `inputTokens` ever inclusive, this over-counts, never under-counts.
 */
export function normalizeBedrockUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const input = count(usage.inputTokens);
  const cacheRead = count(usage.cacheReadInputTokens);
  const cacheWrite = count(usage.cacheWriteInputTokens);
  const output = count(usage.outputTokens);
  if (!anyCount(input, cacheRead, cacheWrite, output)) return undefined;
  return { input: input ?? 0, cacheRead: cacheRead ?? 0, cacheWrite: cacheWrite ?? 0, output: output ?? 0 };
}

/**
 * The usage on a body the gateway returns, which is always OpenAI-shaped. Bodies translated
 * from Anthropic (see `toOpenAiUsage`) carry `prompt_tokens = input + cache_read + cache_creation`
 * plus `cache_read_input_tokens` / `cache_creation_input_tokens` at the top level (and the same
 * read count again in `prompt_tokens_details.cached_tokens`): when those fields are present both
 * cache buckets are taken out of the prompt once, never twice.
 */
export function normalizeGatewayUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  if (cacheRead === undefined && cacheWrite === undefined) return normalizeOpenAiUsage(usage);
  const read = cacheRead ?? 0;
  const write = cacheWrite ?? 0;
  return {
    // Inconsistent counts (cache above prompt) keep the cache figures: the larger reading never under-counts.
    input: Math.max(0, (count(usage.prompt_tokens) ?? 0) - read - write),
    cacheRead: read,
    cacheWrite: write,
    output: count(usage.completion_tokens) ?? 0,
  };
}

/** Every token in the usage, whatever its price: what the per-user hourly token cap counts. */
export const totalTokens = (usage: TokenUsage): number => usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
