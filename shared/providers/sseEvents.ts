import { createParser } from 'eventsource-parser';
import { UpstreamStreamError, isUpstreamStreamError } from '../stream/UpstreamStreamError';
import type { UpstreamFailure } from './types';

/** One server-sent event: its `event:` name when it has one, and its joined `data:` lines. */
export interface SseEvent {
  event?: string;
  data: string;
}

export interface SseEventsOptions {
  /**
   * True once the caller closed the stream on purpose: a socket failure after that is the
   * abort's doing, and ends the events quietly instead of throwing.
   */
  aborted?: () => boolean;
  /**
   * @default 8 Mi characters — one event larger than this (a line that never ends) is an
   * unreadable stream, not a reason to grow without bound.
   */
  maxEventChars?: number;
}

const DEFAULT_MAX_EVENT_CHARS = 8 * 1024 * 1024;


/** A socket failure in the middle of a body → the stream failure the engine classifies. */
export function cutStreamFailure(error: unknown): UpstreamFailure {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : 'connection lost';
  // A premature close carries no socket code: to the engine it is a reset like any other.
  const socketCode = typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'ECONNRESET';
  return { kind: 'network_error', code: socketCode, message: `upstream stream cut: ${message}` };
}

/**
 * Reads a `text/event-stream` body into its events as they arrive (parsing is
 * eventsource-parser's). A socket failure throws an {@link UpstreamStreamError}
 * (`network_error` with node's code) once the events received before it were yielded; an
 * oversized event throws one of kind `malformed`. The events end when the body ends: whether
 * that was the protocol's end is the caller's to judge. Stopping early ends the body's own
 * iteration, which closes the connection.
 */
export async function* sseEvents(
  body: AsyncIterable<Buffer | string>,
  options: SseEventsOptions = {},
): AsyncGenerator<SseEvent, void, undefined> {
  const maxEventChars = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  const pending: SseEvent[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: ({ event, data }) => pending.push(event === undefined ? { data } : { event, data }),
    // Unknown fields and bad `retry:` values are harmless; only an unbounded event is fatal.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = true;
    },
    maxBufferSize: maxEventChars,
  });
  const overflowError = () =>
    new UpstreamStreamError({ kind: 'malformed', message: `an event stream frame over ${maxEventChars} characters` });

  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) {
      try {
        parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      } catch {
        throw overflowError();
      }
      if (overflow) throw overflowError();
      while (pending.length > 0) yield pending.shift()!;
    }
  } catch (error) {
    if (isUpstreamStreamError(error)) throw error;
    if (options.aborted?.()) return;
    throw new UpstreamStreamError(cutStreamFailure(error), { cause: error });
  }
}
