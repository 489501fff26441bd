import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GatewayError } from '../../errors';
import { TABLES } from '../../stores/dynamo/tables';
import type { ConnectionRef } from '../types';

const PK = TABLES.connections.partitionKey;
const TTL = TABLES.connections.ttlAttribute;

export const CONNECTION_STATUS = {
  ACTIVE: 'active',
  /** The refresh token stopped working: the user must connect again. */
  REAUTHORIZATION_REQUIRED: 'reauthorization_required',
} as const;
export type ConnectionStatus = (typeof CONNECTION_STATUS)[keyof typeof CONNECTION_STATUS];

/** One end user's connection to one service, as stored (tokens encrypted). */
export interface ConnectionRecord extends ConnectionRef {
  /** The data key that encrypted `tokens`. */
  keyId: string;
  /** `encryptToken` of `{"a": access, "r": refresh}`, bound to the item's key. */
  tokens: string;
  /** Epoch ms; absent when the provider said nothing (the token is then used until a 401). */
  accessExpiresAt?: number;
  scopes: string[];
  connectedAt: number;
  updatedAt: number;
  status: ConnectionStatus;
  /** Bumped by every write of new tokens: a lease is only taken on the version its taker read. */
  version: number;
  /** The container refreshing right now, and until when (epoch ms) its lease holds. */
  leaseOwner?: string;
  leaseUntil?: number;
}

