import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { startApiGatewayServer, type RunningServer } from '../../../bin/local/apiGatewayServer';
import { installAwsLambdaGlobal } from '../../../bin/local/lambdaStreaming';
import { createGatewayHandler } from '../../../functions/gateway/createHandler';
import type { ResponseCache } from '../../../shared/cache';
import { compileConfig } from '../../../shared/config';
import { createLogger } from '../../../shared/logging';
import { systemClock } from '../../../shared/resilience';
import { ERROR_CLASSES, METRIC_DIMENSIONS, REQUEST_METRICS, STORES, SUCCESS_OUTCOMES } from '../../../shared/telemetry/metricNames';
import { RequestMetrics } from '../../../shared/telemetry/requestMetrics';
import { fastRetry, openaiProvider, raw, testSettings, upstreamSecrets } from '../../support/e2eHarness';
import { chatCompletion, openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { captureEmf, dimensionSetsOf, enabledMetrics, metricNamesOf, type EmfLine } from './emfCapture';

const KEY = 'bw_test_metrics_key_0001_xxxxxxx';
const CLIENT_MODEL = 'client-chosen-model-7f3a9c';
const hello = (extra: Record<string, unknown> = {}) => ({ model: CLIENT_MODEL, messages: [{ role: 'user', content: 'hello' }], ...extra });

/** Values every dimension may take: fixed sets, or names from the config below. */
const BOUNDED: Record<string, ReadonlySet<string>> = {
  service: new Set(['breakwater-gateway']),
  route: new Set(['chat', 'other', 'models', 'embeddings']),
  target: new Set(['primary/model-a', 'secondary/model-b', 'passthrough/*', 'none']),
  outcome: new Set([...Object.values(SUCCESS_OUTCOMES), ...Object.values(ERROR_CLASSES)]),
  fallback_level: new Set(['none', '0', '1', '2', '3+']),
  tenant: new Set(['acme']),
  store: new Set(Object.values(STORES)),
};

describe('per-request metrics: the EMF Powertools writes for each gateway request', () => {
  let primary: MockUpstream;
  let secondary: MockUpstream;
  let server: RunningServer;
  let emf: ReturnType<typeof captureEmf>;
  let engine: Metrics;
  const savedDisabled = process.env.POWERTOOLS_METRICS_DISABLED;

  const send = (body: unknown, headers: Record<string, string> = {}, path = '/v1/chat/completions', auth: string | null = KEY) =>
    raw(`${server.url}${path}`, { body, headers, auth });

  /** The request lines (those with `Requests`) and the tenant lines (with `Spend`) written so far. */
  const requestLines = () => emf.lines.filter((line) => metricNamesOf(line).includes(REQUEST_METRICS.REQUESTS));
  const spendLines = () => emf.lines.filter((line) => metricNamesOf(line).includes(REQUEST_METRICS.SPEND));
  /** A stream's line is written when its body ends, just after the client read it. */
  async function onlyRequestLine(): Promise<EmfLine> {
    for (let i = 0; i < 100 && requestLines().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(requestLines().length, 1, JSON.stringify(emf.lines));
    return requestLines()[0]!;
  }

  before(async () => {
    // singleMetric() instances read this when they are made: on for this file, as on Lambda.
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    primary = await startMockUpstream();
    secondary = await startMockUpstream();
    installAwsLambdaGlobal();
    engine = enabledMetrics();
    const cached = { cache: { mode: 'simple', max_age: 60 } };
    const handler = createGatewayHandler({
      config: compileConfig({
        providers: { primary: openaiProvider(primary), secondary: openaiProvider(secondary), passthrough: openaiProvider(primary) },
        routes: {
          main: {
            strategy: { mode: 'fallback' },
            retry: fastRetry(1),
            targets: [
              { provider: 'primary', override_params: { model: 'model-a' } },
              { provider: 'secondary', override_params: { model: 'model-b' } },
            ],
          },
          cached: { strategy: { mode: 'single' }, retry: fastRetry(1), ...cached, targets: [{ provider: 'primary', override_params: { model: 'model-a' } }] },
          // The client's own model goes upstream: it must not become a dimension.
          passthrough: { strategy: { mode: 'single' }, retry: fastRetry(1), targets: [{ provider: 'passthrough' }] },
        },
        tenants: { acme: { route: 'main', allowed_routes: ['cached', 'passthrough'], keys: [KEY] } },
        settings: testSettings(),
      }),
      secrets: upstreamSecrets,
      logger: createLogger({ serviceName: 'breakwater-test', logLevel: 'SILENT' }),
      metrics: engine,
      requestMetrics: new RequestMetrics({ metrics: enabledMetrics(), clock: systemClock }),
      services: {
        // Every read a fresh hit: the cache's own store is tested elsewhere.
        cache: { get: async () => ({ body: chatCompletion('from the cache', 'model-a'), ageSeconds: 3, fresh: true }), put: async () => undefined } as unknown as ResponseCache,
      },
    });
    server = await startApiGatewayServer({ handler, port: 0 });
  });

  after(async () => {
    if (savedDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = savedDisabled;
    await server?.close();
    await primary?.close();
    await secondary?.close();
  });

  beforeEach(() => {
    primary.reset();
    secondary.reset();
    emf = captureEmf();
  });
  const done = () => emf.restore();

  it('a buffered answer: one request line (route, target, outcome; no tenant) and one spend line (tenant only)', async (t) => {
    t.after(done);
    primary.setDefault({ body: chatCompletion('hi', 'model-a') });

    const response = await send(hello());

    assert.equal(response.status, 200);
    const line = await onlyRequestLine();
    assert.equal(line._aws.CloudWatchMetrics[0]!.Namespace, 'Breakwater/test');
    assert.deepEqual(dimensionSetsOf(line), ['service', 'outcome,service', 'route,service,target', 'fallback_level,service']);
    assert.deepEqual(
      { route: line.route, target: line.target, outcome: line.outcome, level: line.fallback_level, tenant: line.tenant },
      { route: 'chat', target: 'primary/model-a', outcome: 'ok', level: '0', tenant: undefined },
    );
    assert.deepEqual([line.Requests, line.Errors, line.Attempts, line.Fallbacks], [1, 0, 1, 0]);
    assert.equal(typeof line.Latency, 'number');
    assert.equal(line.TimeToFirstByte, undefined, 'no time to first byte on a buffered answer');
    assert.equal(line.CacheHits, undefined, 'not a cached route');

    const [spend, ...more] = spendLines();
    assert.equal(more.length, 0);
    assert.deepEqual(dimensionSetsOf(spend!), ['service', 'service,tenant']);
    assert.equal(spend!.tenant, 'acme');
    assert.equal(spend!.Tokens, 9);
    assert.ok((spend!.Spend as number) >= 0);
    assert.equal(emf.lines.length, 2, 'two lines for a request');
  });

  it('a stream: the line is written when the body ends, with the time to first byte', async (t) => {
    t.after(done);
    primary.setDefault({ sse: openAiStreamFrames({ text: ['a', 'b', 'c'], model: 'model-a' }), frameDelayMs: 20 });

    const response = await send(hello({ stream: true }));

    assert.equal(response.status, 200);
    assert.match(response.text, /\[DONE\]/);
    const line = await onlyRequestLine();
    assert.equal(line.outcome, 'ok');
    assert.equal(line.target, 'primary/model-a');
    assert.equal(typeof line.TimeToFirstByte, 'number');
    // Four frames 20 ms apart: the last byte comes well after the first.
    assert.ok((line.Latency as number) >= (line.TimeToFirstByte as number) + 40, `latency ${line.Latency}, ttfb ${line.TimeToFirstByte}`);
    assert.ok(metricNamesOf(line).includes(REQUEST_METRICS.TIME_TO_FIRST_BYTE));
  });

  it('a fallback: its level is a dimension, the attempts counted, the target the one that answered', async (t) => {
    t.after(done);
    primary.setDefault({ status: 500, body: { error: { message: 'down' } } });
    secondary.setDefault({ body: chatCompletion('from b', 'model-b') });

    const response = await send(hello());

    assert.equal(response.status, 200);
    const line = await onlyRequestLine();
    assert.deepEqual(
      { target: line.target, level: line.fallback_level, fallbacks: line.Fallbacks, attempts: line.Attempts, outcome: line.outcome },
      { target: 'secondary/model-b', level: '1', fallbacks: 1, attempts: primary.requests.length + secondary.requests.length, outcome: 'ok' },
    );
  });

  it('a cache hit: CacheHits 1, no target, no attempts, nothing spent', async (t) => {
    t.after(done);

    const response = await send(hello(), { 'x-breakwater-route': 'cached' });

    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-breakwater-cache'), 'HIT');
    const line = await onlyRequestLine();
    assert.deepEqual(
      { hits: line.CacheHits, target: line.target, level: line.fallback_level, attempts: line.Attempts, outcome: line.outcome },
      { hits: 1, target: 'none', level: 'none', attempts: undefined, outcome: 'ok' },
    );
    assert.equal(spendLines().length, 0);
  });

  it('errors by class: a bad key is client_4xx, every target failing is upstream, and upstream 429s are counted', async (t) => {
    t.after(done);
    const badKey = await send(hello(), {}, '/v1/chat/completions', 'bw_test_not_a_key_000000000000000');
    assert.equal(badKey.status, 401);
    primary.setDefault({ status: 429, body: { error: { message: 'slow down' } } });
    secondary.setDefault({ status: 503, body: { error: { message: 'down' } } });
    const allFailed = await send(hello());
    assert.equal(allFailed.status, 503);

    for (let i = 0; i < 100 && requestLines().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const [first, second] = requestLines();
    assert.deepEqual([first!.outcome, first!.Errors, first!.route, first!.target], [ERROR_CLASSES.CLIENT_4XX, 1, 'chat', 'none']);
    assert.deepEqual([second!.outcome, second!.Errors], [ERROR_CLASSES.UPSTREAM, 1]);
    // The engine's own line (flushed by the handler's middleware) counts the provider's 429.
    const throttled = emf.lines.find((line) => metricNamesOf(line).includes('ProviderThrottled'));
    assert.ok(throttled, JSON.stringify(emf.lines));
    // One value per throttled call (Powertools keeps repeats of a name as a list).
    const counted = [throttled.ProviderThrottled].flat() as number[];
    assert.equal(counted.reduce((a, b) => a + b, 0), primary.requests.length);
    assert.ok(primary.requests.length >= 1);
    assert.deepEqual(dimensionSetsOf(throttled), ['service']);
  });

  it('no raw path, key, client model or other unbounded value ever becomes a dimension', async (t) => {
    t.after(done);
    primary.setDefault({ body: chatCompletion('hi', CLIENT_MODEL) });
    await send(hello(), { 'x-breakwater-route': 'passthrough' });
    await send(hello(), {}, `/v1/chat/completions/${KEY}/extra`);
    await send(hello(), {}, '/v1/not-a-door/abc123');
    await send(hello({ messages: 'not a list' }));
    await send({}, {}, '/v1/models', 'bw_test_some_other_key_00000000000');

    for (let i = 0; i < 100 && requestLines().length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(requestLines().length, 5);
    assert.equal(requestLines()[0]!.target, 'passthrough/*');
    for (const line of emf.lines) {
      for (const set of line._aws.CloudWatchMetrics[0]!.Dimensions) {
        for (const name of set) {
          const value = String(line[name]);
          assert.ok(BOUNDED[name]?.has(value), `dimension ${name}=${value} is not from a bounded set`);
        }
      }
      const text = JSON.stringify(line);
      for (const secret of [KEY, CLIENT_MODEL, 'abc123', 'not-a-door', 'bw_test_some_other_key']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });
});
