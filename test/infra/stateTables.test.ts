import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TABLES, type TableId } from '../../shared/stores/dynamo/tables.js';
import { OUTPUTS } from '../../lib/GatewayStack.js';
import {
  actionsOnResource,
  assertOnlyFunctionRolesTouch,
  environmentOf,
  gatewayFunction,
  gatewayRoleId,
  referencedIds,
  resourcesOf,
  resourcesOfType,
  roleIdOf,
  statementsOfRole,
  useSynthesizedStack,
  workerFunction,
} from './synthStack.js';

const TABLE_IDS = Object.keys(TABLES) as TableId[];

const READ_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:Query',
  'dynamodb:Scan',
];
const READ_WRITE_ACTIONS = [
  ...READ_ACTIONS,
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
].sort();

const stack = useSynthesizedStack();

/** Table id → logical id, found through the env var the gateway reads its name from. */
function tableLogicalIds(): Record<TableId, string> {
  const env = environmentOf(gatewayFunction(stack.json)[1]);
  return Object.fromEntries(
    TABLE_IDS.map((id) => {
      const ref = env[TABLES[id].envVar] as { Ref?: string } | undefined;
      assert.ok(ref?.Ref, `gateway has no ${TABLES[id].envVar} referencing a table`);
      assert.equal(stack.json.Resources[ref.Ref]?.Type, 'AWS::DynamoDB::Table', `${TABLES[id].envVar} → ${ref.Ref}`);
      return [id, ref.Ref];
    }),
  ) as Record<TableId, string>;
}

describe('state tables', () => {
  it('creates one DynamoDB table per entry of TABLES, each named to the gateway by its env var', () => {
    assert.equal(resourcesOfType(stack.json, 'AWS::DynamoDB::Table').length, TABLE_IDS.length);
    assert.equal(new Set(Object.values(tableLogicalIds())).size, TABLE_IDS.length);
    assert.ok(TABLE_IDS.includes('tasks' as TableId), 'the tasks table is among them');
  });

  for (const id of TABLE_IDS) {
    const spec = TABLES[id] as (typeof TABLES)[TableId] & { ttlAttribute?: string; pointInTimeRecovery?: boolean };
    it(`${id}: on-demand, partition key "${spec.partitionKey}", TTL ${spec.ttlAttribute ?? 'none'}, PITR ${spec.pointInTimeRecovery === true ? 'on' : 'off'}, AWS-managed encryption`, () => {
      const table = stack.json.Resources[tableLogicalIds()[id]]!;
      const props = table.Properties ?? {};
      assert.equal(props['BillingMode'], 'PAY_PER_REQUEST');
      assert.deepEqual(props['KeySchema'], [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }]);
      assert.deepEqual(props['AttributeDefinitions'], [{ AttributeName: spec.partitionKey, AttributeType: 'S' }]);
      assert.equal(props['ProvisionedThroughput'], undefined);
      assert.deepEqual(
        props['TimeToLiveSpecification'],
        spec.ttlAttribute ? { AttributeName: spec.ttlAttribute, Enabled: true } : undefined,
      );
      assert.deepEqual(props['PointInTimeRecoverySpecification'], {
        PointInTimeRecoveryEnabled: spec.pointInTimeRecovery === true,
      });
      assert.deepEqual(props['SSESpecification'], { SSEEnabled: true });
    });
  }

  it('keeps point-in-time recovery on for spend', () => {
    const spend = stack.json.Resources[tableLogicalIds().spend]!;
    assert.deepEqual(spend.Properties?.['PointInTimeRecoverySpecification'], { PointInTimeRecoveryEnabled: true });
    assert.deepEqual(spend.Properties?.['TimeToLiveSpecification'], { AttributeName: 'expires_at', Enabled: true });
  });

  it('retains spend, keys and tasks (money and identity); the rest may go with the stack', () => {
    const ids = tableLogicalIds();
    const { Resources } = stack.json;
    const policies = Object.fromEntries(
      TABLE_IDS.map((id) => [id, [Resources[ids[id]]!.DeletionPolicy, Resources[ids[id]]!.UpdateReplacePolicy]]),
    );
    assert.deepEqual(policies, {
      breakers: ['Delete', 'Delete'],
      spend: ['Retain', 'Retain'],
      idempotency: ['Delete', 'Delete'],
      keys: ['Retain', 'Retain'],
      rateLimits: ['Delete', 'Delete'],
      cache: ['Delete', 'Delete'],
      tasks: ['Retain', 'Retain'],
    });
  });

  it('outputs every table name for the CLI', () => {
    const ids = tableLogicalIds();
    for (const id of TABLE_IDS) {
      assert.deepEqual(stack.json.Outputs?.[OUTPUTS.tableName(id)]?.Value, { Ref: ids[id] }, id);
    }
    assert.deepEqual(stack.json.Outputs?.['KeysTableName']?.Value, { Ref: ids.keys });
    assert.deepEqual(stack.json.Outputs?.['RateLimitsTableName']?.Value, { Ref: ids.rateLimits });
  });
});

