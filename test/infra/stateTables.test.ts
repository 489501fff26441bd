import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TABLES, type TableId, type TableSpec } from '../../shared/stores/dynamo/tables.js';
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
    const spec = TABLES[id] as TableSpec;
    it(`${id}: on-demand, partition key "${spec.partitionKey}", TTL ${spec.ttlAttribute ?? 'none'}, PITR ${spec.pointInTimeRecovery === true ? 'on' : 'off'}, AWS-managed encryption`, () => {
      const table = stack.json.Resources[tableLogicalIds()[id]]!;
      const props = table.Properties ?? {};
      assert.equal(props['BillingMode'], 'PAY_PER_REQUEST');
      assert.deepEqual(props['KeySchema'], [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }]);
      const indexes = spec.indexes ?? [];
      assert.deepEqual(
        new Map((props['AttributeDefinitions'] as Array<{ AttributeName: string; AttributeType: string }>).map((a) => [a.AttributeName, a.AttributeType])),
        new Map([
          [spec.partitionKey, 'S'],
          ...indexes.flatMap((index) => [
            [index.partitionKey, 'S'],
            [index.sortKey.name, index.sortKey.type],
          ]),
        ] as Array<[string, string]>),
      );
      assert.deepEqual(
        props['GlobalSecondaryIndexes'],
        indexes.length === 0
          ? undefined
          : indexes.map((index) => ({
              IndexName: index.name,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' },
                { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            })),
      );
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
      responses: ['Delete', 'Delete'],
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
  it('gateway: read/write on breakers, spend, idempotency, cache, rateLimits, tasks and responses; read only on keys', () => {
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
      responses: READ_WRITE_ACTIONS,
    });
  });

  it('worker: read/write on what it uses, nothing at all on keys or stored responses (no env var either)', () => {
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
      responses: [],
    });
    const env = environmentOf(worker);
    assert.equal(env[TABLES.keys.envVar], undefined);
    assert.equal(env[TABLES.responses.envVar], undefined);
    for (const id of TABLE_IDS.filter((t) => t !== 'keys' && t !== 'responses')) {
      assert.deepEqual(env[TABLES[id].envVar], { Ref: ids[id] }, TABLES[id].envVar);
    }
  });

  it('no DynamoDB permission reaches beyond the listed tables (no wildcards; indexes only of tables that have them)', () => {
    const tableIds = new Set(Object.values(tableLogicalIds()));
    const ids = tableLogicalIds();
    const indexed = new Set(TABLE_IDS.filter((id) => ((TABLES[id] as TableSpec).indexes ?? []).length > 0).map((id) => ids[id]));
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
          // A bare table ARN, or `<arn>/index/*` (a Fn::Join) of a table with an index (tasks: GET /v1/tasks).
          const keys = Object.keys(resource as object);
          if (keys[0] === 'Fn::Join') {
            assert.ok(indexed.has([...refs][0]!), `${service}: an index of a table without one: ${JSON.stringify(resource)}`);
            assert.match(JSON.stringify(resource), /\/index\/\*"\]\]\}$/, `${service}: ${JSON.stringify(resource)}`);
          } else {
            assert.deepEqual(keys, ['Fn::GetAtt'], `${service}: ${JSON.stringify(resource)}`);
          }
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
