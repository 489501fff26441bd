import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { costOf } from '../budget/cost';
import { estimateInputTokens, requestedOutputTokens } from '../budget/estimate';
import { withOutputLimits } from '../budget/outputLimits';
import type { CostCandidate } from '../budget/requestBound';
import type { PriceTable } from '../budget/prices';
import type { Reservation } from '../budget/SpendGuard';
import { normalizeGatewayUsage, totalTokens } from '../budget/usage';
import { cacheKey } from '../cache/cacheKey';
import type { CompletionFacts } from '../telemetry/requestMetrics';
import { targetDimensionOf } from '../telemetry/requestDimensions';
import type { CompiledConfig } from '../config';
import type { RateLimitPermit } from '../ratelimit/FleetRateLimiter';
import { GatewayError, isGatewayError } from '../errors';
import type { Operation, ProviderAdapter } from '../providers';
import type { Clock, Deadline, RandomSource, RetryBudgets } from '../resilience';
import { runWithDeadline } from '../resilience/deadlineScope';
import {
  executeRoute,
  executeStreamingRoute,
  leaves,
  refuseUnsupported,
  type AttemptObserver,
  type RouteNode,
  type RouteResult,
  type TargetNode,
} from '../routing';
import type { ResponseCache } from '../cache/ResponseCache';
import type { CacheConfig } from '../cache/cacheConfig';
import { CompletionAssembler, completionEvents, type CompletionMeta, type StreamEvent, type StreamUsage } from '../stream';
import type { PrimedStream } from '../stream/primeStream';
import { isUpstreamStreamError } from '../stream/UpstreamStreamError';
import { continuationRoute, prefillRequest } from './continuation';
import { headerSafe } from './headerSafe';
import type { GatewayServices } from './GatewayServices';
import type { Principal } from './Principal';
import { reserveSpend } from './reserveSpend';

export interface CompletionRequest {
  principal: Principal;
  routeName: string;
  operation: Operation;
  /** The validated OpenAI-format body. */
  body: Record<string, unknown>;
  deadline: Deadline;
  /** For the per-end-user token cap: `x-breakwater-user`, else the body's `user`. */
  endUser?: string;
  /** Called with what the audit line says when the completion settles: the request's metrics. */
  onSettled?: (facts: CompletionFacts) => void;
}

export interface CompletionOutcome {
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * A streamed answer whose head is known: the headers are final (they go out before the first
 * byte) and `events` yields the canonical stream. `events` ends after one closing `usage` event
 * (with what the gateway knows: cost, a mid-stream recovery), or throws a {@link GatewayError}
 * `stream_interrupted` when the answer broke after its first byte. Stopping early (a client
 * that went away) aborts the upstream; spend is settled in every case.
 */
export interface StreamedCompletion {
  headers: Record<string, string>;
  meta: CompletionMeta;
  events: AsyncGenerator<StreamEvent>;
  /** The assembled answer once `events` has ended normally (for the idempotency store). */
  completed(): Record<string, unknown> | undefined;
  /**
   * The client went away: the upstream is closed at once, even while `events` waits for its next
   * event, and `events` ends, settled from what was streamed.
   */
  abort(): void;
}

/** Shared between a relay and whoever may stop it from outside. */
interface RelayControl {
  current: RouteResult<PrimedStream>;
  aborted: boolean;
}

/** What admission holds for a request until it settles: the rate permit, the spend hold, the cache. */
interface Admission {
  permit?: RateLimitPermit;
  reservation?: Reservation;
  estimatedTokens: number;
  cache?: { store: ResponseCache; key: string; config: CacheConfig };
  /** A fresh cache hit: the answer, and nothing is held. */
  hit?: { body: Record<string, unknown>; ageSeconds: number };
}

export interface CompletionServiceDeps {
  config: CompiledConfig;
  services: GatewayServices;
  prices: PriceTable;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  retryBudgets: RetryBudgets;
  adapterFor(target: TargetNode): ProviderAdapter;
  observer?: AttemptObserver;
}

export const RESPONSE_HEADERS = {
  TARGET: 'x-breakwater-target',
  ATTEMPTS: 'x-breakwater-attempts',
  FALLBACK_INDEX: 'x-breakwater-fallback-index',
  DEGRADED: 'x-breakwater-degraded',
  COST: 'x-breakwater-cost-usd',
  BUDGET_REMAINING: 'x-breakwater-budget-remaining-usd',
  CACHE: 'x-breakwater-cache',
} as const;

/** Every target a request on this route may be answered by: the dearest sets the worst case. */
const candidateModelsOf = (route: RouteNode, body: Record<string, unknown>): CostCandidate[] =>
  leaves(route)
    .filter((target) => target.weight > 0)
    .map((target) => ({
      model: target.model ?? String(body.model),
      overrideParams: target.overrideParams,
      ...('default_max_tokens' in target.provider ? { defaultOutputTokens: target.provider.default_max_tokens } : {}),
    }));

/** USD with enough digits for a sub-cent call, without float noise (0.000135, not 0.00013500000000000003). */
const usd = (value: number) => String(Number(value.toFixed(9)));

/**
 * One completion, the same for the HTTP gateway and the queue worker: rate limits, the fresh
 * cache, the spend reservation, the route walk (retries, breakers, fallbacks), settlement, the
 * cache write, and the stale cache as the last level when every target failed.
 */
export class CompletionService {
  constructor(private readonly deps: CompletionServiceDeps) {}

