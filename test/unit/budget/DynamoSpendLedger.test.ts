import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { budgetPolicySchema, DynamoSpendLedger, PriceTable, pricesSchema, SpendGuard } from '../../../shared/budget';
import { isGatewayError } from '../../../shared/errors';
import { fakeClock } from '../../support/fakeClock';
import { recordingLogger } from './memoryLedger';

const NOW = Date.UTC(2025, 2, 14, 15, 20);
const EXPIRES_AT = Date.UTC(2025, 3, 1) / 1000 + 35 * 86_400;
const prices = new PriceTable({ overrides: pricesSchema.parse({ 'test-model': { input: 0, output: 10, cache_read: 0, cache_write: 0 } }) });
const body = { model: 'test-model', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3_000 };

describe('DynamoSpendLedger (commands, against a mocked document client)', () => {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
  const dynamo = mockClient(doc);
  const guard = new SpendGuard({ ledger: new DynamoSpendLedger(doc, 'spend'), prices, clock: fakeClock(NOW), logger: recordingLogger() });
  const reserve = (fields: Record<string, unknown>) =>
    guard.reserve({ tenant: 'acme', policy: budgetPolicySchema.parse(fields), candidateModels: ['test-model'], body });

  beforeEach(() => dynamo.reset());

  it('reserves daily and monthly with ONE conditional UpdateItem, then settles with one unconditional ADD', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { pk: 'spend#acme#2025-03', month_micro_usd: 20_000, day_14_micro_usd: 20_000 } });

    const reservation = await reserve({ daily_budget_usd: 1, monthly_budget_usd: 5 });
    const result = await reservation.settle('test-model', { prompt_tokens: 100, completion_tokens: 2_000 });

    const updates = dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    assert.deepEqual(updates, [
      {
        TableName: 'spend',
        Key: { pk: 'spend#acme#2025-03' },
        UpdateExpression: 'ADD #month :estimate, #day :estimate SET #expires_at = :expires_at',
        ConditionExpression:
          '(attribute_not_exists(#month) OR #month <= :month_cap_minus_estimate) AND (attribute_not_exists(#day) OR #day <= :day_cap_minus_estimate)',
        ExpressionAttributeNames: { '#expires_at': 'expires_at', '#month': 'month_micro_usd', '#day': 'day_14_micro_usd' },
        ExpressionAttributeValues: {
          ':estimate': 30_000,
          ':expires_at': EXPIRES_AT,
          ':month_cap_minus_estimate': 4_970_000,
          ':day_cap_minus_estimate': 970_000,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      {
        TableName: 'spend',
        Key: { pk: 'spend#acme#2025-03' },
        UpdateExpression: 'ADD #month :delta, #day :delta',
        ExpressionAttributeNames: { '#month': 'month_micro_usd', '#day': 'day_14_micro_usd' },
        ExpressionAttributeValues: { ':delta': -10_000 },
        ReturnValues: 'ALL_NEW',
      },
    ]);
    assert.deepEqual(result, { costUsd: 0.02, remainingUsd: 0.98 });
  });

  it('with only a daily cap the month still counts but is not a condition', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: {} });
    await reserve({ daily_budget_usd: 1 });
    const [input] = dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    assert.equal(input?.UpdateExpression, 'ADD #month :estimate, #day :estimate SET #expires_at = :expires_at');
    assert.equal(input?.ConditionExpression, '(attribute_not_exists(#day) OR #day <= :day_cap_minus_estimate)');
    assert.equal(input?.ExpressionAttributeValues?.[':month_cap_minus_estimate'], undefined);
  });

  it('reads which window is full from the item DynamoDB returns with the failed condition', async () => {
    dynamo.on(UpdateCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        // $0.001 left in the month: too little even for an answer cut short, so no second write.
        Item: { pk: { S: 'spend#acme#2025-03' }, month_micro_usd: { N: '4999000' }, day_14_micro_usd: { N: '10000' } },
      }),
    );
    const error = await reserve({ daily_budget_usd: 1, monthly_budget_usd: 5 }).catch((e: unknown) => e);
    assert.ok(isGatewayError(error));
    assert.equal(error.code, 'budget_exceeded');
    assert.deepEqual(error.details, { windows: ['month'] });
    assert.equal(dynamo.commandCalls(UpdateCommand).length, 1);
  });

  it('a day with room for less than the whole bound: a second conditional UpdateItem holds the cut amount', async () => {
    dynamo
      .on(UpdateCommand)
      .rejectsOnce(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: { pk: { S: 'spend#acme#2025-03' }, month_micro_usd: { N: '990000' }, day_14_micro_usd: { N: '990000' } },
        }),
      )
      .resolves({ Attributes: {} });
    const reservation = await reserve({ daily_budget_usd: 1 });

    const values = dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input.ExpressionAttributeValues);
    // $0.01 left pays for 1,000 of the 3,000 output tokens asked for: 10,000 µ$.
    assert.deepEqual(values, [
      { ':estimate': 30_000, ':expires_at': EXPIRES_AT, ':day_cap_minus_estimate': 970_000 },
      { ':estimate': 10_000, ':expires_at': EXPIRES_AT, ':day_cap_minus_estimate': 990_000 },
    ]);
    assert.deepEqual([...reservation.outputLimits!], [['test-model', 1_000]]);
  });

  it('sets an alert flag only where it is not set yet', async () => {
    dynamo.on(UpdateCommand).resolves({});
    assert.equal(await new DynamoSpendLedger(doc, 'spend').setFlagOnce('spend#acme#2025-03', 'alert80_day_14', 1), true);
    assert.deepEqual(dynamo.commandCalls(UpdateCommand)[0]?.args[0].input, {
      TableName: 'spend',
      Key: { pk: 'spend#acme#2025-03' },
      UpdateExpression: 'SET #flag = :value',
      ConditionExpression: 'attribute_not_exists(#flag)',
      ExpressionAttributeNames: { '#flag': 'alert80_day_14' },
      ExpressionAttributeValues: { ':value': 1 },
    });
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'taken', $metadata: {} }));
    assert.equal(await new DynamoSpendLedger(doc, 'spend').setFlagOnce('spend#acme#2025-03', 'alert80_day_14', 1), false);
  });
});
