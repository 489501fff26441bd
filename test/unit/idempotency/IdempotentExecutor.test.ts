import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { GatewayError, isGatewayError } from '../../../shared/errors';
import { IdempotentExecutor } from '../../../shared/idempotency';

const NOW = 1_700_000_000_000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64');

function recordingLogger() {
  const lines: Array<[level: string, message: string]> = [];
  const log = (level: string) => (message: unknown, ..._extra: unknown[]) => void lines.push([level, String(message)]);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe('IdempotentExecutor (commands, against a mocked client)', () => {
  const client = new DynamoDBClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const dynamo = mockClient(client);
  let logger: ReturnType<typeof recordingLogger>;
  let executor: IdempotentExecutor;
  const payload = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
  // Powertools hashes JSON with keys sorted: `[tenant, key]` for the id, the payload for validation.
  const id = `breakwater#${sha256(JSON.stringify(['acme', 'k1']))}`;
  const validation = sha256(JSON.stringify({ messages: [{ content: 'hi', role: 'user' }], model: 'm' }));

  beforeEach(() => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    dynamo.reset();
    logger = recordingLogger();
    executor = new IdempotentExecutor({ client, tableName: 'idem', logger });
  });
  afterEach(() => mock.timers.reset());

  it('claims the key with one conditional PutItem, then stores the response as JSON', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});

    const result = await executor.run({
      tenant: 'acme',
      key: 'k1',
      payload,
      execute: async () => ({ statusCode: 200, body: '{"ok":true}' }),
    });

    assert.deepEqual(result, { value: { statusCode: 200, body: '{"ok":true}' }, replayed: false });
    const puts = dynamo.commandCalls(PutItemCommand);
    assert.equal(puts.length, 1);
    assert.deepEqual(puts[0]!.args[0].input, {
      TableName: 'idem',
      Item: {
        id: { S: id },
        expiration: { N: String(NOW / 1000 + 86_400) },
        status: { S: 'INPROGRESS' },
        // No Lambda context: the 60 s stand-in bounds how long a crashed call locks the key.
        in_progress_expiration: { N: String(NOW + 60_000) },
        validation: { S: validation },
      },
      ExpressionAttributeNames: {
        '#id': 'id',
        '#expiry': 'expiration',
        '#in_progress_expiry': 'in_progress_expiration',
        '#status': 'status',
      },
      ExpressionAttributeValues: {
        ':now': { N: String(NOW / 1000) },
        ':now_in_millis': { N: String(NOW) },
        ':inprogress': { S: 'INPROGRESS' },
      },
      ConditionExpression:
        'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    const updates = dynamo.commandCalls(UpdateItemCommand);
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0]!.args[0].input.ExpressionAttributeValues, {
      ':expiry': { N: String(NOW / 1000 + 86_400) },
      ':status': { S: 'COMPLETED' },
      ':response_data': { S: '{"statusCode":200,"body":"{\\"ok\\":true}"}' },
      ':validation_key': { S: validation },
    });
    assert.deepEqual(updates[0]!.args[0].input.Key, { id: { S: id } });
  });

  it("uses the Lambda context's remaining time as the in-progress expiry", async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});
    const lambdaContext = { getRemainingTimeInMillis: () => 29_000 } as unknown as import('aws-lambda').Context;

    await executor.run({ tenant: 'acme', key: 'k1', payload, lambdaContext, execute: async () => 'v' });

    const item = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input.Item;
    assert.deepEqual(item?.in_progress_expiration, { N: String(NOW + 29_000) });
  });

  it('replays a completed record returned by the failed condition, without running execute', async () => {
    dynamo.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: {
          id: { S: id },
          status: { S: 'COMPLETED' },
          expiration: { N: String(NOW / 1000 + 100) },
          data: { S: '{"statusCode":200,"body":"cached"}' },
          validation: { S: validation },
        },
      }),
    );
    let calls = 0;

    const result = await executor.run({ tenant: 'acme', key: 'k1', payload, execute: async () => (calls++, 'fresh') });

    assert.deepEqual(result, { value: { statusCode: 200, body: 'cached' }, replayed: true });
    assert.equal(calls, 0);
  });

  it('rethrows the request’s own error even when releasing the key fails', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(DeleteItemCommand).rejects(new Error('store gone'));
    const thrown = new GatewayError('deadline_exceeded', 'too slow');

    await assert.rejects(
      executor.run({ tenant: 'acme', key: 'k1', payload, execute: async () => Promise.reject(thrown) }),
      (error) => error === thrown,
    );
    assert.equal(dynamo.commandCalls(DeleteItemCommand).length, 1);
    assert.equal(dynamo.commandCalls(UpdateItemCommand).length, 0);
    assert.deepEqual(
      logger.lines.map(([level]) => level),
      ['warn'],
    );
  });

  it('returns the response when storing it fails, rather than hiding an answer that cost money', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).rejects(new Error('store gone'));

    const result = await executor.run({ tenant: 'acme', key: 'k1', payload, execute: async () => ({ statusCode: 200 }) });

    assert.deepEqual(result, { value: { statusCode: 200 }, replayed: false });
    assert.deepEqual(logger.lines, [['warn', 'response not stored for replay; the key unlocks at its in-progress expiry']]);
  });

  it('does not store a 5xx response: it releases the key instead', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(DeleteItemCommand).resolves({});

    const result = await executor.run({ tenant: 'acme', key: 'k1', payload, execute: async () => ({ statusCode: 504 }) });

    assert.deepEqual(result, { value: { statusCode: 504 }, replayed: false });
    assert.equal(dynamo.commandCalls(UpdateItemCommand).length, 0);
    assert.deepEqual(dynamo.commandCalls(DeleteItemCommand)[0]!.args[0].input, { TableName: 'idem', Key: { id: { S: id } } });
  });

  it('fails closed with 503 when the claim cannot be written, without running execute', async () => {
    dynamo.on(PutItemCommand).rejects(new Error('connect ECONNREFUSED'));
    let calls = 0;

    await assert.rejects(
      executor.run({ tenant: 'acme', key: 'k1', payload, execute: async () => (calls++, 'v') }),
      (error) => {
        assert.ok(isGatewayError(error));
        assert.equal(error.code, 'idempotency_unavailable');
        assert.equal(error.status, 503);
        return true;
      },
    );
    assert.equal(calls, 0);
  });
});
