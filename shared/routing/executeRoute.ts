import type { CircuitBreakers } from '../breaker/CircuitBreakers';
import { GatewayError } from '../errors';
import type { Operation, ProviderAdapter, UpstreamOutcome, UpstreamRequest } from '../providers/types';
import { primeStream, type PrimedStream } from '../stream/primeStream';
import {
  backoffDelay,
  classifyNetworkError,
  classifyStatus,
  clientRetryAfterSeconds,
  isClientErrorStatus,
  parseRetryAfter,
  type Clock,
  type Deadline,
  type FailureAction,
  type RandomSource,
  type RetryBudgets,
} from '../resilience';
import { breakerOutcomeOf } from './breakerOutcome';
import { orderChildren } from './orderChildren';
import { breakerKey, targetKey, type RouteNode, type TargetNode } from './routePlan';

/** One upstream call, as reported in headers, logs, traces and the 503 body. */
export interface AttemptRecord {
  /** `provider/model`. */
  target: string;
  /** 1 for the first call to this target in this request. */
  attempt: number;
  /** `circuit_open`: the target was skipped without a call because its breaker is open. */
  outcome: UpstreamOutcome['kind'] | 'circuit_open';
  /**
   * Upstream calls this attempt made: 0 for a target skipped (open breaker, no credential, a
   * parameter it cannot honour), 2 when a refused credential was re-read and the call sent again.
   */
  calls: number;
  status?: number;
  /** Error class for failures without a status: ECONNRESET, timeout, malformed... */
  error?: string;
  /** Why a target was unavailable (a missing credential, say); never a secret. */
  reason?: string;
  durationMs: number;
}

/** Hooks for tracing and metrics around each upstream call. */
export interface AttemptObserver {
  /** Called before a call; the returned function is called with its record when it ends. */
  startAttempt(target: TargetNode, model: string, attempt: number): (record: AttemptRecord) => void;
}

export interface RouteExecutorDeps {
  adapterFor(target: TargetNode): ProviderAdapter;
  clock: Clock;
  random: RandomSource;
  retryBudgets: RetryBudgets;
  /** Fleet-wide breakers; without them every target is always tried. */
  breakers?: CircuitBreakers;
  observer?: AttemptObserver;
}

export interface RouteRequest {
  operation: Operation;
  /** The client's validated body, in OpenAI's format. */
  body: Readonly<Record<string, unknown>>;
  deadline: Deadline;
  /** Bring-your-own-key: provider name → the tenant's own secret, used instead of the provider's. */
  credentialOverrides?: Readonly<Record<string, string>>;
}

export interface RouteResult<Body = Record<string, unknown>> {
  target: TargetNode;
  /** The model that answered. */
  model: string;
  /** `provider/model` that answered. */
  label: string;
  /** The answer; for a streamed request, the stream from its first content event on. */
  body: Body;
  attempts: AttemptRecord[];
  /** Calls made to upstreams, retries and credential re-reads included: `x-breakwater-attempts`. */
  upstreamCalls: number;
  /** How many targets were tried before the one that answered: 0 means the primary. */
  fallbackIndex: number;
}

/** Why a target gave up; `stop` failures end the walk instead of falling back. */
interface TargetFailure {
  target: TargetNode;
  label: string;
  outcome: Exclude<UpstreamOutcome, { kind: 'success' }> | { kind: 'deadline' } | { kind: 'circuit_open'; retryAt: number };
  retryAfterMs?: number;
}

type NodeResult<Body> = { ok: true; result: RouteResult<Body> } | { ok: false; failure: TargetFailure };

/** One attempt on one target: a buffered call, or a stream opened up to its first content event. */
interface AttemptKind<Body> {
  /** The attempt's own bound, before the deadline cuts it. */
  timeoutOf(target: TargetNode): number;
  call(adapter: ProviderAdapter, request: UpstreamRequest, target: TargetNode, startedAt: number): Promise<UpstreamOutcome<Body>>;
  /** Delays the observer's end of a successful attempt (a trace's subsegment) to the end of its answer. */
  finishLater?(body: Body, finish: () => void): Body;
}

