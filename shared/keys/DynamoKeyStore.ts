import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../resilience/clock';
import { keyPolicySchema, type KeyPolicy } from './keyPolicy';
import { KEY_STATES, keyState, type CreatedKey, type KeyRecord } from './KeyRecord';
import { KEY_STORE_ERRORS, KeyStoreError } from './KeyStoreError';
import { displayPrefix, generateVirtualKey, hashKey, systemRandomBytes, virtualKeyProblem, type KeyRef, type RandomBytes } from './virtualKey';

export interface CreateKeyInput {
  tenant: string;
  name?: string;
  /** The key stops working this long after creation; omitted, it never expires. */
  expiresInSeconds?: number;
  /** Validated with {@link keyPolicySchema}. @default {} */
  policy?: KeyPolicy;
}

export interface RotatedKey extends CreatedKey {
  /** The old key's record, now expiring at the end of the grace period. */
  previous: KeyRecord;
}

/** Everything the CLI and the seeding need; the request path only needs `getByHash`. */
export interface KeyStore {
  create(input: CreateKeyInput): Promise<CreatedKey>;
  /** Stores a key chosen elsewhere (the config file's keys); false when it is already stored. */
  insert(key: string, input: CreateKeyInput): Promise<boolean>;
  getByHash(hash: string): Promise<KeyRecord | undefined>;
  list(tenant?: string): Promise<KeyRecord[]>;
  revoke(ref: KeyRef): Promise<KeyRecord>;
  rotate(ref: KeyRef, graceSeconds: number, options?: { expiresInSeconds?: number }): Promise<RotatedKey>;
}

export interface DynamoKeyStoreOptions {
  doc: DynamoDBDocumentClient;
  /** The `keys` table (partition key `pk`, TTL attribute `expires_at`). */
  tableName: string;
  /** @default systemClock */
  clock?: Pick<Clock, 'now'>;
  /** @default crypto.randomBytes */
  randomBytes?: RandomBytes;
}

/** The stored item. Times are epoch ms except `expires_at`, in seconds because it is the TTL. */
interface KeyItem {
  pk: string;
  prefix: string;
  tenant: string;
  name?: string;
  created_at: number;
  expires_at?: number;
  revoked_at?: number;
  policy: KeyPolicy;
}

const PK_PREFIX = 'key#';
const pkFor = (hash: string) => `${PK_PREFIX}${hash}`;
/** Rounded up: a key stays valid at least as long as asked (under a second longer). */
const toEpochSeconds = (ms: number) => Math.ceil(ms / 1000);

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * Virtual keys in DynamoDB, one item per key under `key#<sha256>`. The plain key exists only in
 * the return value of `create`/`rotate`. Listing and prefix look-ups scan the table: they are
 * operator commands on a small table, never on the request path, which reads by hash.
 */
