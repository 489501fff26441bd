import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AuthenticationError } from 'openai';
import { DynamoKeyStore, hashKey, KeyResolver } from '../../../shared/keys';
import { rateWindow } from '../../../shared/ratelimit/rateWindow';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertClientError, assertErrorBody, fastRetry, hello, openaiProvider, raw, sdkClient, sdkError, testSettings } from '../../support/e2eHarness';
import { startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { offsetClock, type OffsetClock } from '../../support/offsetClock';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const KEY_CACHE_TTL_MS = 300;
const body = { model: 'client-model', messages: hello };

describe('gateway integration: virtual keys from the key store over HTTP (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  let clock: OffsetClock;

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: 'keys-model' } }] } },
    // No key in the config: every key here is created in the store.
    tenants: {
      acme: { route: 'main' },
      strict: { route: 'main', allowed_models: ['tenant-only-model'] },
      slow: { route: 'main', rpm_limit: 2 },
    },
    settings: testSettings(),
  });
  const send = (key: string) => raw(`${gateway.url}/v1/chat/completions`, { body, auth: key });
  const create = (policy = {}, expiresInSeconds?: number) =>
    gateway.keys.create({ tenant: 'acme', name: 'integration', policy, ...(expiresInSeconds ? { expiresInSeconds } : {}) });

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    clock = offsetClock();
    gateway = await startStatefulGateway({
      dynamo,
      clock,
      keyCacheTtlMs: KEY_CACHE_TTL_MS,
      config: config(),
    });
  });

  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  beforeEach(() => mock.reset());

  it('guarantee: a created key authenticates; once revoked it keeps working only until the per-container cache TTL passes, then 401', async () => {
    const { key, record } = await create();
    assert.match(key, /^bw_live_[0-9A-Za-z]{43}$/);
    assert.equal(record.tenant, 'acme');

    // Time stands still so the TTL boundary is hit exactly, however slow this machine is.
    clock.freeze();
    try {
      const fresh = await sdkClient(gateway.url, key).chat.completions.create(body);
      assert.equal(fresh.choices[0]?.message.content, 'hello from the mock');

      await gateway.keys.revoke({ hash: hashKey(key) });
      assert.equal((await send(key)).status, 200, 'the look-up cached a moment ago is still trusted (the documented bound)');
      clock.advance(KEY_CACHE_TTL_MS - 1);
      assert.equal((await send(key)).status, 200, 'still within the bound, 1 ms before it ends');

      clock.advance(1);
      const revoked = await sdkError(sdkClient(gateway.url, key).chat.completions.create(body));
      assert.ok(revoked instanceof AuthenticationError);
      assert.equal(revoked.status, 401);
      assert.equal(revoked.code, 'invalid_api_key');
      assert.equal(mock.requests.length, 3);
    } finally {
      clock.unfreeze();
    }
  });

  it('guarantee: a rotated key and its successor both work during the grace period; the old one stops when it ends', async () => {
    const { key: oldKey } = await create();
    assert.equal((await send(oldKey)).status, 200);

    clock.freeze();
    try {
      const rotated = await gateway.keys.rotate({ hash: hashKey(oldKey) }, 5);
      assert.notEqual(rotated.key, oldKey);
      const graceEnd = rotated.previous.expiresAt!;
      assert.ok(graceEnd - clock.now() >= 5_000 && graceEnd - clock.now() < 6_000, 'a 5 s grace, rounded up to a whole second');
      assert.equal((await send(oldKey)).status, 200, 'the old key within its grace');
      assert.equal((await send(rotated.key)).status, 200, 'the new key at once');

      clock.advance(graceEnd - clock.now() - 1);
      assert.equal((await send(oldKey)).status, 200, 'the old key 1 ms before the grace ends');

      clock.advance(1);
      assertClientError(await send(oldKey), 401, 'invalid_api_key', 'authentication_error');
      assert.equal((await send(rotated.key)).status, 200);
      assert.equal(mock.requests.length, 5);
    } finally {
      clock.unfreeze();
    }
  });

  it('guarantee: an expired key is refused with 401 from its expiry instant on, even while its look-up is cached', async () => {
    // A second container that trusts a look-up for the full 30 s: expiry must not wait for it.
    const longCache = await startStatefulGateway({ dynamo, clock, keyCacheTtlMs: 30_000, config: config(), seedConfigKeys: false });
    clock.freeze();
    try {
      const { key, record } = await create({}, 2);
      const expiresAt = record.expiresAt!;
      const sendVia = () => raw(`${longCache.url}/v1/chat/completions`, { body, auth: key });
      assert.equal((await sendVia()).status, 200);

      clock.advance(expiresAt - clock.now() - 1);
      assert.equal((await sendVia()).status, 200, '1 ms before its expiry, from the cached look-up');

      clock.advance(1);
      const expired = await sendVia();
      assertClientError(expired, 401, 'invalid_api_key', 'authentication_error');
      assert.ok(!expired.text.includes(key), 'the key is not echoed');
      assertClientError(await send(key), 401, 'invalid_api_key', 'authentication_error');
      assert.equal(mock.requests.length, 2);
    } finally {
      clock.unfreeze();
      await longCache.close();
    }
  });

  it("guarantee: a key whose allowed_models excludes the route's model is 403 model_not_allowed, without calling the upstream", async () => {
    const { key: narrow } = await create({ allowed_models: ['some-other-model'] });
    const { key: allowed } = await create({ allowed_models: ['keys-model'] });

    const refused = await send(narrow);
    assert.equal(refused.status, 403, refused.text);
    const error = assertErrorBody(refused.json, { code: 'model_not_allowed', type: 'permission_error' });
    assert.equal(error.error.message, 'this key may not use model "keys-model"');
    assert.equal(mock.requests.length, 0);

    assert.equal((await send(allowed)).status, 200);
    assert.equal(mock.requests.length, 1);
  });

  it('guarantee: rpm_limit 3 → the 4th request in the minute is 429 rate_limited with Retry-After; another key is not affected', async () => {
    // Start at the top of a minute so the four requests share one window.
    clock.jumpTo(Math.ceil(clock.now() / 60_000) * 60_000 + 1_000);
    const { key } = await create({ rpm_limit: 3 });
    const { key: neighbour } = await create({ rpm_limit: 3 });

    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const response = await send(key);
      assert.equal(response.status, 200, response.text);
      remaining.push(response.headers.get('x-ratelimit-remaining-requests'));
    }
    assert.deepEqual(remaining, ['2', '1', '0']);

    const before = rateWindow(clock.now()).retryAfterSeconds;
    const limited = await send(key);
    const afterward = rateWindow(clock.now()).retryAfterSeconds;

    assert.equal(limited.status, 429, limited.text);
    const error = assertErrorBody(limited.json, { code: 'rate_limited', type: 'rate_limit_error' });
    assert.equal(error.error.limit, 'rpm_limit');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter <= before && retryAfter >= afterward, `Retry-After ${retryAfter} is the time to the next minute (${afterward}..${before})`);
    assert.equal(mock.requests.length, 3, 'the limited request never reached the upstream');

    assert.equal((await send(neighbour)).status, 200, 'limits are per key');
  });

  it('guarantee: key store down → 503 auth_unavailable with Retry-After, never let in (authentication fails closed)', async () => {
    const { key } = await create();
    const dead = deadDynamoClients();
    const container = await startStatefulGateway({
      dynamo,
      clock,
      config: config(),
      seedConfigKeys: false,
      overrideServices: (built) => ({
        ...built,
        keyResolver: new KeyResolver({ store: new DynamoKeyStore({ doc: dead.doc, tableName: dynamo.tables.keys, clock }), clock }),
      }),
    });
    try {
      const refused = await raw(`${container.url}/v1/chat/completions`, { body, auth: key });
      assert.equal(refused.status, 503, refused.text);
      assertErrorBody(refused.json, { code: 'auth_unavailable', type: 'api_error' });
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(mock.requests.length, 0);
    } finally {
      await container.close();
      dead.client.destroy();
    }
  });

  it(
    "guarantee: a key's allowed_models narrows its tenant's and never widens it (README: key policies narrow the tenant's)",
    async () => {
      const { key: wider } = await gateway.keys.create({ tenant: 'strict', policy: { allowed_models: ['keys-model'] } });
      const refused = await send(wider);
      assert.equal(refused.status, 403, `the tenant does not allow keys-model: ${refused.text}`);
      assertErrorBody(refused.json, { code: 'model_not_allowed', type: 'permission_error' });
      assert.equal(mock.requests.length, 0);
    },
  );

  it(
    "guarantee: a key's rpm_limit narrows its tenant's and never raises it (README: key policies narrow the tenant's)",
    async () => {
      clock.jumpTo(Math.ceil(clock.now() / 60_000) * 60_000 + 1_000);
      const { key } = await gateway.keys.create({ tenant: 'slow', policy: { rpm_limit: 100 } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await send(key)).status);
      assert.deepEqual(statuses, [200, 200, 429], "the tenant's rpm_limit of 2 holds for the key");
    },
  );
});
