import type { Logger } from '@aws-lambda-powertools/logger';
import { Readable } from 'node:stream';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { CircuitBreakers, type BreakerPermit } from '../breaker/CircuitBreakers';
import { resolveBreakerConfig } from '../breaker/config';
import { MemoryBreakerStore } from '../breaker/MemoryBreakerStore';
import type { BreakerOutcome } from '../breaker/state';
import type { SecretSource } from '../credentials/SecretSource';
import { GatewayError, isGatewayError } from '../errors';
import { HTTP_ERROR_CODES } from '../http/httpClient';
import type { ResponseBody } from '../http/httpStream';
import {
  backoffDelay,
  DEFAULT_RETRY_BUDGET,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  RetryBudgets,
  type Clock,
  type Deadline,
  type RandomSource,
  type RetryBudgetOptions,
} from '../resilience';
import { createServiceAuth, type CallCredential, type ServiceAuth } from './auth';
import { callFingerprint, staleResponseKey } from './callFingerprint';
import { matchHighStakes } from './highStakes';
import { pathTemplate } from './pathTemplate';
import { checkToolPath, toolUrl, type CheckedToolPath } from './safePath';
import { isToolSendError, sendToolRequest, type ToolUpstreamResponse } from './sendToolRequest';
import type { ServiceConfig } from './serviceConfig';
import { relayableResponseHeaders } from './toolHeaders';
import { checkToolPolicy } from './toolPolicy';
import type { ToolCallQuota } from './quota';
import type {
  ApprovalGate,
  HeldCall,
  LoopGuard,
  StaleResponseStore,
  ToolCall,
  ToolCallExecutor,
  ToolCaller,
  ToolRateGate,
  ToolResponse,
  UserTokenSource,
} from './types';

export interface ToolProxyDeps {
  /** `services` of the config, validated. */
  services: ReadonlyMap<string, ServiceConfig>;
  secrets: SecretSource;
  clock: Clock;
  random: RandomSource;
  logger: Pick<Logger, 'info' | 'warn'>;
  /**
   * The fleet's breakers (the chat routes' own store, keys prefixed `tool:`).
   * @default in-container breakers on a memory store
   */
  breakers?: CircuitBreakers;
  /** @default {@link DEFAULT_RETRY_BUDGET}, per service and credential, per container */
  retryBudget?: RetryBudgetOptions;
  /** Fleet-wide token buckets per service and credential; without it calls are not paced. */
  rateGate?: ToolRateGate;
  /** Without it there is no loop detection. */
  loopGuard?: LoopGuard;
  /** The `daily_tool_calls` quota; without it tool calls have no daily quota. */
  toolQuota?: ToolCallQuota;
  /** The last good GET answers; without it an open breaker is always a 503. */
  staleResponses?: StaleResponseStore;
  /** Without it a high-stakes call is refused (503), never run. */
  approvals?: ApprovalGate;
  /** For `oauth_user` services. */
  userTokens?: UserTokenSource;
  /** For `sigv4` services. @default the function's role through the SDK's default chain */
  awsCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  awsRegion?: string;
}

/** The fleet-wide parts of the tool proxy built with the state services (GatewayServices.tools). */
export type ToolServices = Pick<ToolProxyDeps, 'rateGate' | 'loopGuard' | 'staleResponses' | 'approvals' | 'userTokens' | 'awsCredentials' | 'awsRegion'>;

/** What the proxy's entry decided: the API's answer, or the call held for a person's approval. */
export type ToolOutcome = { kind: 'response'; response: ToolResponse } | { kind: 'held'; held: HeldCall; rule: { method: string; path: string } };

/** Methods a retry cannot turn into a second side effect (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** @default per-attempt timeout of a service without `timeout`. */
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_BASE_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 5_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 20_000;
const DEFAULT_MAX_STALE_SECONDS = 86_400;
const DEFAULT_LOOP = { max_repeats: 10, window_ms: 60_000 };
/**
 * A GET answer larger than this is relayed but not kept for the stale fallback: it must fit one
 * DynamoDB item (400 KB) with its headers.
 */
const MAX_STALE_BODY_BYTES = 256 * 1024;