export class DynamoKeyStore implements KeyStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly randomBytes: RandomBytes;

  constructor(options: DynamoKeyStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.randomBytes = options.randomBytes ?? systemRandomBytes;
  }

  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const key = generateVirtualKey(this.randomBytes);
    const record = this.newRecord(key, input);
    if (!(await this.put(record))) {
      throw new KeyStoreError(KEY_STORE_ERRORS.ALREADY_EXISTS, 'a generated key collided with a stored one; try again');
    }
    return { key, record };
  }

  async insert(key: string, input: CreateKeyInput): Promise<boolean> {
    // The same rule as the config file's: a short key would show too much of itself in logs.
    const problem = virtualKeyProblem(key);
    if (problem) throw new RangeError(problem);
    return this.put(this.newRecord(key, input));
  }

  async getByHash(hash: string): Promise<KeyRecord | undefined> {
    const { Item } = await this.doc.send(
      // Consistent: a revocation or rotation is visible to the next cache miss, not a second later.
      new GetCommand({ TableName: this.tableName, Key: { pk: pkFor(hash) }, ConsistentRead: true }),
    );
    return Item ? fromItem(Item as KeyItem) : undefined;
  }

  async list(tenant?: string): Promise<KeyRecord[]> {
    const items = await this.scan(
      tenant === undefined
        ? {}
        : { FilterExpression: '#tenant = :tenant', ExpressionAttributeNames: { '#tenant': 'tenant' }, ExpressionAttributeValues: { ':tenant': tenant } },
    );
    return items.map(fromItem).sort((a, b) => a.createdAt - b.createdAt || a.prefix.localeCompare(b.prefix));
  }

  async revoke(ref: KeyRef): Promise<KeyRecord> {
    const record = await this.find(ref);
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pkFor(record.hash) },
          // Revoking twice keeps the first instant: it is the one that matters in an audit.
          UpdateExpression: 'SET #revoked = if_not_exists(#revoked, :now)',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#revoked': 'revoked_at', '#pk': 'pk' },
          ExpressionAttributeValues: { ':now': this.clock.now() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(Attributes as KeyItem);
    } catch (error) {
      if (isConditionFailure(error)) throw notFound(ref, error);
      throw error;
    }
  }

  /**
   * Shortens the old key's life to the grace period first, then creates its successor with the
   * same tenant, name, policy and expiry (`expiresInSeconds` overrides it): a rotation never
   * turns a key that was to expire into one that never does. In that order a failure never
   * leaves an extra live key behind: at worst the old key runs out its grace and the rotation is
   * run again.
   */
  async rotate(ref: KeyRef, graceSeconds: number, options: { expiresInSeconds?: number } = {}): Promise<RotatedKey> {
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new RangeError('graceSeconds must be 0 or more');
    const old = await this.find(ref);
    const now = this.clock.now();
    if (keyState(old, now) !== KEY_STATES.ACTIVE) {
      throw new KeyStoreError(KEY_STORE_ERRORS.NOT_ACTIVE, `key ${old.prefix} is ${keyState(old, now)}; only an active key can be rotated`);
    }
    const graceEnd = toEpochSeconds(now + graceSeconds * 1000);
    // A key due to expire within the grace period keeps its earlier expiry.
    const expiresAt = old.expiresAt === undefined ? graceEnd : Math.min(graceEnd, toEpochSeconds(old.expiresAt));
    let previous: KeyRecord;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pkFor(old.hash) },
          UpdateExpression: 'SET #expires = :expires',
          // Not revoked or expired in the meantime: a rotation must never revive a key.
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#revoked) AND (attribute_not_exists(#expires) OR #expires > :now)',
          ExpressionAttributeNames: { '#pk': 'pk', '#revoked': 'revoked_at', '#expires': 'expires_at' },
          ExpressionAttributeValues: { ':expires': expiresAt, ':now': Math.floor(now / 1000) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      previous = fromItem(Attributes as KeyItem);
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new KeyStoreError(KEY_STORE_ERRORS.NOT_ACTIVE, `key ${old.prefix} was revoked or expired while rotating`, { cause: error });
      }
      throw error;
    }
    const created = await this.create({
      tenant: old.tenant,
      name: old.name,
      policy: old.policy,
      // The old key's own expiry (whole seconds, which newRecord rounds back up to it), not its
      // grace: the key is active, so that is still ahead.
      expiresInSeconds:
        options.expiresInSeconds ?? (old.expiresAt === undefined ? undefined : Math.max(1, Math.floor((old.expiresAt - now) / 1000))),
    });
    return { ...created, previous };
  }

  /** The one record a reference names; a prefix shared by several usable keys is refused. */
  private async find(ref: KeyRef): Promise<KeyRecord> {
    if ('hash' in ref) {
      const record = await this.getByHash(ref.hash);
      if (!record) throw notFound(ref);
      return record;
    }
    const matches = (
      await this.scan({
        FilterExpression: '#prefix = :prefix',
        ExpressionAttributeNames: { '#prefix': 'prefix' },
        ExpressionAttributeValues: { ':prefix': ref.prefix },
      })
    ).map(fromItem);
    if (matches.length === 0) throw notFound(ref);
    if (matches.length === 1) return matches[0]!;
    // Four random characters collide now and then; dead keys do not count as a collision.
    const now = this.clock.now();
    const active = matches.filter((record) => keyState(record, now) === KEY_STATES.ACTIVE);
    if (active.length === 1) return active[0]!;
    throw new KeyStoreError(
      KEY_STORE_ERRORS.AMBIGUOUS_PREFIX,
      `${matches.length} keys start with ${ref.prefix}; name the key itself instead of its prefix`,
    );
  }

  private newRecord(key: string, input: CreateKeyInput): KeyRecord {
    if (input.tenant.trim() === '') throw new RangeError('tenant must not be empty');
    if (input.expiresInSeconds !== undefined && !(input.expiresInSeconds > 0)) {
      throw new RangeError('expiresInSeconds must be positive');
    }
    const now = this.clock.now();
    return {
      hash: hashKey(key),
      prefix: displayPrefix(key),
      tenant: input.tenant,
      ...(input.name === undefined ? {} : { name: input.name }),
      createdAt: now,
      ...(input.expiresInSeconds === undefined
        ? {}
        : { expiresAt: toEpochSeconds(now + input.expiresInSeconds * 1000) * 1000 }),
      policy: keyPolicySchema.parse(input.policy ?? {}),
    };
  }

  /** A conditional put: never overwrites, so seeding twice cannot un-revoke a key. */
  private async put(record: KeyRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async scan(input: Omit<ScanCommandInput, 'TableName'>): Promise<KeyItem[]> {
    const items: KeyItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({ ...input, TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey }),
      );
      items.push(...((page.Items ?? []) as KeyItem[]).filter((item) => item.pk.startsWith(PK_PREFIX)));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }
}

function notFound(ref: KeyRef, cause?: unknown): KeyStoreError {
  // The hash is not echoed: a hash of a weak seeded key can be brute-forced offline.
  const what = 'prefix' in ref ? `starting with ${ref.prefix}` : 'matching that key';
  return new KeyStoreError(KEY_STORE_ERRORS.NOT_FOUND, `no key ${what}`, { cause });
}

function toItem(record: KeyRecord): KeyItem {
  return {
    pk: pkFor(record.hash),
    prefix: record.prefix,
    tenant: record.tenant,
    name: record.name,
    created_at: record.createdAt,
    expires_at: record.expiresAt === undefined ? undefined : toEpochSeconds(record.expiresAt),
    revoked_at: record.revokedAt,
    policy: record.policy,
  };
}

function fromItem(item: KeyItem): KeyRecord {
  const policy = keyPolicySchema.safeParse(item.policy ?? {});
  if (!policy.success) {
    // Only this store writes keys, with a validated policy: a bad one was edited by hand.
    throw new KeyStoreError(KEY_STORE_ERRORS.INVALID_RECORD, `key ${item.prefix} has an invalid stored policy`, {
      cause: policy.error,
    });
  }
  return {
    hash: item.pk.slice(PK_PREFIX.length),
    prefix: item.prefix,
    tenant: item.tenant,
    ...(item.name === undefined ? {} : { name: item.name }),
    createdAt: item.created_at,
    ...(item.expires_at === undefined ? {} : { expiresAt: item.expires_at * 1000 }),
    ...(item.revoked_at === undefined ? {} : { revokedAt: item.revoked_at }),
    policy: policy.data,
  };
}
