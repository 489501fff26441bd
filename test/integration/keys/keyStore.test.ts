import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  DynamoKeyStore,
  hashKey,
  isKeyStoreError,
  KEY_STORE_ERRORS,
  KeyResolver,
  seedKeys,
  type KeyStoreErrorCode,
} from '../../../shared/keys';
import { fakeClock } from '../../support/fakeClock';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';

const START = 1_700_000_000_000;
const KEY_PATTERN = /^bw_live_[0-9A-Za-z]{43}$/;
const STORED_ATTRIBUTES = new Set(['pk', 'prefix', 'tenant', 'name', 'created_at', 'expires_at', 'revoked_at', 'policy']);

const storeError = (code: KeyStoreErrorCode) => (error: unknown) => {
  assert.ok(isKeyStoreError(error), String(error));
  assert.equal(error.code, code);
  return true;
};

describe('virtual keys in DynamoDB', () => {
  let dynamo: DynamoLocal;
  let clock: ReturnType<typeof fakeClock>;
  let store: DynamoKeyStore;
  let resolver: KeyResolver;
  /** A resolver with an empty cache: what a freshly started container sees. */
  let fresh: () => KeyResolver;

  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    await dynamo?.stop();
  });
  beforeEach(() => {
    clock = fakeClock(START);
    store = new DynamoKeyStore({ doc: dynamo.doc, tableName: dynamo.tables.keys, clock });
    resolver = new KeyResolver({ store, clock });
    fresh = () => new KeyResolver({ store, clock });
  });

  it('creates a key that resolves to its tenant, prefix and policy', async () => {
    const { key, record } = await store.create({ tenant: 'acme', name: 'ci', policy: { rpm_limit: 60, allowed_models: ['gpt-4o-mini'] } });
    assert.match(key, KEY_PATTERN);
    assert.deepEqual(record, {
      hash: hashKey(key),
      prefix: key.slice(0, 12),
      tenant: 'acme',
      name: 'ci',
      createdAt: START,
      policy: { rpm_limit: 60, allowed_models: ['gpt-4o-mini'] },
    });
    assert.deepEqual(await store.getByHash(hashKey(key)), record);
    assert.deepEqual(await resolver.resolve(key), {
      tenant: 'acme',
      keyPrefix: key.slice(0, 12),
      keyId: hashKey(key),
      policy: { rpm_limit: 60, allowed_models: ['gpt-4o-mini'] },
    });
    assert.equal(await resolver.resolve(`${key}x`), undefined);
  });

  it('keeps serving a revoked key from the cache until the 30 s bound, then refuses it', async () => {
    const { key } = await store.create({ tenant: 'acme' });
    assert.equal((await resolver.resolve(key))?.tenant, 'acme');
    const revoked = await store.revoke({ hash: hashKey(key) });
    assert.equal(revoked.revokedAt, START);
    assert.equal(await fresh().resolve(key), undefined, 'a container without the cached look-up refuses it at once');
    clock.advance(29_999);
    assert.equal((await resolver.resolve(key))?.tenant, 'acme', 'still cached');
    clock.advance(1);
    assert.equal(await resolver.resolve(key), undefined);
  });

  it('rotates with a grace period: both keys work, then the old one stops at the end of the grace', async () => {
    const { key: oldKey } = await store.create({ tenant: 'acme', name: 'ci', policy: { tpm_limit: 1_000 } });
    assert.equal((await resolver.resolve(oldKey))?.tenant, 'acme');
    clock.advance(5_000);
    const rotated = await store.rotate({ hash: hashKey(oldKey) }, 3_600);
    assert.match(rotated.key, KEY_PATTERN);
    assert.notEqual(rotated.key, oldKey);
    assert.equal(rotated.previous.expiresAt, START + 5_000 + 3_600_000);
    assert.deepEqual(
      { tenant: rotated.record.tenant, name: rotated.record.name, policy: rotated.record.policy, expiresAt: rotated.record.expiresAt },
      { tenant: 'acme', name: 'ci', policy: { tpm_limit: 1_000 }, expiresAt: undefined },
    );

    assert.equal((await resolver.resolve(rotated.key))?.tenant, 'acme');
    assert.equal((await resolver.resolve(oldKey))?.tenant, 'acme');
    clock.advance(3_600_000 - 1);
    assert.equal((await resolver.resolve(oldKey))?.tenant, 'acme', 'last millisecond of the grace');
    clock.advance(1);
    assert.equal(await resolver.resolve(oldKey), undefined);
    assert.equal(await fresh().resolve(oldKey), undefined);
    assert.equal((await resolver.resolve(rotated.key))?.tenant, 'acme');
  });

  it('rotates with no grace: the old key stops at once for a container that reads it again', async () => {
    const { key: oldKey } = await store.create({ tenant: 'acme' });
    const rotated = await store.rotate({ hash: hashKey(oldKey) }, 0);
    assert.equal(rotated.previous.expiresAt, START);
    assert.equal(await fresh().resolve(oldKey), undefined);
    assert.equal((await fresh().resolve(rotated.key))?.tenant, 'acme');
  });

  it("gives the new key the old key's expiry (a rotation never makes an expiring key immortal); --expires-in overrides it", async () => {
    const { record: old, key } = await store.create({ tenant: 'acme', expiresInSeconds: 30 * 86_400 });
    clock.advance(86_400_000);
    const rotated = await store.rotate({ hash: hashKey(key) }, 3_600);
    assert.equal(rotated.record.expiresAt, old.expiresAt, 'the same instant, not 30 days from now');
    assert.equal(rotated.previous.expiresAt, START + 86_400_000 + 3_600_000);

    const again = await store.rotate({ hash: hashKey(rotated.key) }, 0, { expiresInSeconds: 3_600 });
    assert.equal(again.record.expiresAt, START + 86_400_000 + 3_600_000);
  });

  it('keeps an earlier expiry when rotating, and refuses to rotate a revoked or expired key', async () => {
    const { key } = await store.create({ tenant: 'acme', expiresInSeconds: 60 });
    const rotated = await store.rotate({ hash: hashKey(key) }, 3_600);
    assert.equal(rotated.previous.expiresAt, START + 60_000);
    assert.equal(rotated.record.expiresAt, START + 60_000);
    await store.revoke({ hash: hashKey(rotated.key) });
    await assert.rejects(store.rotate({ hash: hashKey(rotated.key) }, 60), storeError(KEY_STORE_ERRORS.NOT_ACTIVE));
    clock.advance(60_000);
    await assert.rejects(store.rotate({ hash: hashKey(key) }, 60), storeError(KEY_STORE_ERRORS.NOT_ACTIVE));
  });

  it('expires a key at its expiry instant, even while its look-up is cached', async () => {
    const { key, record } = await store.create({ tenant: 'acme', expiresInSeconds: 90 });
    assert.equal(record.expiresAt, START + 90_000);
    assert.equal((await resolver.resolve(key))?.expiresAt, START + 90_000);
    clock.advance(89_999);
    assert.equal((await resolver.resolve(key))?.tenant, 'acme');
    clock.advance(1);
    assert.equal(await resolver.resolve(key), undefined);
    assert.equal(await fresh().resolve(key), undefined);
  });

  it('revokes by display prefix, refusing an ambiguous or unknown prefix', async () => {
    const a = 'bw_live_Same0000000000000000000000000000000000000000';
    const b = 'bw_live_Same1111111111111111111111111111111111111111';
    assert.equal(await store.insert(a, { tenant: 'acme' }), true);
    assert.equal(await store.insert(b, { tenant: 'acme' }), true);
    await assert.rejects(store.revoke({ prefix: 'bw_live_Same' }), (error) => {
      storeError(KEY_STORE_ERRORS.AMBIGUOUS_PREFIX)(error);
      assert.equal((error as Error).message, '2 keys start with bw_live_Same; name the key itself instead of its prefix');
      return true;
    });
    await store.revoke({ hash: hashKey(a) });
    // A dead key sharing the prefix is no ambiguity.
    const revoked = await store.revoke({ prefix: 'bw_live_Same' });
    assert.equal(revoked.hash, hashKey(b));
    assert.equal(await fresh().resolve(b), undefined);
    await assert.rejects(store.revoke({ prefix: 'bw_live_None' }), storeError(KEY_STORE_ERRORS.NOT_FOUND));
    await assert.rejects(store.revoke({ hash: hashKey('bw_live_never_stored') }), storeError(KEY_STORE_ERRORS.NOT_FOUND));

    const { key } = await store.create({ tenant: 'prefix-test' });
    assert.equal((await store.revoke({ prefix: key.slice(0, 12) })).hash, hashKey(key));
  });

  it('keeps the first revocation instant when revoked twice', async () => {
    const { key } = await store.create({ tenant: 'acme' });
    await store.revoke({ hash: hashKey(key) });
    clock.advance(10_000);
    assert.equal((await store.revoke({ hash: hashKey(key) })).revokedAt, START);
  });

  it('stores only hashes: the plain keys appear nowhere in the table', async () => {
    const created = await Promise.all([store.create({ tenant: 'hash-only' }), store.create({ tenant: 'hash-only', name: 'two' })]);
    const rotated = await store.rotate({ hash: hashKey(created[0].key) }, 60);
    const keys = [...created.map((c) => c.key), rotated.key];
    const { Items = [] } = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tables.keys }));
    const dump = JSON.stringify(Items);
    for (const key of keys) {
      assert.equal(dump.includes(key), false);
      // Not even the secret part beyond the display prefix.
      assert.equal(dump.includes(key.slice(12, 24)), false);
      const item = Items.find((candidate) => candidate.pk === `key#${hashKey(key)}`);
      assert.equal(item?.prefix, key.slice(0, 12));
      for (const attribute of Object.keys(item ?? {})) assert.ok(STORED_ATTRIBUTES.has(attribute), attribute);
    }
  });

  it('lists the keys of one tenant or of all, oldest first', async () => {
    const first = await store.create({ tenant: 'list-a' });
    clock.advance(1);
    const second = await store.create({ tenant: 'list-a', name: 'second' });
    await store.create({ tenant: 'list-b' });
    assert.deepEqual(
      (await store.list('list-a')).map((record) => record.prefix),
      [first.record.prefix, second.record.prefix],
    );
    const all = await store.list();
    assert.ok(all.some((record) => record.tenant === 'list-b'));
    assert.ok(all.some((record) => record.tenant === 'list-a'));
  });

  it('seeds the config file keys idempotently, and never un-revokes one', async () => {
    const tenants = [
      { name: 'demo', keys: ['bw_test_demo_key_0001_local_only_x', 'bw_test_demo_key_0002_local_only_x'] },
      { name: 'other', keys: ['bw_test_other_key_01_xxxxxxxxxxx'] },
    ];
    assert.deepEqual(await seedKeys(store, tenants), { inserted: 3, existing: 0 });
    assert.deepEqual(await resolver.resolve('bw_test_demo_key_0002_local_only_x'), {
      tenant: 'demo',
      // 34 characters: 10 shown, 24 never (see displayPrefix).
      keyPrefix: 'bw_test_de',
      keyId: hashKey('bw_test_demo_key_0002_local_only_x'),
      policy: {},
    });
    await store.revoke({ hash: hashKey('bw_test_demo_key_0001_local_only_x') });
    assert.deepEqual(await seedKeys(store, tenants), { inserted: 0, existing: 3 });
    assert.equal(await fresh().resolve('bw_test_demo_key_0001_local_only_x'), undefined);
  });

  it('refuses to store a key shorter than 32 characters', async () => {
    await assert.rejects(store.insert('bw_test_0123456789abcdefghijklm', { tenant: 'demo' }), {
      name: 'RangeError',
      message: 'virtual keys are at least 32 characters',
    });
  });
});
