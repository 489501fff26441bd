/**
 * The OpenAI shapes both provider suites (anthropic, bedrock) expect their translated answers
 * to take: each adapter must produce the same chat.completion whichever API served it.
 */

/** The `created` stamp the suites inject, in seconds. */
export const NOW = 1_750_000_000;

/** OpenAI's usage record, every count spelled out (`prompt` already includes the cached tokens). */
export const usageRecord = (prompt: number, completion: number, total: number, cacheRead = 0, cacheWrite = 0) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: total,
  prompt_tokens_details: { cached_tokens: cacheRead },
  cache_read_input_tokens: cacheRead,
  cache_creation_input_tokens: cacheWrite,
});

/** A chat.completion created at {@link NOW} holding one text answer that stopped normally. */
export const textCompletion = (id: string, model: string, content: string, usage: ReturnType<typeof usageRecord>) => ({
  id,
  object: 'chat.completion',
  created: NOW,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
  usage,
});

/** A choice holding only tool calls (`arguments` is the JSON string OpenAI sends). */
export const toolCallChoice = (...calls: Array<{ id: string; name: string; arguments: string }>) => ({
  index: 0,
  message: {
    role: 'assistant',
    content: null,
    tool_calls: calls.map(({ id, name, arguments: args }) => ({ id, type: 'function', function: { name, arguments: args } })),
  },
  finish_reason: 'tool_calls',
  logprobs: null,
});

/** The first choice of a translated chat.completion. */
export const choiceOf = (completion: Record<string, unknown>) =>
  (completion.choices as Array<{ message: Record<string, unknown>; finish_reason: string }>)[0]!;
