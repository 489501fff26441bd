import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BedrockProvider, BedrockStreamReader, converseStreamErrorOutcome } from '../../../shared/providers/bedrock';
import { abortable } from '../../../shared/providers/upstreamStream';
import { drain, opened, streamError, textOf, waitFor } from './streamFixtures';

/**
 * ConverseStream against a loopback server speaking AWS's binary event-stream encoding, so the
 * real SDK parses the frames and throws the exceptions: what the adapter meets in production.
 */

const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const TEST_CREDENTIALS = { accessKeyId: 'AKIATEST', secretAccessKey: 'test' };
const hello = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true };

/** One event-stream message: prelude, string headers, payload, each with its CRC32. */
function eventStreamMessage(headers: Record<string, string>, payload: unknown): Buffer {
  const headerBytes = Buffer.concat(
    Object.entries(headers).map(([name, value]) => {
      const nameBytes = Buffer.from(name);
      const valueBytes = Buffer.from(value);
      const fixed = Buffer.alloc(1 + nameBytes.length + 1 + 2);
      fixed.writeUInt8(nameBytes.length, 0);
      nameBytes.copy(fixed, 1);
      fixed.writeUInt8(7, 1 + nameBytes.length); // 7: a string value
      fixed.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
      return Buffer.concat([fixed, valueBytes]);
    }),
  );
  const body = Buffer.from(JSON.stringify(payload));
  const total = 12 + headerBytes.length + body.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headerBytes.length, 4);
  const preludeCrc = Buffer.alloc(4);
  preludeCrc.writeUInt32BE(crc32(prelude), 0);
  const message = Buffer.concat([prelude, preludeCrc, headerBytes, body]);
  const messageCrc = Buffer.alloc(4);
  messageCrc.writeUInt32BE(crc32(message), 0);
  return Buffer.concat([message, messageCrc]);
}

const event = (type: string, payload: unknown) =>
  eventStreamMessage({ ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' }, payload);
const exception = (type: string, payload: unknown) =>
  eventStreamMessage({ ':message-type': 'exception', ':exception-type': type, ':content-type': 'application/json' }, payload);

const textAnswer = (...texts: string[]) => [
  event('messageStart', { role: 'assistant' }),
  ...texts.map((text) => event('contentBlockDelta', { contentBlockIndex: 0, delta: { text } })),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('messageStop', { stopReason: 'end_turn' }),
  event('metadata', { usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 }, metrics: { latencyMs: 90 } }),
];

interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  frames?: Buffer[];
  body?: string;
  delayMs?: number;
  /** Destroy the socket after this many frames. */
  cutAfter?: number;
  /** Stop writing after this many frames, socket left open. */
  hangAfter?: number;
}

