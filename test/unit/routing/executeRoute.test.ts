import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreakers, MemoryBreakerStore } from '../../../shared/breaker';
import { compileConfig, type BreakwaterConfigInput } from '../../../shared/config';
import { isGatewayError, type GatewayError } from '../../../shared/errors';
import type { ProviderAdapter, UpstreamOutcome, UpstreamRequest } from '../../../shared/providers';
import { Deadline, RetryBudgets } from '../../../shared/resilience';
import { executeRoute, type RouteResult, type TargetNode } from '../../../shared/routing';
import { fakeClock, scriptedRandom } from '../../support/fakeClock';

const ok: UpstreamOutcome = { kind: 'success', status: 200, headers: {}, body: { choices: [] } };
const status = (code: number, headers: Record<string, string> = {}): UpstreamOutcome => ({
  kind: 'http_error',
  status: code,
  headers,
  message: `status ${code}`,
});

/** Adapters that answer from a script per provider and record every call. */
function scriptedAdapters(scripts: Record<string, UpstreamOutcome[]>, clock = fakeClock(), latencyMs = 10) {
  const calls: Array<{ provider: string; request: UpstreamRequest }> = [];
  const adapterFor = (target: TargetNode): ProviderAdapter => ({
    call: async (request) => {
      calls.push({ provider: target.providerName, request });
      await clock.sleep(Math.min(latencyMs, request.timeoutMs));
      const outcome = scripts[target.providerName]?.shift() ?? ok;
      return outcome;
    },
    stream: async () => ({ kind: 'unavailable', reason: 'buffered tests do not stream' }),
  });
  return { calls, adapterFor };
}

const silent = { info: () => {}, warn: () => {} };

function setup(
  route: BreakwaterConfigInput['routes'][string],
  scripts: Record<string, UpstreamOutcome[]>,
  deadlineMs = 30_000,
  withBreakers = false,
) {
  const config = compileConfig({
    providers: { a: { type: 'simulated' }, b: { type: 'simulated' }, c: { type: 'simulated' } },
    routes: { r: route },
    tenants: { t: { route: 'r', keys: ['bw_test_key_000000001_xxxxxxxxxx'] } },
  });
  const clock = fakeClock();
  // Sleeps in the fake adapters are latency, not backoff: keep them apart.
  const adapters = scriptedAdapters(scripts, { ...clock, sleep: async (ms) => clock.advance(ms) });
  const deps = {
    adapterFor: adapters.adapterFor,
    clock,
    random: scriptedRandom(0.5),
    retryBudgets: new RetryBudgets(clock),
    breakers: withBreakers ? new CircuitBreakers({ store: new MemoryBreakerStore(), clock, logger: silent }) : undefined,
  };
  const run = () =>
    executeRoute(
      config.routes.get('r')!,
      { operation: 'chat', body: { model: 'client-model', messages: [] }, deadline: Deadline.after(clock, deadlineMs) },
      deps,
    );
  return { run, clock, calls: adapters.calls };
}

async function failure(promise: Promise<RouteResult>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isGatewayError(error), `not a GatewayError: ${error}`);
    return error;
  }
  assert.fail('expected the route to fail');
}

const fallback = (retry = { attempts: 2, base_delay_ms: 100, max_delay_ms: 1_000 }) => ({
  strategy: { mode: 'fallback' as const },
  retry,
  targets: [
    { provider: 'a', override_params: { model: 'model-a' } },
    { provider: 'b', override_params: { model: 'model-b' } },
  ],
});