  complete(request: CompletionRequest): Promise<CompletionOutcome> {
    // Every store call made for the request (admission, breakers, secrets, settlement) ends by
    // its deadline: see shared/stores/boundedCalls.ts.
    return runWithDeadline(request.deadline, () => this.completeWithinDeadline(request));
  }

  private async completeWithinDeadline(request: CompletionRequest): Promise<CompletionOutcome> {
    const { config, clock } = this.deps;
    const { routeName, body } = request;
    const route = config.routes.get(routeName)!;
    this.checkTargets(routeName, request.operation, body);
    const started = clock.now();
    const admission = await this.admit(request);
    const { permit, reservation, estimatedTokens, cache, hit } = admission;
    const rateHeaders = { ...permit?.headers };
    if (hit) {
      this.audit(request, { status: 200, cache: 'HIT', latencyMs: clock.now() - started });
      return { body: hit.body, headers: { ...rateHeaders, ...cacheHitHeaders(hit.ageSeconds) } };
    }

    let result: RouteResult;
    try {
      result = await executeRoute(route, this.routeRequest(request, body), this.routeDeps(reservation));
    } catch (error) {
      const stale = await this.failed(request, admission, error, started);
      return { body: stale.body, headers: { ...rateHeaders, ...staleHeaders(stale.ageSeconds) } };
    }

    const usage = normalizeGatewayUsage(result.body.usage);
    const [settled] = await Promise.all([
      reservation?.settle(result.model, result.body.usage),
      permit?.settleTokens((usage ? totalTokens(usage) : estimatedTokens) - estimatedTokens),
      cache ? cache.store.put(cache.key, result.body, cache.config.max_age) : undefined,
    ]);
    const costUsd = settled?.costUsd ?? (usage ? costOf(usage, this.deps.prices.priceOf(result.model)) : 0);

    this.audit(request, { status: 200, result, costUsd, tokens: usage ? totalTokens(usage) : undefined, latencyMs: clock.now() - started, cache: cache ? 'MISS' : undefined });
    return {
      body: result.body,
      headers: {
        ...rateHeaders,
        ...routeHeaders(result),
        [RESPONSE_HEADERS.COST]: usd(costUsd),
        ...(settled?.remainingUsd !== undefined ? { [RESPONSE_HEADERS.BUDGET_REMAINING]: usd(settled.remainingUsd) } : {}),
        ...(cache ? { [RESPONSE_HEADERS.CACHE]: 'MISS' } : {}),
      },
    };
  }