/** The audit line of one proxied call, filled in as the call goes. */
interface AuditRecord {
  tenant: string;
  key_prefix: string;
  end_user?: string;
  /** Not `service`: Powertools reserves that key for the function's own name. */
  tool_service: string;
  method: string;
  path_template: string;
  status?: number;
  error_code?: string;
  latency_ms?: number;
  attempts: number;
  approval_id?: string;
  degraded?: string;
}

/**
 * The tool proxy: an agent's call to a third-party API, with the credential injected here and
 * the resilience of the LLM routes around it. {@link serve} is the door's entry (policy, path,
 * loop guard, high stakes, then the call); {@link execute} runs a call already admitted, which is
 * what the approvals part calls once a person approved it.
 *
 * Guarantees: nothing is sent before the policy and the path checks pass; only the service's
 * `base_url` is ever called, and redirects are relayed, never followed; a POST or PATCH is sent
 * twice only with an Idempotency-Key, or when the first try never reached the service.
 */
export class ToolProxy implements ToolCallExecutor {
  private readonly breakers: CircuitBreakers;
  private readonly retryBudgets: RetryBudgets;
  private readonly auths = new Map<string, ServiceAuth>();

  constructor(private readonly deps: ToolProxyDeps) {
    this.breakers =
      deps.breakers ?? new CircuitBreakers({ store: new MemoryBreakerStore(), clock: deps.clock, logger: deps.logger });
    this.retryBudgets = new RetryBudgets(deps.clock, deps.retryBudget ?? DEFAULT_RETRY_BUDGET);
  }

  /** The door's entry: admits the call (policy, path, loops, approvals) and runs it. */
  async serve(call: ToolCall, caller: ToolCaller, deadline: Deadline): Promise<ToolOutcome> {
    return this.audited(call, caller, undefined, async (audit) => {
      const path = this.checkPath(call);
      audit.path_template = pathTemplate(path.segments);
      const { principal } = caller;
      const allowedBy = checkToolPolicy([principal.policy, principal.keyPolicy], { service: call.service, method: call.method, segments: path.segments });
      if (allowedBy) audit.path_template = allowedBy;
      const service = this.service(call.service);
      // Every admitted call counts against the day's quota, a held one too (it asked for the tool).
      await this.deps.toolQuota?.spend(principal, deadline);

      const loop = service.loop_detection ?? DEFAULT_LOOP;
      await this.deps.loopGuard?.check({
        keyId: caller.keyId,
        tenant: caller.tenant,
        keyPrefix: caller.keyPrefix,
        fingerprint: callFingerprint(call),
        maxRepeats: loop.max_repeats,
        windowMs: loop.window_ms,
      });

      const rule = matchHighStakes(service.high_stakes, {
        method: call.method,
        segments: path.segments,
        body: call.body,
        contentType: call.headers['content-type'],
      });
      if (rule) {
        audit.path_template = rule.path;
        if (!this.deps.approvals) {
          throw new GatewayError('tool_state_unavailable', `${call.method} ${rule.path} on "${call.service}" needs a person's approval, and approvals are not enabled on this gateway`);
        }
        const held = await this.deps.approvals.hold(call, caller, { method: rule.method, path: rule.path });
        audit.approval_id = held.approvalId;
        audit.status = 202;
        return { kind: 'held', held, rule: { method: rule.method, path: rule.path } };
      }

      const response = await this.run(call, caller, deadline, service, path, audit);
      audit.status = response.statusCode;
      return { kind: 'response', response };
    });
  }

  /**
   * Runs an admitted call: credential, rate gate, breaker, retries, relay. No policy or approval
   * check: the caller (the approvals part, after a person approved) has done those.
   */
  async execute(call: ToolCall, caller: ToolCaller, deadline: Deadline, context: { approvalId?: string } = {}): Promise<ToolResponse> {
    return this.audited(call, caller, context.approvalId, async (audit) => {
      const path = this.checkPath(call);
      audit.path_template = pathTemplate(path.segments);
      const service = this.service(call.service);
      const rule = matchHighStakes(service.high_stakes, { method: call.method, segments: path.segments, body: call.body, contentType: call.headers['content-type'] });
      if (rule) audit.path_template = rule.path;
      const response = await this.run(call, caller, deadline, service, path, audit);
      audit.status = response.statusCode;
      return response;
    });
  }

