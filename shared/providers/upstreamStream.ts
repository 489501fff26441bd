import { httpStream, readBodyText, type HttpStreamRequest } from '../http/httpStream';
import type { FinishReason, StreamEvent, StreamUsage } from '../stream/StreamEvent';
import { UpstreamStreamError, isUpstreamStreamError } from '../stream/UpstreamStreamError';
import { sseEvents, type SseEvent } from './sseEvents';
import type { StreamOutcome } from './types';
import { credentialValues, errorMessageFromBody, httpFailureOutcome } from './upstreamHttp';

/**
 * What the streaming adapters share: turning an upstream's frames into canonical events with
 * exactly one `finish` and at most one `usage`, telling a natural end from a cut, and opening
 * an SSE stream whose failures before the head read exactly like a buffered call's.
 */

/**
 * Reads one provider's frames (SSE events, Converse stream members) into canonical events.
 * Pure and stateful: one reader per stream, so the translation is tested without I/O.
 */
export interface FrameReader<Frame> {
  /** The events one frame carries; throws an {@link UpstreamStreamError} for an error or unreadable frame. */
  read(frame: Frame): StreamEvent[];
  /** True once the upstream's last frame came: nothing after it is read. */
  readonly done: boolean;
  /** The events owed at the end (the finish if none came, the usage); throws when the stream was cut short. */
  end(): StreamEvent[];
}

/** The failure of a body that ended cleanly but before its protocol's end: a cut in disguise. */
export const streamEndedEarly = (): UpstreamStreamError =>
  new UpstreamStreamError({ kind: 'network_error', code: 'ECONNRESET', message: 'upstream stream ended before its end' });

/** A frame that cannot be read: the target's fault, like a malformed buffered answer. */
export const malformedFrame = (message: string): UpstreamStreamError =>
  new UpstreamStreamError({ kind: 'malformed', message: `unreadable stream frame: ${message}` });

/** Parses one frame's JSON, or throws {@link malformedFrame}. */
export function parseFrameJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (error) {
    throw malformedFrame((error as Error).message);
  }
}

/**
 * The once-only bookkeeping every reader needs: the first finish reason wins, the last usage
 * seen is the one reported (some servers repeat a running total on every chunk), and both are
 * settled when the stream ends.
 */
export class StreamLedger {
  private finishReason: FinishReason | undefined;
  private usage: StreamUsage | undefined;

  /** A `finish` event the first time, nothing after. */
  finish(reason: FinishReason): StreamEvent[] {
    if (this.finishReason !== undefined) return [];
    this.finishReason = reason;
    return [{ type: 'finish', reason }];
  }

  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  recordUsage(usage: StreamUsage | undefined): void {
    if (usage) this.usage = usage;
  }

  /**
   * The closing events. `complete` says the protocol's end marker came; without it, a stream
   * that never said why it stopped was cut (a clean socket end is no proof of a whole answer).
   */
  close(complete: boolean): StreamEvent[] {
    if (!complete && !this.finished) throw streamEndedEarly();
    const out = this.finish('stop');
    if (this.usage) out.push({ type: 'usage', usage: this.usage });
    return out;
  }
}

/** Drives a reader over a source of frames; a reader's own bug reads as a malformed frame. */
export async function* readFrames<Frame>(
  frames: AsyncIterable<Frame>,
  reader: FrameReader<Frame>,
): AsyncGenerator<StreamEvent, void, undefined> {
  for await (const frame of frames) {
    let events: StreamEvent[];
    try {
      events = reader.read(frame);
    } catch (error) {
      if (isUpstreamStreamError(error)) throw error;
      throw malformedFrame(error instanceof Error ? error.message : 'unknown error');
    }
    yield* events;
    if (reader.done) break;
  }
  yield* reader.end();
}

/** Ends `events` quietly once `aborted()` says so: a failure after an abort is the abort's own. */
export async function* untilAborted(
  events: AsyncIterable<StreamEvent>,
  aborted: () => boolean,
): AsyncGenerator<StreamEvent, void, undefined> {
  try {
    for await (const event of events) {
      if (aborted()) return;
      yield event;
    }
  } catch (error) {
    if (aborted()) return;
    throw error;
  }
}

/**
 * Iterates `source` until `signal` aborts, then stops at once even when the source is stuck
 * waiting (its `return` is called without being awaited). The abort listener is removed when
 * the iteration ends, however it ends.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T, void, undefined> {
  if (signal.aborted) return;
  const iterator = source[Symbol.asyncIterator]();
  let onAbort!: () => void;
  const stopped = new Promise<IteratorResult<T>>((resolve) => {
    onAbort = () => resolve({ done: true, value: undefined });
    signal.addEventListener('abort', onAbort, { once: true });
  });
  let finished = false;
  try {
    while (true) {
      const next = iterator.next();
      const result = await Promise.race([next, stopped]);
      if (result.done) {
        finished = !signal.aborted;
        if (signal.aborted) next.catch(() => undefined);
        return;
      }
      yield result.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/**
 * A little longer than nothing: an error body normally arrives with its head, and its message
 * is worth a moment even when the head took the whole timeout.
 */
const ERROR_BODY_GRACE_MS = 250;

/**
 * Opens an SSE stream. Before and at the head it answers exactly like `sendUpstream`: a
 * timeout, node's network code, or a non-2xx with its redacted message. A 2xx hands back the
 * events, read by the reader `makeReader` builds (given the credential values to redact from
 * in-stream error messages), and an `abort` that closes the socket at once.
 */
export async function openSseStream(
  request: HttpStreamRequest,
  makeReader: (secrets: readonly string[]) => FrameReader<SseEvent>,
): Promise<StreamOutcome> {
  // Only the I/O edge measures time itself, as the HTTP client's own timer does.
  const startedAt = performance.now();
  let response;
  try {
    response = await httpStream(request);
  } catch (error) {
    return httpFailureOutcome(error, request.timeoutMs);
  }
  const { status, headers, body } = response;
  const secrets = credentialValues(request.headers);
  const readRest = () =>
    readBodyText(body, { timeoutMs: Math.max(ERROR_BODY_GRACE_MS, request.timeoutMs - (performance.now() - startedAt)) });

  if (status < 200 || status >= 300) {
    return { kind: 'http_error', status, headers, message: errorMessageFromBody(await readRest(), secrets) };
  }
  const contentType = headers['content-type'] ?? '';
  if (/json/i.test(contentType)) {
    // An upstream (or a proxy) that ignored `stream: true`: not a stream this reader can follow.
    const text = await readRest();
    return { kind: 'malformed', message: `expected an event stream, got ${contentType}: ${errorMessageFromBody(text, secrets)}` };
  }

  let aborted = false;
  const isAborted = () => aborted;
  const frames = sseEvents(body, { aborted: isAborted });
  return {
    kind: 'success',
    status,
    headers,
    body: {
      events: untilAborted(readFrames(frames, makeReader(secrets)), isAborted),
      abort: () => {
        aborted = true;
        response.abort();
      },
    },
  };
}
