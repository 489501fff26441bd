import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoResponseRecords, responseKey, type ResponseRecord } from '../../../shared/responses';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';

const record = (tenant: string, id: string, expiresAt = 2_000): ResponseRecord => ({
  tenant,
  id,
  body: JSON.stringify({ response: { id, output: [] }, input: [{ role: 'user', content: 'héllo, 0.1 + 0.2' }] }),
  createdAt: 1_000,
  expiresAt,
});

/** The stored-responses adapter against AWS's own DynamoDB Local: the real condition expressions. */
describe('DynamoResponseRecords (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let records: DynamoResponseRecords;
  before(async () => {
    dynamo = await startDynamoLocal();
    records = new DynamoResponseRecords(dynamo.doc, dynamo.tables.responses);
  });
  after(() => dynamo?.stop());

  it('round-trips a record exactly, the body as the JSON string it was given', async () => {
    await records.put(record('acme', 'resp_a'));
    assert.deepEqual(await records.get('acme', 'resp_a'), record('acme', 'resp_a'));
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.responses, Key: { pk: 'response#acme#resp_a' } }));
    assert.equal(Item?.expires_at, 2_000, 'the TTL attribute the table expires items by');
  });

  it("reads and deletes only the tenant's own, even when tenant names contain the key separator", async () => {
    await records.put(record('a#b', 'resp_x'));
    assert.equal(await records.get('a', 'resp_x'), undefined);
    assert.deepEqual(await records.get('a#b', 'resp_x'), record('a#b', 'resp_x'));
    assert.notEqual(responseKey('a#b', 'resp_x'), responseKey('a', 'b#resp_x'));
    assert.equal(await records.delete('a', 'resp_x', 1_500), false);
    assert.ok(await records.get('a#b', 'resp_x'));
  });

  it('delete: true once for a live record; false when missing or already expired (a 404, not a 200)', async () => {
    await records.put(record('acme', 'resp_live'));
    await records.put(record('acme', 'resp_old', 1_200));
    assert.equal(await records.delete('acme', 'resp_old', 1_500), false);
    assert.ok(await records.get('acme', 'resp_old'), 'an expired record is left to the TTL');
    assert.equal(await records.delete('acme', 'resp_live', 1_500), true);
    assert.equal(await records.get('acme', 'resp_live'), undefined);
    assert.equal(await records.delete('acme', 'resp_live', 1_500), false);
    assert.equal(await records.delete('acme', 'resp_never', 1_500), false);
  });
});
