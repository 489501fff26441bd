import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BreakerMetric } from '../../../shared/breaker/CircuitBreakers';
import { BUDGET_ALERT_METRIC } from '../../../shared/budget/SpendGuard';
import { RATE_LIMIT_METRICS } from '../../../shared/ratelimit/FleetRateLimiter';
import { ERROR_CODES } from '../../../shared/errors/errorCodes';
import { ENGINE_METRIC_NAMES, ERROR_CLASSES } from '../../../shared/telemetry/metricNames';
import { doorOf, errorClassOf, fallbackLevelOf, outcomeOf, storeOfErrorCode, targetDimensionOf } from '../../../shared/telemetry/requestDimensions';
import { RequestMetrics } from '../../../shared/telemetry/requestMetrics';
import { captureEmf, enabledMetrics, metricNamesOf } from './emfCapture';

describe('request dimensions: bounded values only', () => {
  it('a door per API surface, never the raw path', () => {
    const cases: Array<[string, string]> = [
      ['/v1/chat/completions', 'chat'],
      ['/v1/completions', 'completions'],
      ['/v1/embeddings', 'embeddings'],
      ['/v1/responses/resp_123', 'responses'],
      ['/v1/messages/count_tokens', 'messages'],
      ['/v1/tools/github/repos/secret-org/x', 'tools'],
      ['/v1/tasks/task_abc', 'tasks'],
      ['/mcp', 'mcp'],
      ['/mcp/anything', 'mcp'],
      ['/v1/sk-test-not-a-door/x', 'other'],
      ['/v1', 'other'],
      ['/', 'other'],
      ['/mcpx', 'other'],
    ];
    for (const [path, door] of cases) assert.equal(doorOf(path), door, path);
  });

  it('every error code of the table falls in one of the few classes', () => {
    const classes = new Set(Object.values(ERROR_CLASSES));
    for (const [code, { status }] of Object.entries(ERROR_CODES)) assert.ok(classes.has(errorClassOf(status, code)), code);
    assert.equal(errorClassOf(429, 'rate_limited'), 'throttled_429');
    assert.equal(errorClassOf(429, 'budget_exceeded'), 'throttled_429');
    assert.equal(errorClassOf(401, 'invalid_api_key'), 'client_4xx');
    assert.equal(errorClassOf(503, 'all_targets_failed'), 'upstream');
    assert.equal(errorClassOf(502, 'stream_interrupted'), 'upstream');
    assert.equal(errorClassOf(504, 'deadline_exceeded'), 'timeout');
    assert.equal(errorClassOf(503, 'auth_unavailable'), 'store_unavailable');
    assert.equal(errorClassOf(500, 'internal_error'), 'server_5xx');
    assert.equal(errorClassOf(500, undefined), 'server_5xx');
  });

  it('outcomes: ok, stale (an old cached answer after every target failed), or the error class', () => {
    assert.equal(outcomeOf({ status: 200 }), 'ok');
    assert.equal(outcomeOf({ status: 200, cache: 'HIT' }), 'ok');
    assert.equal(outcomeOf({ status: 200, cache: 'STALE' }), 'stale');
    assert.equal(outcomeOf({ status: 200, errorCode: 'stream_interrupted' }), 'upstream');
    assert.equal(outcomeOf({ status: 404, errorCode: 'unknown_route' }), 'client_4xx');
  });

  it('fallback levels 0, 1, 2, 3+ (none without a target); targets as the config names them', () => {
    assert.deepEqual([undefined, 0, 1, 2, 3, 17, -1, 1.5].map(fallbackLevelOf), ['none', '0', '1', '2', '3+', '3+', 'none', 'none']);
    assert.equal(targetDimensionOf({ providerName: 'openai', model: 'gpt-4o-mini' }), 'openai/gpt-4o-mini');
    assert.equal(targetDimensionOf({ providerName: 'openai' }), 'openai/*');
  });

  it('store codes name their store; other codes none', () => {
    assert.equal(storeOfErrorCode('auth_unavailable'), 'keys');
    assert.equal(storeOfErrorCode('idempotency_unavailable'), 'idempotency');
    assert.equal(storeOfErrorCode('budget_unavailable'), 'spend');
    assert.equal(storeOfErrorCode('task_queue_unavailable'), 'tasks');
    assert.equal(storeOfErrorCode('all_targets_failed'), undefined);
    assert.equal(storeOfErrorCode(undefined), undefined);
  });

  it('the names the alarms read are the names the engine writes', () => {
    assert.equal(ENGINE_METRIC_NAMES.BUDGET_ALERT, BUDGET_ALERT_METRIC);
    assert.equal(ENGINE_METRIC_NAMES.BREAKER_STORE_UNAVAILABLE, BreakerMetric.STORE_UNAVAILABLE);
    assert.equal(ENGINE_METRIC_NAMES.RATE_LIMIT_STORE_UNAVAILABLE, RATE_LIMIT_METRICS.STORE_UNAVAILABLE);
  });
});

describe('RequestMetrics.record', () => {
  it('a request failed by an unreachable store: its error class, and one StoreUnavailable line with the store', () => {
    const saved = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const emf = captureEmf();
    try {
      const recorder = new RequestMetrics({ metrics: enabledMetrics(), clock: { now: () => 1_700_000_000_000, sleep: async () => undefined } });
      for (const errorCode of ['auth_unavailable', 'idempotency_unavailable', 'budget_unavailable', 'task_queue_unavailable']) {
        recorder.record({}, { path: '/v1/chat/completions', status: 503, errorCode, latencyMs: 3 });
      }
    } finally {
      emf.restore();
      if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
      else process.env.POWERTOOLS_METRICS_DISABLED = saved;
    }
    const requests = emf.lines.filter((line) => metricNamesOf(line).includes('Requests'));
    assert.deepEqual(requests.map((line) => [line.outcome, line.Errors, line._aws.Timestamp]), Array(4).fill(['store_unavailable', 1, 1_700_000_000_000]));
    const stores = emf.lines.filter((line) => metricNamesOf(line).includes('StoreUnavailable'));
    assert.deepEqual(stores.map((line) => line.store), ['keys', 'idempotency', 'spend', 'tasks']);
  });
});
