import type { UpstreamFailure, UpstreamOutcome, UpstreamStream } from '../providers/types';
import type { Clock } from '../resilience/clock';
import { isContentEvent, type StreamEvent } from './StreamEvent';
import { isUpstreamStreamError, UpstreamStreamError } from './UpstreamStreamError';

export interface StreamBounds {
  /** From the attempt's start to its first content event. */
  firstTokenMs: number;
  /** Between two events once content has started. */
  idleMs: number;
  /** The request's deadline: no event is waited for past it. */
  deadlineAt: number;
}

/** A stream whose first content event has arrived: from here the client's stream can start. */
export interface PrimedStream {
  /** The events so far, then the rest; every wait bounded by the idle timeout and the deadline. */
  events: AsyncGenerator<StreamEvent>;
  abort(): void;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Waits for one event at most `ms`; on a timeout the upstream is aborted and the wait fails as
 * a `timeout` outcome, so a stall is handled exactly like a call that never answered.
 */
async function nextWithin(
  iterator: AsyncIterator<StreamEvent>,
  stream: UpstreamStream,
  ms: number,
  clock: Clock,
): Promise<IteratorResult<StreamEvent>> {
  const timer = new AbortController();
  const pending = iterator.next();
  const winner = await Promise.race([
    pending,
    clock.sleep(Math.max(0, ms), timer.signal).then(
      () => TIMED_OUT,
      () => undefined,
    ),
  ]).finally(() => timer.abort());
  if (winner !== TIMED_OUT) return winner as IteratorResult<StreamEvent>;
  // The abandoned read settles once the socket is gone; nobody is waiting for it.
  pending.catch(() => undefined);
  stream.abort();
  throw new UpstreamStreamError({ kind: 'timeout', timeoutMs: ms });
}

const endedEarly = (): UpstreamFailure => ({
  kind: 'network_error',
  code: 'ECONNRESET',
  message: 'the stream ended before its first token',
});

/**
 * The streaming half of an attempt: the upstream answered 2xx, and this waits for its first
 * content event. Anything that goes wrong before it (a stall, an error event, a cut, an empty
 * stream) is returned as a failed attempt, to be retried or failed over like any other; nothing
 * has reached the client yet. After it, the events go on under the idle timeout.
 */
export async function primeStream(
  stream: UpstreamStream,
  bounds: StreamBounds,
  clock: Clock,
  startedAt: number,
): Promise<UpstreamOutcome<PrimedStream>> {
  const iterator = stream.events[Symbol.asyncIterator]();
  const head: StreamEvent[] = [];
  try {
    for (;;) {
      const wait = Math.min(startedAt + bounds.firstTokenMs, bounds.deadlineAt) - clock.now();
      const next = await nextWithin(iterator, stream, wait, clock);
      if (next.done) {
        // A stream that finished without content (an empty answer, say) is an answer all the same.
        if (head.some((event) => event.type === 'finish')) break;
        return endedEarly();
      }
      head.push(next.value);
      if (isContentEvent(next.value)) break;
    }
  } catch (error) {
    stream.abort();
    if (isUpstreamStreamError(error)) return error.outcome;
    return { kind: 'network_error', code: 'ENETWORK', message: 'stream failed before its first token' };
  }

  async function* events(): AsyncGenerator<StreamEvent> {
    let ended = false;
    try {
      yield* head;
      for (;;) {
        const wait = Math.min(bounds.idleMs, bounds.deadlineAt - clock.now());
        const next = await nextWithin(iterator, stream, wait, clock);
        if (next.done) {
          ended = true;
          return;
        }
        yield next.value;
      }
    } finally {
      // Left early by the consumer (a client that went away) or by a failure: close the upstream
      // at once, so no tokens are generated (and paid for) for nobody.
      if (!ended) stream.abort();
    }
  }
  return { kind: 'success', status: 200, headers: {}, body: { events: events(), abort: () => stream.abort() } };
}
