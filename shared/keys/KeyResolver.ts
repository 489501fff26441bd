import { systemClock, type Clock } from '../resilience/clock';
import type { Deadline } from '../resilience/deadline';
import { untilDeadline } from '../stores/boundedCalls';
import type { KeyPolicy } from './keyPolicy';
import { KEY_STATES, keyState, type KeyRecord } from './KeyRecord';
import type { KeyStore } from './DynamoKeyStore';
import { hashesEqual, hashKey, MIN_KEY_LENGTH } from './virtualKey';

/** Who a request's key belongs to and what it may do. */
export interface ResolvedKey {
  tenant: string;
  /** Safe to log and to show: `bw_live_AbCd`. */
  keyPrefix: string;
  /** Stable id of the key for per-key state (rate-limit counters): its SHA-256 hex. */
  keyId: string;
  policy: KeyPolicy;
  /** Epoch ms, when the key expires. */
  expiresAt?: number;
}

export interface KeyResolverOptions {
  store: Pick<KeyStore, 'getByHash'>;
  /**
   * How long a look-up (found or not) is reused in this container. It bounds how late a
   * revocation takes effect across the fleet; expiry is always exact. Capped at 30 s, the
   * bound the docs promise.
   * @default 30_000
   */
  cacheTtlMs?: number;
  /** Entries kept; a flood of random keys must not grow memory without bound. @default 10_000 */
  maxEntries?: number;
  /** @default systemClock */
  clock?: Pick<Clock, 'now'>;
}

/** The longest a revoked key may keep working anywhere: the bound the docs promise. */
export const MAX_KEY_CACHE_TTL_MS = 30_000;

/**
 * When a change to a key written at `changedAt` (a rotation's shortened expiry, a revocation)
 * that takes effect at `effectiveAt` is honoured by every gateway: from `effectiveAt` by every
 * container that reads the key after the write, but a container that cached the key just before
 * the write keeps that entry up to {@link MAX_KEY_CACHE_TTL_MS} longer. Rounded up to a whole
 * second, so an instant printed in seconds is never early.
 */
export function keyChangeHonouredBy(changedAt: number, effectiveAt: number): number {
  return Math.ceil(Math.max(effectiveAt, changedAt + MAX_KEY_CACHE_TTL_MS) / 1000) * 1000;
}

interface CacheEntry {
  /** The stored record's hash, compared in constant time before the entry is trusted. */
  hash: string;
  resolved: ResolvedKey | undefined;
  until: number;
}

/**
 * Resolves a presented virtual key per request: hash, then a per-container cache, then the store.
 * Misses are cached too, so a client hammering with a wrong key costs one read per TTL, not one
 * per request. Store errors are not cached and propagate: authentication never fails open.
 */
export class KeyResolver {
  private readonly store: Pick<KeyStore, 'getByHash'>;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly cache = new Map<string, CacheEntry>();
  /** Concurrent requests with the same key share one read. */
  private readonly inFlight = new Map<string, Promise<CacheEntry>>();

  constructor(options: KeyResolverOptions) {
    this.store = options.store;
    this.ttlMs = Math.min(options.cacheTtlMs ?? MAX_KEY_CACHE_TTL_MS, MAX_KEY_CACHE_TTL_MS);
    this.maxEntries = options.maxEntries ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * @param options.deadline the request's: the look-up (which concurrent requests with the same
   *   key share) is waited on until then at most: a store that has not answered by it is a
   *   `StoreTimeoutError` (bound `deadline`) for this request only.
   * @throws the store's error or a `StoreTimeoutError`: a look-up that failed is never a miss
   */
  async resolve(presentedKey: string, options: { deadline?: Deadline } = {}): Promise<ResolvedKey | undefined> {
    // No valid key is shorter (a short one stored before the rule is refused too): no read for it.
    if (presentedKey.length < MIN_KEY_LENGTH) return undefined;
    const hash = hashKey(presentedKey);
    const now = this.clock.now();
    let entry = this.cache.get(hash);
    if (!entry || now >= entry.until) entry = await untilDeadline(this.load(hash), options.deadline, 'the key store');
    if (!entry.resolved || !hashesEqual(entry.hash, hash)) return undefined;
    // A key that expires while cached stops at its instant, not up to a TTL later.
    if (entry.resolved.expiresAt !== undefined && this.clock.now() >= entry.resolved.expiresAt) return undefined;
    return entry.resolved;
  }

  /** Drops every cached look-up (tests; an operator endpoint could call it). */
  clear(): void {
    this.cache.clear();
  }

  private load(hash: string): Promise<CacheEntry> {
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.fetch(hash).finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  }

  private async fetch(hash: string): Promise<CacheEntry> {
    const record = await this.store.getByHash(hash);
    const now = this.clock.now();
    const entry: CacheEntry = {
      hash: record?.hash ?? hash,
      resolved: record && keyState(record, now) === KEY_STATES.ACTIVE ? toResolved(record) : undefined,
      until: now + this.ttlMs,
    };
    this.cache.delete(hash);
    if (this.cache.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(hash, entry);
    return entry;
  }
}

function toResolved(record: KeyRecord): ResolvedKey {
  return {
    tenant: record.tenant,
    keyPrefix: record.prefix,
    keyId: record.hash,
    policy: record.policy,
    ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
  };
}
