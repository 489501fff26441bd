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

/**
 * One timer per stream, re-armed on every event, that aborts the upstream when it fires: a
 * timer per wait (an AbortController, a sleep, a DOMException on every abort) was a quarter of
 * the gateway's CPU on a 200-chunk stream. Once it fired, the aborted read's failure is
 * reported as the `timeout` it is.
 */
class StallTimer {
  private timer: NodeJS.Timeout | undefined;
  firedAfterMs: number | undefined;
  /** Only a wait on the upstream can stall it; a consumer slow to ask for more (backpressure) cannot. */
  waiting = false;

  constructor(private readonly stream: UpstreamStream) {}

  arm(ms: number): void {
    if (this.timer && this.armedMs === ms) {
      this.timer.refresh();
      return;
    }
    this.clear();
    this.armedMs = ms;
    this.timer = setTimeout(() => {
      if (!this.waiting) return this.timer?.refresh();
      this.firedAfterMs = ms;
      this.stream.abort();
    }, Math.max(0, ms));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private armedMs = -1;
}

/** Waits for one event; a stall past the armed timer is a `timeout` outcome, whatever the abort threw. */
async function nextWithin(iterator: AsyncIterator<StreamEvent>, stall: StallTimer, ms: number): Promise<IteratorResult<StreamEvent>> {
  stall.arm(ms);
  stall.waiting = true;
  try {
    const next = await iterator.next();
    if (stall.firedAfterMs !== undefined) throw new UpstreamStreamError({ kind: 'timeout', timeoutMs: stall.firedAfterMs });
    return next;
  } catch (error) {
    if (stall.firedAfterMs !== undefined) throw new UpstreamStreamError({ kind: 'timeout', timeoutMs: stall.firedAfterMs });
    throw error;
  } finally {
    stall.waiting = false;
  }
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
  const stall = new StallTimer(stream);
  const head: StreamEvent[] = [];
  try {
    for (;;) {
      const wait = Math.min(startedAt + bounds.firstTokenMs, bounds.deadlineAt) - clock.now();
      const next = await nextWithin(iterator, stall, wait);
      if (next.done) {
        // A stream that finished without content (an empty answer, say) is an answer all the same.
        if (head.some((event) => event.type === 'finish')) break;
        stall.clear();
        return endedEarly();
      }
      head.push(next.value);
      if (isContentEvent(next.value)) break;
    }
    stall.clear();
  } catch (error) {
    stall.clear();
    stream.abort();
    if (isUpstreamStreamError(error)) return error.outcome;
    return { kind: 'network_error', code: 'ENETWORK', message: 'stream failed before its first token' };
  }

  async function* events(): AsyncGenerator<StreamEvent> {
    let ended = false;
    try {
      yield* head;
      for (;;) {
        // The idle bound, cut short by the deadline only when it is near (no clock read per event).
        const wait = bounds.deadlineAt - clock.now() < bounds.idleMs ? bounds.deadlineAt - clock.now() : bounds.idleMs;
        const next = await nextWithin(iterator, stall, wait);
        if (next.done) {
          ended = true;
          return;
        }
        yield next.value;
      }
    } finally {
      stall.clear();
      // Left early by the consumer (a client that went away) or by a failure: close the upstream
      // at once, so no tokens are generated (and paid for) for nobody.
      if (!ended) stream.abort();
    }
  }
  return { kind: 'success', status: 200, headers: {}, body: { events: events(), abort: () => stream.abort() } };
}
