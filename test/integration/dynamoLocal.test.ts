import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTables } from '../../shared/stores/dynamo';
import { startDynamoLocal, type DynamoLocal } from '../support/dynamoLocal';

describe('DynamoDB Local harness', () => {
  let store: DynamoLocal;
  before(async () => {
    store = await startDynamoLocal();
  });
  after(async () => {
    await store?.stop();
  });

  it('creates every table with its partition key, and ensureTables is idempotent', async () => {
    const { Table } = await store.client.send(new DescribeTableCommand({ TableName: store.tables.idempotency }));
    assert.deepEqual(Table?.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
    await ensureTables(store.client, store.tables);
    await store.doc.send(new PutCommand({ TableName: store.tables.spend, Item: { pk: 'tenant#x', spent: 1 } }));
    const { Item } = await store.doc.send(new GetCommand({ TableName: store.tables.spend, Key: { pk: 'tenant#x' } }));
    assert.deepEqual(Item, { pk: 'tenant#x', spent: 1 });
  });
});
