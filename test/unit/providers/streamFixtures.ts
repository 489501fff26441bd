import assert from 'node:assert/strict';
import type { SecretSource, SecretValue } from '../../../shared/credentials';
import type { StreamOutcome, UpstreamStream } from '../../../shared/providers';
import type { StreamEvent } from '../../../shared/stream/StreamEvent';
import { isUpstreamStreamError, type UpstreamStreamError } from '../../../shared/stream/UpstreamStreamError';

/** What reading a stream to its end gave: the events, and the error it ended with, if any. */
export interface Drained {
  events: StreamEvent[];
  error?: unknown;
}

/** Reads every event; an error ends the read and is returned, not thrown. */
export async function drain(events: AsyncIterable<StreamEvent>): Promise<Drained> {
  const seen: StreamEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
  } catch (error) {
    return { events: seen, error };
  }
  return { events: seen };
}

/** The open stream of a success outcome; fails the test otherwise. */
export function opened(outcome: StreamOutcome): UpstreamStream {
  assert.equal(outcome.kind, 'success', `expected an open stream, got ${JSON.stringify(outcome)}`);
  return (outcome as Extract<StreamOutcome, { kind: 'success' }>).body;
}

/** The UpstreamStreamError a drained stream ended with; fails the test otherwise. */
export function streamError(drained: Drained): UpstreamStreamError {
  assert.ok(isUpstreamStreamError(drained.error), `expected an UpstreamStreamError, got ${String(drained.error)}`);
  return drained.error as UpstreamStreamError;
}

/** The text of a list of events. */
export const textOf = (events: StreamEvent[]) =>
  events.flatMap((event) => (event.type === 'text' ? [event.text] : [])).join('');

/** Waits until `check` holds or `ms` pass; returns whether it held. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  return check();
}

/** A secret source whose cached value changes only when read with forceRefresh. */
export function rotatingSecrets(name: string, cached: SecretValue, fresh: SecretValue): SecretSource {
  let current = cached;
  return {
    get: async (asked, options) => {
      if (asked !== name) return undefined;
      if (options?.forceRefresh) current = fresh;
      return current;
    },
  };
}
