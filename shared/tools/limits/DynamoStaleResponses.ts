import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../../resilience/clock';
import type { StaleResponseStore, StoredToolResponse } from '../types';

export interface DynamoStaleResponsesOptions {
  doc: DynamoDBDocumentClient;
  /** The response `cache` table (partition key `pk`, TTL attribute `expires_at`). */
  tableName: string;
  clock: Pick<Clock, 'now'>;
  logger: { warn(message: string, attributes: Record<string, unknown>): void };
}

/**
 * DynamoDB items stop at 400 KB; an answer larger than this is not kept (the headers and key
 * take the rest). A stale fallback is for the small JSON answers agents read, not downloads.
 */
export const MAX_STALE_BODY_BYTES = 350 * 1024;

/**
 * The last good answer to each GET, kept in the cache table so that when a service's breaker is
 * open the same GET is answered from it (marked stale) instead of failing. Both directions are
 * best effort: a failed write or read only means no stale answer.
 */
export class DynamoStaleResponses implements StaleResponseStore {
  constructor(private readonly options: DynamoStaleResponsesOptions) {}

  async put(key: string, response: StoredToolResponse, maxStaleSeconds: number): Promise<void> {
    if (response.body.byteLength > MAX_STALE_BODY_BYTES) return;
    const { doc, tableName } = this.options;
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: staleKey(key),
            status: response.statusCode,
            headers: JSON.stringify(response.headers),
            body: response.body,
            stored_at: response.storedAt,
            expires_at: Math.ceil(response.storedAt / 1_000) + maxStaleSeconds,
          },
        }),
      );
    } catch (error) {
      this.options.logger.warn('tool stale answer not stored', { error: (error as Error)?.name });
    }
  }

  async get(key: string): Promise<StoredToolResponse | undefined> {
    const { doc, tableName, clock } = this.options;
    try {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: staleKey(key) } }));
      // TTL deletion runs late (and not at all locally): expiry is checked here too.
      if (!Item || Number(Item.expires_at) * 1_000 <= clock.now()) return undefined;
      return {
        statusCode: Number(Item.status),
        headers: JSON.parse(String(Item.headers)) as Record<string, string>,
        body: Buffer.from(Item.body as Uint8Array),
        storedAt: Number(Item.stored_at),
      };
    } catch (error) {
      this.options.logger.warn('tool stale answer unavailable', { error: (error as Error)?.name });
      return undefined;
    }
  }
}

const staleKey = (key: string) => `tool-stale#${key}`;
