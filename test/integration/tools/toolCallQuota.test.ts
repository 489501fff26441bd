import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { isGatewayError } from '../../../shared/errors';
import type { Principal } from '../../../shared/gateway';
import { mergePolicies } from '../../../shared/gateway';
import type { KeyPolicy } from '../../../shared/keys/keyPolicy';
import { DynamoToolCallQuota, secondsUntilUtcMidnight, utcDay } from '../../../shared/tools/quota';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';

const silent = { warn: () => {} };
/** 23:00 UTC: an hour before the quota resets. */
const LATE_EVENING = Date.UTC(2026, 10, 30, 23, 0, 0);

let tenantCount = 0;
/** A fresh tenant (its own counters), and one of its keys with `keyPolicy` as its own policy. */
function principalOf(tenantPolicy: KeyPolicy, keyPolicy?: KeyPolicy, tenantName = `tenant-${++tenantCount}`, keyId = `key-${tenantCount}`): Principal {
  const tenant = { name: tenantName, route: 'main', allowedRoutes: new Set(['main']), keys: [], policy: tenantPolicy };
  return { tenant, keyPrefix: 'bw_test_', keyId, policy: keyPolicy ? mergePolicies(tenantPolicy, keyPolicy) : tenantPolicy, ...(keyPolicy ? { keyPolicy } : {}) };
}

const refusal = (error: unknown, scope: string) => {
  assert.ok(isGatewayError(error), String(error));
  assert.equal(error.code, 'tool_quota_exceeded');
  assert.equal(error.status, 429);
  assert.equal(error.details?.scope, scope);
  return true;
};

describe('utcDay', () => {
  it('names the UTC day and the seconds left until its midnight', () => {
    assert.deepEqual(utcDay(LATE_EVENING), { day: '2026-11-30', endsAt: Date.UTC(2026, 11, 1) });
    assert.equal(secondsUntilUtcMidnight(LATE_EVENING), 3_600);
    assert.equal(secondsUntilUtcMidnight(Date.UTC(2026, 11, 1) - 1), 1, 'never 0');
    assert.equal(utcDay(Date.UTC(2026, 11, 1)).day, '2026-12-01', 'midnight starts the next day');
  });
});

describe('DynamoToolCallQuota against DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  const quota = (clock = fakeClock(LATE_EVENING)) => new DynamoToolCallQuota({ doc: dynamo.doc, tableName: dynamo.tables.rateLimits, clock, logger: silent });
  const count = async (pk: string) =>
    ((await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.rateLimits, Key: { pk } }))).Item?.count as number | undefined) ?? 0;

  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    await dynamo?.stop();
  });

  it("refuses the tenant's call past its daily_tool_calls with 429 and Retry-After until midnight UTC", async () => {
    const principal = principalOf({ daily_tool_calls: 3 });
    const calls = quota();
    for (let i = 0; i < 3; i++) await calls.spend(principal);
    await assert.rejects(calls.spend(principal), (error) => {
      refusal(error, 'tenant');
      assert.equal((error as { headers?: Record<string, string> }).headers?.['retry-after'], '3600');
      assert.match((error as Error).message, /3 tool calls for today/);
      return true;
    });
    assert.equal(await count(`toolcalls#tenant#${principal.tenant.name}#2026-11-30`), 3, 'a refused call is not counted');
  });

  it('starts over on the next UTC day', async () => {
    const clock = fakeClock(LATE_EVENING);
    const principal = principalOf({ daily_tool_calls: 1 });
    const calls = quota(clock);
    await calls.spend(principal);
    await assert.rejects(calls.spend(principal), (error) => refusal(error, 'tenant'));
    clock.advance(3_600_000);
    await calls.spend(principal);
  });

  it('never lets more than the limit through under 40 concurrent calls from two containers', async () => {
    const principal = principalOf({ daily_tool_calls: 7 });
    const containers = [quota(), quota()];
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => containers[i % 2]!.spend(principal)));
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 7);
    for (const outcome of outcomes) if (outcome.status === 'rejected') refusal(outcome.reason, 'tenant');
    assert.equal(await count(`toolcalls#tenant#${principal.tenant.name}#2026-11-30`), 7);
  });

  it("counts a key's own limit apart from its tenant's: one key used up leaves the others theirs", async () => {
    const tenantPolicy = { daily_tool_calls: 3 };
    const first = principalOf(tenantPolicy, { daily_tool_calls: 2 }, 'shared-tenant', 'key-a');
    assert.equal(first.policy.daily_tool_calls, 2, 'the merged policy shows the smaller limit');
    const second = principalOf(tenantPolicy, {}, 'shared-tenant', 'key-b');
    const calls = quota();
    await calls.spend(first);
    await calls.spend(first);
    await assert.rejects(calls.spend(first), (error) => refusal(error, 'key'));
    assert.equal(await count('toolcalls#tenant#shared-tenant#2026-11-30'), 2, "the key's refusal did not spend the tenant's quota");
    await calls.spend(second);
    await assert.rejects(calls.spend(second), (error) => refusal(error, 'tenant'));
    assert.equal(await count('toolcalls#key#key-a#2026-11-30'), 2);
  });

  it("gives the key's count back when the tenant's quota refuses the call", async () => {
    const tenantPolicy = { daily_tool_calls: 1 };
    const metered = principalOf(tenantPolicy, { daily_tool_calls: 5 }, 'tight-tenant', 'key-metered');
    const other = principalOf(tenantPolicy, {}, 'tight-tenant', 'key-other');
    const calls = quota();
    await calls.spend(other);
    await assert.rejects(calls.spend(metered), (error) => refusal(error, 'tenant'));
    assert.equal(await count('toolcalls#key#key-metered#2026-11-30'), 0);
  });

  it('writes nothing for a tenant and key without a limit', async () => {
    const principal = principalOf({}, {});
    await quota().spend(principal);
    assert.equal(await count(`toolcalls#tenant#${principal.tenant.name}#2026-11-30`), 0);
    assert.equal(await count(`toolcalls#key#${principal.keyId}#2026-11-30`), 0);
  });

  it('fails closed (503) when the store cannot be reached, open with budget_fail_open', async () => {
    const dead = deadDynamoClients();
    try {
      const calls = new DynamoToolCallQuota({ doc: dead.doc, tableName: 'rateLimits', clock: fakeClock(LATE_EVENING), logger: silent, timeoutMs: 2_000 });
      await assert.rejects(calls.spend(principalOf({ daily_tool_calls: 5 })), (error) => {
        assert.ok(isGatewayError(error));
        assert.equal(error.code, 'tool_state_unavailable');
        assert.equal(error.status, 503);
        return true;
      });
      await calls.spend(principalOf({ daily_tool_calls: 5, budget_fail_open: true }));
    } finally {
      dead.client.destroy();
    }
  });
});
