import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { BadRequestError, InternalServerError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import { chatCompletion, type MockUpstream } from '../support/mockUpstream';
import { recordingClock } from '../support/startGateway';
import {
  UPSTREAM_KEY,
  fastRetry,
  hello,
  modelTarget,
  sdkClient,
  sdkError,
  sdkErrorAttempts,
  sdkErrorBody,
  startMockedGateway,
  withoutDurations,
  type MockedGateway,
} from '../support/e2eHarness';

/**
 * Retries on one target, seen from an OpenAI SDK client whose own retries are off: every extra
 * upstream call counted here is the gateway's doing.
 */
describe('e2e: retries on one target', () => {
  let stack: MockedGateway<'primary'>;
  let mock: MockUpstream;
  let gateway: RunningServer;
  const clock = recordingClock();

  before(async () => {
    stack = await startMockedGateway({
      clock,
      // Full jitter with a draw of 0.5: the n-th retry waits exactly half its ceiling.
      random: () => 0.5,
      upstreams: ['primary'],
      routes: {
        main: { strategy: { mode: 'single' }, retry: fastRetry(2), targets: [modelTarget('primary', 'gpt-override')] },
        capped: {
          strategy: { mode: 'single' },
          retry: fastRetry(2, { max_retry_after_ms: 500 }),
          targets: [modelTarget('primary', 'gpt-capped')],
        },
        'no-retry-after': {
          strategy: { mode: 'single' },
          retry: fastRetry(1, { use_retry_after_header: false }),
          targets: [modelTarget('primary', 'gpt-plain')],
        },
      },
    });
    ({ gateway, mocks: { primary: mock } } = stack);
  });

  after(() => stack.close());

  beforeEach(() => {
    stack.reset();
    clock.sleeps.length = 0;
  });

  it('guarantee: 503, 503, 200 is retried to success — attempts header 3, 3 upstream calls, upstream key and override model sent', async () => {
    mock.script({ status: 503 }, { status: 503 }, { body: chatCompletion('third time lucky', 'gpt-override') });
    const client = sdkClient(gateway.url);

    const { data, response } = await client.chat.completions
      .create({ model: 'whatever-the-client-says', messages: hello })
      .withResponse();

    assert.equal(data.choices[0]?.message.content, 'third time lucky');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-breakwater-attempts'), '3');
    assert.equal(response.headers.get('x-breakwater-target'), 'primary/gpt-override');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '0');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'false');
    assert.equal(mock.requests.length, 3);
    for (const request of mock.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.path, '/v1/chat/completions');
      assert.equal(request.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
      assert.equal((request.body as { model: string }).model, 'gpt-override');
      assert.deepEqual((request.body as { messages: unknown }).messages, hello);
    }
    // Two backoffs, full jitter at 0.5 of ceilings min(20, 5 * 2^n): 2.5 ms then 5 ms.
    assert.deepEqual(clock.sleeps, [2.5, 5]);
  });

  it('guarantee: 429 with `retry-after: 1` waits 1000 ms (recorded sleep and >= 950 ms between upstream calls), then succeeds', async () => {
    mock.script({ status: 429, headers: { 'retry-after': '1' } });
    const client = sdkClient(gateway.url);

    const { data, response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();

    assert.equal(data.choices[0]?.message.content, 'hello from the mock');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.deepEqual(clock.sleeps, [1000]);
    assert.equal(mock.requests.length, 2);
    const gap = mock.requests[1]!.at - mock.requests[0]!.at;
    assert.ok(gap >= 950, `the retry came ${gap} ms after the 429, before the 1 s Retry-After`);
  });

  it('guarantee: 429 with `retry-after-ms: 50` waits exactly 50 ms, then succeeds', async () => {
    mock.script({ status: 429, headers: { 'retry-after-ms': '50', 'retry-after': '7' } });
    const client = sdkClient(gateway.url);

    const { response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();

    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    // retry-after-ms is more precise and wins over retry-after.
    assert.deepEqual(clock.sleeps, [50]);
    assert.equal(mock.requests.length, 2);
    const gap = mock.requests[1]!.at - mock.requests[0]!.at;
    assert.ok(gap >= 45, `the retry came ${gap} ms after the 429`);
  });

  it('guarantee: a Retry-After beyond max_retry_after_ms is not slept through — one call, 503 all_targets_failed with Retry-After', async () => {
    mock.setDefault({ status: 429, headers: { 'retry-after': '30' } });
    const client = sdkClient(gateway.url, undefined, { 'x-breakwater-route': 'capped' });

    const started = Date.now();
    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));

    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    assert.equal(error.headers?.get('retry-after'), '30');
    assert.deepEqual(clock.sleeps, []);
    assert.equal(mock.requests.length, 1);
    assert.ok(Date.now() - started < 1_000);
    assert.deepEqual(
      sdkErrorBody(error).attempts,
      [{ target: 'primary/gpt-capped', attempt: 1, status: 429, duration_ms: sdkErrorAttempts(error)[0]!.duration_ms }],
    );
  });

  it('guarantee: with use_retry_after_header false, Retry-After is ignored and the backoff is used', async () => {
    mock.script({ status: 429, headers: { 'retry-after': '1' } });
    const client = sdkClient(gateway.url, undefined, { 'x-breakwater-route': 'no-retry-after' });

    const { response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();

    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.deepEqual(clock.sleeps, [2.5]);
  });

  it('guarantee: a 400 from the upstream is not retried — one call, BadRequestError 400 upstream_rejected', async () => {
    mock.script({ status: 400, body: { error: { message: "Invalid value for 'n': must be at most 128." } } });
    const client = sdkClient(gateway.url);

    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));

    assert.ok(error instanceof BadRequestError, `expected BadRequestError, got ${error.constructor.name}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'upstream_rejected');
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(
      sdkErrorBody(error).message,
      "primary/gpt-override rejected the request (400): Invalid value for 'n': must be at most 128.",
    );
    assert.equal(mock.requests.length, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  it('guarantee: retries stop after `attempts` retries — 503 forever is 3 calls, then 503 all_targets_failed', async () => {
    mock.setDefault({ status: 503, body: { error: { message: 'overloaded' } } });
    const client = sdkClient(gateway.url);

    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));

    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    assert.equal(mock.requests.length, 3);
    assert.deepEqual(
      withoutDurations(sdkErrorAttempts(error)),
      [1, 2, 3].map((attempt) => ({ target: 'primary/gpt-override', attempt, status: 503 })),
    );
  });

  const retriedOnce = [
    { title: 'guarantee: a connection reset is retried — reset then 200 succeeds with attempts 2', failure: { reset: true } },
    {
      title: 'guarantee: a malformed 200 body (`{not json`) is retried on the same target — attempts 2, then the good answer',
      failure: { body: '{not json' },
    },
  ];
  for (const { title, failure } of retriedOnce) {
    it(title, async () => {
      mock.script(failure);
      const client = sdkClient(gateway.url);

      const { data, response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();

      assert.equal(data.choices[0]?.message.content, 'hello from the mock');
      assert.equal(response.headers.get('x-breakwater-attempts'), '2');
      assert.equal(response.headers.get('x-breakwater-fallback-index'), '0');
      assert.equal(mock.requests.length, 2);
    });
  }

  it('guarantee: a 200 without `choices` counts as malformed — all tries fail to 503 with error "malformed" per attempt', async () => {
    mock.setDefault({ body: { hello: 'proxy junk' } });
    const client = sdkClient(gateway.url);

    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));

    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    assert.deepEqual(
      withoutDurations(sdkErrorAttempts(error)),
      [1, 2, 3].map((attempt) => ({ target: 'primary/gpt-override', attempt, error: 'malformed' })),
    );
  });
});

describe('e2e: the retry budget', () => {
  let stack: MockedGateway<'primary'>;

  before(async () => {
    stack = await startMockedGateway({
      upstreams: ['primary'],
      routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(2), targets: [modelTarget('primary', 'gpt-budget')] } },
      // No retries allowed at all: the budget, not `attempts`, is what binds.
      settings: { retry_budget: { ratio: 0, min_retries_per_window: 0, window_ms: 10_000 } },
    });
  });

  after(() => stack.close());

  it('guarantee: with an empty retry budget a 503 is not retried, even though `attempts` allows it', async () => {
    stack.mocks.primary.script({ status: 503 });
    const client = sdkClient(stack.gateway.url);

    const error = await sdkError(client.chat.completions.create({ model: 'm', messages: hello }));

    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    assert.equal(stack.mocks.primary.requests.length, 1);
  });
});