  /**
   * A streamed chat completion. Everything before the first byte is the buffered path's:
   * admission, the cache, the spend hold, and the route walk with retries, breakers and
   * fallbacks, which ends at the first target whose stream reaches its first content event.
   * A cache hit (fresh, or stale as the last level) is replayed as a stream.
   */
  stream(request: CompletionRequest): Promise<StreamedCompletion> {
    // Up to the first byte, as `complete`; the relay after it runs in its reader's context, where
    // store calls keep their own bound only.
    return runWithDeadline(request.deadline, () => this.streamWithinDeadline(request));
  }

  private async streamWithinDeadline(request: CompletionRequest): Promise<StreamedCompletion> {
    const { config, clock } = this.deps;
    const { routeName, body } = request;
    const route = config.routes.get(routeName)!;
    this.checkTargets(routeName, request.operation, body);
    const started = clock.now();
    const admission = await this.admit(request);
    const rateHeaders = { ...admission.permit?.headers };
    if (admission.hit) {
      this.audit(request, { status: 200, cache: 'HIT', latencyMs: clock.now() - started });
      return replayStream(admission.hit.body, { ...rateHeaders, ...cacheHitHeaders(admission.hit.ageSeconds) });
    }

    // Each adapter asks its upstream for usage (spend settles from it); the client's own
    // `include_usage` only decides whether it sees the usage chunk.
    const upstreamBody = body;
    let result: RouteResult<PrimedStream>;
    try {
      result = await executeStreamingRoute(route, this.routeRequest(request, upstreamBody), this.routeDeps(admission.reservation));
    } catch (error) {
      const stale = await this.failed(request, admission, error, started);
      return replayStream(stale.body, { ...rateHeaders, ...staleHeaders(stale.ageSeconds) });
    }

    const meta: CompletionMeta = {
      id: `chatcmpl-${randomId()}`,
      model: result.model,
      created: Math.floor(clock.now() / 1000),
    };
    const assembler = new CompletionAssembler();
    const control: RelayControl = { current: result, aborted: false };
    let completedBody: Record<string, unknown> | undefined;
    const events = this.relay(request, admission, control, assembler, upstreamBody, started, (finished) => {
      completedBody = finished;
    });
    return {
      headers: { ...rateHeaders, ...routeHeaders(result), ...(admission.cache ? { [RESPONSE_HEADERS.CACHE]: 'MISS' } : {}) },
      meta,
      events,
      completed: () => completedBody && { ...completedBody, id: meta.id, created: meta.created },
      abort: () => {
        control.aborted = true;
        control.current.body.abort();
      },
    };
  }