describe('BedrockProvider.stream against a loopback ConverseStream', () => {
  let server: http.Server;
  let provider: BedrockProvider;
  const queue: Scripted[] = [];
  const paths: string[] = [];
  let closedEarly = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        paths.push(req.url ?? '');
        const scripted = queue.shift() ?? {};
        const answer = () => {
          if (scripted.frames === undefined) {
            res.writeHead(scripted.status ?? 500, { 'content-type': 'application/json', ...scripted.headers });
            res.end(scripted.body ?? '{}');
            return;
          }
          let finished = false;
          res.on('close', () => {
            if (!finished && !res.writableFinished) closedEarly += 1;
          });
          res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-7', ...scripted.headers });
          const frames = scripted.frames;
          const upTo = Math.min(frames.length, scripted.cutAfter ?? scripted.hangAfter ?? frames.length);
          for (const frame of frames.slice(0, upTo)) res.write(frame);
          if (scripted.cutAfter !== undefined) {
            finished = true;
            res.write('', () => req.socket.destroy());
          } else if (scripted.hangAfter === undefined) {
            finished = true;
            res.end();
          }
        };
        if (scripted.delayMs) setTimeout(answer, scripted.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new BedrockProvider({ type: 'bedrock', region: 'us-east-1', endpoint }, { credentials: TEST_CREDENTIALS });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    queue.length = 0;
    paths.length = 0;
    closedEarly = 0;
  });

  const open = (body: Record<string, unknown> = hello, timeoutMs = 5_000) => provider.stream({ operation: 'chat', body, timeoutMs });

  it('posts to converse-stream and yields text, one finish and the usage', async () => {
    queue.push({ frames: textAnswer('Hello', ' there') });

    const outcome = await open();
    const drained = await drain(opened(outcome).events);

    assert.equal(paths[0], '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream');
    assert.equal(outcome.kind === 'success' && outcome.headers['x-amzn-requestid'], 'req-7');
    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' there' },
      { type: 'finish', reason: 'stop' },
      {
        type: 'usage',
        usage: {
          prompt_tokens: 12,
          completion_tokens: 3,
          total_tokens: 15,
          prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        },
      },
    ]);
  });

  it('streams toolUse blocks as tool calls numbered in their order, with cache usage', async () => {
    queue.push({
      frames: [
        event('messageStart', { role: 'assistant' }),
        event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Checking.' } }),
        event('contentBlockStop', { contentBlockIndex: 0 }),
        event('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_1', name: 'weather' } } }),
        event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } }),
        event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"Oslo"}' } } }),
        event('contentBlockStop', { contentBlockIndex: 1 }),
        event('contentBlockStart', { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tooluse_2', name: 'clock' } } }),
        event('contentBlockStop', { contentBlockIndex: 2 }),
        event('messageStop', { stopReason: 'tool_use' }),
        event('metadata', {
          usage: { inputTokens: 5, outputTokens: 9, totalTokens: 114, cacheReadInputTokens: 100, cacheWriteInputTokens: 0 },
          metrics: { latencyMs: 1 },
        }),
      ],
    });

    const drained = await drain(opened(await open()).events);

    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', index: 0, id: 'tooluse_1', name: 'weather', arguments: '' },
      { type: 'tool_call', index: 0, arguments: '{"city":' },
      { type: 'tool_call', index: 0, arguments: '"Oslo"}' },
      { type: 'tool_call', index: 1, id: 'tooluse_2', name: 'clock', arguments: '' },
      { type: 'tool_call', index: 1, arguments: '{}' },
      { type: 'finish', reason: 'tool_calls' },
      {
        type: 'usage',
        usage: {
          prompt_tokens: 105,
          completion_tokens: 9,
          total_tokens: 114,
          prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 0 },
        },
      },
    ]);
  });

  it('throws an exception sent mid-stream as http_error with its status, after the text that came', async () => {
    const [start, first] = textAnswer('Partial');
    queue.push(
      { frames: [start!, first!, exception('throttlingException', { message: 'Too many tokens, slow down.' })] },
      { frames: [start!, exception('modelStreamErrorException', { message: 'model hiccup', originalStatusCode: 503 })] },
      { frames: [start!, exception('internalServerException', { message: 'oops' })] },
    );

    const throttled = await drain(opened(await open()).events);
    const modelError = await drain(opened(await open()).events);
    const internal = await drain(opened(await open()).events);

    assert.equal(textOf(throttled.events), 'Partial');
    assert.deepEqual(streamError(throttled).outcome, { kind: 'http_error', status: 429, headers: {}, message: 'Too many tokens, slow down.' });
    assert.deepEqual(streamError(modelError).outcome, { kind: 'http_error', status: 503, headers: {}, message: 'model hiccup' });
    assert.equal(streamError(internal).outcome.kind === 'http_error' && (streamError(internal).outcome as { status: number }).status, 500);
  });

  it('throws network_error when the connection is cut mid-stream', async () => {
    queue.push({ frames: textAnswer('one ', 'two ', 'three'), cutAfter: 3 });
    const drained = await drain(opened(await open()).events);
    assert.equal(textOf(drained.events), 'one two ');
    const { outcome } = streamError(drained);
    assert.equal(outcome.kind, 'network_error');
    assert.equal(outcome.kind === 'network_error' && outcome.code, 'ECONNRESET', JSON.stringify(outcome));
  });

  it('returns errors at send like call() does: a throttle is http_error 429 with its message', async () => {
    queue.push({
      status: 429,
      headers: { 'x-amzn-errortype': 'ThrottlingException' },
      body: JSON.stringify({ message: 'Too many requests, please wait before trying again.' }),
    });
    const outcome = await open();
    assert.equal(outcome.kind, 'http_error');
    assert.equal(outcome.kind === 'http_error' && outcome.status, 429);
    assert.equal(outcome.kind === 'http_error' && outcome.message, 'Too many requests, please wait before trying again.');
  });

  it('gives up at the timeout when no head arrives', async () => {
    queue.push({ frames: textAnswer('late'), delayMs: 1_000 });
    const started = Date.now();
    assert.deepEqual(await open(hello, 150), { kind: 'timeout', timeoutMs: 150 });
    assert.ok(Date.now() - started < 800);
  });

  it('abort() closes the upstream connection at once and the events end', { timeout: 5_000 }, async () => {
    queue.push({ frames: textAnswer('never', 'ending'), hangAfter: 2 });
    const stream = opened(await open());
    const iterator = stream.events[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { done: false, value: { type: 'text', text: 'never' } });
    const pending = iterator.next();

    stream.abort();

    assert.ok(await waitFor(() => closedEarly === 1, 1_000), 'the upstream saw its connection closed');
    const result = await pending.catch((error: unknown) => ({ error }));
    assert.ok('error' in result || result.done === true);
  });

  it('is unavailable for embeddings and answers 400 for an untranslatable request, without calling Bedrock', async () => {
    assert.equal((await provider.stream({ operation: 'embeddings', body: {}, timeoutMs: 1_000 })).kind, 'unavailable');
    const bad = await open({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] });
    assert.equal(bad.kind === 'http_error' && bad.status, 400);
    assert.equal(paths.length, 0);
  });
});