  /** Runs `fn` with the call's audit record, and writes its one audit line however it ends. */
  private async audited<T>(call: ToolCall, caller: ToolCaller, approvalId: string | undefined, fn: (audit: AuditRecord) => Promise<T>): Promise<T> {
    const audit = this.auditFor(call, caller);
    audit.approval_id = approvalId;
    const startedAt = this.deps.clock.now();
    try {
      return await fn(audit);
    } catch (error) {
      this.auditError(audit, error);
      throw error;
    } finally {
      audit.latency_ms = this.deps.clock.now() - startedAt;
      this.deps.logger.info('tool call', { event: 'tool_call', ...audit });
    }
  }

  /** The call's path, checked as its service reads paths (an unknown service is refused after the policy, as before). */
  private checkPath(call: ToolCall): CheckedToolPath {
    return checkToolPath(call.path, { allowEncodedSlashes: this.deps.services.get(call.service)?.allow_encoded_slashes === true });
  }

  private service(name: string): ServiceConfig {
    const service = this.deps.services.get(name);
    if (!service) throw new GatewayError('unknown_service', `no tool service named "${name}"`);
    return service;
  }

  private authFor(name: string, service: ServiceConfig): ServiceAuth {
    let auth = this.auths.get(name);
    if (!auth) {
      auth = createServiceAuth(name, service.auth, this.deps);
      this.auths.set(name, auth);
    }
    return auth;
  }

  private async run(call: ToolCall, caller: ToolCaller, deadline: Deadline, service: ServiceConfig, path: CheckedToolPath, audit: AuditRecord): Promise<ToolResponse> {
    const { clock } = this.deps;
    const url = toolUrl(service.base_url, path, call.query);
    const credential = this.authFor(call.service, service).forCall({ service: call.service, tenant: caller.tenant, endUser: call.endUser, deadline });
    const rateKey = { service: call.service, credentialId: credential.id };
    const breakerKey = `tool:${call.service}:${credential.id}`;
    const breakerConfig = resolveBreakerConfig(service.circuit_breaker);
    const timeoutMs = service.timeout ?? DEFAULT_TIMEOUT_MS;
    const maxRetries = service.retry?.attempts ?? DEFAULT_RETRIES;
    const maxRetryAfterMs = service.retry?.max_retry_after_ms ?? DEFAULT_MAX_RETRY_AFTER_MS;
    const safeToRepeat = IDEMPOTENT_METHODS.has(call.method) || call.idempotencyKey !== undefined;
    const staleKey = call.method === 'GET' && service.cache && this.deps.staleResponses ? staleResponseKey(call, credential.id, caller.tenant) : undefined;
    const credentialHeader = service.auth.type === 'api_key' && service.auth.in === 'header' ? [service.auth.name] : [];

    const budget = this.retryBudgets.for(breakerKey);
    budget.recordCall();
    let retries = 0;
    let renewed = false;

    /** Waits before the next try if the retry is allowed and fits the deadline; false: give up. */
    const backOff = async (waitMs: number | undefined): Promise<boolean> => {
      if (retries >= maxRetries || !budget.tryAcquireRetry()) return false;
      const delay =
        waitMs ??
        backoffDelay(retries, { mode: 'full', baseMs: service.retry?.base_delay_ms ?? DEFAULT_BASE_DELAY_MS, capMs: service.retry?.max_delay_ms ?? DEFAULT_MAX_DELAY_MS }, this.deps.random);
      // A wait that leaves no time for the call itself is not worth it.
      if (delay >= deadline.remainingMs()) return false;
      await clock.sleep(delay);
      retries += 1;
      return true;
    };

    for (;;) {
      if (deadline.expired) throw new GatewayError('deadline_exceeded', `no time was left to call service "${call.service}"`);
      // Every attempt spends the credential's quota, a retry as much as the first.
      await this.deps.rateGate?.acquire(rateKey, call.priority, deadline);
      const permit = await this.breakers.acquire(breakerKey, breakerConfig, { probeLeaseMs: timeoutMs + 1_000 });
      if (!permit.allowed) return this.whenOpen(call, permit.retryAt, staleKey, service, audit);

      const request = { method: call.method, url: new URL(url), headers: { ...call.headers }, body: call.body };
      // Stripe's name, and the IETF draft's: APIs that honour it make the retry safe end to end.
      if (call.idempotencyKey !== undefined) request.headers['idempotency-key'] = call.idempotencyKey;
      await applyCredential(credential, request, permit);

      audit.attempts += 1;
      const attemptMs = Math.max(1, Math.min(timeoutMs, deadline.remainingMs()));
      let upstream: ToolUpstreamResponse;
      try {
        upstream = await sendToolRequest(request, attemptMs);
      } catch (error) {
        const code = isToolSendError(error) ? error.code : 'ENETWORK';
        const timedOut = code === HTTP_ERROR_CODES.TIMEOUT;
        // A timeout the request's own deadline cut short says nothing about the service.
        await permit.report(timedOut && attemptMs < timeoutMs ? { kind: 'ignored' } : { kind: 'failure' });
        const neverSent = isToolSendError(error) && !error.reachedService;
        if ((safeToRepeat || neverSent) && (await backOff(undefined))) continue;
        if (timedOut) throw new GatewayError('service_timeout', `service "${call.service}" did not answer within ${attemptMs} ms`, { cause: error });
        throw new GatewayError('service_failed', `service "${call.service}" could not be reached (${code})`, { cause: error });
      }

      const { status } = upstream;
      this.observe(rateKey, status, upstream.headers);
      if (status === 401 && credential.renew && !renewed) {
        renewed = true;
        upstream.abort();
        await permit.report({ kind: 'ignored' });
        // Refresh once, retry once: the retry is the credential's, not one of the service's retries.
        if (await credential.renew()) continue;
        throw new GatewayError('service_failed', `service "${call.service}" refused its credential`);
      }
      if (RETRYABLE_STATUSES.has(status)) {
        const retryAfterMs = parseRetryAfter(upstream.headers, clock.now());
        // A 429 is this credential's quota, not the service's health: pacing is the rate gate's
        // job, and a breaker opened by it would turn every caller's next call into a 503.
        await permit.report(status === 429 ? { kind: 'ignored' } : { kind: 'failure' });
        const waitable = retryAfterMs === undefined || retryAfterMs <= maxRetryAfterMs;
        if (safeToRepeat && waitable && retries < maxRetries) {
          // The answer is dropped only once a retry is certain; otherwise it goes to the client.
          if (await backOff(retryAfterMs)) {
            upstream.abort();
            continue;
          }
        }
        return this.relay(upstream, credentialHeader, undefined, audit, { idleMs: timeoutMs, deadline });
      }
      await permit.report(outcomeOf(status));
      return this.relay(upstream, credentialHeader, status >= 200 && status < 300 ? staleKey : undefined, audit, { idleMs: timeoutMs, deadline }, service);
    }
  }

