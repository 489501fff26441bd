import { GatewayError } from '../errors';
import type { GatewayResponse } from '../api/chat/sseResponse';
import type { StreamEvent } from '../stream';
import { replayStream, type StreamedCompletion } from './CompletionService';
import { BREAKWATER_HEADERS } from './headers';

/**
 * A stream under an Idempotency-Key. The first request streams as it comes while the key is
 * held; its assembled answer is stored when the stream completes (a stream that breaks is
 * not, and releases the key). A replay streams the stored answer back. Whichever comes first,
 * the stream's head or the stored answer, is what this request gets.
 */
export async function streamIdempotently(
  idempotent: <T>(execute: () => Promise<T>) => Promise<{ value: T; replayed: boolean }>,
  open: () => Promise<StreamedCompletion>,
  sse: (streamed: StreamedCompletion, headers?: Record<string, string>) => GatewayResponse,
  requestId: string,
): Promise<GatewayResponse> {
  type Stored = { statusCode: number; headers: Record<string, string>; body: string };
  let live: ((streamed: StreamedCompletion) => void) | undefined;
  const head = new Promise<StreamedCompletion>((resolve) => {
    live = resolve;
  });
  const run = idempotent<Stored>(async () => {
    const streamed = await open();
    const ended = new Promise<boolean>((resolve) => {
      live!({ ...streamed, events: trackEnd(streamed.events, resolve) });
    });
    const body = (await ended) ? streamed.completed() : undefined;
    // A throw is never stored: a stream that broke or was left releases the key.
    if (!body) throw new GatewayError('stream_interrupted', 'the stream did not complete; it is not stored for replay');
    return { statusCode: 200, headers: streamed.headers, body: JSON.stringify(body) };
  });
  const first = await Promise.race([head.then((streamed) => ({ streamed })), run.then((stored) => ({ stored }))]);
  if ('streamed' in first) {
    // The client has its answer; what the store does with it afterwards is logged there.
    run.catch(() => undefined);
    return sse(first.streamed);
  }
  const { value } = first.stored;
  const stored = JSON.parse(value.body) as Record<string, unknown>;
  return sse(replayStream(stored, value.headers), { [BREAKWATER_HEADERS.REQUEST_ID]: requestId, [BREAKWATER_HEADERS.REPLAYED]: 'true' });
}

/** Passes the events on and says, once, whether they ran to their end. */
async function* trackEnd(events: AsyncGenerator<StreamEvent>, onEnd: (completed: boolean) => void): AsyncGenerator<StreamEvent> {
  let completed = false;
  try {
    yield* events;
    completed = true;
  } finally {
    onEnd(completed);
  }
}
