import { LruMap } from '../resilience/lruMap';
import type { BreakerStore } from './BreakerStore';
import { CLOSED_RECORD, type BreakerRecord, type Transition } from './state';
import { guardFor, guardHolds } from './transition';

/**
 * Breaker state in this container's memory, with the same guards as the shared store: the
 * fallback when DynamoDB is unreachable (one container's breaker instead of the fleet's),
 * and a store for unit tests. Never throws.
 */
export class MemoryBreakerStore implements BreakerStore {
  private readonly records: LruMap<string, BreakerRecord>;

  /** @param options.maxTargets records kept, least recently used dropped first (a dropped one reads closed). @default 1_000 */
  constructor(options: { maxTargets?: number } = {}) {
    this.records = new LruMap(options.maxTargets ?? 1_000);
  }

  /** Records held now. */
  get size(): number {
    return this.records.size;
  }

  async get(targetKey: string): Promise<BreakerRecord> {
    return this.peek(targetKey);
  }

  async transition(targetKey: string, transition: Transition): Promise<boolean> {
    if (!guardHolds(this.peek(targetKey), guardFor(transition))) return false;
    this.records.set(targetKey, transition.to);
    return true;
  }

  peek(targetKey: string): BreakerRecord {
    return this.records.get(targetKey) ?? CLOSED_RECORD;
  }

  has(targetKey: string): boolean {
    return this.records.has(targetKey);
  }

  /** Starts a target from a known record (the last shared one) unless it already has one. */
  seed(targetKey: string, record: BreakerRecord): void {
    if (!this.records.has(targetKey)) this.records.set(targetKey, record);
  }

  clear(): void {
    this.records.clear();
  }
}
