import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { approvalsCommand } from '../../../bin/cli/approvalsCommand';
import { compileConfig } from '../../../shared/config';
import { isGatewayError } from '../../../shared/errors';
import { Deadline } from '../../../shared/resilience';
import { Approvals, DynamoApprovalStore } from '../../../shared/tools/approvals';
import type { ToolCall, ToolCallExecutor, ToolCaller } from '../../../shared/tools/types';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';

const config = compileConfig({
  routes: { r: { provider: 'sim' } },
  providers: { sim: { type: 'simulated' } },
  services: {
    payments: {
      base_url: 'https://payments.example.test/v1',
      high_stakes: [{ method: 'POST', path: '/refunds', expires_after_ms: 60_000 }],
    },
  },
  tenants: { acme: { route: 'r' }, other: { route: 'r' } },
});

const caller = (tenant = 'acme'): ToolCaller => {
  const t = config.tenants.get(tenant)!;
  return { tenant, keyPrefix: 'bw_test_', keyId: 'key-hash', principal: { tenant: t, keyPrefix: 'bw_test_', keyId: 'key-hash', policy: t.policy } };
};
const refund: ToolCall = {
  service: 'payments',
  method: 'POST',
  path: '/refunds',
  query: '',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{"amount":5000}'),
  idempotencyKey: 'refund-1',
  priority: 'interactive',
};
const rule = { method: 'POST', path: '/refunds' };
const silent = { info: () => {}, warn: () => {} };

/** Counts every call the approvals part runs, and answers like a service would. */
function countingExecutor(delayMs = 0) {
  const calls: Array<{ call: ToolCall; approvalId?: string }> = [];
  const executor: ToolCallExecutor = {
    async execute(call, _caller, _deadline, context) {
      calls.push({ call, approvalId: context?.approvalId });
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { statusCode: 201, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from('{"id":"re_1","status":"succeeded"}')]) };
    },
  };
  return { executor, calls };
}

const notPending = (error: unknown) => {
  assert.ok(isGatewayError(error), String(error));
  assert.equal(error.code, 'approval_not_pending');
  assert.equal(error.status, 409);
  return true;
};

