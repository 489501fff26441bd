import { createHash } from 'node:crypto';

/**
 * The LLM side of loop detection: an agent in a loop sends the conversation back with the same
 * tool call and the same tool result at its end, again and again. The fingerprint is those
 * trailing tool results and the calls that asked for them; a request that does not end in tool
 * results (an ordinary turn) has none and is never counted.
 */
export function llmLoopFingerprint(body: Readonly<Record<string, unknown>>): string | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length < 2) return undefined;
  const results: unknown[] = [];
  let index = messages.length - 1;
  while (index >= 0 && (messages[index] as { role?: unknown })?.role === 'tool') {
    const { tool_call_id, content } = messages[index] as { tool_call_id?: unknown; content?: unknown };
    results.unshift({ tool_call_id, content });
    index--;
  }
  if (results.length === 0) return undefined;
  const asker = messages[index] as { role?: unknown; tool_calls?: unknown } | undefined;
  if (asker?.role !== 'assistant' || !Array.isArray(asker.tool_calls)) return undefined;
  // Call ids differ on every turn even in a loop: the calls' names and arguments are what repeat.
  const calls = asker.tool_calls.map((call) => {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } })?.function;
    return [fn?.name, fn?.arguments];
  });
  const outputs = results.map((result) => (result as { content?: unknown }).content);
  return createHash('sha256').update(JSON.stringify([body.model ?? null, calls, outputs])).digest('hex');
}
