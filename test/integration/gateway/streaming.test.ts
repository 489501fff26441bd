import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { budgetWindows } from '../../../shared/budget/windows';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fastRetry, hello, openaiProvider, sdkClient, testSettings } from '../../support/e2eHarness';
import { openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * Prices chosen so every number is exact: $0.001 an input token, $0.002 an output token. Each
 * scripted stream reports 5 prompt and 4 completion tokens: $0.013. The worst case reserved
 * for `hello` with max_tokens 10 is $0.047 (see spendCaps.test.ts).
 */
const MODEL = 'stream-model';
const PRICES = { [MODEL]: { input: 1_000, output: 2_000, cache_read: 1_000, cache_write: 1_000, max_output_tokens: 100 } };
const COST_MICROS = 13_000;
const USAGE = { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 };

const CAPPED_KEY = 'bw_test_stream_capped_001_xxxxxx';
const CACHED_KEY = 'bw_test_stream_cached_001_xxxxxx';
const IDEM_KEY = 'bw_test_stream_idem_00001_xxxxxx';

const streamBody = (content = 'hello') => ({
  model: 'client-model',
  messages: [{ role: 'user' as const, content }],
  max_tokens: 10,
  stream: true as const,
});

/** Sends a raw streaming request and returns status, headers and the `data:` payloads. */
async function streamRaw(url: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const data = text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
  const content = data
    .filter((payload) => payload !== '[DONE]')
    .map((payload) => JSON.parse(payload) as { choices?: Array<{ delta?: { content?: string } }>; error?: { code: string } })
    .map((chunk) => chunk.choices?.[0]?.delta?.content ?? '')
    .join('');
  return { status: response.status, headers: response.headers, text, data, content };
}

describe('gateway integration: streaming with spend caps, cache and idempotency (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  const url = () => `${gateway.url}/v1/chat/completions`;

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    routes: {
      main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: MODEL } }] },
      cached: {
        strategy: { mode: 'single' },
        retry: fastRetry(0),
        cache: { mode: 'simple', max_age: 3600 },
        targets: [{ provider: 'upstream', override_params: { model: MODEL } }],
      },
      shortlived: {
        strategy: { mode: 'single' },
        retry: fastRetry(0),
        cache: { mode: 'simple', max_age: 1 },
        targets: [{ provider: 'upstream', override_params: { model: MODEL } }],
      },
    },
    tenants: {
      capped: { route: 'main', keys: [CAPPED_KEY], daily_budget_usd: 0.3 },
      cached: { route: 'cached', keys: [CACHED_KEY], allowed_routes: ['shortlived'] },
      idem: { route: 'main', keys: [IDEM_KEY], daily_budget_usd: 10 },
    },
    prices: PRICES,
    settings: testSettings(),
  });

  async function spentTodayMicros(tenant: string): Promise<number> {
    const windows = budgetWindows(Date.now());
    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.spend, Key: { pk: `spend#${tenant}#${windows.month}` }, ConsistentRead: true }),
    );
    return (Item?.[`day_${windows.day}_micro_usd`] as number | undefined) ?? 0;
  }

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    gateway = await startStatefulGateway({ dynamo, config: config() });
  });
  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });
  beforeEach(() => mock.reset());

  it('guarantee: recorded spend never passes the daily cap under 50 concurrent streams, each settled from its usage', async () => {
    mock.setDefault({ sse: openAiStreamFrames({ text: ['a', 'b', 'c'], usage: USAGE }), frameDelayMs: 5 });
    const results = await Promise.all(Array.from({ length: 50 }, () => streamRaw(url(), CAPPED_KEY, streamBody())));
    const ok = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status === 429);
    assert.equal(ok.length + refused.length, 50, `only 200s and 429s: ${results.map((result) => result.status).join(',')}`);
    assert.ok(refused.length > 0, 'the cap refused some streams');
    assert.ok(ok.every((result) => result.content === 'abc' && result.data.at(-1) === '[DONE]'));
    const spent = await spentTodayMicros('capped');
    assert.ok(spent <= 300_000, `recorded ${spent} µ$ within the 300,000 µ$ cap`);
    assert.equal(spent, ok.length * COST_MICROS, 'each stream settled at its reported usage, nothing else recorded');
    assert.equal(mock.requests.length, ok.length, 'refused streams never reached the upstream');
  });

  it('a stream cut mid-answer is settled from what was streamed, never from zero', async () => {
    const before = await spentTodayMicros('idem');
    mock.script({ sse: openAiStreamFrames({ text: ['0123456789', 'abcdefghij', 'never'], usage: USAGE }), cutAfterFrames: 3 });
    const result = await streamRaw(url(), IDEM_KEY, streamBody('cut me'));
    assert.equal(result.status, 200);
    assert.equal(JSON.parse(result.data.at(-1)!).error.code, 'stream_interrupted');
    const charged = (await spentTodayMicros('idem')) - before;
    assert.ok(charged > 0, 'a cut stream is charged');
    // The bound: the input estimate plus one output token per byte streamed, capped by max_tokens:
    // 27 × $0.001 + min(20 bytes, 10) × $0.002 = $0.047, the hold itself.
    assert.equal(charged, 47_000);
  });

  it('cache: a completed stream is stored assembled; the same question streamed again is a HIT replayed as SSE', async () => {
    mock.script({ sse: openAiStreamFrames({ text: ['cached ', 'answer'], usage: USAGE }) });
    const first = await streamRaw(url(), CACHED_KEY, streamBody('cache me'));
    assert.equal(first.headers.get('x-breakwater-cache'), 'MISS');
    assert.equal(first.content, 'cached answer');

    const second = await streamRaw(url(), CACHED_KEY, streamBody('cache me'));
    assert.equal(second.status, 200);
    assert.match(second.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(second.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(second.content, 'cached answer');
    assert.equal(second.data.at(-1), '[DONE]');
    assert.equal(mock.requests.length, 1, 'the HIT never reached the upstream');

    // A buffered ask of the same question shares the stored answer.
    const buffered = await sdkClient(gateway.url, CACHED_KEY).chat.completions
      .create({ model: 'client-model', messages: [{ role: 'user', content: 'cache me' }], max_tokens: 10 })
      .withResponse();
    assert.equal(buffered.response.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(buffered.data.choices[0]!.message.content, 'cached answer');
  });

  it('stale cache, the last fallback level, is replayed as a stream when every target fails', async () => {
    const ask = () => streamRaw(url(), CACHED_KEY, streamBody('stale me'), { 'x-breakwater-route': 'shortlived' });
    mock.script({ sse: openAiStreamFrames({ text: ['old ', 'news'], usage: USAGE }) });
    assert.equal((await ask()).content, 'old news');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    mock.setDefault({ status: 503, body: { error: { message: 'down' } } });
    const stale = await ask();
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-breakwater-degraded'), 'stale-cache');
    assert.equal(stale.headers.get('x-breakwater-cache'), 'STALE');
    assert.equal(stale.content, 'old news');
    assert.equal(stale.data.at(-1), '[DONE]');
  });

  it('idempotency: a streamed answer is stored when complete and replayed as a stream; a duplicate in flight is 409', async () => {
    mock.script({ sse: openAiStreamFrames({ text: ['once ', 'only'], usage: USAGE }), frameDelayMs: 100 });
    const key = `stream-${Date.now()}`;
    const firstPromise = streamRaw(url(), IDEM_KEY, streamBody('idem'), { 'idempotency-key': key });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const duplicate = await fetch(url(), {
      method: 'POST',
      headers: { authorization: `Bearer ${IDEM_KEY}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(streamBody('idem')),
    });
    assert.equal(duplicate.status, 409);
    assert.equal(((await duplicate.json()) as { error: { code: string } }).error.code, 'idempotency_in_progress');

    const first = await firstPromise;
    assert.equal(first.content, 'once only');
    // The store write follows the stream's end; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const replay = await streamRaw(url(), IDEM_KEY, streamBody('idem'), { 'idempotency-key': key });
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.match(replay.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(replay.content, 'once only');
    assert.equal(replay.data.at(-1), '[DONE]');
    assert.equal(mock.requests.length, 1, 'the upstream was called once');
  });
});
