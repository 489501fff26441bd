/**
 * The local API Gateway server with response-streaming handlers, the way `npm start` and the
 * e2e tests run the gateway: Middy in streaming mode on the local `awslambda`, the prelude
 * parsed into the HTTP head, the body piped chunk by chunk, a client that leaves destroying the
 * handler's body stream.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { API_GATEWAY_MAX_BODY_BYTES, startApiGatewayServer, type RunningServer } from '../../../bin/local/apiGatewayServer';
import {
  installAwsLambdaGlobal,
  invokeStreamingHandler,
  isStreamingHandler,
  localAwsLambda,
  MalformedStreamingResponseError,
  type StreamingHandler,
} from '../../../bin/local/lambdaStreaming';
import { lambdaContext, proxyEvent, readText } from '../../support/proxyEvent';

installAwsLambdaGlobal();

interface Result {
  statusCode: number;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  cookies?: string[];
  body: string | Readable;
}

/** A Middy streaming handler (as the gateway's) around `inner`. */
function streaming(inner: (event: APIGatewayProxyEvent) => Promise<Result>): StreamingHandler<APIGatewayProxyEvent> {
  return middy<APIGatewayProxyEvent, Result>({ streamifyResponse: true }).handler(inner) as unknown as StreamingHandler<APIGatewayProxyEvent>;
}

/** A body stream the test feeds by hand; `destroyed` resolves when whoever reads it destroys it. */
function controlledBody() {
  const body = new Readable({ read() {} });
  // Not events.once: a body destroyed with an error emits 'error' before 'close'.
  const closed = new Promise<boolean>((resolve) => body.once('close', () => resolve(body.destroyed)));
  body.on('error', () => {});
  return { body, closed, push: (text: string) => body.push(text), end: () => body.push(null) };
}

/** GET `url`, resolving at the head with the response still streaming. */
function get(url: string, options: http.RequestOptions = {}): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => resolve({ req, res }));
    req.on('error', reject);
    req.end();
  });
}

function nextChunk(res: http.IncomingMessage): Promise<string> {
  return once(res, 'data').then(([chunk]) => String(chunk));
}

describe('local API Gateway server: response-streaming handlers', () => {
  const servers: RunningServer[] = [];
  const serve = async (handler: Parameters<typeof startApiGatewayServer>[0]['handler'], extra: Partial<Parameters<typeof startApiGatewayServer>[0]> = {}) => {
    const server = await startApiGatewayServer({ handler, port: 0, ...extra });
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const server of servers) await server.close();
  });

  it('marks Middy streaming handlers as the runtime would', () => {
    assert.ok(isStreamingHandler(streaming(async () => ({ statusCode: 200, body: '' }))));
    assert.ok(!isStreamingHandler(async () => ({ statusCode: 200, body: '' })));
  });

  it('sends the head with the first body chunk, then each chunk as it comes, with the handler still running', async () => {
    const feed = controlledBody();
    const server = await serve(
      streaming(async () => ({ statusCode: 200, headers: { 'content-type': 'text/event-stream', 'x-served-by': 'test' }, body: feed.body })),
    );
    const head = get(`${server.url}/v1/chat/completions`);
    // As on Lambda, the prelude goes out just before the first body byte: not before.
    const early = await Promise.race([head.then(() => 'head'), new Promise((resolve) => setTimeout(resolve, 100, 'nothing'))]);
    assert.equal(early, 'nothing');
    feed.push('data: one\n\n');
    const { res } = await head;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['x-served-by'], 'test');
    assert.equal(await nextChunk(res), 'data: one\n\n');
    feed.push('data: two\n\n');
    assert.equal(await nextChunk(res), 'data: two\n\n');
    feed.end();
    await once(res, 'end');
  });

  it("destroys the handler's body stream when the client disconnects mid-stream", async () => {
    const feed = controlledBody();
    const server = await serve(streaming(async () => ({ statusCode: 200, headers: { 'content-type': 'text/event-stream' }, body: feed.body })));
    const head = get(`${server.url}/stream`);
    feed.push('data: first\n\n');
    const { req, res } = await head;
    assert.equal(await nextChunk(res), 'data: first\n\n');
    req.destroy();
    assert.equal(await feed.closed, true, 'the body stream was not destroyed');
  });

  it("with onClientDisconnect 'ignore' (the deployed runtime's behaviour), lets the handler run to its end", async () => {
    const feed = controlledBody();
    let finished!: () => void;
    const handlerDone = new Promise<void>((resolve) => (finished = resolve));
    const handler = streaming(async () => ({ statusCode: 200, body: feed.body }));
    // Marked as the runtime's streamifyResponse marks it, so the server streams it.
    const wrapper = localAwsLambda.streamifyResponse(async (event: APIGatewayProxyEvent, stream: never, context: never) => {
      await handler(event, stream, context);
      finished();
    });
    const server = await serve(wrapper as StreamingHandler<APIGatewayProxyEvent>, { onClientDisconnect: 'ignore' });
    const head = get(`${server.url}/stream`);
    feed.push('a');
    const { req, res } = await head;
    assert.equal(await nextChunk(res), 'a');
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(feed.body.destroyed, false);
    feed.push('b'.repeat(256 * 1024)); // more than any buffer: must not stall on backpressure
    feed.end();
    await handlerDone;
  });

  it('passes multi-value headers and cookies through the prelude', async () => {
    const server = await serve(
      streaming(async () => ({
        statusCode: 201,
        headers: { 'content-type': 'application/json' },
        multiValueHeaders: { 'x-multi': ['one', 'two'] },
        cookies: ['a=1; Path=/', 'b=2; Path=/'],
        body: '{"ok":true}',
      })),
    );
    const { res } = await get(`${server.url}/`);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['x-multi'], 'one, two');
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    assert.equal(await readText(res), '{"ok":true}');
  });

  it('keeps an empty body a valid response (the prelude alone)', async () => {
    const server = await serve(streaming(async () => ({ statusCode: 204, headers: {}, body: '' })));
    const { res } = await get(`${server.url}/`);
    assert.equal(res.statusCode, 204);
    assert.equal(await readText(res), '');
  });

  it('answers 502 {"message":"Internal server error"} when the handler throws before its prelude', async () => {
    const server = await serve(
      streaming(async () => {
        throw new Error('boom');
      }),
    );
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 502);
    assert.deepEqual(await response.json(), { message: 'Internal server error' });
    assert.ok(response.headers.get('x-request-id'));
  });

  it('cuts the connection when the handler fails after its prelude', async () => {
    const feed = controlledBody();
    const server = await serve(streaming(async () => ({ statusCode: 200, body: feed.body })));
    const head = get(`${server.url}/`);
    feed.push('partial');
    const { res } = await head;
    assert.equal(await nextChunk(res), 'partial');
    const aborted = once(res, 'aborted').then(() => 'aborted');
    const errored = once(res, 'error').then(() => 'error');
    feed.body.destroy(new Error('upstream died'));
    assert.ok(['aborted', 'error'].includes(await Promise.race([aborted, errored])));
  });

  it("still answers API Gateway's 413 for a body over 10 MB, before the handler", async () => {
    let called = false;
    const server = await serve(
      streaming(async () => {
        called = true;
        return { statusCode: 200, body: '' };
      }),
    );
    const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: 'x'.repeat(API_GATEWAY_MAX_BODY_BYTES + 1) });
    assert.equal(response.status, 413);
    assert.equal(called, false);
  });

  it('still serves buffered (non-streaming) proxy handlers', async () => {
    const server = await serve(
      async (): Promise<APIGatewayProxyResult> => ({
        statusCode: 202,
        headers: { 'content-type': 'text/plain' },
        multiValueHeaders: { 'x-multi': ['a', 'b'] },
        body: 'accepted',
      }),
    );
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 202);
    assert.equal(response.headers.get('x-multi'), 'a, b');
    assert.equal(await response.text(), 'accepted');
  });
});

