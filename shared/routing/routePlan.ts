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

/**
 * The breaker's key: the target and the credential it is called with. A tenant's own key
 * (`credential_overrides`) refused or rate-limited says nothing about the platform's credential
 * on the same target, so it trips or pauses (a 429's Retry-After) only its own breaker. Calls
 * with the provider's configured credential keep the plain {@link targetKey}. The secret's name
 * is config, not a secret, and becomes part of the key; never its value.
 */
export function breakerKey(target: TargetNode, model: string, credentialOverride?: string): string {
  const configured = 'credential' in target.provider ? target.provider.credential : undefined;
  const key = targetKey(target, model);
  return credentialOverride === undefined || credentialOverride === configured ? key : `${key}|credential:${credentialOverride}`;
}

/** Every leaf of a route, in config order. */
export function leaves(node: RouteNode): TargetNode[] {
  return node.kind === 'target' ? [node] : node.children.flatMap(leaves);
}