describe('approvals of high-stakes tool calls (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    await dynamo?.stop();
  });

  const setup = (delayMs = 0) => {
    const clock = fakeClock(Date.now());
    const store = new DynamoApprovalStore(dynamo.doc, dynamo.tables.approvals);
    const { executor, calls } = countingExecutor(delayMs);
    const approvals = new Approvals({ store, config, clock, logger: silent, executor: () => executor });
    return { clock, store, calls, approvals, deadline: () => Deadline.after(clock, 30_000) };
  };

  it('guarantee: an approved call runs exactly once, however many ask for it at the same time', async () => {
    const context = setup(50);
    const { approvals, calls, deadline } = context;
    const held = await approvals.hold(refund, caller(), rule);
    assert.match(held.approvalId, /^apv_[0-9a-f]{32}$/);

    const pending = await approvals.current(held.approvalId, deadline(), { tenant: 'acme' });
    assert.equal(pending.status, 'pending');
    assert.equal(calls.length, 0, 'nothing runs before a decision');

    // Approved (as the CLI does), then ten containers ask for the result at once: each sees
    // `approved`, each tries to claim the run, one wins.
    const { store, clock } = context;
    assert.ok(await store.decide(held.approvalId, 'approved', 'cli:ops', undefined, clock.now()));
    const polls = await Promise.all(Array.from({ length: 10 }, () => approvals.current(held.approvalId, deadline(), { tenant: 'acme' })));
    assert.equal(calls.length, 1, 'one claimant ran the call');
    assert.equal(calls[0]!.approvalId, held.approvalId);
    assert.equal(calls[0]!.call.body?.toString(), '{"amount":5000}', 'the held body is what runs');
    assert.equal(calls[0]!.call.idempotencyKey, 'refund-1');
    assert.ok(polls.some((poll) => poll.status === 'succeeded'), 'the winner answers with the outcome');
    assert.ok(polls.every((poll) => ['running', 'succeeded'].includes(poll.status)), polls.map((poll) => poll.status).join());

    const final = await approvals.current(held.approvalId, deadline(), { tenant: 'acme' });
    assert.equal(final.status, 'succeeded');
    assert.deepEqual(final.result, {
      status_code: 201,
      headers: { 'content-type': 'application/json' },
      body: '{"id":"re_1","status":"succeeded"}',
      body_encoding: 'utf8',
      truncated: false,
    });
    assert.equal(calls.length, 1);
    await assert.rejects(approvals.decide(held.approvalId, 'approve', { id: 'key:bw_admin' }, deadline()), notPending);
  });

  it('an admin approving over HTTP runs the call at once and answers with its outcome', async () => {
    const { approvals, calls, deadline } = setup();
    const held = await approvals.hold(refund, caller(), rule);
    const decided = await approvals.decide(held.approvalId, 'approve', { id: 'key:bw_admin' }, deadline());
    assert.equal(decided.status, 'succeeded');
    assert.equal(decided.result?.status_code, 201);
    assert.equal(calls.length, 1);
  });

  it('guarantee: a rejected call never runs', async () => {
    const { approvals, calls, deadline } = setup();
    const held = await approvals.hold(refund, caller(), rule);
    const rejected = await approvals.decide(held.approvalId, 'reject', { id: 'key:bw_admin' }, deadline(), 'not this one');
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.reason, 'not this one');
    assert.equal((await approvals.current(held.approvalId, deadline(), { tenant: 'acme' })).status, 'rejected');
    await assert.rejects(approvals.decide(held.approvalId, 'approve', { id: 'key:bw_admin' }, deadline()), notPending);
    assert.equal(calls.length, 0);
  });

  it('guarantee: an expired approval never runs, and cannot be approved', async () => {
    const { approvals, calls, clock, deadline } = setup();
    const held = await approvals.hold(refund, caller(), rule);
    assert.equal(held.expiresAt, clock.now() + 60_000, "the rule's expires_after_ms");
    clock.advance(60_001);
    await assert.rejects(approvals.decide(held.approvalId, 'approve', { id: 'key:bw_admin' }, deadline()), notPending);
    assert.equal((await approvals.current(held.approvalId, deadline(), { tenant: 'acme' })).status, 'expired');
    assert.equal(calls.length, 0);
  });

  it("keeps one tenant's approvals from another: another tenant's id is a 404", async () => {
    const { approvals, deadline } = setup();
    const held = await approvals.hold(refund, caller(), rule);
    await assert.rejects(approvals.current(held.approvalId, deadline(), { tenant: 'other' }), (error: unknown) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.code, 'approval_not_found');
      return true;
    });
    assert.ok((await approvals.list({ tenant: 'acme' })).some((record) => record.id === held.approvalId));
    assert.ok(!(await approvals.list({ tenant: 'other' })).some((record) => record.id === held.approvalId));
  });

  it('a run that never reported back is unknown, never run again', async () => {
    const { approvals, store, calls, clock, deadline } = setup();
    const held = await approvals.hold(refund, caller(), rule);
    assert.ok(await store.decide(held.approvalId, 'approved', 'cli:ops', undefined, clock.now()));
    // A container claims the run and dies before it reports.
    assert.ok(await store.claimRun(held.approvalId, clock.now(), clock.now() + 1_000));
    clock.advance(1_001);
    assert.equal((await approvals.current(held.approvalId, deadline(), { tenant: 'acme' })).status, 'unknown');
    assert.equal(calls.length, 0);
  });

  it('the CLI lists what waits and approves; the agent fetching the result runs the call once', async () => {
    const { approvals, store, calls, clock, deadline } = setup();
    const held = await approvals.hold(refund, caller(), rule);
    const out: string[] = [];
    const err: string[] = [];
    const cli = (...argv: string[]) =>
      approvalsCommand(argv, {
        io: { out: (line) => out.push(line), err: (line) => err.push(line) },
        env: { USER: 'ops' },
        now: () => clock.now(),
        openStore: (where) => {
          assert.deepEqual(where, { table: 'breakwater-approvals' });
          return store;
        },
      });
    assert.equal(await cli('list', '--tenant', 'acme'), 0);
    assert.ok(out.some((line) => line.startsWith(held.approvalId) && line.includes('POST /refunds')), out.join('\n'));
    assert.equal(await cli('approve', held.approvalId, '--reason', 'checked'), 0);
    assert.equal(calls.length, 0, 'the CLI only decides');
    const fetched = await approvals.current(held.approvalId, deadline(), { tenant: 'acme' });
    assert.equal(fetched.status, 'succeeded');
    assert.equal(fetched.decided_by, 'cli:ops');
    await approvals.current(held.approvalId, deadline(), { tenant: 'acme' });
    assert.equal(calls.length, 1);
    assert.equal(await cli('reject', held.approvalId), 1);
    assert.match(err.join('\n'), /already succeeded/);
  });

  it('refuses to hold a body too large to keep, with a 413', async () => {
    const { approvals } = setup();
    await assert.rejects(approvals.hold({ ...refund, body: Buffer.alloc(200 * 1024) }, caller(), rule), (error: unknown) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.status, 413);
      return true;
    });
  });
});