/** A connect in progress, between `POST /v1/connections/{service}` and the callback. */
export interface PendingConnect extends ConnectionRef {
  nonce: string;
  keyId: string;
  /** The PKCE verifier, encrypted like tokens. */
  verifier: string;
  redirectUri: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** The new tokens of a connect or a refresh. */
export interface TokenWrite {
  keyId: string;
  tokens: string;
  accessExpiresAt?: number;
  /** Absent on a refresh that did not say: the stored scopes stand. */
  scopes?: string[];
}

/** `conn#<tenant>#<user>#<service>`, each part URI-encoded so a `#` in a name cannot reach another's item. */
export const connectionKey = (ref: ConnectionRef): string =>
  `conn#${encodeURIComponent(ref.tenant)}#${encodeURIComponent(ref.user)}#${encodeURIComponent(ref.service)}`;
export const pendingKey = (nonce: string): string => `state#${nonce}`;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * The connections table. Every fleet-wide rule is one conditional write: a pending connect is
 * claimed once; a refresh lease is taken only when free (or expired) and on the version read;
 * new tokens are saved only by the lease's holder. A store that cannot be reached is a 503
 * `tool_state_unavailable`: a call cannot get its user's token without it.
 */
export class ConnectionRecords {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(ref: ConnectionRef): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.reach(() =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [PK]: connectionKey(ref) }, ConsistentRead: true })),
    );
    return Item && Item.tenant === ref.tenant ? toRecord(Item) : undefined;
  }

  /** The records that exist among `refs` (one BatchGet per 100; a user has a handful of services). */
  async getMany(refs: readonly ConnectionRef[]): Promise<ConnectionRecord[]> {
    const found: ConnectionRecord[] = [];
    for (let start = 0; start < refs.length; start += 100) {
      let keys: Record<string, unknown>[] | undefined = refs.slice(start, start + 100).map((ref) => ({ [PK]: connectionKey(ref) }));
      // Unprocessed keys (throttling) are asked again, a few times at most.
      for (let round = 0; keys && keys.length > 0 && round < 5; round++) {
        const answer = await this.reach(() =>
          this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys!, ConsistentRead: true } } })),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) found.push(toRecord(item));
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  /**
   * Stores a connect's tokens, over any earlier connection of the same user to the service: the
   * version moves on and any lease is dropped, so a refresh begun on the old tokens cannot save.
   */
  async connect(ref: ConnectionRef, write: TokenWrite, now: number): Promise<ConnectionRecord> {
    const { Attributes } = await this.reach(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: connectionKey(ref) },
          UpdateExpression:
            'SET tenant = :tenant, #user = :user, service = :service, key_id = :key_id, tokens = :tokens, access_expires_at = :exp, ' +
            'scopes = :scopes, connected_at = :now, updated_at = :now, #status = :active ADD version :one REMOVE lease_owner, lease_until',
          ExpressionAttributeNames: { '#user': 'user', '#status': 'status' },
          ExpressionAttributeValues: {
            ':tenant': ref.tenant,
            ':user': ref.user,
            ':service': ref.service,
            ':key_id': write.keyId,
            ':tokens': write.tokens,
            ':exp': write.accessExpiresAt ?? null,
            ':scopes': write.scopes ?? [],
            ':now': now,
            ':active': CONNECTION_STATUS.ACTIVE,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return toRecord(Attributes!);
  }

  /** Takes the refresh lease when it is free or expired and the item is still at `version`. */
  async claimLease(ref: ConnectionRef, owner: string, version: number, now: number, until: number): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: connectionKey(ref) },
          UpdateExpression: 'SET lease_owner = :owner, lease_until = :until',
          ConditionExpression: 'version = :version AND #status = :active AND (attribute_not_exists(lease_until) OR lease_until < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':version': version, ':now': now, ':active': CONNECTION_STATUS.ACTIVE },
        }),
      ),
    );
  }

  /** The lease holder's new tokens, access and refresh together in one write (rotation is atomic). */
  async saveRefreshed(ref: ConnectionRef, owner: string, write: TokenWrite, now: number): Promise<ConnectionRecord | undefined> {
    const values: Record<string, unknown> = {
      ':owner': owner,
      ':key_id': write.keyId,
      ':tokens': write.tokens,
      ':exp': write.accessExpiresAt ?? null,
      ':now': now,
      ':one': 1,
    };
    if (write.scopes) values[':scopes'] = write.scopes;
    let saved: ConnectionRecord | undefined;
    const ok = await this.conditional(async () => {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: connectionKey(ref) },
          UpdateExpression:
            `SET key_id = :key_id, tokens = :tokens, access_expires_at = :exp, updated_at = :now${write.scopes ? ', scopes = :scopes' : ''} ` +
            'ADD version :one REMOVE lease_owner, lease_until',
          ConditionExpression: 'lease_owner = :owner',
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      saved = toRecord(Attributes!);
    });
    return ok ? saved : undefined;
  }

  /** Gives the lease back after a refresh that failed for a reason worth another try. */
  async releaseLease(ref: ConnectionRef, owner: string): Promise<void> {
    await this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: connectionKey(ref) },
          UpdateExpression: 'REMOVE lease_owner, lease_until',
          ConditionExpression: 'lease_owner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  /** The refresh token was refused (`invalid_grant`): only a new connect helps. Done by the lease holder. */
  async markReauthorizationRequired(ref: ConnectionRef, owner: string, now: number): Promise<void> {
    await this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: connectionKey(ref) },
          UpdateExpression: 'SET #status = :status, updated_at = :now REMOVE lease_owner, lease_until',
          ConditionExpression: 'lease_owner = :owner',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':owner': owner, ':status': CONNECTION_STATUS.REAUTHORIZATION_REQUIRED, ':now': now },
        }),
      ),
    );
  }

  /** @returns the deleted record, or undefined when there was none */
  async delete(ref: ConnectionRef): Promise<ConnectionRecord | undefined> {
    const { Attributes } = await this.reach(() =>
      this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [PK]: connectionKey(ref) }, ReturnValues: 'ALL_OLD' })),
    );
    return Attributes ? toRecord(Attributes) : undefined;
  }

  async putPending(pending: PendingConnect): Promise<void> {
    await this.reach(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: pendingKey(pending.nonce),
            tenant: pending.tenant,
            user: pending.user,
            service: pending.service,
            key_id: pending.keyId,
            verifier: pending.verifier,
            redirect_uri: pending.redirectUri,
            expires_at_ms: pending.expiresAt,
            // The table's TTL sweeps what nobody finished (epoch seconds, a minute late is fine).
            [TTL]: Math.ceil(pending.expiresAt / 1000) + 60,
          },
          ConditionExpression: `attribute_not_exists(${PK})`,
        }),
      ),
    );
  }

  /** The pending connect, claimed: a second claim (a replayed state) or an expired one gets undefined. */
  async claimPending(nonce: string, now: number): Promise<PendingConnect | undefined> {
    let claimed: PendingConnect | undefined;
    await this.conditional(async () => {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: pendingKey(nonce) },
          UpdateExpression: 'SET claimed_at = :now',
          ConditionExpression: `attribute_exists(${PK}) AND attribute_not_exists(claimed_at) AND expires_at_ms > :now`,
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      claimed = {
        tenant: String(Attributes!.tenant),
        user: String(Attributes!.user),
        service: String(Attributes!.service),
        nonce,
        keyId: String(Attributes!.key_id),
        verifier: String(Attributes!.verifier),
        redirectUri: String(Attributes!.redirect_uri),
        expiresAt: Number(Attributes!.expires_at_ms),
      };
    });
    return claimed;
  }

  /** @returns false when the condition failed; other failures are a 503 */
  private async conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.reach(write, true);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async reach<T>(operation: () => Promise<T>, passConditionFailures = false): Promise<T> {
    try {
      return await operation();
    } catch (cause) {
      if (passConditionFailures && isConditionFailure(cause)) throw cause;
      throw new GatewayError('tool_state_unavailable', 'the connections store cannot be reached; try again shortly', { cause });
    }
  }
}

function toRecord(item: Record<string, unknown>): ConnectionRecord {
  const expires = item.access_expires_at;
  return {
    tenant: String(item.tenant),
    user: String(item.user),
    service: String(item.service),
    keyId: String(item.key_id),
    tokens: String(item.tokens),
    accessExpiresAt: typeof expires === 'number' ? expires : undefined,
    scopes: Array.isArray(item.scopes) ? item.scopes.map(String) : [],
    connectedAt: Number(item.connected_at),
    updatedAt: Number(item.updated_at),
    status: item.status === CONNECTION_STATUS.REAUTHORIZATION_REQUIRED ? CONNECTION_STATUS.REAUTHORIZATION_REQUIRED : CONNECTION_STATUS.ACTIVE,
    version: Number(item.version ?? 0),
    leaseOwner: typeof item.lease_owner === 'string' ? item.lease_owner : undefined,
    leaseUntil: typeof item.lease_until === 'number' ? item.lease_until : undefined,
  };
}
