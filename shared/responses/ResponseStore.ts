import type { Logger } from '@aws-lambda-powertools/logger';
import { GatewayError } from '../errors';
import type { Clock } from '../resilience';
import type { ResponseRecords, StoredResponse } from './StoredResponse';

/** OpenAI keeps stored responses 30 days. */
export const DEFAULT_RESPONSE_TTL_SECONDS = 30 * 24 * 3600;

/**
 * DynamoDB items stop at 400 KB, key and attribute names included; 350 KB of JSON leaves room
 * for them with a margin, so an oversized answer is refused here, knowingly, not by DynamoDB.
 */
export const MAX_STORED_RESPONSE_BYTES = 350 * 1024;

/** Far longer than the ids this gateway makes (`resp_` and 32 hex digits). */
const MAX_RESPONSE_ID_LENGTH = 128;

/**
 * Whether `id` could name a stored response. Anything else (a 10 KB id, a control character)
 * is answered as missing without a read: DynamoDB refuses a key over 2 KB with an error that
 * would otherwise read as the store being down (a 503 for the client's own mistake).
 */
const mayBeStoredId = (id: string): boolean => id.length <= MAX_RESPONSE_ID_LENGTH && /^[\x21-\x7e]+$/.test(id);

export interface ResponseStoreOptions {
  records: ResponseRecords;
  clock: Pick<Clock, 'now'>;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** How long a stored response can be continued from. @default 30 days */
  ttlSeconds?: number;
  /** @default {@link MAX_STORED_RESPONSE_BYTES} */
  maxBytes?: number;
}

/**
 * Stored Responses API answers (`store: true`), per tenant: what `previous_response_id`,
 * `item_reference` and `GET /v1/responses/{id}` read. Another tenant's id reads as missing.
 *
 * A write happens after the client has its answer, so it never fails the request: a store that
 * cannot be written, or an answer too large to store, is logged and the answer stands (a later
 * turn that names it gets a 404). A read that cannot reach the store is a 503: a follow-up turn
 * cannot be answered without the conversation it continues.
 */
export class ResponseStore {
  private readonly ttlSeconds: number;
  private readonly maxBytes: number;

  constructor(private readonly options: ResponseStoreOptions) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_RESPONSE_TTL_SECONDS;
    this.maxBytes = options.maxBytes ?? MAX_STORED_RESPONSE_BYTES;
  }

  /** @returns whether the response was stored */
  async put(tenant: string, stored: StoredResponse): Promise<boolean> {
    const { logger } = this.options;
    const id = stored.response.id;
    const body = JSON.stringify(stored);
    const bytes = Buffer.byteLength(body);
    if (bytes > this.maxBytes) {
      logger.warn('response not stored: too large', { event: 'response_not_stored', tenant, response_id: id, bytes, max_bytes: this.maxBytes });
      return false;
    }
    const now = this.nowSeconds();
    try {
      await this.options.records.put({ tenant, id, body, createdAt: now, expiresAt: now + this.ttlSeconds });
      return true;
    } catch (error) {
      logger.error('response not stored: the store failed', {
        event: 'response_not_stored',
        tenant,
        response_id: id,
        error_name: (error as Error | undefined)?.name,
        error_message: (error as Error | undefined)?.message,
      });
      return false;
    }
  }

  /** The tenant's stored response, or undefined when missing, expired or another tenant's. */
  async get(tenant: string, id: string): Promise<StoredResponse | undefined> {
    if (!mayBeStoredId(id)) return undefined;
    const record = await this.reach(() => this.options.records.get(tenant, id));
    if (!record || record.tenant !== tenant || record.expiresAt <= this.nowSeconds()) return undefined;
    return JSON.parse(record.body) as StoredResponse;
  }

  /** @returns false when there was nothing of this tenant's to delete */
  delete(tenant: string, id: string): Promise<boolean> {
    if (!mayBeStoredId(id)) return Promise.resolve(false);
    return this.reach(() => this.options.records.delete(tenant, id, this.nowSeconds()));
  }

  private nowSeconds(): number {
    return Math.floor(this.options.clock.now() / 1000);
  }

  private async reach<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (cause) {
      throw new GatewayError('response_store_unavailable', 'stored responses cannot be reached; try again shortly', {
        cause,
        headers: { 'retry-after': '1' },
      });
    }
  }
}
