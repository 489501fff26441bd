import type { CompiledConfig } from '../config';
import { leaves, targetKey, type TargetNode } from '../routing';

/** A breaker the console can show and force: one per leaf target of every route that names its model. */
export interface BreakerTarget {
  /** The breaker's key (`provider|model|where`), as the route walk uses it. */
  key: string;
  /** Routes whose walk reaches this target. */
  routes: string[];
  provider: string;
  model: string;
  target: TargetNode;
}

/**
 * Every breaker the config makes, keyed as the route walk keys them. A target without a model
 * (the client's own `model` passes through) makes one breaker per model a client sends, which
 * no list can name in advance: those are left out, as are BYOK keys' own breakers.
 */
export function breakerTargets(config: CompiledConfig): BreakerTarget[] {
  const byKey = new Map<string, BreakerTarget>();
  for (const [route, node] of config.routes) {
    for (const target of leaves(node)) {
      if (target.model === undefined) continue;
      const key = targetKey(target, target.model);
      const known = byKey.get(key);
      if (known) {
        if (!known.routes.includes(route)) known.routes.push(route);
        continue;
      }
      byKey.set(key, { key, routes: [route], provider: target.providerName, model: target.model, target });
    }
  }
  return [...byKey.values()];
}