const BUFFERED: AttemptKind<Record<string, unknown>> = {
  timeoutOf: (target) => target.requestTimeoutMs,
  call: (adapter, request) => adapter.call(request),
};

/**
 * A streamed attempt succeeds only at its first content event: a 200 that then stalls, errors or
 * closes before any content is a failed attempt, retried and failed over like any other.
 */
const streamed = (clock: Clock, deadline: Deadline): AttemptKind<PrimedStream> => ({
  timeoutOf: (target) => target.stream.firstTokenTimeoutMs,
  call: async (adapter, request, target, startedAt) => {
    const opened = await adapter.stream(request);
    if (opened.kind !== 'success') return opened;
    return primeStream(
      opened.body,
      { firstTokenMs: request.timeoutMs, idleMs: target.stream.idleTimeoutMs, deadlineAt: deadline.expiresAt },
      clock,
      startedAt,
    );
  },
  finishLater: (primed, finish) => ({ ...primed, events: endsWith(primed.events, finish) }),
});

async function* endsWith<T>(events: AsyncGenerator<T>, finish: () => void): AsyncGenerator<T> {
  try {
    yield* events;
  } finally {
    finish();
  }
}

function failureAction(outcome: TargetFailure['outcome'], retryOn: ReadonlySet<number>): FailureAction {
  switch (outcome.kind) {
    case 'http_error':
      return classifyStatus(outcome.status, retryOn);
    case 'network_error':
      return classifyNetworkError(outcome.code);
    case 'timeout':
    case 'malformed':
      return 'retry';
    case 'unsupported':
      return 'fatal';
    case 'unavailable':
    case 'deadline':
    case 'circuit_open':
      return 'failover';
  }
}

/** Whether a group moves on to its next child after this failure. */
function fallsBack(failure: TargetFailure, fallbackOn: ReadonlySet<number>): boolean {
  // A parameter this target cannot honour: the answer of another would have another shape.
  if (failure.outcome.kind === 'deadline' || failure.outcome.kind === 'unsupported') return false;
  if (failure.outcome.kind === 'http_error') {
    // A 3xx is never relayed to the client, so it always moves on; 4xx/5xx follow on_status_codes.
    return fallbackOn.has(failure.outcome.status) || failure.outcome.status < 400;
  }
  return true;
}

const describe = (record: AttemptRecord) =>
  (record.status?.toString() ?? record.error ?? record.outcome) + (record.reason ? ` (${record.reason})` : '');

/**
 * Walks a route: per target, attempts with retries, backoff with jitter, Retry-After, a retry
 * budget and a per-attempt timeout; across targets, fallback or weighted order; all inside one
 * deadline. Returns the first success or throws a {@link GatewayError} that says what happened.
 */
export class RouteExecution<Body = Record<string, unknown>> {
  private readonly attempts: AttemptRecord[] = [];
  /** Half-open times of targets skipped for an open breaker. */
  private readonly skippedUntil: number[] = [];
  private targetsTried = 0;

  constructor(
    private readonly request: RouteRequest,
    private readonly deps: RouteExecutorDeps,
    private readonly kind: AttemptKind<Body>,
  ) {}

  async run(root: RouteNode): Promise<RouteResult<Body>> {
    const outcome = await this.runNode(root);
    if (outcome.ok) return outcome.result;
    throw this.toError(outcome.failure);
  }

  private async runNode(node: RouteNode): Promise<NodeResult<Body>> {
    if (node.kind === 'target') return this.runTarget(node);
    let last: NodeResult<Body> | undefined;
    for (const child of orderChildren(node, this.deps.random)) {
      if (last && this.request.deadline.expired) break;
      last = await this.runNode(child);
      if (last.ok || !fallsBack(last.failure, node.fallbackOn)) return last;
    }
    // The schema requires at least one child, so this is a bug, not bad input.
    if (!last) throw new GatewayError('internal_error', `route group ${node.path} has no target to try`);
    return last;
  }

