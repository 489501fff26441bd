import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { isGatewayError } from '../../../shared/errors';
import {
  DEFAULT_RESPONSE_TTL_SECONDS,
  DynamoResponseRecords,
  MemoryResponseRecords,
  ResponseStore,
  type ResponseRecords,
  type StoredResponse,
} from '../../../shared/responses';
import { capturingLogger } from '../../support/capturingLogger';
import { fakeClock } from '../../support/fakeClock';

const stored = (id = 'resp_1', text = 'hello'): StoredResponse => ({
  response: { id, object: 'response', output: [{ type: 'message', content: [{ type: 'output_text', text }] }] },
  input: [{ type: 'message', role: 'user', content: 'hi' }],
});

describe('ResponseStore', () => {
  let records: MemoryResponseRecords;
  let clock: ReturnType<typeof fakeClock>;
  let logs: ReturnType<typeof capturingLogger>;
  let store: ResponseStore;
  beforeEach(() => {
    records = new MemoryResponseRecords();
    clock = fakeClock(1_700_000_000_000);
    logs = capturingLogger({ logLevel: 'WARN' });
    store = new ResponseStore({ records, clock, logger: logs.logger });
  });

  it('stores a response with its conversation and reads it back, for its tenant only', async () => {
    assert.equal(await store.put('acme', stored()), true);
    assert.deepEqual(await store.get('acme', 'resp_1'), stored());
    assert.equal(await store.get('globex', 'resp_1'), undefined);
    const [record] = records.records.values();
    assert.equal(record!.createdAt, 1_700_000_000);
    assert.equal(record!.expiresAt, 1_700_000_000 + DEFAULT_RESPONSE_TTL_SECONDS);
  });

  it('expires after 30 days, also before the table TTL has deleted it', async () => {
    await store.put('acme', stored());
    clock.advance(DEFAULT_RESPONSE_TTL_SECONDS * 1000 - 1000);
    assert.ok(await store.get('acme', 'resp_1'));
    clock.advance(1000);
    assert.equal(await store.get('acme', 'resp_1'), undefined);
    assert.equal(await store.delete('acme', 'resp_1'), false);
  });

  it('deletes only the tenant\'s own; a second delete finds nothing', async () => {
    await store.put('acme', stored());
    assert.equal(await store.delete('globex', 'resp_1'), false);
    assert.equal(await store.delete('acme', 'resp_1'), true);
    assert.equal(await store.delete('acme', 'resp_1'), false);
    assert.equal(await store.get('acme', 'resp_1'), undefined);
  });

  it('an answer over 350 KB is not stored, and the log says so (ids and size, never content)', async () => {
    const big = stored('resp_big', 'x'.repeat(360 * 1024));
    assert.equal(await store.put('acme', big), false);
    assert.equal(records.records.size, 0);
    const [record] = logs.records();
    assert.equal(record?.message, 'response not stored: too large');
    assert.equal(record?.response_id, 'resp_big');
    assert.ok((record?.bytes as number) > 350 * 1024);
    assert.doesNotMatch(logs.text(), /xxxx/);
  });

  it('a store that fails a write is logged and does not throw: the client already has its answer', async () => {
    const failing: ResponseRecords = {
      put: async () => Promise.reject(new Error('throttled')),
      get: (tenant, id) => records.get(tenant, id),
      delete: (tenant, id, now) => records.delete(tenant, id, now),
    };
    const unreliable = new ResponseStore({ records: failing, clock, logger: logs.logger });
    assert.equal(await unreliable.put('acme', stored()), false);
    assert.equal(logs.records()[0]?.message, 'response not stored: the store failed');
  });

  it('a store that cannot be read is a 503 response_store_unavailable (a follow-up cannot be answered without it)', async () => {
    const down: ResponseRecords = {
      put: async () => undefined,
      get: async () => Promise.reject(new Error('timeout')),
      delete: async () => Promise.reject(new Error('timeout')),
    };
    const unreachable = new ResponseStore({ records: down, clock, logger: logs.logger });
    for (const call of [() => unreachable.get('acme', 'resp_1'), () => unreachable.delete('acme', 'resp_1')]) {
      await assert.rejects(call(), (error: unknown) => isGatewayError(error) && error.code === 'response_store_unavailable' && error.status === 503);
    }
  });
});

describe('DynamoResponseRecords commands', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
  const records = new DynamoResponseRecords(doc, 'breakwater-responses');
  beforeEach(() => ddb.reset());

  it('puts one item keyed by tenant and id, the body as JSON, expiring at expires_at', async () => {
    ddb.on(PutCommand).resolves({});
    await records.put({ tenant: 'ac#me', id: 'resp_1', body: '{"a":1}', createdAt: 10, expiresAt: 20 });
    assert.deepEqual(ddb.commandCalls(PutCommand)[0]?.args[0].input, {
      TableName: 'breakwater-responses',
      Item: { pk: 'response#ac%23me#resp_1', tenant: 'ac#me', id: 'resp_1', body: '{"a":1}', created_at: 10, expires_at: 20 },
    });
  });

  it('reads strongly consistent (a follow-up turn comes right after the answer) and checks the tenant', async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: 'response#acme#resp_1', tenant: 'other', id: 'resp_1', body: '{}', created_at: 1, expires_at: 2 } });
    assert.equal(await records.get('acme', 'resp_1'), undefined);
    assert.deepEqual(ddb.commandCalls(GetCommand)[0]?.args[0].input, {
      TableName: 'breakwater-responses',
      Key: { pk: 'response#acme#resp_1' },
      ConsistentRead: true,
    });
  });

  it('deletes under a condition: the item exists, is the tenant\'s, and has not expired', async () => {
    ddb.on(DeleteCommand).resolves({});
    assert.equal(await records.delete('acme', 'resp_1', 100), true);
    assert.deepEqual(ddb.commandCalls(DeleteCommand)[0]?.args[0].input, {
      TableName: 'breakwater-responses',
      Key: { pk: 'response#acme#resp_1' },
      ConditionExpression: 'attribute_exists(#pk) AND #tenant = :tenant AND #expires_at > :now',
      ExpressionAttributeNames: { '#pk': 'pk', '#tenant': 'tenant', '#expires_at': 'expires_at' },
      ExpressionAttributeValues: { ':tenant': 'acme', ':now': 100 },
    });
  });
});
