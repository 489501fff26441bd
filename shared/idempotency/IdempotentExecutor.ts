import type { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { Deadline } from '../resilience/deadline';
import { isDeadlineCut, untilDeadline } from '../stores/boundedCalls';
import { idempotencyError } from './idempotencyErrors';

export interface IdempotentExecutorOptions {
  /** A client from `createDynamoClients` (short timeouts: a slow store must not hold requests). */
  client: DynamoDBClient;
  /** The idempotency table, in Powertools' layout: partition key `id`, TTL `expiration`. */
  tableName: string;
  /**
   * How long a completed response is replayed for.
   * @default 86_400 — a day, Stripe's window: long enough for any client's retry schedule.
   */
  expiresAfterSeconds?: number;
  /**
   * How long an in-flight record blocks duplicates when there is no Lambda context to read the
   * remaining time from (local server, tests). After it, a crashed first call no longer locks
   * the key. Must exceed the longest request, or a slow first call could run twice.
   * @default 60
   */
  inProgressExpirySeconds?: number;
  /**
   * `Retry-After` on a 409 for a key still in flight. The record's own in-progress expiry is
   * the Lambda's remaining time (minutes), far longer than a typical completion, so a short
   * fixed hint serves clients better.
   * @default 1
   */
  inProgressRetryAfterSeconds?: number;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

export interface IdempotentRunInput<T> {
  /** Scopes the key: tenant A's key `k` and tenant B's key `k` are different records. */
  tenant: string;
  /** The client's `Idempotency-Key`, already checked by {@link parseIdempotencyKey}. */
  key: string;
  /**
   * Everything that defines the request (the parsed body, plus the route if the client chose
   * one). Hashed with sorted keys: the same key with a different payload is a 422.
   */
  payload: unknown;
  /** Lets an in-flight record expire when the invocation would have timed out anyway. */
  lambdaContext?: Context;
  /**
   * The request's. The claim (or a replay's read) that has not ended by it is given up: 503
   * `idempotency_unavailable`, and `execute` never runs for this call, even if the claim lands
   * later (its record is then released). Once `execute` runs, the deadline is its business.
   */
  deadline?: Deadline;
  /** Runs the request. Must return a JSON-serialisable response; a throw is never stored. */
  execute: () => Promise<T>;
  /**
   * Whether a response may be replayed later. Not stored means the key is released, so a
   * retry with it runs again.
   * @default {@link isReplayableResponse} — anything but a 5xx
   */
  storable?: (value: T) => boolean;
}

export interface IdempotentResult<T> {
  value: T;
  /** True when `value` is the stored response of an earlier call and `execute` did not run. */
  replayed: boolean;
}

/**
 * A DynamoDB item is at most 400 KB; the record also holds its key, status, expiries and the
 * payload hash, so responses above this are returned but not stored.
 */
export const MAX_STORED_RESPONSE_BYTES = 350_000;

/** Every record id starts with this, instead of Powertools' default (the function's name). */
export const IDEMPOTENCY_KEY_PREFIX = 'breakwater';

/** Server errors are not answers worth replaying: the client should be able to try again. */
export function isReplayableResponse(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const { statusCode, status } = value as { statusCode?: unknown; status?: unknown };
  const code = statusCode ?? status;
  return typeof code !== 'number' || code < 500;
}

/** Thrown from inside the idempotent function so Powertools deletes the in-progress record. */
class NotStoredSignal extends Error {
  constructor(readonly reason: 'not_storable' | 'too_large' | 'claim_abandoned') {
    super(reason);
    this.name = 'NotStoredSignal';
  }
}

type Outcome<T> = { kind: 'not_run' } | { kind: 'returned'; value: T } | { kind: 'threw'; error: unknown };

/**
 * Powertools' idempotency utility and its JMESPath engine, imported on the first request that
 * carries an Idempotency-Key rather than at every cold start (`npm run bench:cold`).
 */
async function loadPowertools() {
  const [{ IdempotencyConfig, makeIdempotent }, { DynamoDBPersistenceLayer }] = await Promise.all([
    import('@aws-lambda-powertools/idempotency'),
    import('@aws-lambda-powertools/idempotency/dynamodb'),
  ]);
  return { IdempotencyConfig, makeIdempotent, DynamoDBPersistenceLayer };
}

/**
 * Runs a request at most once per (tenant, Idempotency-Key), on Powertools' idempotency
 * utility: one conditional PutItem claims the key (so N concurrent duplicates run it once),
 * the response is stored as a JSON string, a throw deletes the claim so the client may retry.
 *
 * The store failing before the request ran fails closed (503 `idempotency_unavailable`):
 * running a non-idempotent call twice is exactly what the client asked us to prevent. The
 * store failing after the request ran never hides its response; the key stays claimed until
 * its in-progress expiry instead.
 *
 * Times are Powertools' own (`Date.now()`), so no clock is injected here.
 */
export class IdempotentExecutor {
  private powertools?: Promise<Awaited<ReturnType<typeof loadPowertools>> & { persistence: DynamoDBPersistenceLayer }>;
  private readonly options: IdempotentExecutorOptions;
  private readonly expiresAfterSeconds: number;
  private readonly fallbackContext: Context;
  private readonly retryAfter: string;
  private readonly logger: IdempotentExecutorOptions['logger'];

  constructor(options: IdempotentExecutorOptions) {
    this.options = options;
    this.expiresAfterSeconds = options.expiresAfterSeconds ?? 86_400;
    const inProgressMs = (options.inProgressExpirySeconds ?? 60) * 1000;
    // Powertools sets no in-progress expiry at all without a context, which would lock a key
    // whose first call crashed for the whole day; this stand-in bounds it.
    this.fallbackContext = { getRemainingTimeInMillis: () => inProgressMs } as Context;
    this.retryAfter = String(options.inProgressRetryAfterSeconds ?? 1);
    this.logger = options.logger;
  }

  /** Loaded once, on first use; the persistence layer is built with it. */
  private loadPowertools() {
    this.powertools ??= loadPowertools().then((powertools) => ({
      ...powertools,
      persistence: new powertools.DynamoDBPersistenceLayer({
        tableName: this.options.tableName,
        awsSdkV3Client: this.options.client,
        keyAttr: 'id',
      }),
    }));
    return this.powertools;
  }

  async run<T>(input: IdempotentRunInput<T>): Promise<IdempotentResult<T>> {
    const { IdempotencyConfig, makeIdempotent, persistence } = await this.loadPowertools();
    const storable = input.storable ?? isReplayableResponse;
    // A config per call: it carries the call's Lambda context, and calls may overlap.
    const config = new IdempotencyConfig({
      eventKeyJmesPath: '[tenant, key]',
      payloadValidationJmesPath: 'payload',
      expiresAfterSeconds: this.expiresAfterSeconds,
      hashFunction: 'sha256',
      throwOnNoIdempotencyKey: true,
    });
    config.registerLambdaContext(input.lambdaContext ?? this.fallbackContext);

    let outcome: Outcome<T> = { kind: 'not_run' };
    let abandoned = false;
    let markStarted = () => {};
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const once = makeIdempotent(
      async (_record: { tenant: string; key: string; payload: unknown }): Promise<string> => {
        // The claim landed after this call gave up on it: release it, run nothing.
        if (abandoned) throw new NotStoredSignal('claim_abandoned');
        markStarted();
        try {
          const value = await input.execute();
          outcome = { kind: 'returned', value };
        } catch (error) {
          outcome = { kind: 'threw', error };
          throw error;
        }
        if (!storable(outcome.value)) throw new NotStoredSignal('not_storable');
        const serialized = JSON.stringify(outcome.value);
        if (Buffer.byteLength(serialized) > MAX_STORED_RESPONSE_BYTES) throw new NotStoredSignal('too_large');
        return serialized;
      },
      { persistenceStore: persistence, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
    );

    let stored: unknown;
    try {
      const call = once({ tenant: input.tenant, key: input.key, payload: input.payload ?? null });
      stored = await (input.deadline
        ? this.claimWithin(call, started, input.deadline, () => {
            abandoned = true;
          })
        : call);
    } catch (error) {
      // TypeScript cannot see the callback's writes to `outcome`.
      const settled = outcome as Outcome<T>;
      if (settled.kind === 'threw') {
        // Powertools rethrows the request's own error once the claim is deleted; this one
        // means the delete failed.
        if ((error as Error | undefined)?.name === 'IdempotencyPersistenceLayerError') {
          this.logger.warn('idempotency record not released after a failed request; the key unlocks at its in-progress expiry', {
            tenant: input.tenant,
            error_name: (error as Error | undefined)?.name,
          });
        }
        throw settled.error;
      }
      if (settled.kind === 'returned') {
        this.logAfterRun(input.tenant, error);
        return { value: settled.value, replayed: false };
      }
      throw this.translate(error);
    }
    const settled = outcome as Outcome<T>;
    if (settled.kind === 'returned') return { value: settled.value, replayed: false };
    return { value: (typeof stored === 'string' ? JSON.parse(stored) : stored) as T, replayed: true };
  }

  /**
   * `call` (claim, run, store), given up at `deadline` if by then the claim has neither let the
   * request start nor ended it (a replay, a 409, a 422, a store error): rejects with a
   * `StoreTimeoutError` of bound `deadline`. Powertools' calls take no abort signal, hence the
   * wait is cut rather than the call.
   */
  private async claimWithin<R>(call: Promise<R>, started: Promise<void>, deadline: Deadline, abandon: () => void): Promise<R> {
    try {
      await untilDeadline(Promise.race([started, call.then(() => undefined)]), deadline, 'the idempotency store');
    } catch (error) {
      if (isDeadlineCut(error)) abandon();
      throw error;
    }
    return call;
  }

  /** The request ran and answered, but its response could not be stored (or need not be). */
  private logAfterRun(tenant: string, error: unknown): void {
    if (error instanceof Error && error.name === 'NotStoredSignal') {
      const reason = (error as NotStoredSignal).reason;
      this.logger.debug('response not stored for replay; the key is released', { tenant, reason });
      return;
    }
    this.logger.warn('response not stored for replay; the key unlocks at its in-progress expiry', {
      tenant,
      error_name: (error as Error | undefined)?.name,
      error_message: (error as Error | undefined)?.message,
    });
  }

  /** Maps Powertools' errors (by name: bundles may hold two copies of the package). */
  private translate(error: unknown) {
    const name = (error as Error | undefined)?.name;
    switch (name) {
      case 'IdempotencyValidationError':
        return idempotencyError(
          'idempotency_key_reused',
          'this Idempotency-Key was already used with a different request; use a new key for a new request',
          { cause: error },
        );
      case 'IdempotencyAlreadyInProgressError':
      // The record changed under us (finished or was released between our write and read).
      case 'IdempotencyInconsistentStateError':
      case 'IdempotencyItemNotFoundError':
        return idempotencyError(
          'idempotency_in_progress',
          'a request with this Idempotency-Key is still in progress; retry shortly',
          { headers: { 'retry-after': this.retryAfter }, cause: error },
        );
      default:
        this.logger.warn('idempotency store unavailable; refusing the request', {
          error_name: name,
          error_message: (error as Error | undefined)?.message,
          cause_name: ((error as Error | undefined)?.cause as Error | undefined)?.name,
        });
        return idempotencyError(
          'idempotency_unavailable',
          'the idempotency store is unavailable, so the request was not run; retry later',
          { cause: error },
        );
    }
  }
}