  private async runTarget(target: TargetNode): Promise<NodeResult<Body>> {
    const { clock, random, retryBudgets, breakers } = this.deps;
    const { deadline, operation } = this.request;
    const model = target.model ?? String(this.request.body.model);
    const label = `${target.providerName}/${model}`;
    const adapter = this.deps.adapterFor(target);
    const key = targetKey(target, model);
    const budget = retryBudgets.for(key);
    const body = { ...this.request.body, ...target.overrideParams, model };
    const credential = this.request.credentialOverrides?.[target.providerName];
    const fallbackIndex = this.targetsTried++;
    budget.recordCall();

    let previousDelay: number | undefined;
    for (let attempt = 1; ; attempt++) {
      if (deadline.expired) return { ok: false, failure: { target, label, outcome: { kind: 'deadline' } } };

      const ownTimeoutMs = this.kind.timeoutOf(target);
      let timeoutMs = Math.min(ownTimeoutMs, deadline.remainingMs());
      // The probe's lease covers its attempt, so no other container probes while it runs.
      // Per credential too: a tenant's own key refused (BYOK) must not open the shared target.
      const permit = breakers
        ? await breakers.acquire(breakerKey(target, model, credential), target.breaker, { probeLeaseMs: timeoutMs + 1_000 })
        : undefined;
      if (permit && !permit.allowed) {
        this.attempts.push({ target: label, attempt, outcome: 'circuit_open', error: 'circuit_open', calls: 0, durationMs: 0 });
        // While another container's probe runs, the answer is usually a moment away, not at the
        // end of the probe's lease: tell clients to come back in a second.
        this.skippedUntil.push(permit.state === 'half_open' ? Math.min(permit.retryAt, clock.now() + 1_000) : permit.retryAt);
        return { ok: false, failure: { target, label, outcome: { kind: 'circuit_open', retryAt: permit.retryAt } } };
      }

      // The breaker's read may have waited on a slow store: the attempt gets what is left.
      timeoutMs = Math.min(timeoutMs, deadline.remainingMs());
      const finish = this.deps.observer?.startAttempt(target, model, attempt);
      const started = clock.now();
      const outcome = await this.kind.call(adapter, { operation, body, timeoutMs, ...(credential ? { credential } : {}) }, target, started);
      const record: AttemptRecord = {
        target: label,
        attempt,
        outcome: outcome.kind,
        calls: outcome.kind === 'unavailable' || outcome.kind === 'unsupported' ? 0 : (outcome.upstreamCalls ?? 1),
        durationMs: clock.now() - started,
        ...(outcome.kind === 'http_error' ? { status: outcome.status } : {}),
        ...(outcome.kind === 'network_error' ? { error: outcome.code } : {}),
        ...(outcome.kind === 'timeout' || outcome.kind === 'malformed' ? { error: outcome.kind } : {}),
        ...(outcome.kind === 'unavailable' ? { error: outcome.kind, reason: outcome.reason } : {}),
        ...(outcome.kind === 'unsupported' ? { error: 'unsupported_parameter', reason: outcome.message } : {}),
      };
      this.attempts.push(record);
      if (outcome.kind === 'success' && finish && this.kind.finishLater) {
        outcome.body = this.kind.finishLater(outcome.body, () => finish(record));
      } else {
        finish?.(record);
      }

      const retryAfterMs =
        outcome.kind === 'http_error' && target.retry.useRetryAfterHeader
          ? parseRetryAfter(outcome.headers, clock.now())
          : undefined;
      await permit?.report(
        breakerOutcomeOf(outcome, { retryAfterMs, truncatedByDeadline: timeoutMs < ownTimeoutMs }),
      );

      if (outcome.kind === 'success') {
        const upstreamCalls = this.attempts.reduce((sum, { calls }) => sum + calls, 0);
        return { ok: true, result: { target, model, label, body: outcome.body, attempts: this.attempts, upstreamCalls, fallbackIndex } };
      }
      if (outcome.kind === 'timeout' && deadline.expired) {
        return { ok: false, failure: { target, label, outcome: { kind: 'deadline' } } };
      }

      const failure: TargetFailure = { target, label, outcome, retryAfterMs };
      if (failureAction(outcome, target.retry.retryOn) !== 'retry' || attempt > target.retry.attempts) {
        return { ok: false, failure };
      }

      const delay = retryAfterMs ?? backoffDelay(attempt - 1, target.retry.backoff, random, previousDelay);
      previousDelay = delay;
      // A wait the upstream asks for that is too long, or that would outlive the request, is not
      // slept through: the next target is asked at once.
      if (retryAfterMs !== undefined && retryAfterMs > target.retry.maxRetryAfterMs) return { ok: false, failure };
      if (delay >= deadline.remainingMs()) return { ok: false, failure };
      if (!budget.tryAcquireRetry()) return { ok: false, failure };
      await clock.sleep(delay);
    }
  }

