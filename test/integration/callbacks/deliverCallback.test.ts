import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  backoffDelay,
  type BackoffOptions,
} from '../../../shared/resilience';
import {
  deliverCallback,
  SIGNATURE_HEADER,
  verifySignature,
  type HostLookup,
} from '../../../shared/callbacks';
import { fakeClock, scriptedRandom } from '../../support/fakeClock';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  signatureValid: boolean;
}

const secret = 'whsec_integration_secret';
const backoff: BackoffOptions = { mode: 'full', baseMs: 1_000, capMs: 30_000 };

/**
 * A loopback webhook receiver: answers with the scripted statuses in order (then 200) and
 * verifies every signature the way a tenant's receiver would.
 */
function startReceiver() {
  const received: Received[] = [];
  let script: Array<{ status: number; headers?: Record<string, string> } | 'hang'> = [];
  let verifyClock = fakeClock();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[SIGNATURE_HEADER];
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        signatureValid: verifySignature(typeof header === 'string' ? header : undefined, body, secret, { clock: verifyClock }),
      });
      const next = script.shift() ?? { status: 200 };
      if (next === 'hang') return; // never answers: the sender's timeout must fire
      res.writeHead(next.status, { 'content-type': 'text/plain', ...next.headers });
      res.end('ok');
    });
  });
  return {
    server,
    received,
    script: (steps: typeof script) => {
      script = steps;
    },
    verifyWith: (clock: ReturnType<typeof fakeClock>) => {
      verifyClock = clock;
    },
    reset: () => {
      received.length = 0;
      script = [];
    },
  };
}

