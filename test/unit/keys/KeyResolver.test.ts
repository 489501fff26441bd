import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashKey, KeyResolver, type KeyRecord } from '../../../shared/keys';
import { fakeClock } from '../../support/fakeClock';

const KEY = 'bw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
const WRONG_KEY = 'bw_live_WrongWrongWrongWrongWrongWrongWrongWrongWro';
const START = 1_700_000_000_000;

/** A store that counts reads and can be changed under the resolver's feet. */
function memoryStore(records: KeyRecord[] = []) {
  const byHash = new Map(records.map((record) => [record.hash, record]));
  const store = {
    reads: 0,
    failWith: undefined as Error | undefined,
    byHash,
    getByHash: async (hash: string) => {
      store.reads += 1;
      await Promise.resolve();
      if (store.failWith) throw store.failWith;
      return byHash.get(hash);
    },
  };
  return store;
}

const record = (overrides: Partial<KeyRecord> = {}): KeyRecord => ({
  hash: hashKey(KEY),
  prefix: 'bw_live_AbCd',
  tenant: 'acme',
  createdAt: START,
  policy: { rpm_limit: 10 },
  ...overrides,
});

describe('KeyResolver', () => {
  it('resolves a stored key to its tenant, display prefix, id and policy', async () => {
    const resolver = new KeyResolver({ store: memoryStore([record()]), clock: fakeClock(START) });
    assert.deepEqual(await resolver.resolve(KEY), {
      tenant: 'acme',
      keyPrefix: 'bw_live_AbCd',
      keyId: hashKey(KEY),
      policy: { rpm_limit: 10 },
    });
  });

  it('reads the store once per 30 s for a key, found or not', async () => {
    const clock = fakeClock(START);
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock });
    await resolver.resolve(KEY);
    await resolver.resolve(KEY);
    assert.equal(await resolver.resolve(WRONG_KEY), undefined);
    assert.equal(await resolver.resolve(WRONG_KEY), undefined);
    assert.equal(store.reads, 2);
    clock.advance(29_999);
    await resolver.resolve(KEY);
    assert.equal(store.reads, 2);
    clock.advance(1);
    await resolver.resolve(KEY);
    await resolver.resolve(WRONG_KEY);
    assert.equal(store.reads, 4);
  });

  it('stops accepting a revoked key once the cached look-up is 30 s old, and not before', async () => {
    const clock = fakeClock(START);
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock });
    assert.equal((await resolver.resolve(KEY))?.tenant, 'acme');
    store.byHash.set(hashKey(KEY), record({ revokedAt: START + 1 }));
    clock.advance(29_999);
    assert.equal((await resolver.resolve(KEY))?.tenant, 'acme');
    clock.advance(1);
    assert.equal(await resolver.resolve(KEY), undefined);
  });

  it('caps the cache at 30 s whatever it is configured to', async () => {
    const clock = fakeClock(START);
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock, cacheTtlMs: 300_000 });
    await resolver.resolve(KEY);
    clock.advance(30_000);
    await resolver.resolve(KEY);
    assert.equal(store.reads, 2);
  });

  it('honours a shorter configured TTL', async () => {
    const clock = fakeClock(START);
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock, cacheTtlMs: 5_000 });
    await resolver.resolve(KEY);
    clock.advance(5_000);
    await resolver.resolve(KEY);
    assert.equal(store.reads, 2);
  });

  it('refuses a cached key from its expiry instant on, without waiting for the cache', async () => {
    const clock = fakeClock(START);
    const store = memoryStore([record({ expiresAt: START + 10_000 })]);
    const resolver = new KeyResolver({ store, clock });
    assert.equal((await resolver.resolve(KEY))?.expiresAt, START + 10_000);
    clock.advance(9_999);
    assert.equal((await resolver.resolve(KEY))?.tenant, 'acme');
    clock.advance(1);
    assert.equal(await resolver.resolve(KEY), undefined);
    assert.equal(store.reads, 1);
  });

  it('refuses revoked and expired keys straight from the store', async () => {
    const store = memoryStore([record({ revokedAt: START - 1 })]);
    assert.equal(await new KeyResolver({ store, clock: fakeClock(START) }).resolve(KEY), undefined);
    store.byHash.set(hashKey(KEY), record({ expiresAt: START }));
    assert.equal(await new KeyResolver({ store, clock: fakeClock(START) }).resolve(KEY), undefined);
  });

  it('refuses a key shorter than 32 characters without reading the store, even one stored before the rule', async () => {
    const short = 'bw_test_stored_before_the_rule';
    const store = memoryStore();
    store.byHash.set(hashKey(short), record({ hash: hashKey(short) }));
    const resolver = new KeyResolver({ store, clock: fakeClock(START) });
    assert.equal(await resolver.resolve(short), undefined);
    assert.equal(store.reads, 0);
  });

  it('refuses a record whose hash does not match the presented key', async () => {
    const store = memoryStore();
    store.byHash.set(hashKey(KEY), record({ hash: hashKey('bw_live_someone_else') }));
    assert.equal(await new KeyResolver({ store, clock: fakeClock(START) }).resolve(KEY), undefined);
  });

  it('shares one store read among concurrent requests with the same key', async () => {
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock: fakeClock(START) });
    const results = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve(KEY)));
    assert.equal(store.reads, 1);
    assert.deepEqual(new Set(results.map((result) => result?.tenant)), new Set(['acme']));
  });

  it('propagates a store failure and does not cache it: authentication never fails open', async () => {
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock: fakeClock(START) });
    store.failWith = Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
    await assert.rejects(resolver.resolve(KEY), { name: 'TimeoutError' });
    store.failWith = undefined;
    assert.equal((await resolver.resolve(KEY))?.tenant, 'acme');
    assert.equal(store.reads, 2);
  });

  it('keeps at most maxEntries look-ups, dropping the oldest', async () => {
    const store = memoryStore([record()]);
    const resolver = new KeyResolver({ store, clock: fakeClock(START), maxEntries: 2 });
    await resolver.resolve(KEY);
    await resolver.resolve('bw_live_miss_1_0123456789abcdefghijklmnopqrstu');
    await resolver.resolve('bw_live_miss_2_0123456789abcdefghijklmnopqrstu');
    assert.equal(store.reads, 3);
    await resolver.resolve('bw_live_miss_2_0123456789abcdefghijklmnopqrstu');
    assert.equal(store.reads, 3, 'the newest entries are still cached');
    await resolver.resolve(KEY);
    assert.equal(store.reads, 4, 'the oldest entry was evicted');
  });

  it('treats an empty key as unknown without reading the store', async () => {
    const store = memoryStore([record()]);
    assert.equal(await new KeyResolver({ store, clock: fakeClock(START) }).resolve(''), undefined);
    assert.equal(store.reads, 0);
  });
});
