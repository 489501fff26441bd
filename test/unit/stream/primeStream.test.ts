import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UpstreamStream } from '../../../shared/providers';
import { systemClock } from '../../../shared/resilience';
import { primeStream, UpstreamStreamError, type StreamEvent } from '../../../shared/stream';

type Step = StreamEvent | { wait: number } | { fail: UpstreamStreamError } | 'hang';

/** An upstream stream that plays steps in order; `aborted` says whether the engine closed it. */
function scripted(steps: Step[]) {
  const state = { aborted: false };
  let wake: (() => void) | undefined;
  async function* events(): AsyncGenerator<StreamEvent> {
    for (const step of steps) {
      if (state.aborted) throw new UpstreamStreamError({ kind: 'network_error', code: 'ECONNRESET', message: 'aborted' });
      if (step === 'hang') await new Promise<void>((resolve) => (wake = resolve));
      else if ('wait' in step) await new Promise((resolve) => setTimeout(resolve, step.wait));
      else if ('fail' in step) throw step.fail;
      else yield step;
      if (state.aborted) throw new UpstreamStreamError({ kind: 'network_error', code: 'ECONNRESET', message: 'aborted' });
    }
  }
  const stream: UpstreamStream = {
    events: events(),
    abort: () => {
      state.aborted = true;
      wake?.();
    },
  };
  return { stream, state };
}

const bounds = (firstTokenMs = 100, idleMs = 100) => ({ firstTokenMs, idleMs, deadlineAt: Date.now() + 10_000 });
const text = (value: string): StreamEvent => ({ type: 'text', text: value });

async function drain(events: AsyncIterable<StreamEvent>) {
  const seen: StreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('primeStream: an attempt succeeds at its first content event', () => {
  it('succeeds at the first content event, then yields every event in order', async () => {
    const { stream } = scripted([text('a'), text('b'), { type: 'finish', reason: 'stop' }]);
    const outcome = await primeStream(stream, bounds(), systemClock, Date.now());
    assert.equal(outcome.kind, 'success');
    if (outcome.kind !== 'success') return;
    assert.deepEqual(await drain(outcome.body.events), [text('a'), text('b'), { type: 'finish', reason: 'stop' }]);
  });

  it('a stall before the first token is a timeout outcome, and the upstream is aborted', async () => {
    const { stream, state } = scripted(['hang', text('late')]);
    const started = Date.now();
    const outcome = await primeStream(stream, bounds(50), systemClock, started);
    assert.equal(outcome.kind, 'timeout');
    assert.ok(Date.now() - started < 1_000);
    assert.equal(state.aborted, true);
  });

  it('the first-token bound counts from the attempt start, not from the head', async () => {
    const { stream } = scripted([{ wait: 60 }, text('a')]);
    const outcome = await primeStream(stream, bounds(100), systemClock, Date.now() - 80);
    assert.equal(outcome.kind, 'timeout');
  });

  it('an error event before the first token is returned as that failure (retried or failed over by the engine)', async () => {
    const failure = new UpstreamStreamError({ kind: 'http_error', status: 529, headers: {}, message: 'overloaded' });
    const { stream, state } = scripted([{ fail: failure }]);
    const outcome = await primeStream(stream, bounds(), systemClock, Date.now());
    assert.deepEqual(outcome, failure.outcome);
    assert.equal(state.aborted, true);
  });

  it('a stream that ends with neither content nor finish is a failed attempt; an empty finished answer is not', async () => {
    const empty = await primeStream(scripted([]).stream, bounds(), systemClock, Date.now());
    assert.equal(empty.kind, 'network_error');
    const finished = await primeStream(scripted([{ type: 'finish', reason: 'stop' }]).stream, bounds(), systemClock, Date.now());
    assert.equal(finished.kind, 'success');
  });

  it('an idle gap after the first token throws a timeout and aborts the upstream', async () => {
    const { stream, state } = scripted([text('a'), 'hang']);
    const outcome = await primeStream(stream, bounds(100, 50), systemClock, Date.now());
    assert.equal(outcome.kind, 'success');
    if (outcome.kind !== 'success') return;
    await assert.rejects(drain(outcome.body.events), (error: unknown) => error instanceof UpstreamStreamError && error.outcome.kind === 'timeout');
    assert.equal(state.aborted, true);
  });

  it('a consumer that stops early closes the upstream', async () => {
    const { stream, state } = scripted([text('a'), text('b'), text('c')]);
    const outcome = await primeStream(stream, bounds(), systemClock, Date.now());
    if (outcome.kind !== 'success') return assert.fail('expected success');
    for await (const _event of outcome.body.events) break;
    assert.equal(state.aborted, true);
  });

  it('a stream that runs to its end is not aborted (its connection goes back to the pool)', async () => {
    const { stream, state } = scripted([text('a'), { type: 'finish', reason: 'stop' }]);
    const outcome = await primeStream(stream, bounds(), systemClock, Date.now());
    if (outcome.kind !== 'success') return assert.fail('expected success');
    await drain(outcome.body.events);
    assert.equal(state.aborted, false);
  });
});
