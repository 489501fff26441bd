import type { Logger } from '@aws-lambda-powertools/logger';
import { costOf } from '../budget/cost';
import { estimateInputTokens, requestedOutputTokens } from '../budget/estimate';
import type { PriceTable } from '../budget/prices';
import type { Reservation } from '../budget/SpendGuard';
import { normalizeGatewayUsage, totalTokens } from '../budget/usage';
import { cacheKey } from '../cache/cacheKey';
import type { CompiledConfig } from '../config';
import type { RateLimitPermit } from '../ratelimit/FleetRateLimiter';
import { isGatewayError } from '../errors';
import type { Operation, ProviderAdapter } from '../providers';
import type { Clock, Deadline, RandomSource, RetryBudgets } from '../resilience';
import { executeRoute, leaves, type AttemptObserver, type RouteNode, type RouteResult, type TargetNode } from '../routing';
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
}

export interface CompletionOutcome {
  body: Record<string, unknown>;
  headers: Record<string, string>;
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

/** Every model a request on this route may be answered by: the dearest sets the worst case. */
const candidateModelsOf = (route: RouteNode, body: Record<string, unknown>) =>
  leaves(route)
    .filter((target) => target.weight > 0)
    .map((target) => target.model ?? String(body.model));

/** USD with enough digits for a sub-cent call, without float noise (0.000135, not 0.00013500000000000003). */
const usd = (value: number) => String(Number(value.toFixed(9)));

/**
 * One completion, the same for the HTTP gateway and the queue worker: rate limits, the fresh
 * cache, the spend reservation, the route walk (retries, breakers, fallbacks), settlement, the
 * cache write, and the stale cache as the last level when every target failed.
 */
export class CompletionService {
  constructor(private readonly deps: CompletionServiceDeps) {}

  async complete(request: CompletionRequest): Promise<CompletionOutcome> {
    const { config, services, logger, clock } = this.deps;
    const { principal, routeName, operation, body } = request;
    const { policy } = principal;
    const route = config.routes.get(routeName)!;
    const candidateModels = candidateModelsOf(route, body);
    const started = clock.now();

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
    const cache = cacheConfig ? services.cache : undefined;
    const key = cache ? cacheKey({ tenant: principal.tenant.name, route: routeName, operation, body }) : undefined;

    // The rate-limit write, the cache read and the spend reservation are independent: they run
    // side by side (one DynamoDB round trip instead of two), and whatever one admitted is undone
    // when another refuses. Only a cache hit skips the reservation, so that read goes first.
    let permit: RateLimitPermit | undefined;
    let reservation: Reservation | undefined;
    if (cache && key) {
      const [admitted, hit] = await Promise.all([checkRate(), cache.get(key, cacheConfig!.max_age)]);
      permit = admitted;
      if (hit?.fresh) {
        await permit?.settleTokens(-estimatedTokens);
        this.audit(request, { status: 200, cache: 'HIT', latencyMs: clock.now() - started });
        return {
          body: hit.body as Record<string, unknown>,
          headers: { ...permit?.headers, [RESPONSE_HEADERS.CACHE]: 'HIT', age: String(hit.ageSeconds), [RESPONSE_HEADERS.COST]: '0' },
        };
      }
      reservation = await reserve().catch(async (error: unknown) => {
        await permit?.settleTokens(-estimatedTokens);
        throw error;
      });
    } else {
      const [rate, spend] = await Promise.allSettled([checkRate(), reserve()]);
      if (rate.status === 'rejected' || spend.status === 'rejected') {
        if (rate.status === 'fulfilled') await rate.value?.settleTokens(-estimatedTokens);
        if (spend.status === 'fulfilled') await spend.value?.release();
        throw rate.status === 'rejected' ? rate.reason : (spend as PromiseRejectedResult).reason;
      }
      permit = rate.value;
      reservation = spend.value;
    }
    const rateHeaders = { ...permit?.headers };

    let result: RouteResult;
    try {
      result = await executeRoute(
        route,
        { operation, body, deadline: request.deadline, credentialOverrides: policy.credential_overrides },
        {
          adapterFor: this.deps.adapterFor,
          clock,
          random: this.deps.random,
          retryBudgets: this.deps.retryBudgets,
          breakers: services.breakers,
          observer: this.deps.observer,
        },
      );
    } catch (error) {
      await Promise.all([reservation?.release(), permit?.settleTokens(-estimatedTokens)]);
      const status = isGatewayError(error) ? error.status : 500;
      // The last fallback level: an old answer to the same question beats a 503.
      if (cache && key && status >= 500) {
        const stale = await cache.get(key, cacheConfig!.max_age);
        if (stale) {
          logger.warn('served stale cache', { tenant: principal.tenant.name, route: routeName, age_s: stale.ageSeconds });
          this.audit(request, { status: 200, cache: 'STALE', latencyMs: clock.now() - started });
          return {
            body: stale.body as Record<string, unknown>,
            headers: {
              ...rateHeaders,
              [RESPONSE_HEADERS.CACHE]: 'STALE',
              [RESPONSE_HEADERS.DEGRADED]: 'stale-cache',
              age: String(stale.ageSeconds),
              [RESPONSE_HEADERS.COST]: '0',
            },
          };
        }
      }
      this.audit(request, { status, latencyMs: clock.now() - started, error: isGatewayError(error) ? error.code : 'internal_error' });
      throw error;
    }

    const usage = normalizeGatewayUsage(result.body.usage);
    const [settled] = await Promise.all([
      reservation?.settle(result.model, result.body.usage),
      permit?.settleTokens((usage ? totalTokens(usage) : estimatedTokens) - estimatedTokens),
      cache && key ? cache.put(key, result.body, cacheConfig!.max_age) : undefined,
    ]);
    const costUsd = settled?.costUsd ?? (usage ? costOf(usage, this.deps.prices.priceOf(result.model)) : 0);

    this.audit(request, { status: 200, result, costUsd, latencyMs: clock.now() - started, cache: cache ? 'MISS' : undefined });
    return {
      body: result.body,
      headers: {
        ...rateHeaders,
        [RESPONSE_HEADERS.TARGET]: result.label,
        [RESPONSE_HEADERS.ATTEMPTS]: String(result.attempts.length),
        [RESPONSE_HEADERS.FALLBACK_INDEX]: String(result.fallbackIndex),
        [RESPONSE_HEADERS.DEGRADED]: String(result.fallbackIndex > 0),
        [RESPONSE_HEADERS.COST]: usd(costUsd),
        ...(settled?.remainingUsd !== undefined ? { [RESPONSE_HEADERS.BUDGET_REMAINING]: usd(settled.remainingUsd) } : {}),
        ...(cache ? { [RESPONSE_HEADERS.CACHE]: 'MISS' } : {}),
      },
    };
  }

  /** Refuses (400) a request whose worst case can never fit the caller's caps, with no store call. */
  checkFits(principal: Principal, routeName: string, body: Record<string, unknown>): void {
    const candidateModels = candidateModelsOf(this.deps.config.routes.get(routeName)!, body);
    this.deps.services.spend?.checkFits({ tenant: principal.tenant.name, policy: principal.policy, candidateModels, body });
  }

  /** The audit trail: one line per use of a credential, with no secret and no key in it. */
  private audit(
    request: CompletionRequest,
    outcome: { status: number; latencyMs: number; result?: RouteResult; costUsd?: number; cache?: string; error?: string },
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
      latency_ms: Math.round(outcome.latencyMs),
    });
  }
}