describe('deliverCallback against a loopback receiver', () => {
  const receiver = startReceiver();
  let port: number;
  let base: string;

  before(async () => {
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    port = (receiver.server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    receiver.server.closeAllConnections();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  });
  beforeEach(() => receiver.reset());

  it('retries with backoff after two failures, then delivers; every attempt is signed and verifies', async () => {
    const clock = fakeClock();
    receiver.verifyWith(clock);
    receiver.script([{ status: 503 }, { status: 500 }]);
    const body = { id: 'task_1', status: 'succeeded', result: { choices: [] } };

    const result = await deliverCallback({
      url: `${base}/hooks/breakwater?x=1`,
      body,
      tenant: 'acme',
      signingSecret: secret,
      allowPrivate: true,
      clock,
      random: scriptedRandom(0.5, 0.25),
      maxAttempts: 4,
      backoff,
    });

    assert.deepEqual(result, { delivered: true, attempts: 3, lastStatus: 200 });
    assert.deepEqual(clock.sleeps, [
      backoffDelay(0, backoff, scriptedRandom(0.5)),
      backoffDelay(1, backoff, scriptedRandom(0.25)),
    ]);
    assert.deepEqual(clock.sleeps, [500, 500]);
    assert.equal(receiver.received.length, 3);
    receiver.received.forEach((r, index) => {
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/hooks/breakwater?x=1');
      assert.equal(r.body, JSON.stringify(body));
      assert.equal(r.signatureValid, true, `attempt ${index + 1} signature`);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['user-agent'], 'Breakwater-Callback/1');
      assert.equal(r.headers['x-breakwater-tenant'], 'acme');
      assert.equal(r.headers['x-breakwater-attempt'], String(index + 1));
    });
    // Signed afresh per attempt: the timestamps follow the clock through the backoff sleeps.
    assert.deepEqual(
      receiver.received.map((r) => String(r.headers[SIGNATURE_HEADER]).split(',')[0]),
      ['t=1700000000', 't=1700000000', 't=1700000001'],
    );
  });

  it('a receiver with another secret rejects the signature', async () => {
    const clock = fakeClock();
    receiver.verifyWith(clock);
    const result = await deliverCallback({
      url: `${base}/hook`,
      body: '{"id":"task_2"}',
      tenant: 'acme',
      signingSecret: 'a-different-secret',
      allowPrivate: true,
      clock,
    });
    assert.equal(result.delivered, true);
    assert.equal(receiver.received[0]?.signatureValid, false);
  });

  it('gives up at once on a 4xx other than 408/429', async () => {
    receiver.script([{ status: 400 }, { status: 200 }]);
    const clock = fakeClock();
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true, clock,
    });
    assert.deepEqual(result, { delivered: false, attempts: 1, lastStatus: 400, error: 'receiver answered 400' });
    assert.deepEqual(clock.sleeps, []);
    assert.equal(receiver.received.length, 1);
  });

  it('does not follow redirects (they could point past the address check)', async () => {
    receiver.script([{ status: 302, headers: { location: 'http://169.254.169.254/' } }]);
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true, clock: fakeClock(),
    });
    assert.deepEqual(result, { delivered: false, attempts: 1, lastStatus: 302, error: 'receiver answered 302' });
    assert.equal(receiver.received.length, 1);
  });

  it('retries 408 and 429, honouring Retry-After up to the cap', async () => {
    receiver.script([{ status: 429, headers: { 'retry-after': '5' } }, { status: 408 }]);
    const clock = fakeClock();
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true,
      clock, random: scriptedRandom(0.1), backoff,
    });
    assert.deepEqual(result, { delivered: true, attempts: 3, lastStatus: 200 });
    assert.deepEqual(clock.sleeps, [5_000, 200]);
  });

  it('stops after maxAttempts and reports the last status', async () => {
    receiver.script([{ status: 503 }, { status: 503 }, { status: 502 }, { status: 200 }]);
    const clock = fakeClock();
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true,
      clock, random: scriptedRandom(1 - Number.EPSILON), maxAttempts: 3, backoff,
    });
    assert.deepEqual(result, { delivered: false, attempts: 3, lastStatus: 502, error: 'receiver answered 502' });
    assert.equal(clock.sleeps.length, 2);
    assert.ok(clock.sleeps[0]! < 1_000 && clock.sleeps[0]! > 999, `first delay ${clock.sleeps[0]}`);
    assert.ok(clock.sleeps[1]! < 2_000 && clock.sleeps[1]! > 1_999, `second delay ${clock.sleeps[1]}`);
    assert.equal(receiver.received.length, 3);
  });

  it('refuses a loopback receiver without allowPrivate, and sends nothing', async () => {
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, clock: fakeClock(),
    });
    assert.deepEqual(result, {
      delivered: false,
      attempts: 1,
      error: 'callback_url refused: 127.0.0.1 is a loopback address (the tenant policy does not allow private callbacks)',
    });
    assert.equal(receiver.received.length, 0);
  });

  it('refuses localhost by name too (resolved, then refused)', async () => {
    const result = await deliverCallback({
      url: `http://localhost:${port}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, clock: fakeClock(),
    });
    assert.equal(result.delivered, false);
    assert.equal(result.attempts, 1);
    assert.match(result.error ?? '', /host localhost resolves to a loopback address/);
    assert.equal(receiver.received.length, 0);
  });

  it('connects to the vetted address, resolving the name once per attempt (no rebinding window)', async () => {
    const calls: string[] = [];
    const lookup: HostLookup = async (host) => {
      calls.push(host);
      // A rebinding resolver would answer differently the second time; nobody must ask it again.
      return calls.length === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
    };
    const result = await deliverCallback({
      url: `http://hooks.rebind.test:${port}/hook`, body: '{}', tenant: 'acme', signingSecret: secret,
      allowPrivate: true, lookup, clock: fakeClock(),
    });
    assert.deepEqual(result, { delivered: true, attempts: 1, lastStatus: 200 });
    assert.deepEqual(calls, ['hooks.rebind.test']);
    assert.equal(receiver.received[0]?.headers.host, `hooks.rebind.test:${port}`);
  });

  it('re-checks the address before each retry: a name that turns private is refused', async () => {
    receiver.script([{ status: 503 }]);
    let call = 0;
    const lookup: HostLookup = async () =>
      ++call === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
    const result = await deliverCallback({
      url: `http://hooks.rebind.test:${port}/hook`, body: '{}', tenant: 'acme', signingSecret: secret,
      allowPrivate: true, lookup, clock: fakeClock(), random: scriptedRandom(0),
    });
    assert.deepEqual(result, {
      delivered: false,
      attempts: 2,
      lastStatus: 503,
      error: 'callback_url refused: host hooks.rebind.test resolves to a metadata address',
    });
    assert.equal(receiver.received.length, 1);
  });

  it('times out a receiver that never answers, and retries', async () => {
    receiver.script(['hang', 'hang']);
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true,
      clock: fakeClock(), random: scriptedRandom(0), timeoutMs: 150, maxAttempts: 2,
    });
    assert.deepEqual(result, { delivered: false, attempts: 2, error: 'timed out after 150 ms' });
    assert.equal(receiver.received.length, 2);
  });

  it('retries a refused connection (receiver down)', async () => {
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const downPort = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const clock = fakeClock();
    const result = await deliverCallback({
      url: `http://127.0.0.1:${downPort}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true,
      clock, random: scriptedRandom(0), maxAttempts: 2,
    });
    assert.deepEqual(result, { delivered: false, attempts: 2, error: 'network error (ECONNREFUSED)' });
    assert.equal(clock.sleeps.length, 1);
  });

  it('stops retrying once the caller aborts (e.g. near the Lambda deadline)', async () => {
    receiver.script([{ status: 503 }, { status: 503 }]);
    const controller = new AbortController();
    const clock = fakeClock();
    const sleeping = {
      ...clock,
      sleep: async (ms: number, signal?: AbortSignal) => {
        controller.abort(new Error('deadline'));
        return clock.sleep(ms, signal).then(() => {
          if (signal?.aborted) throw signal.reason;
        });
      },
    };
    const result = await deliverCallback({
      url: `${base}/hook`, body: '{}', tenant: 'acme', signingSecret: secret, allowPrivate: true,
      clock: sleeping, signal: controller.signal, maxAttempts: 5,
    });
    assert.deepEqual(result, { delivered: false, attempts: 1, lastStatus: 503, error: 'aborted' });
    assert.equal(receiver.received.length, 1);
  });
});
