import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InternalServerError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import type { MockUpstream } from '../support/mockUpstream';
import {
  e2eConfig,
  fastRetry,
  hello,
  modelTarget,
  msSince,
  sdkClient,
  sdkError,
  sdkErrorAttempts,
  startE2EGateway,
  startMocks,
  withoutDurations,
  type MockUpstreams,
} from '../support/e2eHarness';

/** Deadlines: the whole request's (settings / Lambda time) and each attempt's (request_timeout). */
describe('e2e: deadlines and timeouts', () => {
  let upstreams: MockUpstreams<'primary' | 'backup'>;
  let primary: MockUpstream;
  let backup: MockUpstream;
  /** max_request_ms 300: the request's own deadline binds. */
  let tight: RunningServer;
  /** Default deadline; per-attempt request_timeout 100 binds. */
  let roomy: RunningServer;
  /** Lambda says 1300 ms are left and 1000 are kept back: 300 ms for the request. */
  let lambdaBound: RunningServer;

  const primaryTarget = modelTarget('primary', 'primary-model');
  const backupTarget = modelTarget('backup', 'backup-model');
  const slowRoute = () => ({ strategy: { mode: 'single' as const }, retry: fastRetry(2), request_timeout: 5_000, targets: [primaryTarget] });

  before(async () => {
    upstreams = await startMocks(['primary', 'backup']);
    ({ primary, backup } = upstreams.mocks);
    const { providers } = upstreams;
    tight = await startE2EGateway({
      config: e2eConfig({
        providers,
        routes: {
          slow: slowRoute(),
          'slow-fallback': {
            strategy: { mode: 'fallback' },
            retry: fastRetry(2),
            request_timeout: 5_000,
            targets: [primaryTarget, backupTarget],
          },
        },
        settings: { max_request_ms: 300 },
      }),
    });
    roomy = await startE2EGateway({
      config: e2eConfig({
        providers,
        routes: {
          'per-attempt': { strategy: { mode: 'single' }, retry: fastRetry(2), request_timeout: 100, targets: [primaryTarget] },
          'timeout-fallback': {
            strategy: { mode: 'fallback' },
            retry: fastRetry(0),
            request_timeout: 100,
            targets: [primaryTarget, backupTarget],
          },
        },
      }),
    });
    lambdaBound = await startE2EGateway({
      functionTimeoutMs: 1_300,
      config: e2eConfig({ providers, routes: { slow: slowRoute() }, settings: { lambda_margin_ms: 1_000 } }),
    });
  });

  after(async () => {
    await Promise.all([tight.close(), roomy.close(), lambdaBound.close()]);
    await upstreams.close();
  });

  beforeEach(() => upstreams.reset());

  it('guarantee: max_request_ms 300 with a 2 s upstream (request_timeout 5000) → 504 deadline_exceeded well under 2 s', async () => {
    primary.script({ delayMs: 2_000 });
    const client = sdkClient(tight.url);

    const started = performance.now();
    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));
    const elapsed = msSince(started);

    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 504);
    assert.equal(error.code, 'deadline_exceeded');
    assert.equal(error.type, 'api_error');
    assert.ok(elapsed >= 280, `gave up after ${elapsed} ms, before the 300 ms deadline`);
    assert.ok(elapsed < 1_000, `took ${elapsed} ms against a 300 ms deadline`);
    assert.deepEqual(
      withoutDurations(sdkErrorAttempts(error)),
      [{ target: 'primary/primary-model', attempt: 1, error: 'timeout' }],
    );
    assert.equal(primary.requests.length, 1);
  });

  it('guarantee: a deadline spent on the primary ends the request — 504, the backup is not called', async () => {
    primary.script({ delayMs: 2_000 });
    const client = sdkClient(tight.url, undefined, { 'x-breakwater-route': 'slow-fallback' });

    const started = performance.now();
    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));

    assert.equal(error.status, 504);
    assert.equal(error.code, 'deadline_exceeded');
    assert.ok(msSince(started) < 1_000);
    assert.equal(primary.requests.length, 1);
    assert.equal(backup.requests.length, 0);
  });

  it("guarantee: Lambda's remaining time minus lambda_margin_ms bounds the request (1300 - 1000 → 504 in ~300 ms)", async () => {
    primary.script({ delayMs: 2_000 });
    const client = sdkClient(lambdaBound.url);

    const started = performance.now();
    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));
    const elapsed = msSince(started);

    assert.equal(error.status, 504);
    assert.equal(error.code, 'deadline_exceeded');
    assert.ok(elapsed < 1_000, `took ${elapsed} ms against a ~300 ms budget`);
  });

  it('guarantee: per-attempt request_timeout 100 against a 500 ms answer → the attempt is cut, retried, and the retry succeeds', async () => {
    primary.script({ delayMs: 500 });
    const client = sdkClient(roomy.url);

    const started = performance.now();
    const { data, response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();
    const elapsed = msSince(started);

    assert.equal(data.choices[0]?.message.content, 'hello from the mock');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '0');
    assert.equal(primary.requests.length, 2);
    assert.ok(elapsed >= 95, `answered after ${elapsed} ms, before the first attempt could time out`);
    assert.ok(elapsed < 450, `took ${elapsed} ms: the 500 ms answer was waited for instead of cut at 100 ms`);
  });

  it('guarantee: a primary past its request_timeout falls back to the backup inside the deadline', async () => {
    primary.script({ delayMs: 500 });
    const client = sdkClient(roomy.url, undefined, { 'x-breakwater-route': 'timeout-fallback' });

    const started = performance.now();
    const { response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();

    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '1');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'true');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.ok(msSince(started) < 450);
  });
});
