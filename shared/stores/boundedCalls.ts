import type { Deadline } from '../resilience/deadline';
import { currentDeadline } from '../resilience/deadlineScope';

/**
 * How long an AWS client on a request path may take. Every bound throws: `requestTimeout` alone
 * only logs a warning in @smithy/node-http-handler 4.x (a frozen store held requests for as long
 * as it was frozen), so the handler gets `throwOnRequestTimeout`, and the whole call (every
 * attempt and the backoff between them) is cut at `callTimeoutMs` or at the request's deadline
 * (plus {@link AFTER_DEADLINE_MS}), whichever comes first.
 */
export interface StoreTimeouts {
  /** TCP connect, per attempt. */
  connectionTimeoutMs: number;
  /** One attempt, from its start to the answer's headers; the connect is inside it. */
  attemptTimeoutMs: number;
  /** One `send`, retries included: nothing waits on the store longer. */
  callTimeoutMs: number;
  /** Attempts per call, the SDK's own retries included. */
  maxAttempts: number;
}

/** The call outlived its bound: the store's or the request's. Named like the SDK's own timeouts. */
export class StoreTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  readonly isStoreTimeout = true;

  constructor(
    readonly service: string,
    readonly timeoutMs: number,
    /** `deadline`: the request's time ran out first, which says nothing about the store. */
    readonly bound: 'call' | 'deadline',
    options?: { cause?: unknown },
  ) {
    super(
      bound === 'deadline'
        ? `${service} did not answer within the request's remaining ${timeoutMs} ms`
        : `${service} did not answer within ${timeoutMs} ms`,
      options,
    );
  }
}

/** By flag rather than `instanceof`, which a second copy of this module in a bundle would fool. */
export const isStoreTimeoutError = (error: unknown): error is StoreTimeoutError =>
  typeof error === 'object' && error !== null && (error as { isStoreTimeout?: unknown }).isStoreTimeout === true;

/** A call cut short by its request's deadline, not by its store: no reason to think the store is down. */
export const isDeadlineCut = (error: unknown): boolean => isStoreTimeoutError(error) && error.bound === 'deadline';

/** The client options that make each attempt end: connect and request timeouts that throw. */
export function storeClientConfig(timeouts: StoreTimeouts) {
  return {
    maxAttempts: timeouts.maxAttempts,
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs,
      requestTimeout: timeouts.attemptTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * What a call still gets once its request's deadline has passed: enough for a healthy store's
 * write (single-digit milliseconds) that settles or releases a spend hold, so an expired request
 * does not leave its worst case recorded, and little enough to fit in the Lambda's margin
 * (`lambda_margin_ms`, 1 s by default) when the store hangs.
 */
export const AFTER_DEADLINE_MS = 250;

/** What a call may still take under `deadline`: its remaining time, never under {@link AFTER_DEADLINE_MS}. */
const deadlineBudgetMs = (deadline: Deadline) => Math.max(deadline.remainingMs(), AFTER_DEADLINE_MS);

/**
 * Waits for `work` at most until `deadline` (plus {@link AFTER_DEADLINE_MS} once it has passed),
 * then rejects with a {@link StoreTimeoutError} of bound `deadline`; `work` itself runs on, to
 * its own bound. For store work a request shares with others (a key look-up that concurrent
 * requests wait on together) or that runs where no abort reaches (Powertools' idempotency
 * claim): each request stops waiting at its own deadline, whoever started the work.
 * Without a deadline, `work` as it is.
 */
export function untilDeadline<T>(work: Promise<T>, deadline: Deadline | undefined, service: string): Promise<T> {
  if (!deadline) return work;
  const budgetMs = deadlineBudgetMs(deadline);
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(service, budgetMs, 'deadline')), budgetMs);
  });
  return Promise.race([work, cut]).finally(() => clearTimeout(timer));
}

type AnySend = (command: unknown, optionsOrCallback?: unknown, callback?: unknown) => unknown;

/**
 * Bounds every promise-style `send` of an AWS SDK v3 client: an abort signal (which the SDK's
 * retry loop and HTTP handler both honour) fires at `callTimeoutMs` or at the current request's
 * deadline, and the returned promise settles by then even if something below ignores the signal
 * (a body that stalls after its headers). The instance's `send` is replaced rather than the class
 * extended, so the DocumentClient built on the client, Powertools' persistence layer and its
 * secrets provider (which all call `send`) are bounded without knowing it.
 */
export function boundCalls<Client extends { send: unknown }>(client: Client, service: string, callTimeoutMs: number): Client {
  const send = (client.send as AnySend).bind(client);
  const bounded: AnySend = (command, optionsOrCallback, callback) => {
    // Callback style is not used on Breakwater's paths; left as the SDK has it.
    if (typeof optionsOrCallback === 'function' || callback !== undefined) return send(command, optionsOrCallback, callback);
    const options = (optionsOrCallback ?? {}) as { abortSignal?: AbortSignal };
    const remaining = currentDeadline()?.remainingMs();
    const byDeadline = remaining !== undefined && Math.max(remaining, AFTER_DEADLINE_MS) < callTimeoutMs;
    const budgetMs = byDeadline ? Math.max(remaining, AFTER_DEADLINE_MS) : callTimeoutMs;

    const controller = new AbortController();
    const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, controller.signal]) : controller.signal;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new StoreTimeoutError(service, budgetMs, byDeadline ? 'deadline' : 'call');
        controller.abort(error);
        reject(error);
      }, budgetMs);
    });
    const call = Promise.resolve(send(command, { ...options, abortSignal: signal })).catch((error: unknown) => {
      // The SDK reports our abort as its own AbortError: say which bound ended the call.
      if (controller.signal.aborted) throw controller.signal.reason as StoreTimeoutError;
      throw error;
    });
    return Promise.race([call, timedOut]).finally(() => clearTimeout(timer));
  };
  (client as { send: unknown }).send = bounded;
  return client;
}
