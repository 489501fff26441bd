import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HTTP_ERROR_CODES, isHttpClientError } from '../../../shared/http/httpClient';
import { httpStream, readBodyText } from '../../../shared/http/httpStream';
import { startMockUpstream, type MockUpstream } from '../../support/mockUpstream';

const collect = async (body: AsyncIterable<Buffer>) => {
  let text = '';
  for await (const chunk of body) text += chunk.toString('utf8');
  return text;
};

const waitFor = async (check: () => boolean, ms: number) => {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  return check();
};

describe('httpStream', () => {
  let upstream: MockUpstream;
  before(async () => {
    upstream = await startMockUpstream();
  });
  after(() => upstream.close());
  beforeEach(() => upstream.reset());

  const post = (timeoutMs = 2_000) =>
    httpStream({
      url: `${upstream.baseUrl}/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm' }),
      timeoutMs,
    });

  it('resolves at the head, before the body has been written', async () => {
    // Prepare: the second frame comes 300 ms after the head.
    upstream.script({ sse: ['data: one', 'data: two'], frameDelayMs: 150 });
    const started = Date.now();

    // Act
    const response = await post();
    const atHead = Date.now() - started;
    const text = await collect(response.body);

    // Assess
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/event-stream');
    assert.ok(atHead < 150, `resolved at the head, after ${atHead} ms`);
    assert.equal(text, 'data: one\n\ndata: two\n\n');
    assert.deepEqual(upstream.requests[0]?.body, { model: 'm' });
  });

  it('bounds only the wait for the head: a slow body outlives the timeout', async () => {
    upstream.script({ sse: ['data: a', 'data: b', 'data: c'], frameDelayMs: 80 });
    const response = await post(100);
    assert.equal(await collect(response.body), 'data: a\n\ndata: b\n\ndata: c\n\n');
  });

  it('rejects with ATTEMPT_TIMEOUT when no head arrives in time', async () => {
    upstream.script({ delayMs: 1_000 });
    const started = Date.now();
    await assert.rejects(post(100), (error) => isHttpClientError(error) && error.code === HTTP_ERROR_CODES.TIMEOUT);
    assert.ok(Date.now() - started < 800);
  });

  it("rejects with node's code when the connection is reset before the head", async () => {
    upstream.script({ reset: true });
    await assert.rejects(post(), (error) => isHttpClientError(error) && error.code === 'ECONNRESET');
  });

  it('abort() closes the upstream connection at once', async () => {
    upstream.script({ sse: ['data: one'], hangAfterFrames: 1 });
    const response = await post();
    response.abort();
    assert.ok(await waitFor(() => upstream.closedEarly === 1, 1_000), 'the mock saw the connection close early');
  });

  it('a body cut mid-stream yields every byte that came before failing with a socket error', async () => {
    // The frames and the cut reach the client together: the bytes must not be dropped with the socket.
    upstream.script({ sse: ['data: one', 'data: two', 'data: three'], cutAfterFrames: 2 });
    const response = await post();
    let text = '';
    const error = await (async () => {
      try {
        for await (const chunk of response.body) text += chunk.toString('utf8');
      } catch (caught) {
        return caught as NodeJS.ErrnoException;
      }
      return undefined;
    })();
    assert.equal(text, 'data: one\n\ndata: two\n\n');
    assert.equal(error?.code, 'ECONNRESET');
    assert.equal(upstream.closedEarly, 0, 'a cut the mock made is not a client closing early');
  });
});

describe('readBodyText', () => {
  let server: http.Server;
  let url = '';
  let handler: (res: http.ServerResponse) => void = (res) => res.end();
  before(async () => {
    server = http.createServer((_req, res) => handler(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const get = () => httpStream({ url, method: 'GET', headers: {}, timeoutMs: 2_000 });

  it('reads a whole error body', async () => {
    handler = (res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"slow down"}}');
    };
    const response = await get();
    assert.equal(response.status, 429);
    assert.equal(await readBodyText(response.body), '{"error":{"message":"slow down"}}');
  });

  it('stops at the cap and closes the connection instead of draining it', async () => {
    let closed = false;
    handler = (res) => {
      res.on('close', () => (closed = true));
      res.writeHead(500);
      res.write('x'.repeat(10_000));
      // Never ends: only the cap can finish the read.
    };
    const response = await get();
    assert.equal(await readBodyText(response.body, { maxBytes: 1_000 }), 'x'.repeat(1_000));
    assert.ok(await waitFor(() => closed, 1_000), 'the connection was closed');
  });

  it('gives up after its timeout with what came', async () => {
    handler = (res) => {
      res.writeHead(502);
      res.write('partial');
    };
    const response = await get();
    const started = Date.now();
    assert.equal(await readBodyText(response.body, { timeoutMs: 100 }), 'partial');
    assert.ok(Date.now() - started < 1_000);
  });
});
