import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { callbackSigningSecretName, SIGNATURE_HEADER, verifySignature } from '../../../shared/callbacks';
import type { BreakwaterConfigInput } from '../../../shared/config';
import type { SecretSource, SecretValue } from '../../../shared/credentials';
import type { TaskView } from '../../../shared/tasks';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertClientError, openaiProvider, raw, testSettings, UPSTREAM_KEY, type RawResponse } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startTaskGateway, startTaskWorker, type TaskGateway, type TaskWorker } from '../../support/taskStack';

/**
 * The task API end to end over HTTP: the gateway's handler behind the local server enqueues on
 * fauxqs, the worker handler (fed by the local event source mapping) runs the task through the
 * same engine against a loopback upstream, and the result is read back with GET — all on one
 * DynamoDB Local.
 */

const KEYS = {
  acme: 'bw_test_tasks_acme_0001_xxxxxxxx',
  other: 'bw_test_tasks_other_0001_xxxxxxx',
  stingy: 'bw_test_tasks_stingy_0001_xxxxxx',
  hooks: 'bw_test_tasks_hooks_0001_xxxxxxx',
  flaky: 'bw_test_tasks_flaky_0001_xxxxxxx',
  lister: 'bw_test_tasks_lister_0001_xxxxxx',
} as const;
const CALLBACK_SECRET = 'whsec_test_hooks_0001';
const MODEL = 'gpt-4o-mini';
/** The model of the `alt` route, which acme may name with x-breakwater-route. */
const ALT_MODEL = 'gpt-4o';
/** Long enough for a busy machine running DynamoDB Local; a task here normally ends in well under a second. */
const TASK_WAIT_MS = 10_000;
/**
 * The worker's (simulated) Lambda timeout. A task's claim lasts the invocation's remaining time,
 * so a duplicate message received meanwhile comes back after about this long: kept short.
 */
const FUNCTION_TIMEOUT_MS = 5_000;

const secrets: SecretSource = {
  get: async (name): Promise<SecretValue | undefined> => {
    if (name === callbackSigningSecretName('hooks')) return { signing_secret: CALLBACK_SECRET };
    if (name.startsWith('callback-signing/')) return undefined;
    return { api_key: UPSTREAM_KEY };
  },
};

function taskConfig(mock: MockUpstream): BreakwaterConfigInput {
  // No route-level retries: every upstream failure reaches the worker, which owns the retry.
  const route = (provider: string) => ({
    strategy: { mode: 'single' as const },
    retry: { attempts: 0 },
    targets: [{ provider, override_params: { model: MODEL } }],
  });
  return {
    // Two providers on one mock, so the flaky tenant's failures never touch the others' breaker.
    providers: { mock: openaiProvider(mock), 'mock-flaky': openaiProvider(mock) },
    routes: {
      main: route('mock'),
      flaky: route('mock-flaky'),
      alt: { strategy: { mode: 'single' as const }, retry: { attempts: 0 }, targets: [{ provider: 'mock', override_params: { model: ALT_MODEL } }] },
    },
    tenants: {
      acme: { route: 'main', allowed_routes: ['alt'], keys: [KEYS.acme] },
      lister: { route: 'main', keys: [KEYS.lister] },
      other: { route: 'main', keys: [KEYS.other] },
      stingy: { route: 'main', keys: [KEYS.stingy], max_request_cost_usd: 0.000001 },
      hooks: { route: 'main', keys: [KEYS.hooks], callback_allow_private: true },
      flaky: { route: 'flaky', keys: [KEYS.flaky] },
    },
    settings: testSettings(),
  };
}

/** A request whose prompt names the test, so the upstream calls it caused can be counted. */
const request = (marker: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user', content: marker }],
  ...extra,
});