describe('executeRoute', () => {
  it('retries a transient failure with a jittered backoff, then succeeds', async () => {
    const { run, clock, calls } = setup(fallback(), { a: [status(503), status(502)] });
    const result = await run();
    assert.equal(result.label, 'a/model-a');
    assert.equal(result.attempts.length, 3);
    assert.equal(result.fallbackIndex, 0);
    // Full jitter with random 0.5: half of 100, then half of 200.
    assert.deepEqual(clock.sleeps, [50, 100]);
    assert.equal(calls[0]!.request.body.model, 'model-a', 'override_params.model replaces the client’s');
  });

  it('honours Retry-After instead of the backoff', async () => {
    const { run, clock } = setup(fallback(), { a: [status(429, { 'retry-after': '2' })] });
    await run();
    assert.deepEqual(clock.sleeps, [2_000]);
  });

  it('fails over at once when Retry-After would outlive the deadline', async () => {
    const { run, clock, calls } = setup(fallback(), { a: [status(429, { 'retry-after': '60' })] }, 5_000);
    const result = await run();
    assert.equal(result.label, 'b/model-b');
    assert.deepEqual(clock.sleeps, [], 'nothing slept');
    assert.deepEqual(calls.map((c) => c.provider), ['a', 'b']);
    assert.equal(result.fallbackIndex, 1);
  });

  it('fails over at once when Retry-After exceeds max_retry_after_ms', async () => {
    const { run, clock } = setup(fallback({ attempts: 2, max_retry_after_ms: 1_000 } as never), {
      a: [status(429, { 'retry-after': '5' })],
    });
    assert.equal((await run()).label, 'b/model-b');
    assert.deepEqual(clock.sleeps, []);
  });

  it('never retries a 400 and does not fall back on it by default', async () => {
    const { run, calls } = setup(fallback(), { a: [status(400)] });
    const error = await failure(run());
    assert.equal(error.code, 'upstream_rejected');
    assert.equal(error.status, 400);
    assert.equal(calls.length, 1);
  });

  it('falls back on a 400 only when on_status_codes lists it', async () => {
    const route = { ...fallback(), strategy: { mode: 'fallback' as const, on_status_codes: [400] } };
    const { run, calls } = setup(route, { a: [status(400)] });
    assert.equal((await run()).label, 'b/model-b');
    assert.equal(calls.length, 2);
  });

  it('a 401 from the upstream is 502 upstream_auth_failed, never retried', async () => {
    const { run, calls } = setup(fallback(), { a: [status(401)] });
    const error = await failure(run());
    assert.equal(error.code, 'upstream_auth_failed');
    assert.equal(error.status, 502);
    assert.equal(calls.length, 1);
  });

  it('counts upstream calls: retries, and a call re-sent with a re-read credential after a 401, counted twice', async () => {
    const reread: UpstreamOutcome = { ...ok, upstreamCalls: 2 };
    const { run } = setup(fallback(), { a: [status(503), reread] });
    const result = await run();
    assert.equal(result.attempts.length, 2);
    assert.deepEqual(result.attempts.map((a) => a.calls), [1, 2]);
    assert.equal(result.upstreamCalls, 3);
  });

  it('a target that cannot honour a parameter ends the walk with 400 unsupported_parameter, not a 503 after the primary failed', async () => {
    const unsupported: UpstreamOutcome = { kind: 'unsupported', param: 'logprobs', message: 'logprobs is not supported by anthropic/model-b' };
    const { run, calls } = setup(
      { ...fallback({ attempts: 0, base_delay_ms: 100, max_delay_ms: 1_000 }), targets: [...fallback().targets, { provider: 'c' }] },
      { a: [status(503)], b: [unsupported] },
    );
    const error = await failure(run());
    assert.equal(error.code, 'unsupported_parameter');
    assert.equal(error.status, 400);
    assert.equal(error.message, 'logprobs is not supported by anthropic/model-b');
    assert.equal(error.details?.param, 'logprobs');
    assert.deepEqual(calls.map((c) => c.provider), ['a', 'b'], 'never retried, and no fallback to a third shape');
  });

  it('all targets down: 503 listing every attempt', async () => {
    const { run } = setup(fallback({ attempts: 1, base_delay_ms: 10, max_delay_ms: 10 }), {
      a: [status(503), status(503)],
      b: [{ kind: 'network_error', code: 'ECONNRESET', message: 'reset' }, { kind: 'timeout', timeoutMs: 5 }],
    });
    const error = await failure(run());
    assert.equal(error.code, 'all_targets_failed');
    assert.equal(error.status, 503);
    const attempts = error.details!.attempts as Array<Record<string, unknown>>;
    assert.deepEqual(
      attempts.map(({ target, attempt, status, error }) => ({ target, attempt, status, error })),
      [
        { target: 'a/model-a', attempt: 1, status: 503, error: undefined },
        { target: 'a/model-a', attempt: 2, status: 503, error: undefined },
        { target: 'b/model-b', attempt: 1, status: undefined, error: 'ECONNRESET' },
        { target: 'b/model-b', attempt: 2, status: undefined, error: 'timeout' },
      ],
    );
    assert.equal(attempts[0]!.duration_ms, 10);
  });

  it('an unresolvable host fails over without being retried', async () => {
    const { run, calls } = setup(fallback(), { a: [{ kind: 'network_error', code: 'ENOTFOUND', message: 'dns' }] });
    assert.equal((await run()).label, 'b/model-b');
    assert.deepEqual(calls.map((c) => c.provider), ['a', 'b']);
  });

  it('a malformed 200 counts as a failure of that target and is retried', async () => {
    const { run, calls } = setup(fallback(), { a: [{ kind: 'malformed', message: 'junk' }] });
    assert.equal((await run()).label, 'a/model-a');
    assert.equal(calls.length, 2);
  });

  it('gives each attempt at most the time left before the deadline, then answers 504', async () => {
    const { run, calls } = setup({ ...fallback(), request_timeout: 10_000 }, {
      a: [{ kind: 'timeout', timeoutMs: 0 }],
    }, 5);
    const error = await failure(run());
    assert.equal(error.code, 'deadline_exceeded');
    assert.equal(error.status, 504);
    assert.equal(calls[0]!.request.timeoutMs, 5);
    assert.equal(calls.length, 1, 'nothing runs after the deadline');
  });

  it('stops retrying when the container’s retry budget is spent', async () => {
    const route = { ...fallback({ attempts: 5, base_delay_ms: 1, max_delay_ms: 1 }), targets: [{ provider: 'a' }] };
    const scripts = { a: Array.from({ length: 200 }, () => status(503)) };
    const { run, calls } = setup(route, scripts);
    // Default budget: 10 retries per 10 s window plus 10% of calls; 5 calls allow 10.5, so 11.
    for (let i = 0; i < 5; i++) await failure(run());
    assert.equal(calls.length, 5 + 11, 'five first calls and only the budgeted retries, not 5 x 5');
  });

  it('walks nested groups depth-first and reports the fallback index across them', async () => {
    const route = {
      strategy: { mode: 'fallback' as const },
      retry: { attempts: 0 },
      targets: [
        { strategy: { mode: 'fallback' as const }, targets: [{ provider: 'a' }, { provider: 'b' }] },
        { provider: 'c', override_params: { model: 'model-c' } },
      ],
    };
    const { run, calls } = setup(route, { a: [status(503)], b: [status(500)] });
    const result = await run();
    assert.equal(result.label, 'c/model-c');
    assert.equal(result.fallbackIndex, 2);
    assert.deepEqual(calls.map((c) => c.provider), ['a', 'b', 'c']);
  });

  describe('with circuit breakers', () => {
    const route = {
      strategy: { mode: 'fallback' as const },
      retry: { attempts: 0 },
      circuit_breaker: { failure_threshold: 2, cooldown_interval: 5_000 },
      targets: [
        { provider: 'a', override_params: { model: 'model-a' } },
        { provider: 'b', override_params: { model: 'model-b' } },
      ],
    };

    it('skips a target whose breaker opened, without calling it', async () => {
      const { run, calls } = setup(route, { a: [status(503), status(503)] }, 30_000, true);
      await run();
      await run();
      calls.length = 0;
      const result = await run();
      assert.equal(result.label, 'b/model-b');
      assert.deepEqual(calls.map((c) => c.provider), ['b'], 'the open target was not called');
      assert.deepEqual(result.attempts.map((a) => a.outcome), ['circuit_open', 'success']);
      assert.equal(result.fallbackIndex, 1);
      assert.equal(result.upstreamCalls, 1, 'x-breakwater-attempts counts upstream calls: the skipped target is not one');
    });

    it('every target open: 503 all_targets_unavailable with Retry-After at the earliest half-open time', async () => {
      const { run, calls, clock } = setup(route, { a: [status(503), status(503)], b: [status(500), status(500)] }, 30_000, true);
      await failure(run());
      await failure(run());
      calls.length = 0;
      clock.advance(1_000);
      const error = await failure(run());
      assert.equal(error.code, 'all_targets_unavailable');
      assert.equal(error.status, 503);
      assert.equal(calls.length, 0);
      // Opened ~1 s ago with a 5 s cooldown: 4 s left.
      assert.equal(error.headers?.['retry-after'], '4');
    });

    it('a 400 from the client does not count against the target', async () => {
      const { run, calls } = setup(route, { a: [status(400), status(400), status(400)] }, 30_000, true);
      for (let i = 0; i < 3; i++) await failure(run());
      assert.equal(calls.length, 3, 'never skipped');
    });
  });
});
