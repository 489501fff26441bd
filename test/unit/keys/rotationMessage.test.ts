import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keysCommand } from '../../../bin/cli/keysCommand';
import { hashKey, keyChangeHonouredBy, KeyResolver, type KeyRecord, type KeyStore } from '../../../shared/keys';
import { fakeClock } from '../../support/fakeClock';

const OLD_KEY = 'bw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
const NEW_KEY = 'bw_live_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210zyxwvut';
// Not on a whole second: a message printed in seconds must not round the promise down.
const START = 1_700_000_000_400;

/** The key store as the gateway and the CLI share it, rotating as DynamoKeyStore does. */
function memoryKeyStore(clock: { now(): number }) {
  const records = new Map<string, KeyRecord>([
    [hashKey(OLD_KEY), { hash: hashKey(OLD_KEY), prefix: OLD_KEY.slice(0, 12), tenant: 'acme', createdAt: START - 60_000, policy: {} }],
  ]);
  const store = {
    getByHash: async (hash: string) => records.get(hash),
    rotate: async (_ref: unknown, graceSeconds: number) => {
      const old = records.get(hashKey(OLD_KEY))!;
      // Whole seconds, as DynamoDB's TTL attribute stores it.
      const previous = { ...old, expiresAt: Math.floor((clock.now() + graceSeconds * 1000) / 1000) * 1000 };
      records.set(old.hash, previous);
      const record: KeyRecord = { hash: hashKey(NEW_KEY), prefix: NEW_KEY.slice(0, 12), tenant: 'acme', createdAt: clock.now(), policy: {} };
      records.set(record.hash, record);
      return { key: NEW_KEY, record, previous };
    },
  };
  return store as unknown as KeyStore;
}

async function rotate(clock: { now(): number }, store: KeyStore, grace: string): Promise<string> {
  const err: string[] = [];
  const code = await keysCommand(['rotate', OLD_KEY, '--grace', grace], {
    io: { out: () => {}, err: (line) => err.push(line) },
    openStore: () => store,
    configTenants: async () => ({ path: 'test', tenants: new Set(['acme']) }),
    now: () => clock.now(),
  });
  assert.equal(code, 0);
  return err[0]!;
}

/** The last instant a message names: when it says the old key stops working everywhere. */
const promisedEnd = (message: string): number => Date.parse([...message.matchAll(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g)].at(-1)![0]);

describe('keys rotate tells the truth about when the old key stops working', () => {
  for (const grace of ['0', '3s', '29s', '31s', '1h']) {
    it(`--grace ${grace}: a gateway that cached the old key before the rotation refuses it at the printed instant`, async () => {
      // Prepare: a gateway has the old key cached.
      const clock = fakeClock(START);
      const store = memoryKeyStore(clock);
      const resolver = new KeyResolver({ store, clock });
      assert.ok(await resolver.resolve(OLD_KEY));
      clock.advance(100);
      // Act
      const message = await rotate(clock, store, grace);
      const end = promisedEnd(message);
      // Assess: refused from the printed instant on, and never earlier than the grace allows.
      assert.ok(end >= START + 100 + Number.parseInt(grace, 10) * (grace.endsWith('h') ? 3_600_000 : 1000) - 1000, message);
      clock.advance(end - clock.now() - 1);
      const beforeEnd = await resolver.resolve(OLD_KEY);
      clock.advance(1);
      assert.equal(await resolver.resolve(OLD_KEY), undefined, message);
      if (grace === '1h') {
        assert.ok(beforeEnd, 'the old key works until its grace ends');
        assert.match(message, /^Rotated bw_live_AbCd: it keeps working until /);
      }
    });
  }

  it('a gateway that looks the key up after the rotation refuses it from the grace end', async () => {
    const clock = fakeClock(START);
    const store = memoryKeyStore(clock);
    await rotate(clock, store, '3s');
    const resolver = new KeyResolver({ store, clock });
    assert.ok(await resolver.resolve(OLD_KEY));
    const graceEnd = Math.floor((START + 3_000) / 1000) * 1000;
    clock.advance(graceEnd - clock.now());
    assert.equal(await resolver.resolve(OLD_KEY), undefined);
  });

  it('keyChangeHonouredBy: the later of the change taking effect and the cache bound, in whole seconds', () => {
    assert.equal(keyChangeHonouredBy(START, START + 3_600_000), Math.ceil((START + 3_600_000) / 1000) * 1000);
    assert.equal(keyChangeHonouredBy(START, START + 3_000), Math.ceil((START + 30_000) / 1000) * 1000);
  });
});
