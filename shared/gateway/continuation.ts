import { withoutNativeField } from '../providers/anthropicNative';
import { leaves, type GroupNode, type RouteNode, type TargetNode } from '../routing';

/**
 * Targets that continue an assistant message given as the last turn (a prefill): Anthropic's
 * Messages API, and Claude on Bedrock. OpenAI's Chat Completions answers a trailing assistant
 * turn with a new message instead, so its targets cannot continue a cut answer.
 */
export function canContinue(target: TargetNode, model: string): boolean {
  if (target.provider.type === 'anthropic') return true;
  return target.provider.type === 'bedrock' && /claude/i.test(model);
}

/**
 * The route a cut stream continues on: the prefill-capable targets after the one that broke,
 * then those before it, as one fallback group (so each keeps its retries, breaker and timeouts).
 * Undefined when there is none.
 */
export function continuationRoute(route: RouteNode, broken: TargetNode, body: Readonly<Record<string, unknown>>): GroupNode | undefined {
  const all = leaves(route).filter((target) => target.weight > 0);
  const at = all.indexOf(broken);
  const ordered = [...all.slice(at + 1), ...all.slice(0, Math.max(0, at))];
  const capable = ordered.filter((target) => canContinue(target, target.model ?? String(body.model)));
  if (capable.length === 0) return undefined;
  return {
    kind: 'group',
    path: `${broken.path}#continuation`,
    mode: 'fallback',
    fallbackOn: new Set(Array.from({ length: 500 }, (_, i) => 100 + i)),
    children: capable,
    weight: 1,
  };
}

/**
 * The request that continues `partial`: the same conversation with the partial answer as the
 * last, assistant, turn. Anthropic refuses a final assistant turn that ends in whitespace, so
 * that is cut here and reported, to be dropped from the continuation's first words.
 */
export function prefillRequest(body: Readonly<Record<string, unknown>>, partial: string) {
  const trimmed = partial.replace(/\s+$/, '');
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return {
    // The Messages door's native body would be sent instead of these messages, prefill and all.
    body: { ...withoutNativeField(body), messages: [...messages, { role: 'assistant', content: trimmed }] },
    trimmedWhitespace: partial.slice(trimmed.length),
  };
}