describe('table grants (least privilege)', () => {
  it('gateway: read/write on breakers, spend, idempotency, cache, rateLimits and tasks; read only on keys', () => {
    const ids = tableLogicalIds();
    const roleId = gatewayRoleId(stack.json);
    const granted = Object.fromEntries(TABLE_IDS.map((id) => [id, actionsOnResource(stack.json, roleId, ids[id])]));
    assert.deepEqual(granted, {
      breakers: READ_WRITE_ACTIONS,
      spend: READ_WRITE_ACTIONS,
      idempotency: READ_WRITE_ACTIONS,
      keys: READ_ACTIONS,
      rateLimits: READ_WRITE_ACTIONS,
      cache: READ_WRITE_ACTIONS,
      tasks: READ_WRITE_ACTIONS,
    });
  });

  it('worker: read/write on what it uses, nothing at all on keys (no env var either)', () => {
    const ids = tableLogicalIds();
    const [, worker] = workerFunction(stack.json);
    const roleId = roleIdOf(worker);
    const granted = Object.fromEntries(TABLE_IDS.map((id) => [id, actionsOnResource(stack.json, roleId, ids[id])]));
    assert.deepEqual(granted, {
      breakers: READ_WRITE_ACTIONS,
      spend: READ_WRITE_ACTIONS,
      idempotency: READ_WRITE_ACTIONS,
      keys: [],
      rateLimits: READ_WRITE_ACTIONS,
      cache: READ_WRITE_ACTIONS,
      tasks: READ_WRITE_ACTIONS,
    });
    const env = environmentOf(worker);
    assert.equal(env[TABLES.keys.envVar], undefined);
    for (const id of TABLE_IDS.filter((t) => t !== 'keys')) {
      assert.deepEqual(env[TABLES[id].envVar], { Ref: ids[id] }, TABLES[id].envVar);
    }
  });

  it('no DynamoDB permission reaches beyond the listed tables (no wildcards, no indexes)', () => {
    const tableIds = new Set(Object.values(tableLogicalIds()));
    for (const [service, fn] of [['gateway', gatewayFunction(stack.json)[1]], ['worker', workerFunction(stack.json)[1]]] as const) {
      for (const s of statementsOfRole(stack.json, roleIdOf(fn))) {
        const actions = [s.Action].flat();
        if (!actions.some((a) => a.startsWith('dynamodb:'))) continue;
        assert.ok(!actions.includes('dynamodb:*'), `${service}: dynamodb:*`);
        for (const resource of resourcesOf(s)) {
          assert.notEqual(resource, '*', `${service}: dynamodb on *`);
          const refs = referencedIds(resource);
          assert.equal(refs.size, 1, `${service}: ${JSON.stringify(resource)}`);
          assert.ok(tableIds.has([...refs][0]!), `${service}: ${JSON.stringify(resource)}`);
          // A bare table ARN: index ARNs (<arn>/index/*) would be a Fn::Join.
          assert.deepEqual(Object.keys(resource as object), ['Fn::GetAtt'], `${service}: ${JSON.stringify(resource)}`);
        }
      }
    }
  });

  it('no other role in the stack touches the tables', () => {
    const tableIds = new Set(Object.values(tableLogicalIds()));
    const touchesTables = (document: unknown) => [...referencedIds(document)].some((id) => tableIds.has(id));
    assertOnlyFunctionRolesTouch(stack.json, touchesTables, 'a table');
  });
});
