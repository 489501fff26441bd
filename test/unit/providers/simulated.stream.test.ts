import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { providerSchema, type ProviderConfig } from '../../../shared/config/schema';
import { systemClock } from '../../../shared/resilience/clock';
import { SimulatedProvider } from '../../../shared/providers/simulated';
import { fakeClock, scriptedRandom } from '../../support/fakeClock';
import { drain, opened, textOf } from './streamFixtures';

type SimulatedConfig = Extract<ProviderConfig, { type: 'simulated' }>;

const simulated = (overrides: Record<string, unknown> = {}) =>
  providerSchema.parse({ type: 'simulated', latency_ms: 20, ...overrides }) as SimulatedConfig;
const chat = { model: 'sim-fast', messages: [{ role: 'user', content: 'tell me a story' }], stream: true };

describe('SimulatedProvider.stream', () => {
  it('defaults stream_chunk_delay_ms to 5', () => {
    assert.equal(simulated().stream_chunk_delay_ms, 5);
  });

  it("streams call()'s answer in word chunks, stream_chunk_delay_ms apart, then a stop and call()'s usage", async () => {
    // Prepare: the same draws for both (no jitter, no failure).
    const buffered = await new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5)).call({
      operation: 'chat',
      body: chat,
      timeoutMs: 1_000,
    });
    const clock = fakeClock();
    const provider = new SimulatedProvider(simulated({ stream_chunk_delay_ms: 7 }), clock, scriptedRandom(0.5));

    // Act
    const drained = await drain(opened(await provider.stream({ operation: 'chat', body: chat, timeoutMs: 1_000 })).events);

    // Assess
    assert.equal(buffered.kind, 'success');
    const body = (buffered as unknown as { body: { choices: Array<{ message: { content: string } }>; usage: unknown } }).body;
    const texts = drained.events.filter((event) => event.type === 'text');
    assert.deepEqual(
      texts.map((event) => event.text),
      ['Simulated ', 'reply ', 'to: ', 'tell ', 'me ', 'a ', 'story'],
    );
    assert.equal(textOf(drained.events), body.choices[0]!.message.content);
    assert.deepEqual(drained.events.slice(texts.length), [
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: body.usage },
    ]);
    // The head's latency, then one delay between each two chunks.
    assert.deepEqual(clock.sleeps, [20, ...Array.from({ length: texts.length - 1 }, () => 7)]);
  });

  it('fails before the head exactly as call() does', async () => {
    const config = simulated({ failure_rate: 1, status_mix: { '429_retry_after': 1 }, retry_after_s: 2 });
    const provider = new SimulatedProvider(config, fakeClock(), scriptedRandom(0.5, 0, 0));
    assert.deepEqual(await provider.stream({ operation: 'chat', body: chat, timeoutMs: 1_000 }), {
      kind: 'http_error',
      status: 429,
      headers: { 'retry-after': '2' },
      message: 'simulated rate limit',
    });
    const slow = new SimulatedProvider(simulated({ latency_ms: 500 }), fakeClock(), scriptedRandom(0.5));
    assert.deepEqual(await slow.stream({ operation: 'chat', body: chat, timeoutMs: 100 }), { kind: 'timeout', timeoutMs: 100 });
  });

  it('abort() ends the events at once, even mid-delay', { timeout: 5_000 }, async () => {
    const provider = new SimulatedProvider(simulated({ latency_ms: 0, stream_chunk_delay_ms: 10_000 }), systemClock, scriptedRandom(0.5));
    const stream = opened(await provider.stream({ operation: 'chat', body: chat, timeoutMs: 1_000 }));
    const iterator = stream.events[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { done: false, value: { type: 'text', text: 'Simulated ' } });
    const pending = iterator.next();

    const started = Date.now();
    stream.abort();

    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.ok(Date.now() - started < 1_000);
  });

  it('cannot stream embeddings', async () => {
    const provider = new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5));
    assert.equal((await provider.stream({ operation: 'embeddings', body: { model: 'm', input: 'x' }, timeoutMs: 1_000 })).kind, 'unavailable');
  });
});
