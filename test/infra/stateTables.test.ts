import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TABLES, type TableId, type TableSpec } from '../../shared/stores/dynamo/tables.js';
import { GATEWAY_TABLE_GRANTS, OUTPUTS, WORKER_TABLE_GRANTS } from '../../lib/GatewayStack.js';
import { CUSTOMER_DATA_TABLES, TABLE_ACCESS, type TableGrants } from '../../lib/StateTables.js';
import { READ_ONLY_ACTIONS, TABLE_ACTIONS } from '../../lib/tableActions.js';
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
  synth,
  useSynthesizedStack,
  workerFunction,
  workerRoleId,
} from './synthStack.js';

const TABLE_IDS = Object.keys(TABLES) as TableId[];

/** What each table's code sends (lib/tableActions.ts), written out so a change there shows here. */
const ACTIONS = {
  getUpdate: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  idempotency: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  keys: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
  update: ['dynamodb:UpdateItem'],
  getPut: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  getPutUpdateQuery: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  responses: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
  connections: ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const;

const stack = useSynthesizedStack();

/** Table id → logical id, found through the stack output the CLI reads its name from. */
function tableLogicalIds(): Record<TableId, string> {
  return Object.fromEntries(
    TABLE_IDS.map((id) => {
      const ref = stack.json.Outputs?.[OUTPUTS.tableName(id)]?.Value as { Ref?: string } | undefined;
      assert.ok(ref?.Ref, `no output ${OUTPUTS.tableName(id)} referencing a table`);
      assert.equal(stack.json.Resources[ref.Ref]?.Type, 'AWS::DynamoDB::Table', `${OUTPUTS.tableName(id)} → ${ref.Ref}`);
      return [id, ref.Ref];
    }),
  ) as Record<TableId, string>;
}

/** What a role should be allowed on each table, from the declared grants. */
function expectedActions(grants: TableGrants): Record<TableId, string[]> {
  return Object.fromEntries(
    TABLE_IDS.map((id) => [
      id,
      TABLE_ACTIONS[id].filter((action) => grants[id] === TABLE_ACCESS.READ_WRITE || (grants[id] === TABLE_ACCESS.READ && READ_ONLY_ACTIONS.has(action))).sort(),
    ]),
  ) as Record<TableId, string[]>;
}

describe('state tables', () => {
  it('creates one DynamoDB table per entry of TABLES, each named to a function it is granted to by its env var', () => {
    assert.equal(resourcesOfType(stack.json, 'AWS::DynamoDB::Table').length, TABLE_IDS.length);
    const ids = tableLogicalIds();
    assert.equal(new Set(Object.values(ids)).size, TABLE_IDS.length);
    assert.ok(TABLE_IDS.includes('tasks' as TableId), 'the tasks table is among them');
    for (const [fn, grants] of [[gatewayFunction(stack.json)[1], GATEWAY_TABLE_GRANTS], [workerFunction(stack.json)[1], WORKER_TABLE_GRANTS]] as const) {
      const env = environmentOf(fn);
      for (const id of TABLE_IDS) {
        assert.deepEqual(env[TABLES[id].envVar], grants[id] === undefined ? undefined : { Ref: ids[id] }, TABLES[id].envVar);
      }
    }
  });

  for (const id of TABLE_IDS) {
    const spec = TABLES[id] as TableSpec;
    const pitr = spec.pointInTimeRecovery === true || CUSTOMER_DATA_TABLES.has(id);
    it(`${id}: on-demand, partition key "${spec.partitionKey}", TTL ${spec.ttlAttribute ?? 'none'}, PITR ${pitr ? 'on' : 'off'}, AWS-managed encryption`, () => {
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
      assert.deepEqual(props['PointInTimeRecoverySpecification'], { PointInTimeRecoveryEnabled: pitr });
      assert.deepEqual(props['SSESpecification'], { SSEEnabled: true });
    });
  }

  it('keeps point-in-time recovery on for spend', () => {
    const spend = stack.json.Resources[tableLogicalIds().spend]!;
    assert.deepEqual(spend.Properties?.['PointInTimeRecoverySpecification'], { PointInTimeRecoveryEnabled: true });
    assert.deepEqual(spend.Properties?.['TimeToLiveSpecification'], { AttributeName: 'expires_at', Enabled: true });
  });

  it('customer data (spend, keys, tasks, responses, connections, approvals): PITR, deletion protection, retained; the rest may go with the stack', () => {
    const ids = tableLogicalIds();
    const { Resources } = stack.json;
    const policies = Object.fromEntries(
      TABLE_IDS.map((id) => {
        const table = Resources[ids[id]]!;
        const props = table.Properties ?? {};
        return [
          id,
          [
            table.DeletionPolicy,
            table.UpdateReplacePolicy,
            props['DeletionProtectionEnabled'] === true,
            (props['PointInTimeRecoverySpecification'] as { PointInTimeRecoveryEnabled?: boolean }).PointInTimeRecoveryEnabled,
          ],
        ];
      }),
    );
    const customer = ['Retain', 'Retain', true, true];
    for (const id of ['spend', 'keys', 'tasks', 'responses', 'connections', 'approvals']) {
      if (id in TABLES) assert.deepEqual(policies[id], customer, id);
    }
    assert.deepEqual(policies['breakers'], ['Delete', 'Delete', false, false]);
    assert.deepEqual(policies['cache'], ['Delete', 'Delete', false, false]);
    assert.deepEqual(policies['rateLimits'], ['Delete', 'Delete', false, false]);
    assert.deepEqual(policies['idempotency'], ['Delete', 'Delete', false, false]);
    for (const id of TABLE_IDS) {
      assert.deepEqual(policies[id], CUSTOMER_DATA_TABLES.has(id) ? customer : ['Delete', 'Delete', false, (TABLES[id] as TableSpec).pointInTimeRecovery === true], id);
    }
  });

  it('lets CloudFormation name the tables unless a stage prefix is given; then `<prefix><kebab-id>`', () => {
    for (const id of Object.values(tableLogicalIds())) assert.equal(stack.json.Resources[id]!.Properties?.['TableName'], undefined);
    const named = synth(stack.scratch, { tableNamePrefix: 'breakwater-qa-' }).json;
    const names = resourcesOfType(named, 'AWS::DynamoDB::Table').map(([, r]) => r.Properties?.['TableName']);
    assert.ok(names.includes('breakwater-qa-keys'), names.join(', '));
    assert.ok(names.includes('breakwater-qa-rate-limits'), names.join(', '));
    assert.equal(new Set(names).size, TABLE_IDS.length);
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
  it('no function may Scan (but the admin console, on keys), BatchWrite, read streams or describe tables', () => {
    for (const roleId of [gatewayRoleId(stack.json), workerRoleId(stack.json)]) {
      for (const statement of statementsOfRole(stack.json, roleId)) {
        const actions = [statement.Action].flat().filter((action) => action.startsWith('dynamodb:'));
        for (const banned of ['dynamodb:BatchWriteItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeTable', 'dynamodb:ConditionCheckItem']) {
          assert.ok(!actions.includes(banned), `${roleId} may ${banned}`);
        }
      }
    }
    const ids = tableLogicalIds();
    const scanners = TABLE_IDS.filter((id) => actionsOnResource(stack.json, gatewayRoleId(stack.json), ids[id]).includes('dynamodb:Scan'));
    assert.deepEqual(scanners, ['keys']);
    assert.deepEqual(TABLE_IDS.filter((id) => actionsOnResource(stack.json, workerRoleId(stack.json), ids[id]).includes('dynamodb:Scan')), []);
  });

  it('gateway: read/write on breakers, spend, idempotency, cache, rateLimits, tasks, responses, connections and approvals; on keys also for the admin API', () => {
    const ids = tableLogicalIds();
    const roleId = gatewayRoleId(stack.json);
    const granted = Object.fromEntries(TABLE_IDS.map((id) => [id, actionsOnResource(stack.json, roleId, ids[id])]));
    assert.deepEqual(granted, expectedActions(GATEWAY_TABLE_GRANTS));
    assert.deepEqual(
      {
        breakers: granted.breakers,
        spend: granted.spend,
        idempotency: granted.idempotency,
        keys: granted.keys,
        rateLimits: granted.rateLimits,
        cache: granted.cache,
        tasks: granted.tasks,
        responses: granted.responses,
        connections: granted.connections,
        approvals: granted.approvals,
      },
      {
        breakers: ACTIONS.getUpdate,
        spend: ACTIONS.getUpdate,
        idempotency: ACTIONS.idempotency,
        keys: ACTIONS.keys,
        rateLimits: ACTIONS.update,
        cache: ACTIONS.getPut,
        tasks: ACTIONS.getPutUpdateQuery,
        responses: ACTIONS.responses,
        connections: ACTIONS.connections,
        approvals: ACTIONS.getPutUpdateQuery,
      },
    );
  });

  it('worker: read/write on what it uses, nothing at all on keys or stored responses (no env var either)', () => {
    const ids = tableLogicalIds();
    const [, worker] = workerFunction(stack.json);
    const roleId = roleIdOf(worker);
    const granted = Object.fromEntries(TABLE_IDS.map((id) => [id, actionsOnResource(stack.json, roleId, ids[id])]));
    assert.deepEqual(granted, expectedActions(WORKER_TABLE_GRANTS));
    assert.deepEqual(
      { breakers: granted.breakers, spend: granted.spend, keys: granted.keys, tasks: granted.tasks, responses: granted.responses, connections: granted.connections, approvals: granted.approvals },
      { breakers: ACTIONS.getUpdate, spend: ACTIONS.getUpdate, keys: [], tasks: ACTIONS.getPutUpdateQuery, responses: [], connections: [], approvals: [] },
    );
    const env = environmentOf(worker);
    assert.equal(env[TABLES.keys.envVar], undefined);
    assert.equal(env[TABLES.responses.envVar], undefined);
    for (const id of TABLE_IDS.filter((t) => WORKER_TABLE_GRANTS[t] !== undefined)) {
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
          // A bare table ARN, or `<arn>/index/<name>` (a Fn::Join) of one of the table's own indexes (tasks: GET /v1/tasks).
          const keys = Object.keys(resource as object);
          if (keys[0] === 'Fn::Join') {
            const tableId = TABLE_IDS.find((id) => ids[id] === [...refs][0])!;
            assert.ok(indexed.has([...refs][0]!), `${service}: an index of a table without one: ${JSON.stringify(resource)}`);
            const names = ((TABLES[tableId] as TableSpec).indexes ?? []).map((index) => index.name);
            const match = /\/index\/([^"*]+)"\]\]\}$/.exec(JSON.stringify(resource));
            assert.ok(match && names.includes(match[1]!), `${service}: not an index of ${tableId} by name: ${JSON.stringify(resource)}`);
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