  /**
   * Relays the upstream's events to the client as they come, then settles. A failure after the
   * first byte either continues on a prefill-capable target (`stream_recovery: "continue"`) or
   * ends the stream with `stream_interrupted`. The upstream's usage is held back and sent once,
   * at the end, with the gateway's own facts beside it.
   */
  private async *relay(
    request: CompletionRequest,
    admission: Admission,
    control: RelayControl,
    assembler: CompletionAssembler,
    upstreamBody: Record<string, unknown>,
    started: number,
    onCompleted: (body: Record<string, unknown>) => void,
  ): AsyncGenerator<StreamEvent> {
    const parts: Array<{ model: string; usage: StreamUsage }> = [];
    let current = control.current;
    let recoveredFrom: string | undefined;
    let failure: GatewayError | undefined;
    let ended = false;
    /** Whitespace cut from a prefill's end, which the continuation will likely say again. */
    let trimmedWhitespace = '';
    const finish = (status: number, error?: string) =>
      this.settleStream(request, admission, { parts, assembler, current, recoveredFrom, started, status, error });

    try {
      for (;;) {
        let partUsage: StreamUsage | undefined;
        try {
          for await (const upstreamEvent of current.body.events) {
            let event = upstreamEvent;
            if (event.type === 'usage') {
              partUsage = event.usage;
              continue;
            }
            if (event.type === 'text' && trimmedWhitespace !== '') {
              event = { type: 'text', text: dropRepeatedWhitespace(event.text, trimmedWhitespace) };
              trimmedWhitespace = '';
              if (event.text === '') continue;
            }
            assembler.add(event);
            yield event;
          }
          parts.push({ model: current.model, usage: partUsage ?? this.boundedUsage(upstreamBody, assembler, admission.reservation?.outputLimits?.get(current.model)) });
          break;
        } catch (error) {
          parts.push({ model: current.model, usage: partUsage ?? this.boundedUsage(upstreamBody, assembler, admission.reservation?.outputLimits?.get(current.model)) });
          if (control.aborted) break;
          const cause = describeStreamFailure(error);
          const next = recoveredFrom === undefined ? await this.continuation(request, current, assembler, upstreamBody, admission.reservation) : undefined;
          if (!next) {
            failure = new GatewayError('stream_interrupted', `the stream from ${current.label} broke after its first byte: ${cause}`);
            break;
          }
          this.deps.logger.warn('stream continued on another target', {
            tenant: request.principal.tenant.name,
            from: current.label,
            to: next.result.label,
            cause,
          });
          recoveredFrom = current.label;
          trimmedWhitespace = next.trimmedWhitespace;
          current = control.current = next.result;
          if (control.aborted) current.body.abort();
        }
      }
      ended = true;
    } finally {
      // Left before the end (a client that went away; the upstream is already aborted): settle
      // from what was streamed, never from zero.
      if (!ended) {
        parts.push({ model: current.model, usage: this.boundedUsage(upstreamBody, assembler, admission.reservation?.outputLimits?.get(current.model)) });
        await finish(499, 'client_closed');
      }
    }

    if (control.aborted) {
      await finish(499, 'client_closed');
      return;
    }
    const settled = await finish(failure ? failure.status : 200, failure?.code);
    if (failure) throw failure;
    onCompleted(assembler.toCompletion({ id: '', model: current.model, created: 0 }));
    yield {
      type: 'usage',
      usage: sumUsage(parts.map((part) => part.usage)),
      gateway: {
        target: current.label,
        cost_usd: Number(usd(settled.costUsd)),
        ...(settled.remainingUsd !== undefined ? { budget_remaining_usd: Number(usd(settled.remainingUsd)) } : {}),
        ...(recoveredFrom ? { recovered_from: recoveredFrom } : {}),
      },
    };
  }

  /**
   * `stream_recovery: "continue"`: the text so far goes to the next prefill-capable target as an
   * assistant prefill, and its continuation is streamed on. Not for tool calls (a half-written
   * call cannot be continued) nor for routes that did not opt in.
   */
  private async continuation(
    request: CompletionRequest,
    broken: RouteResult<PrimedStream>,
    assembler: CompletionAssembler,
    upstreamBody: Record<string, unknown>,
    reservation?: Reservation,
  ): Promise<{ result: RouteResult<PrimedStream>; trimmedWhitespace: string } | undefined> {
    const { config } = this.deps;
    if (config.routeOptions.get(request.routeName)?.streamRecovery !== 'continue') return undefined;
    if (assembler.hasToolCalls || assembler.partialText.trim() === '' || request.deadline.expired) return undefined;
    const route = continuationRoute(config.routes.get(request.routeName)!, broken.target, upstreamBody);
    if (!route) return undefined;
    const prefill = prefillRequest(upstreamBody, assembler.partialText);
    try {
      const result = await executeStreamingRoute(route, this.routeRequest(request, prefill.body), this.routeDeps(reservation));
      return { result, trimmedWhitespace: prefill.trimmedWhitespace };
    } catch {
      return undefined;
    }
  }