describe('invokeStreamingHandler', () => {
  let handler: StreamingHandler<APIGatewayProxyEvent>;
  before(() => {
    handler = streaming(async (event) => ({ statusCode: 200, headers: { 'x-path': event.path }, body: Readable.from(['a', 'b', 'c']) }));
  });

  it('gives the handler the event and reads status, headers and body from its output', async () => {
    const invocation = invokeStreamingHandler(handler, proxyEvent({ method: 'GET', path: '/p' }), lambdaContext());
    const response = await invocation.response;
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['x-path'], '/p');
    assert.equal(await readText(response.body), 'abc');
    await invocation.done;
  });

  it('treats a stream without a prelude content type as a 200 of its content type (a function URL)', async () => {
    const raw = ((async (_event: unknown, stream: { setContentType(t: string): void; write(s: string): void; end(): void }) => {
      stream.setContentType('text/plain');
      stream.write('hi');
      stream.end();
    }) as unknown) as StreamingHandler<APIGatewayProxyEvent>;
    const invocation = invokeStreamingHandler(raw, proxyEvent({ method: 'GET', path: '/' }), lambdaContext());
    const response = await invocation.response;
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'text/plain');
    assert.equal(await readText(response.body), 'hi');
  });

  it('rejects the response when the handler throws before its prelude, and `done` with its error', async () => {
    const failing = streaming(async () => {
      throw new Error('before prelude');
    });
    // Middy's chain has no error responder here: the error leaves the handler.
    const invocation = invokeStreamingHandler(failing, proxyEvent({ method: 'GET', path: '/' }), lambdaContext());
    await assert.rejects(invocation.response);
    await assert.rejects(invocation.done, /before prelude/);
  });

  it('rejects a prelude that is not JSON', async () => {
    const broken = ((async (_event: unknown, stream: { setContentType(t: string): void; write(s: string | Uint8Array): void; end(): void }) => {
      stream.setContentType('application/vnd.awslambda.http-integration-response');
      stream.write('{not json');
      stream.write(new Uint8Array(8));
      stream.write('body');
      stream.end();
    }) as unknown) as StreamingHandler<APIGatewayProxyEvent>;
    const invocation = invokeStreamingHandler(broken, proxyEvent({ method: 'GET', path: '/' }), lambdaContext());
    await assert.rejects(invocation.response, MalformedStreamingResponseError);
  });
});
