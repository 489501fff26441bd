import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { memoryStaleStore } from '../../support/toolServers/fakeToolState';
import { echo, resetConnection, sendJson, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { startToolGateway, type ToolGateway } from '../../support/toolServers/startToolGateway';
import { toolSecretSource } from '../../support/toolServers/toolSecrets';
import { recordingClock } from '../../support/startGateway';

/** A loopback port nothing listens on: connecting is refused before any byte of the request leaves. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Answers `statuses` in order (then 200), each as JSON. */
const scripted = (...statuses: Array<number | { status: number; headers?: Record<string, string> }>) => {
  const queue = [...statuses];
  return ((request, res) => {
    const next = queue.shift() ?? 200;
    const { status, headers } = typeof next === 'number' ? { status: next, headers: {} } : next;
    sendJson(res, status, { status, url: request.url }, headers);
  }) satisfies MockToolServer['handler'];
};

describe('e2e: tool proxy retries, breaker, stale answers and streaming', () => {
  let api: MockToolServer;
  let stack: ToolGateway;
  const stale = memoryStaleStore();
  const clock = recordingClock();
  let deadPort: number;

  const fast = { attempts: 2, base_delay_ms: 1, max_delay_ms: 5 };
  const auditOf = (linesBefore: number) =>
    stack.logs
      .records()
      .slice(linesBefore)
      .filter((record) => record.event === 'tool_call');

  before(async () => {
    api = await startMockToolServer();
    deadPort = await closedPort();
    stack = await startToolGateway({
      secrets: toolSecretSource(),
      clock,
      stateServices: { staleResponses: stale },
      services: {
        // Its breaker never trips here: these tests fail it on purpose, many times.
        flaky: {
          base_url: api.url,
          retry: { ...fast, max_retry_after_ms: 1_500 },
          circuit_breaker: { failure_threshold: 1_000, failure_threshold_percentage: 100, minimum_requests: 1_000 },
        },
        fragile: {
          base_url: api.url,
          retry: { attempts: 0 },
          circuit_breaker: { failure_threshold: 2, cooldown_interval: 60_000 },
          cache: { max_stale_seconds: 3_600 },
        },
        gone: { base_url: `http://127.0.0.1:${deadPort}`, retry: fast },
      },
    });
  });

  after(async () => {
    await stack.close();
    await api.close();
  });

  beforeEach(() => {
    api.reset();
    clock.sleeps.length = 0;
  });

  it('retries a GET after 503s and relays the good answer', async () => {
    api.handler = scripted(503, 503, 200);
    const response = await stack.call('flaky/items');
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { status: number }).status, 200);
    assert.equal(api.requests.length, 3);
    assert.equal(response.headers.get('x-breakwater-attempts'), '3');
  });

  it('relays the last failure when the retries run out', async () => {
    api.handler = scripted(502, 502, 502);
    const response = await stack.call('flaky/items');
    assert.equal(response.status, 502);
    assert.equal(api.requests.length, 3);
  });

  it('waits out a Retry-After before retrying', async () => {
    api.handler = scripted({ status: 429, headers: { 'retry-after': '1' } }, 200);
    const response = await stack.call('flaky/items');
    assert.equal(response.status, 200);
    assert.deepEqual(clock.sleeps, [1_000]);
  });

  it('does not wait out a Retry-After past max_retry_after_ms: the 429 goes back as it came', async () => {
    api.handler = scripted({ status: 429, headers: { 'retry-after': '30' } });
    const response = await stack.call('flaky/items');
    assert.equal(response.status, 429);
    assert.equal(response.headers.get('retry-after'), '30');
    assert.equal(api.requests.length, 1);
  });

  it('never retries a POST without an Idempotency-Key after a reset mid-request: the API sees it once', async () => {
    api.handler = resetConnection;
    const linesBefore = stack.logs.lines.length;
    const response = await stack.call('flaky/v1/charges', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":100}' });
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(response.status, 502);
    assert.equal(body.error.code, 'service_failed');
    assert.equal(api.requests.length, 1);
    assert.equal(auditOf(linesBefore)[0]?.attempts, 1);
  });

  it('never retries a POST without an Idempotency-Key after a 503', async () => {
    api.handler = scripted(503);
    const response = await stack.call('flaky/v1/charges', { method: 'POST', body: 'amount=100', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(response.status, 503);
    assert.equal(api.requests.length, 1);
  });

  it('retries a POST with an Idempotency-Key after a 503, forwarding the key every time', async () => {
    api.handler = scripted(503, 200);
    const response = await stack.call('flaky/v1/charges', { method: 'POST', body: '{"amount":100}', headers: { 'idempotency-key': 'order-7-charge' } });
    assert.equal(response.status, 200);
    assert.equal(api.requests.length, 2);
    assert.deepEqual(
      api.requests.map((request) => request.headers['idempotency-key']),
      ['order-7-charge', 'order-7-charge'],
    );
    assert.deepEqual(
      api.requests.map((request) => request.body.toString()),
      ['{"amount":100}', '{"amount":100}'],
    );
  });

  it('retries a POST without a key when the connection was refused (nothing was sent), then says so', async () => {
    const linesBefore = stack.logs.lines.length;
    const response = await stack.call('gone/v1/charges', { method: 'POST', body: '{}' });
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(response.status, 502);
    assert.equal(body.error.code, 'service_failed');
    assert.match(body.error.message, /ECONNREFUSED/);
    assert.equal(auditOf(linesBefore)[0]?.attempts, 3);
  });

  it('streams a large body: the first bytes reach the client before the API finished', async () => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let ended = false;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    api.handler = async (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(chunk);
      await finished;
      for (let i = 0; i < 15; i++) res.write(chunk);
      res.end(() => (ended = true));
    };
    const response = await stack.call('flaky/export');
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.length > 0);
    assert.equal(ended, false, 'the first bytes came before the API finished');
    finish();
    let total = first.value.length;
    for (let next = await reader.read(); !next.done; next = await reader.read()) total += next.value.length;
    assert.equal(total, 16 * chunk.length);
  });

  it('opens the breaker after failures; a GET is then served stale, anything else is a 503 with Retry-After', async () => {
    api.handler = (request, res) => sendJson(res, 200, { items: ['good'], url: request.url }, { etag: '"v1"' });
    const good = await stack.call('fragile/items?page=1', { headers: { accept: 'application/json' } });
    assert.equal(good.status, 200);
    const goodBody = await good.text();
    // The stale copy is kept once the body has been relayed to its end.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stale.entries.size, 1);

    api.handler = scripted(500, 500);
    assert.equal((await stack.call('fragile/items?page=2')).status, 500);
    assert.equal((await stack.call('fragile/items?page=3')).status, 500);
    const callsWhenOpened = api.requests.length;

    const served = await stack.call('fragile/items?page=1', { headers: { accept: 'application/json' } });
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('x-breakwater-degraded'), 'stale-cache');
    assert.match(served.headers.get('x-breakwater-stale-seconds') ?? '', /^\d+$/);
    assert.equal(served.headers.get('etag'), '"v1"');
    assert.equal(await served.text(), goodBody);

    const uncached = await stack.call('fragile/items?page=9');
    assert.equal(uncached.status, 503);
    assert.equal(((await uncached.json()) as { error: { code: string } }).error.code, 'service_unavailable');
    assert.ok(Number(uncached.headers.get('retry-after')) >= 1);

    const post = await stack.call('fragile/items', { method: 'POST', body: '{}', headers: { 'idempotency-key': 'k1' } });
    assert.equal(post.status, 503);
    assert.equal(api.requests.length, callsWhenOpened, 'nothing reached the API while the breaker was open');
  });

  it('relays a binary answer byte for byte', async () => {
    // (Binary uploads arrive base64-encoded from API Gateway with binary media types: see the
    // toolCallFromEvent unit test. The local server hands bodies over as UTF-8 text.)
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
    api.handler = (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      res.end(bytes);
    };
    const response = await stack.call('flaky/files/report.pdf');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/pdf');
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
  });

  it('an upstream 3xx is relayed as is, never followed', async () => {
    api.handler = (_request, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example/steal' });
      res.end();
    };
    const response = await stack.call('flaky/redirect', { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'https://elsewhere.example/steal');
    assert.equal(api.requests.length, 1);
  });

  it('relays HEAD, PUT and DELETE with their methods', async () => {
    api.handler = echo;
    for (const method of ['HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const response = await stack.call('flaky/things/1', { method, body: method === 'PUT' || method === 'PATCH' ? '{"a":1}' : undefined });
      assert.equal(response.status, 200, method);
      await response.arrayBuffer();
    }
    assert.deepEqual(
      api.requests.map((request) => request.method),
      ['HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'],
    );
  });
});
