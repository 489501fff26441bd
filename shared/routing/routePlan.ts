import type { ResolvedBreakerConfig } from '../breaker/config';
import type { ProviderConfig } from '../config/schema';
import type { BackoffOptions } from '../resilience';

/** A route's retry settings after defaults and inheritance from parent targets. */
export interface ResolvedRetry {
  /** Retries after the first call. */
  attempts: number;
  retryOn: ReadonlySet<number>;
  useRetryAfterHeader: boolean;
  backoff: BackoffOptions;
  maxRetryAfterMs: number;
}

/** One provider + model: the unit that is called, retried, budgeted and (later) circuit-broken. */
export interface TargetNode {
  kind: 'target';
  /** Where it sits in the config file, for messages: `routes.default.targets[1]`. */
  path: string;
  providerName: string;
  provider: ProviderConfig;
  /** From override_params.model; undefined means the client's own `model` is used. */
  model?: string;
  overrideParams: Readonly<Record<string, unknown>>;
  retry: ResolvedRetry;
  requestTimeoutMs: number;
  /** Streaming bounds per attempt: to the first content event, and between events after it. */
  stream: { firstTokenTimeoutMs: number; idleTimeoutMs: number };
  breaker: ResolvedBreakerConfig;
  weight: number;
}

export interface GroupNode {
  kind: 'group';
  path: string;
  mode: 'single' | 'fallback' | 'loadbalance';
  /** Upstream statuses that move on to the next child; network failures always do. */
  fallbackOn: ReadonlySet<number>;
  children: readonly RouteNode[];
  weight: number;
}

export type RouteNode = TargetNode | GroupNode;

/** Identifies a target across requests (retry budget, breaker): provider, model and where it lives. */
export function targetKey(target: TargetNode, model: string): string {
  const where = 'base_url' in target.provider ? target.provider.base_url : 'in-process';
  return `${target.providerName}|${model}|${where}`;
}

/** Every leaf of a route, in config order. */
export function leaves(node: RouteNode): TargetNode[] {
  return node.kind === 'target' ? [node] : node.children.flatMap(leaves);
}
