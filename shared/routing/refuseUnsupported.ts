import { GatewayError } from '../errors';
import type { Operation, ProviderAdapter } from '../providers/types';
import { leaves, type RouteNode, type TargetNode } from './routePlan';

/**
 * Refuses, before any upstream call, a request with a parameter that some target of its route
 * cannot honour (`logprobs` on a route that may fall back to Anthropic, say): 400
 * `unsupported_parameter` naming the parameter and the target. Asked of every target the route
 * may reach, not only of the one that would answer now, so that a fallback never changes the
 * shape of an answer unnoticed: the same request is refused whether the primary is up or down.
 * Weight-0 targets are never called and are not asked.
 */
export function refuseUnsupported(
  route: RouteNode,
  request: { operation: Operation; body: Readonly<Record<string, unknown>> },
  adapterFor: (target: TargetNode) => ProviderAdapter,
): void {
  for (const target of leaves(route)) {
    if (target.weight === 0) continue;
    const adapter = adapterFor(target);
    if (!adapter.unsupported) continue;
    const model = target.model ?? String(request.body.model);
    const refusal = adapter.unsupported({ operation: request.operation, body: { ...request.body, ...target.overrideParams, model } });
    if (refusal) {
      throw new GatewayError('unsupported_parameter', `${refusal.message} (a target of this route: ${target.path})`, {
        details: { param: refusal.param },
      });
    }
  }
}