describe('BedrockStreamReader', () => {
  it('throws exception members as http_error with their status', () => {
    const reader = new BedrockStreamReader();
    assert.throws(() => reader.read({ serviceUnavailableException: { message: 'busy' } } as never), {
      outcome: { kind: 'http_error', status: 503, headers: {}, message: 'busy' },
    });
    assert.throws(() => reader.read({ validationException: { message: 'bad input' } } as never), {
      outcome: { kind: 'http_error', status: 400, headers: {}, message: 'bad input' },
    });
  });

  it('reads a stream that ends without messageStop as a cut', () => {
    const reader = new BedrockStreamReader();
    assert.deepEqual(reader.read({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'half' } } }), [{ type: 'text', text: 'half' }]);
    assert.throws(() => reader.end(), { outcome: { kind: 'network_error', code: 'ECONNRESET', message: 'upstream stream ended before its end' } });
  });
});

describe('converseStreamErrorOutcome', () => {
  it('maps thrown stream exceptions by name, model errors by their original status, socket failures to network_error', () => {
    const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} says no`), { name, ...extra });
    assert.equal((converseStreamErrorOutcome(named('ThrottlingException')) as { status: number }).status, 429);
    assert.equal((converseStreamErrorOutcome(named('ServiceUnavailableException')) as { status: number }).status, 503);
    assert.equal((converseStreamErrorOutcome(named('ValidationException')) as { status: number }).status, 400);
    assert.equal((converseStreamErrorOutcome(named('ModelStreamErrorException')) as { status: number }).status, 500);
    assert.equal((converseStreamErrorOutcome(named('ModelStreamErrorException', { originalStatusCode: 429 })) as { status: number }).status, 429);
    assert.equal((converseStreamErrorOutcome(named('SomethingNewException')) as { status: number }).status, 500);
    assert.deepEqual(converseStreamErrorOutcome(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), {
      kind: 'network_error',
      code: 'ECONNRESET',
      message: 'read ECONNRESET',
    });
    assert.equal(converseStreamErrorOutcome(new Error('Truncated event message received.')).kind, 'network_error');
  });
});

describe('abortable', () => {
  it('ends at once on abort even when the source is stuck, and removes its listener', async () => {
    async function* stuck() {
      yield 1;
      await new Promise(() => undefined);
    }
    const controller = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const value of abortable(stuck(), controller.signal)) seen.push(value);
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await done;
    assert.deepEqual(seen, [1]);
  });
});
