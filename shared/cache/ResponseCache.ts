import type { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../resilience';
import { isDeadlineCut } from '../stores/boundedCalls';

export interface ResponseCacheOptions {
  /** A DocumentClient from `createDynamoClients` (short timeouts). */
  doc: DynamoDBDocumentClient;
  /** The cache table: partition key `pk`, TTL attribute `expires_at`. */
  tableName: string;
  clock: Clock;
  logger: Pick<Logger, 'debug' | 'warn'>;
  /**
   * Items are kept at least this long, whatever the route's max_age, so a stale answer is still
   * there to serve as a last resort when every target is failing.
   * @default 86_400
   */
  staleRetentionSeconds?: number;
  /**
   * Larger serialized bodies are not cached: a DynamoDB item is at most 400 KB.
   * @default 350_000
   */
  maxBodyBytes?: number;
  /**
   * After the store fails, how long this container treats the cache as absent (every read a
   * miss, every write skipped) before asking the store again.
   * @default 5_000 — a hung store then costs one request per five seconds a read's timeout,
   * and the write after a failed read is not a second wait on the same store.
   */
  storeRetryIntervalMs?: number;
}

export interface CachedResponse {
  body: unknown;
  /** Whole seconds since the response was stored. */
  ageSeconds: number;
  /** Younger than the max_age asked for; a stale entry is only a fallback. */
  fresh: boolean;
}

/** The item as stored. */
interface CacheItem {
  pk: string;
  /** The response body as JSON text: one string attribute, nothing for the marshaller to trip on. */
  body: string;
  /** Epoch milliseconds. */
  stored_at: number;
  /** Epoch seconds; DynamoDB's TTL deletes the item some time after. */
  expires_at: number;
}

/**
 * Responses stored in DynamoDB by {@link cacheKey}. A cache is an optimisation, so the store
 * failing never fails a request: `get` misses and `put` does nothing, both logging a warning,
 * and for `storeRetryIntervalMs` after a failure the store is not asked at all.
 */
export class ResponseCache {
  private readonly staleRetentionSeconds: number;
  private readonly maxBodyBytes: number;
  private readonly storeRetryIntervalMs: number;
  /** While `now` is before this, the store is not asked. */
  private storeDownUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ResponseCacheOptions) {
    this.staleRetentionSeconds = options.staleRetentionSeconds ?? 86_400;
    this.maxBodyBytes = options.maxBodyBytes ?? 350_000;
    this.storeRetryIntervalMs = options.storeRetryIntervalMs ?? 5_000;
  }

  async get(key: string, maxAgeSeconds: number): Promise<CachedResponse | undefined> {
    if (this.storeDown()) return undefined;
    let item: CacheItem | undefined;
    try {
      const result = await this.options.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: key } }));
      item = result.Item as CacheItem | undefined;
    } catch (error) {
      this.storeFailed(error);
      this.warn('response cache read failed; treating as a miss', error);
      return undefined;
    }
    if (!item) return undefined;
    const now = this.options.clock.now();
    // TTL deletion lags by up to days; an expired item is a miss.
    if (item.expires_at * 1000 <= now) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(item.body);
    } catch (error) {
      this.warn('unreadable response cache item; treating as a miss', error);
      return undefined;
    }
    const ageSeconds = Math.max(0, Math.floor((now - item.stored_at) / 1000));
    return { body, ageSeconds, fresh: ageSeconds < maxAgeSeconds };
  }

  async put(key: string, body: unknown, maxAgeSeconds: number): Promise<void> {
    const serialized = JSON.stringify(body);
    if (serialized === undefined) return;
    const bytes = Buffer.byteLength(serialized);
    if (bytes > this.maxBodyBytes) {
      this.options.logger.debug('response too large to cache', { bytes, max_bytes: this.maxBodyBytes });
      return;
    }
    const now = this.options.clock.now();
    const item: CacheItem = {
      pk: key,
      body: serialized,
      stored_at: now,
      expires_at: Math.ceil(now / 1000) + Math.max(maxAgeSeconds, this.staleRetentionSeconds),
    };
    if (this.storeDown()) return;
    try {
      await this.options.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item }));
    } catch (error) {
      this.storeFailed(error);
      this.warn('response cache write failed; response not cached', error);
    }
  }

  private storeDown(): boolean {
    return this.options.clock.now() < this.storeDownUntil;
  }

  private storeFailed(error: unknown): void {
    // A call cut by its request's deadline says nothing about the store.
    if (!isDeadlineCut(error)) this.storeDownUntil = this.options.clock.now() + this.storeRetryIntervalMs;
  }

  private warn(message: string, error: unknown): void {
    this.options.logger.warn(message, {
      error_name: (error as Error | undefined)?.name,
      error_message: (error as Error | undefined)?.message,
    });
  }
}