  /**
   * Without the upstream's usage (a cut stream): the input estimate, and one output token per
   * byte sent (a token is at least a byte) but never more than the `max_tokens` the upstream
   * was held to (the client's, or the spend hold's `outputLimit`). Never zero.
   */
  private boundedUsage(body: Record<string, unknown>, assembler: CompletionAssembler, outputLimit?: number): StreamUsage {
    const prompt = estimateInputTokens(body);
    const completion = Math.min(assembler.contentBytes, requestedOutputTokens(body) ?? Number.POSITIVE_INFINITY, outputLimit ?? Number.POSITIVE_INFINITY);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  /**
   * Settles a stream: the spend hold (at the dearest model that answered, so a recovered stream
   * never under-counts), the token permit, the cache (complete answers only), one audit line.
   */
  private async settleStream(
    request: CompletionRequest,
    admission: Admission,
    outcome: {
      parts: ReadonlyArray<{ model: string; usage: StreamUsage }>;
      assembler: CompletionAssembler;
      current: RouteResult<PrimedStream>;
      recoveredFrom?: string;
      started: number;
      status: number;
      error?: string;
    },
  ): Promise<{ costUsd: number; remainingUsd?: number }> {
    const { prices, clock } = this.deps;
    const { reservation, permit, estimatedTokens, cache } = admission;
    const usage = sumUsage(outcome.parts.map((part) => part.usage));
    const normalized = normalizeGatewayUsage(usage);
    const costAt = (model: string) => (normalized ? costOf(normalized, prices.priceOf(model)) : 0);
    const dearest = outcome.parts.map((part) => part.model).reduce((a, b) => (costAt(b) > costAt(a) ? b : a));
    const complete = outcome.status === 200;
    const [settled] = await Promise.all([
      reservation?.settle(dearest, usage),
      permit?.settleTokens(usage.total_tokens - estimatedTokens),
      complete && cache
        ? cache.store.put(cache.key, outcome.assembler.toCompletion({ id: `chatcmpl-${randomId()}`, model: outcome.current.model, created: Math.floor(clock.now() / 1000) }), cache.config.max_age)
        : undefined,
    ]);
    const costUsd = settled?.costUsd ?? costAt(dearest);
    this.audit(request, {
      status: outcome.status,
      result: outcome.current,
      costUsd,
      tokens: usage.total_tokens,
      latencyMs: clock.now() - outcome.started,
      cache: cache ? 'MISS' : undefined,
      error: outcome.error,
      recoveredFrom: outcome.recoveredFrom,
      streamed: true,
    });
    return { costUsd, ...(settled?.remainingUsd !== undefined ? { remainingUsd: settled.remainingUsd } : {}) };
  }

  /**
   * Rate limits, the fresh cache and the spend hold. The rate-limit write, the cache read and
   * the spend reservation are independent: they run side by side (one DynamoDB round trip
   * instead of two), and whatever one admitted is undone when another refuses. Only a cache hit
   * skips the reservation, so that read goes first.
   */
  private async admit(request: CompletionRequest): Promise<Admission> {
    const { config, services } = this.deps;
    const { principal, routeName, operation, body } = request;
    const { policy } = principal;
    const route = config.routes.get(routeName)!;
    const candidateModels = candidateModelsOf(route, body);

    // Only a tpm limit needs the token estimate; on the common path it is not worth its cost.
    const estimatedTokens =
      services.rateLimiter && policy.tpm_limit !== undefined
        ? estimateInputTokens(body) + (requestedOutputTokens(body) ?? 4_096)
        : 0;
    const checkRate = async () =>
      services.rateLimiter?.check({
        keyId: principal.keyId,
        rpmLimit: policy.rpm_limit,
        tpmLimit: policy.tpm_limit,
        estimatedTokens,
      });
    const reserve = async () =>
      services.spend && reserveSpend(services.spend, { principal, candidateModels, body, endUser: request.endUser });

    const cacheConfig = config.routeOptions.get(routeName)?.cache;
    const cache =
      cacheConfig && services.cache
        ? { store: services.cache, key: cacheKey({ tenant: principal.tenant.name, route: routeName, operation, body }), config: cacheConfig }
        : undefined;

    if (cache) {
      const [permit, hit] = await Promise.all([checkRate(), cache.store.get(cache.key, cache.config.max_age)]);
      if (hit?.fresh) {
        await permit?.settleTokens(-estimatedTokens);
        return { permit, estimatedTokens, cache, hit: { body: hit.body as Record<string, unknown>, ageSeconds: hit.ageSeconds } };
      }
      const reservation = await reserve().catch(async (error: unknown) => {
        await permit?.settleTokens(-estimatedTokens);
        throw error;
      });
      return { permit, reservation, estimatedTokens, cache };
    }
    const [rate, spend] = await Promise.allSettled([checkRate(), reserve()]);
    if (rate.status === 'rejected' || spend.status === 'rejected') {
      if (rate.status === 'fulfilled') await rate.value?.settleTokens(-estimatedTokens);
      if (spend.status === 'fulfilled') await spend.value?.release();
      throw rate.status === 'rejected' ? rate.reason : (spend as PromiseRejectedResult).reason;
    }
    return { permit: rate.value, reservation: spend.value, estimatedTokens };
  }

  /**
   * Every target failed: the holds are given back, and the last fallback level is tried, an old
   * answer to the same question, which beats a 503. Throws the failure when there is none.
   */
  private async failed(
    request: CompletionRequest,
    admission: Admission,
    error: unknown,
    started: number,
  ): Promise<{ body: Record<string, unknown>; ageSeconds: number }> {
    const { clock, logger } = this.deps;
    const { reservation, permit, estimatedTokens, cache } = admission;
    await Promise.all([reservation?.release(), permit?.settleTokens(-estimatedTokens)]);
    const status = isGatewayError(error) ? error.status : 500;
    if (cache && status >= 500) {
      const stale = await cache.store.get(cache.key, cache.config.max_age);
      if (stale) {
        logger.warn('served stale cache', { tenant: request.principal.tenant.name, route: request.routeName, age_s: stale.ageSeconds });
        this.audit(request, { status: 200, cache: 'STALE', latencyMs: clock.now() - started });
        return { body: stale.body as Record<string, unknown>, ageSeconds: stale.ageSeconds };
      }
    }
    this.audit(request, { status, latencyMs: clock.now() - started, error: isGatewayError(error) ? error.code : 'internal_error' });
    throw error;
  }

  private routeRequest(request: CompletionRequest, body: Record<string, unknown>) {
    return {
      operation: request.operation,
      // Embeddings are always asked for as floats: the door encodes them as its client asked
      // (base64 included), and a cached answer serves either encoding.
      body: request.operation === 'embeddings' ? { ...body, encoding_format: 'float' } : body,
      deadline: request.deadline,
      credentialOverrides: request.principal.policy.credential_overrides,
    };
  }

  /** With a spend hold, every target is sent the output limit the hold paid for (see withOutputLimits). */
  private routeDeps(reservation?: Reservation) {
    const { clock, random, retryBudgets, services, observer } = this.deps;
    const limits = reservation?.outputLimits;
    const adapterFor = limits ? (target: TargetNode) => withOutputLimits(this.deps.adapterFor(target), limits) : this.deps.adapterFor;
    return { adapterFor, clock, random, retryBudgets, breakers: services.breakers, observer };
  }

  /**
   * Refuses (400 `unsupported_parameter`) a request with a parameter some target of the route
   * cannot honour, before any call: the same answer whichever target is up (see refuseUnsupported).
   */
  checkTargets(routeName: string, operation: Operation, body: Record<string, unknown>): void {
    refuseUnsupported(this.deps.config.routes.get(routeName)!, { operation, body }, this.deps.adapterFor);
  }

  /** Refuses (400) a request whose worst case can never fit the caller's caps, with no store call. */
  checkFits(principal: Principal, routeName: string, body: Record<string, unknown>): void {
    const candidateModels = candidateModelsOf(this.deps.config.routes.get(routeName)!, body);
    this.deps.services.spend?.checkFits({ tenant: principal.tenant.name, policy: principal.policy, candidateModels, body });
  }

  /** The audit trail: one line per use of a credential, with no secret and no key in it. */
  private audit(
    request: CompletionRequest,
    outcome: {
      status: number;
      latencyMs: number;
      result?: RouteResult<unknown>;
      costUsd?: number;
      tokens?: number;
      cache?: string;
      error?: string;
      streamed?: boolean;
      /** A stream that broke after its first byte and was continued on another target. */
      recoveredFrom?: string;
    },
  ): void {
    const { result } = outcome;
    this.deps.logger.info('audit', {
      tenant: request.principal.tenant.name,
      key_prefix: request.principal.keyPrefix,
      route: request.routeName,
      operation: request.operation,
      provider: result?.target.providerName,
      target: result?.label,
      attempts: result?.attempts.length,
      fallback_index: result?.fallbackIndex,
      status: outcome.status,
      error_code: outcome.error,
      cost_usd: outcome.costUsd,
      cache: outcome.cache,
      ...(outcome.streamed ? { stream: true } : {}),
      ...(outcome.recoveredFrom ? { recovered_from: outcome.recoveredFrom } : {}),
      latency_ms: Math.round(outcome.latencyMs),
    });
    request.onSettled?.({
      tenant: request.principal.tenant.name,
      ...(result ? { target: targetDimensionOf(result.target), attempts: result.upstreamCalls, fallbackIndex: result.fallbackIndex } : {}),
      cache: outcome.cache,
      costUsd: outcome.costUsd,
      tokens: outcome.tokens,
      errorCode: outcome.error,
    });
  }
}

const cacheHitHeaders = (ageSeconds: number) => ({
  [RESPONSE_HEADERS.CACHE]: 'HIT',
  age: String(ageSeconds),
  [RESPONSE_HEADERS.COST]: '0',
});

const staleHeaders = (ageSeconds: number) => ({
  [RESPONSE_HEADERS.CACHE]: 'STALE',
  [RESPONSE_HEADERS.DEGRADED]: 'stale-cache',
  age: String(ageSeconds),
  [RESPONSE_HEADERS.COST]: '0',
});

/** Which target answered, after how many attempts, at which fallback level. */
const routeHeaders = (result: RouteResult<unknown>) => ({
  // The model may be the client's own string: encoded, never written into a header raw.
  [RESPONSE_HEADERS.TARGET]: headerSafe(result.label),
  // Upstream calls, as the README says: not targets skipped for an open breaker, and a call
  // re-sent with a re-read credential after a 401 counts twice.
  [RESPONSE_HEADERS.ATTEMPTS]: String(result.upstreamCalls),
  [RESPONSE_HEADERS.FALLBACK_INDEX]: String(result.fallbackIndex),
  [RESPONSE_HEADERS.DEGRADED]: String(result.fallbackIndex > 0),
});

/** A stored answer (cache hit, stale cache, idempotent replay) as a stream, its usage last like a live one. */
export function replayStream(body: Record<string, unknown>, headers: Record<string, string>): StreamedCompletion {
  const meta: CompletionMeta = {
    id: typeof body.id === 'string' ? body.id : `chatcmpl-${randomId()}`,
    model: String(body.model ?? ''),
    created: typeof body.created === 'number' ? body.created : 0,
  };
  async function* events(): AsyncGenerator<StreamEvent> {
    yield* completionEvents(body);
  }
  return { headers, meta, events: events(), completed: () => body, abort: () => undefined };
}

function sumUsage(parts: readonly StreamUsage[]): StreamUsage {
  const total: StreamUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  for (const part of parts) {
    total.prompt_tokens += part.prompt_tokens ?? 0;
    total.completion_tokens += part.completion_tokens ?? 0;
    total.total_tokens += part.total_tokens ?? (part.prompt_tokens ?? 0) + (part.completion_tokens ?? 0);
    if (part.prompt_tokens_details) total.prompt_tokens_details = { ...total.prompt_tokens_details, ...part.prompt_tokens_details };
  }
  return parts.length === 1 ? parts[0]! : total;
}

/** The continuation usually starts with the whitespace the prefill had to drop; it was sent already. */
function dropRepeatedWhitespace(text: string, trimmed: string): string {
  return text.startsWith(trimmed) ? text.slice(trimmed.length) : text.replace(/^\s+/, '');
}

function describeStreamFailure(error: unknown): string {
  if (isUpstreamStreamError(error)) {
    const { outcome } = error;
    if (outcome.kind === 'http_error') return `${outcome.status} ${outcome.message}`;
    if (outcome.kind === 'network_error') return outcome.code;
    return outcome.kind;
  }
  return 'stream failed';
}

const randomId = () => randomUUID().replace(/-/g, '').slice(0, 24);