interface ReceivedCallback {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function startCallbackReceiver() {
  const received: ReceivedCallback[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/tasks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function waitUntil<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = TASK_WAIT_MS): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('POST/GET/DELETE /v1/tasks through the gateway, fauxqs and the worker', () => {
  let dynamo: DynamoLocal;
  let queues: LocalSqs;
  let mock: MockUpstream;
  let gateway: TaskGateway;
  let worker: TaskWorker;
  let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

  before(async () => {
    [dynamo, queues, mock, receiver] = await Promise.all([
      startDynamoLocal(),
      // Its own env object: fauxqs in this process, and process.env left alone.
      startLocalSqs({ env: { AWS_REGION: 'us-east-1' }, prefix: `http-tasks-${Date.now().toString(36)}` }),
      startMockUpstream(),
      startCallbackReceiver(),
    ]);
    const config = taskConfig(mock);
    gateway = await startTaskGateway({ config, dynamo, queues, secrets });
    worker = await startTaskWorker({ config, dynamo, queues, secrets, poller: { functionTimeoutMs: FUNCTION_TIMEOUT_MS } });
  });
  after(async () => {
    await worker?.close();
    await gateway?.close();
    await receiver?.close();
    await mock?.close();
    await queues?.close();
    await dynamo?.stop();
  });

  const submit = (key: string, body: unknown, headers: Record<string, string> = {}) =>
    raw(`${gateway.url}/v1/tasks`, { method: 'POST', body, auth: key, headers });
  const getTask = (key: string, id: string) => raw(`${gateway.url}/v1/tasks/${id}`, { auth: key });
  const deleteTask = (key: string, id: string) => raw(`${gateway.url}/v1/tasks/${id}`, { method: 'DELETE', auth: key });
  const upstreamCalls = (marker: string) =>
    mock.requests.filter((call) => (call.body as { messages?: Array<{ content?: unknown }> } | undefined)?.messages?.[0]?.content === marker);

  /** Polls GET until the task reaches a final status; returns the view. */
  async function finished(key: string, id: string): Promise<TaskView> {
    return waitUntil(async () => {
      const response = await getTask(key, id);
      assert.equal(response.status, 200, response.text);
      const view = response.json as TaskView;
      return ['succeeded', 'failed', 'dead_lettered', 'cancelled'].includes(view.status) ? view : undefined;
    }, `task ${id} to finish`);
  }

  function accepted(response: RawResponse): string {
    assert.equal(response.status, 202, response.text);
    const body = response.json as { id: string };
    assert.match(body.id, /^task_[0-9a-f]{32}$/);
    assert.deepEqual(response.json, { id: body.id, object: 'breakwater.task', status: 'queued' });
    return body.id;
  }

  it('honours x-breakwater-route under the same allow-list as a synchronous request', async () => {
    mock.script({ body: chatCompletion('on the alt route', ALT_MODEL) });
    const id = accepted(await submit(KEYS.acme, { request: request('routed-1') }, { 'x-breakwater-route': 'alt' }));
    const view = await finished(KEYS.acme, id);
    assert.equal(view.status, 'succeeded', JSON.stringify(view.error));
    assert.equal(view.route, 'alt');
    assert.equal((upstreamCalls('routed-1')[0]!.body as { model: string }).model, ALT_MODEL);

    // A route the key may not use, or none such: refused at submit, nothing queued or called.
    assertClientError(await submit(KEYS.other, { request: request('routed-2') }, { 'x-breakwater-route': 'alt' }), 403, 'model_not_allowed', 'permission_error');
    assertClientError(await submit(KEYS.acme, { request: request('routed-3') }, { 'x-breakwater-route': 'nope' }), 404, 'unknown_route', 'not_found_error');
    assert.equal(upstreamCalls('routed-2').length + upstreamCalls('routed-3').length, 0);
  });

  it('GET /v1/tasks lists the caller’s tasks newest first, paginated with limit and after; another tenant sees none of them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(accepted(await submit(KEYS.lister, { request: request(`listed-${i}`) })));
      // Apart in time, so newest-first is unambiguous.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const first = await raw(`${gateway.url}/v1/tasks?limit=2`, { auth: KEYS.lister });
    assert.equal(first.status, 200, first.text);
    const page = first.json as { object: string; data: TaskView[]; first_id: string; last_id: string; has_more: boolean };
    assert.equal(page.object, 'list');
    assert.deepEqual(page.data.map((task) => task.id), [ids[2], ids[1]]);
    assert.equal(page.has_more, true);
    const second = (await raw(`${gateway.url}/v1/tasks?limit=2&after=${page.last_id}`, { auth: KEYS.lister })).json as typeof page;
    assert.deepEqual(second.data.map((task) => task.id), [ids[0]]);
    assert.equal(second.has_more, false);

    const theirs = (await raw(`${gateway.url}/v1/tasks?limit=100`, { auth: KEYS.other })).json as typeof page;
    assert.equal(theirs.data.some((task) => ids.includes(task.id)), false);
    assertClientError(await raw(`${gateway.url}/v1/tasks?limit=0`, { auth: KEYS.lister }), 400, 'invalid_request');
  });

  it('runs a submitted task to succeeded: 202 with a location, then the upstream completion, one attempt, its cost', async () => {
    const completion = chatCompletion('the task answer', MODEL);
    mock.script({ body: completion });
    const response = await submit(KEYS.acme, { request: request('scenario-1'), metadata: { batch: 'b-1' } });
    const id = accepted(response);
    assert.equal(response.headers.get('location'), `/v1/tasks/${id}`);

    const view = await waitUntil(async () => {
      const polled = await raw(`${gateway.url}${response.headers.get('location')}`, { auth: KEYS.acme });
      assert.equal(polled.status, 200, polled.text);
      const task = polled.json as TaskView;
      assert.ok(['queued', 'running', 'succeeded'].includes(task.status), `unexpected status ${task.status}: ${polled.text}`);
      return task.status === 'succeeded' ? task : undefined;
    }, 'the task to succeed');

    assert.deepEqual(view.result, completion);
    assert.equal(view.attempts, 1);
    assert.equal(view.id, id);
    assert.equal(view.object, 'breakwater.task');
    assert.equal(view.priority, 'normal');
    assert.equal(view.error, null);
    assert.deepEqual(view.metadata, { batch: 'b-1' });
    // gpt-4o-mini: 5 prompt tokens at $0.15/M and 4 completion tokens at $0.60/M.
    assert.equal(typeof view.cost_usd, 'number');
    assert.equal(view.cost_usd, 0.00000315);
    assert.equal(typeof view.finished_at, 'number');
    assert.ok(view.finished_at! >= view.created_at);
    const calls = upstreamCalls('scenario-1');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.deepEqual(worker.deliveriesOf(id).map((delivery) => delivery.receiveCount), [1]);
  });

  it('gives the same task for the same Idempotency-Key, calls the upstream once, and refuses the key with another body (422)', async () => {
    const body = { request: request('scenario-2') };
    const headers = { 'idempotency-key': 'order-2-attempt' };
    const sendsBefore = gateway.sends();
    const first = accepted(await submit(KEYS.acme, body, headers));
    const view = await finished(KEYS.acme, first);
    assert.equal(view.status, 'succeeded');

    const again = await submit(KEYS.acme, body, headers);
    assert.equal(again.status, 202, again.text);
    assert.deepEqual(again.json, { id: first, object: 'breakwater.task', status: 'succeeded' });
    // The replay reports the task's current status and enqueues nothing.
    assert.equal(gateway.sends() - sendsBefore, 1);

    const reused = await submit(KEYS.acme, { request: request('scenario-2-other') }, headers);
    assertClientError(reused, 422, 'idempotency_key_reused');

    // The same key from another tenant is another task.
    const theirs = accepted(await submit(KEYS.other, body, headers));
    assert.notEqual(theirs, first);
    assert.equal((await finished(KEYS.other, theirs)).status, 'succeeded');

    assert.equal((await finished(KEYS.acme, first)).attempts, 1);
    assert.equal(upstreamCalls('scenario-2').length, 2, 'once for acme, once for the other tenant');
    assert.equal(upstreamCalls('scenario-2-other').length, 0);
    assert.equal(worker.deliveriesOf(first).length, 1);
  });

  it('gives one task for concurrent submits with the same Idempotency-Key, and calls the upstream once', async () => {
    const body = { request: request('scenario-2-concurrent') };
    const headers = { 'idempotency-key': 'order-2-concurrent' };
    const sendsBefore = gateway.sends();
    const responses = await Promise.all(Array.from({ length: 5 }, () => submit(KEYS.acme, body, headers)));
    const ids = responses.map((response) => {
      assert.equal(response.status, 202, response.text);
      return (response.json as { id: string }).id;
    });
    assert.equal(new Set(ids).size, 1);
    const id = ids[0]!;
    const view = await finished(KEYS.acme, id);
    assert.equal(view.status, 'succeeded');
    assert.equal(view.attempts, 1);
    // Concurrent submits may enqueue the task more than once; the worker's claim runs it once.
    const sent = gateway.sends() - sendsBefore;
    // A copy received while the first run holds the claim comes back after the lease (the
    // invocation's time left, FUNCTION_TIMEOUT_MS at most) and is then dropped as finished.
    await waitUntil(
      () => (worker.deliveriesOf(id).filter((delivery) => delivery.settled === 'deleted').length === sent ? true : undefined),
      `all ${sent} enqueued copies to be dropped`,
      FUNCTION_TIMEOUT_MS + TASK_WAIT_MS,
    );
    assert.equal(upstreamCalls('scenario-2-concurrent').length, 1);
    assert.equal(((await getTask(KEYS.acme, id)).json as TaskView).attempts, 1);
  });

  it('scopes a task to its tenant (404), cancels a queued task which the worker then skips, and refuses to cancel a finished one (409)', async () => {
    await worker.stop();
    let cancelledId: string;
    try {
      cancelledId = accepted(await submit(KEYS.acme, { request: request('scenario-3-cancelled') }));

      const foreign = await getTask(KEYS.other, cancelledId);
      assertClientError(foreign, 404, 'task_not_found', 'not_found_error');
      assertClientError(await deleteTask(KEYS.other, cancelledId), 404, 'task_not_found', 'not_found_error');
      assertClientError(await getTask(KEYS.acme, 'task_00000000000000000000000000000000'), 404, 'task_not_found', 'not_found_error');

      const cancelled = await deleteTask(KEYS.acme, cancelledId);
      assert.equal(cancelled.status, 200, cancelled.text);
      const view = cancelled.json as TaskView;
      assert.equal(view.id, cancelledId);
      assert.equal(view.status, 'cancelled');
      assert.equal(view.attempts, 0);
    } finally {
      await worker.start();
    }

    // The message is still on the queue: the worker receives it, finds the task cancelled, drops it.
    await waitUntil(() => (worker.deliveriesOf(cancelledId)[0]?.settled ? true : undefined), 'the cancelled task to be delivered');
    assert.deepEqual(worker.deliveriesOf(cancelledId), [
      { taskId: cancelledId, tenant: 'acme', receiveCount: 1, queueArn: queues.queues.normal.arn, settled: 'deleted' },
    ]);
    const again = assertClientError(await deleteTask(KEYS.acme, cancelledId), 409, 'task_not_cancellable');
    assert.equal(again.error.task_status, 'cancelled');
    const after = await getTask(KEYS.acme, cancelledId);
    assert.equal((after.json as TaskView).status, 'cancelled');
    assert.equal((after.json as TaskView).attempts, 0);
    assert.equal(upstreamCalls('scenario-3-cancelled').length, 0);

    const done = accepted(await submit(KEYS.acme, { request: request('scenario-3-done') }));
    assert.equal((await finished(KEYS.acme, done)).status, 'succeeded');
    const refused = await deleteTask(KEYS.acme, done);
    const body = assertClientError(refused, 409, 'task_not_cancellable');
    assert.equal(body.error.task_status, 'succeeded');
    assert.equal(((await getTask(KEYS.acme, done)).json as TaskView).status, 'succeeded');
  });

  it('rejects bad task bodies at submit with 400 and enqueues nothing', async () => {
    const sendsBefore = gateway.sends();
    const deliveriesBefore = worker.deliveries.length;
    const cases: Array<{ body: unknown; code: string; param?: string; reason?: string }> = [
      { body: '{"request":', code: 'invalid_request' },
      { body: { request: { model: MODEL, messages: 'x' } }, code: 'invalid_request' },
      { body: { request: request('scenario-4', { stream: true }) }, code: 'streaming_unsupported', param: 'request.stream' },
      { body: { request: request('scenario-4'), priority: 'urgent' }, code: 'invalid_request' },
      { body: { request: request('scenario-4'), priorty: 'high' }, code: 'invalid_request' },
      { body: { priority: 'high' }, code: 'invalid_request' },
      { body: { request: request('scenario-4'), callback_url: 'ftp://example.com/hook' }, code: 'invalid_request' },
      {
        body: { request: request('scenario-4'), callback_url: 'http://169.254.169.254/latest/meta-data/' },
        code: 'invalid_request',
        param: 'callback_url',
        reason: 'forbidden_address',
      },
    ];
    for (const { body, code, param, reason } of cases) {
      const response = await submit(KEYS.acme, body);
      const error = assertClientError(response, 400, code).error;
      if (param !== undefined) assert.equal(error.param, param, response.text);
      if (reason !== undefined) assert.equal(error.reason, reason, response.text);
    }
    // Metadata endpoints stay refused even for a tenant allowed private callbacks.
    const metadata = await submit(KEYS.hooks, { request: request('scenario-4'), callback_url: 'http://169.254.169.254/' });
    assert.equal(assertClientError(metadata, 400, 'invalid_request').error.reason, 'forbidden_address');

    assert.equal(gateway.sends(), sendsBefore);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(worker.deliveries.length, deliveriesBefore);
    assert.equal(upstreamCalls('scenario-4').length, 0);
  });

  it('retries transient upstream failures through redelivery: 503, 503, then 200 ends succeeded on the third attempt', async () => {
    const completion = chatCompletion('after two 503s', MODEL);
    const overloaded = { status: 503, body: { error: { message: 'overloaded', type: 'server_error', code: null } } };
    mock.script(overloaded, overloaded, { body: completion });
    const started = Date.now();
    const id = accepted(await submit(KEYS.flaky, { request: request('scenario-5') }));
    const view = await finished(KEYS.flaky, id);

    assert.equal(view.status, 'succeeded', JSON.stringify(view));
    assert.deepEqual(view.result, completion);
    assert.equal(view.attempts, 3);
    assert.equal(upstreamCalls('scenario-5').length, 3);
    assert.deepEqual(worker.deliveriesOf(id).map((delivery) => delivery.receiveCount), [1, 2, 3]);
    assert.ok(Date.now() - started < 5_000, `the 0 s backoff base brings redeliveries back at once (took ${Date.now() - started} ms)`);
  });

  it('refuses at submit a task whose worst case is over the tenant max_request_cost_usd: a sure failure is never queued', async () => {
    const sendsBefore = gateway.sends();
    const response = await submit(KEYS.stingy, { request: request('scenario-6-cost') });
    assertClientError(response, 400, 'request_cost_exceeds_limit');
    assert.equal(gateway.sends(), sendsBefore, 'nothing was enqueued');
    assert.equal(upstreamCalls('scenario-6-cost').length, 0);
  });

  it('fails a task at once when the upstream rejects the request (400), calling it once', async () => {
    mock.script({ status: 400, body: { error: { message: 'bad messages', type: 'invalid_request_error', code: null } } });
    const id = accepted(await submit(KEYS.acme, { request: request('scenario-6-upstream') }));
    const view = await finished(KEYS.acme, id);
    assert.equal(view.status, 'failed');
    assert.equal(view.error?.code, 'upstream_rejected');
    assert.equal(view.attempts, 1);
    assert.equal(upstreamCalls('scenario-6-upstream').length, 1);
    assert.deepEqual(worker.deliveriesOf(id).map((delivery) => delivery.receiveCount), [1]);
  });

  it('POSTs the finished task, signed with the tenant secret, to a loopback callback the tenant policy allows', async () => {
    const before = receiver.received.length;
    const id = accepted(await submit(KEYS.hooks, { request: request('scenario-7'), callback_url: receiver.url, priority: 'high' }));
    const view = await finished(KEYS.hooks, id);
    assert.equal(view.status, 'succeeded');
    assert.equal(view.priority, 'high');
    assert.deepEqual(worker.deliveriesOf(id).map((delivery) => delivery.queueArn), [queues.queues.high.arn]);
    assert.equal(view.callback_url, receiver.url);

    const callback = await waitUntil(() => receiver.received[before], 'the callback');
    assert.equal(receiver.received.length, before + 1);
    const signature = callback.headers[SIGNATURE_HEADER];
    assert.equal(typeof signature, 'string');
    assert.equal(verifySignature(signature as string, callback.body, CALLBACK_SECRET), true);
    assert.equal(verifySignature(signature as string, callback.body, 'another-secret'), false);
    assert.equal(verifySignature(signature as string, callback.body.replace('succeeded', 'failed'), CALLBACK_SECRET), false);
    assert.equal(callback.headers['x-breakwater-tenant'], 'hooks');
    assert.equal(callback.headers['content-type'], 'application/json');
    // The task as GET shows it (the callback is sent after the final write).
    assert.deepEqual(JSON.parse(callback.body), view);
  });

  it('refuses a loopback callback_url from a tenant without callback_allow_private (400), enqueuing nothing', async () => {
    const sendsBefore = gateway.sends();
    const response = await submit(KEYS.acme, { request: request('scenario-7-refused'), callback_url: receiver.url });
    const error = assertClientError(response, 400, 'invalid_request').error;
    assert.equal(error.param, 'callback_url');
    assert.equal(error.reason, 'forbidden_address');
    assert.equal(gateway.sends(), sendsBefore);
    assert.equal(upstreamCalls('scenario-7-refused').length, 0);
  });
});