  /** The breaker is open: a GET gets the last good answer if one is kept, anything else a 503. */
  private async whenOpen(call: ToolCall, retryAt: number, staleKey: string | undefined, service: ServiceConfig, audit: AuditRecord): Promise<ToolResponse> {
    const now = this.deps.clock.now();
    if (staleKey && this.deps.staleResponses) {
      const stored = await this.deps.staleResponses.get(staleKey).catch((error: unknown) => {
        this.deps.logger.warn('stale tool answer unreadable', { tool_service: call.service, error_name: (error as Error).name });
        return undefined;
      });
      const ageSeconds = stored ? Math.max(0, Math.floor((now - stored.storedAt) / 1_000)) : 0;
      if (stored && ageSeconds <= (service.cache?.max_stale_seconds ?? DEFAULT_MAX_STALE_SECONDS)) {
        audit.degraded = 'stale-cache';
        return {
          statusCode: stored.statusCode,
          headers: { ...stored.headers, 'x-breakwater-degraded': 'stale-cache', 'x-breakwater-stale-seconds': String(ageSeconds) },
          body: Readable.from([stored.body]),
        };
      }
    }
    const retryAfter = String(Math.max(1, Math.ceil((retryAt - now) / 1_000)));
    throw new GatewayError('service_unavailable', `service "${call.service}" is failing; its circuit breaker is open`, { headers: { 'retry-after': retryAfter } });
  }

