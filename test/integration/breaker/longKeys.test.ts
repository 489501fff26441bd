import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  breakerItemKey,
  CircuitBreakers,
  DynamoBreakerStore,
  MAX_PLAIN_KEY_BYTES,
  type BreakerOutcome,
  type ResolvedBreakerConfig,
} from '../../../shared/breaker';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';
import { recordingLogger, recordingMetrics } from '../../unit/breaker/recorders';

const config: ResolvedBreakerConfig = {
  failureThreshold: 2,
  failureRatePercent: 50,
  minimumRequests: 10,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
};
const FAILURE: BreakerOutcome = { kind: 'failure' };

/*
 * DynamoDB refuses a partition key over 2,048 bytes. Before keys were hashed, a 3,000-character
 * target key (a long model name) made every breaker call a ValidationException, which the
 * breakers read as an outage: the container dropped to in-container breakers, at a client's will.
 */
describe('breaker keys of any length on DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    await dynamo?.stop();
  });

  it('guarantee: a 3,000-character target key trips and is read back fleet-wide, stored under its sha256, without the store-unavailable fallback', async () => {
    const longKey = `openai|${'m'.repeat(3_000)}|https://api.openai.com/v1`;
    const clock = fakeClock();
    const metrics = recordingMetrics();
    const store = new DynamoBreakerStore(dynamo.doc, dynamo.tables.breakers);
    const breakers = new CircuitBreakers({ store, clock, logger: recordingLogger(), metrics });
    for (let i = 0; i < config.failureThreshold; i++) {
      const permit = await breakers.acquire(longKey, config);
      assert.ok(permit.allowed);
      await permit.report(FAILURE);
    }
    assert.equal((await store.get(longKey)).state, 'open', 'the trip was written to the table');
    const other = new CircuitBreakers({ store: new DynamoBreakerStore(dynamo.doc, dynamo.tables.breakers), clock, logger: recordingLogger() });
    assert.equal((await other.acquire(longKey, config)).allowed, false, 'another container sees it open');
    assert.equal(metrics.count('BreakerStoreUnavailable'), 0);

    const itemKey = breakerItemKey(longKey);
    assert.match(itemKey, /^sha256:[0-9a-f]{64}$/);
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.breakers, Key: { pk: itemKey }, ConsistentRead: true }));
    assert.equal(Item?.state, 'open');
  });

  it(`keys up to ${MAX_PLAIN_KEY_BYTES} bytes stay readable in the table; longer ones (in bytes, not characters) are hashed`, () => {
    const short = `openai|${'m'.repeat(MAX_PLAIN_KEY_BYTES - 7)}`;
    assert.equal(Buffer.byteLength(short), MAX_PLAIN_KEY_BYTES);
    assert.equal(breakerItemKey(short), short);
    assert.match(breakerItemKey(`${short}x`), /^sha256:/);
    assert.match(breakerItemKey(`openai|${'é'.repeat(300)}`), /^sha256:/, '300 characters, 600 bytes');
    assert.notEqual(breakerItemKey(`${short}x`), breakerItemKey(`${short}y`));
  });
});