  private toError(failure: TargetFailure): GatewayError {
    const attempts = this.attempts.map((record) => ({
      target: record.target,
      attempt: record.attempt,
      ...(record.status !== undefined ? { status: record.status } : { error: record.error ?? record.outcome }),
      ...(record.reason !== undefined ? { reason: record.reason } : {}),
      duration_ms: Math.round(record.durationMs),
    }));
    const summary = this.attempts.map((record) => `${record.target} ${describe(record)}`).join(', ');
    const { outcome } = failure;

    // Every target skipped for an open breaker: nothing was called, so say when to come back.
    if (this.attempts.every((record) => record.outcome === 'circuit_open') && this.skippedUntil.length > 0) {
      const retryAt = Math.min(...this.skippedUntil);
      const seconds = Math.max(1, Math.ceil((retryAt - this.deps.clock.now()) / 1000));
      return new GatewayError('all_targets_unavailable', `every target's circuit is open; retry in ${seconds} s`, {
        details: { attempts },
        headers: { 'retry-after': String(seconds) },
      });
    }
    // The request asks what this target cannot do: the client's to change, whatever failed before.
    if (outcome.kind === 'unsupported') {
      return new GatewayError('unsupported_parameter', outcome.message, { details: { param: outcome.param, attempts } });
    }
    if (outcome.kind === 'deadline') {
      return new GatewayError('deadline_exceeded', `no answer within the request deadline (${summary || 'no attempt made'})`, {
        details: { attempts },
      });
    }
    // The client's own mistake (a 4xx the classification table never retries) goes back as a 4xx;
    // throttling and timeouts (408, 425, 429) are the targets' trouble: the 503 below.
    if (outcome.kind === 'http_error' && isClientErrorStatus(outcome.status) && classifyStatus(outcome.status) === 'fatal') {
      if (outcome.status === 401 || outcome.status === 403) {
        return new GatewayError('upstream_auth_failed', `${failure.label} refused Breakwater's credential (${outcome.status})`, {
          details: { attempts },
        });
      }
      return new GatewayError('upstream_rejected', `${failure.label} rejected the request (${outcome.status}): ${outcome.message}`, {
        status: outcome.status,
        details: { attempts },
      });
    }
    const waits = failure.retryAfterMs;
    return new GatewayError('all_targets_failed', `every target failed: ${summary}`, {
      details: { attempts },
      // Capped as the breaker caps its own pause: an upstream's 99999 s is not relayed.
      headers: waits !== undefined ? { 'retry-after': String(clientRetryAfterSeconds(waits, failure.target.breaker.maxCooldownMs)) } : undefined,
    });
  }
}

export const executeRoute = (root: RouteNode, request: RouteRequest, deps: RouteExecutorDeps): Promise<RouteResult> =>
  new RouteExecution(request, deps, BUFFERED).run(root);

/**
 * The same walk for a streamed answer: it ends at the first target whose stream reaches its
 * first content event, so everything before the first byte (retries, Retry-After, breakers,
 * fallbacks, the deadline) is exactly the buffered path's.
 */
export const executeStreamingRoute = (
  root: RouteNode,
  request: RouteRequest,
  deps: RouteExecutorDeps,
): Promise<RouteResult<PrimedStream>> => new RouteExecution(request, deps, streamed(deps.clock, request.deadline)).run(root);