  /** The API's answer as it comes: safe headers, the body streamed, a good GET kept for later. */
  private relay(
    upstream: ToolUpstreamResponse,
    credentialHeader: string[],
    staleKey: string | undefined,
    audit: AuditRecord,
    bounds: BodyBounds,
    service?: ServiceConfig,
  ): ToolResponse {
    const headers = relayableResponseHeaders(upstream.headers, credentialHeader);
    const keep =
      staleKey && this.deps.staleResponses
        ? (body: Buffer) => {
            const maxStaleSeconds = service?.cache?.max_stale_seconds ?? DEFAULT_MAX_STALE_SECONDS;
            const stored = { statusCode: upstream.status, headers, body, storedAt: this.deps.clock.now() };
            this.deps.staleResponses!.put(staleKey, stored, maxStaleSeconds).catch((error: unknown) => {
              this.deps.logger.warn('stale tool answer not kept', { tool_service: audit.tool_service, error_name: (error as Error).name });
            });
          }
        : undefined;
    return {
      statusCode: upstream.status,
      headers: { ...headers, 'x-breakwater-attempts': String(audit.attempts) },
      body: Readable.from(relayBody(upstream.body, keep, bounds)),
    };
  }

  private observe(key: { service: string; credentialId: string }, status: number, headers: Record<string, string>): void {
    this.deps.rateGate?.observe(key, status, headers).catch((error: unknown) => {
      this.deps.logger.warn('tool rate gate observe failed', { tool_service: key.service, error_name: (error as Error).name });
    });
  }

  private auditFor(call: ToolCall, caller: ToolCaller): AuditRecord {
    return {
      tenant: caller.tenant,
      key_prefix: caller.keyPrefix,
      end_user: call.endUser,
      tool_service: call.service,
      method: call.method,
      path_template: '/',
      attempts: 0,
    };
  }

  private auditError(audit: AuditRecord, error: unknown): void {
    if (isGatewayError(error)) {
      audit.status = error.status;
      audit.error_code = error.code;
    } else {
      audit.status = 500;
      audit.error_code = 'internal_error';
    }
  }
}

async function applyCredential(credential: CallCredential, request: Parameters<CallCredential['apply']>[0], permit: Extract<BreakerPermit, { allowed: true }>): Promise<void> {
  try {
    await credential.apply(request);
  } catch (error) {
    // No credential says nothing about the service's health; the probe lease (if held) goes back.
    await permit.report({ kind: 'ignored' });
    throw error;
  }
}

/** A final answer's meaning for the breaker: the service's own trouble counts, a client's 4xx does not. */
function outcomeOf(status: number): BreakerOutcome {
  if (status >= 500) return { kind: 'failure' };
  if (status >= 400) return { kind: 'ignored' };
  return { kind: 'success' };
}

/** Relays the body chunk by chunk; a complete one small enough is handed to `keep`. */
/** How long a relayed body may wait for the service: its silence between two chunks, and the request's deadline. */
interface BodyBounds {
  /** The service's per-attempt timeout, as the longest gap between two chunks. */
  idleMs: number;
  deadline: Deadline;
}

/**
 * The service's body as it comes. A service that sends its head and then goes silent must not
 * hold the client past the request's deadline: the body is cut (the client sees the connection
 * close, as after any break) once the service is silent for `idleMs` or the deadline passes.
 * Only time spent waiting on the service counts, never a slow client's.
 */
async function* relayBody(body: ResponseBody, keep: ((body: Buffer) => void) | undefined, bounds: BodyBounds): AsyncGenerator<Buffer> {
  const kept: Buffer[] = [];
  let size = 0;
  let keeping = keep !== undefined;
  let watchdog: NodeJS.Timeout | undefined;
  const waitForService = () => {
    watchdog = setTimeout(() => body.destroy(), Math.max(1, Math.min(bounds.idleMs, bounds.deadline.remainingMs())));
    watchdog.unref();
  };
  try {
    waitForService();
    for await (const chunk of body) {
      clearTimeout(watchdog);
      if (keeping) {
        size += chunk.length;
        if (size > MAX_STALE_BODY_BYTES) {
          keeping = false;
          kept.length = 0;
        } else kept.push(chunk);
      }
      yield chunk;
      waitForService();
    }
  } finally {
    clearTimeout(watchdog);
  }
  if (keeping) keep!(Buffer.concat(kept));
}
