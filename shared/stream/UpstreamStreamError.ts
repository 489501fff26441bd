import type { UpstreamFailure } from '../providers/types';

/**
 * Thrown by a provider's event iterator when the stream fails after its head: the socket
 * closed, the upstream sent an `error` event, or a frame could not be read. `outcome` says
 * what kind of failure it was, in the engine's terms, so a failure before the first content
 * event is retried or failed over exactly like a failed buffered call.
 */
export class UpstreamStreamError extends Error {
  readonly isUpstreamStreamError = true;
  constructor(
    readonly outcome: UpstreamFailure,
    options?: { cause?: unknown },
  ) {
    super('message' in outcome ? outcome.message : outcome.kind, options);
    this.name = 'UpstreamStreamError';
  }
}

export const isUpstreamStreamError = (error: unknown): error is UpstreamStreamError =>
  typeof error === 'object' && error !== null && (error as { isUpstreamStreamError?: unknown }).isUpstreamStreamError === true;
