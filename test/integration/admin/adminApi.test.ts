import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSpendLedger, MONTH_ATTRIBUTE, spendKey, dayAttribute } from '../../../shared/budget';
import { budgetWindows } from '../../../shared/budget/windows';
import { displayPrefix } from '../../../shared/keys';
import { BACKUP_MODEL, chatBody, CONSOLE_KEYS, startConsoleStack, type ConsoleStack } from '../../browser/consoleStack';

/** Every admin route, with a body that would be valid for an admin, so only the key decides. */
const ADMIN_ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/v1/admin/overview'],
  ['GET', '/v1/admin/requests'],
  ['GET', '/v1/admin/targets'],
  ['POST', '/v1/admin/targets/force', { target: 'x', state: 'open', reason: 'r', expires_in_seconds: 60 }],
  ['GET', '/v1/admin/tenants'],
  ['POST', '/v1/admin/tenants/capped/cap-today', { daily_budget_usd: 5 }],
  ['POST', '/v1/admin/keys', { tenant: 'acme' }],
  ['POST', '/v1/admin/keys/bw_test_cons/revoke'],
  ['POST', '/v1/admin/keys/bw_test_cons/rotate', {}],
  ['GET', '/v1/admin/tasks'],
  ['GET', '/v1/admin/dlq'],
  ['POST', '/v1/admin/dlq/redrive'],
  ['GET', '/v1/admin/approvals'],
  ['POST', '/v1/admin/approvals/apv_0/approve', {}],
  ['POST', '/v1/admin/approvals/apv_0/reject', {}],
];

describe('admin API (/v1/admin): admin keys only, every action audited (DynamoDB Local, fauxqs)', () => {
  let stack: ConsoleStack;
  const admin = (path: string, init?: { method?: string; body?: unknown }) => stack.call(path, CONSOLE_KEYS.ADMIN, init);
  const audits = () => stack.logs.records().filter((record) => record.event === 'admin_audit');
  const lastAudit = (action: string) => audits().filter((record) => record.action === action).at(-1);

  before(async () => {
    stack = await startConsoleStack();
  });
  after(async () => {
    await stack?.close();
  });

  it('a normal key gets 403 admin_required on every admin route, no key 401, and each refusal is audited', async () => {
    for (const [method, path, body] of ADMIN_ROUTES) {
      const response = await stack.call(path, CONSOLE_KEYS.USER, { method, body });
      assert.equal(response.status, 403, `${method} ${path}: ${response.text}`);
      assert.equal(response.json.error.code, 'admin_required');
      assert.equal(response.json.error.type, 'permission_error');
      const anonymous = await fetch(`${stack.gateway.url}${path}`, { method });
      assert.equal(anonymous.status, 401, `${method} ${path} without a key`);
    }
    const denied = audits().filter((record) => record.outcome === 'denied');
    assert.equal(denied.length, ADMIN_ROUTES.length);
    assert.ok(denied.every((record) => record.actor === `key:${displayPrefix(CONSOLE_KEYS.USER)}`), JSON.stringify(denied[0]));
    assert.ok(!stack.logs.text().includes(CONSOLE_KEYS.USER), 'the key itself is never logged');
  });

  it('targets: every configured target with its fleet-wide breaker state; forcing one open sends traffic to the fallback until it expires', async () => {
    const listed = await admin('/v1/admin/targets');
    assert.equal(listed.status, 200, listed.text);
    const keys = listed.json.data.map((target: { key: string }) => target.key).sort();
    assert.deepEqual(keys, [stack.targetKeys.primary, stack.targetKeys.backup].sort());
    assert.ok(listed.json.data.every((target: { state: string }) => target.state === 'closed'));

    const forced = await admin('/v1/admin/targets/force', { body: { target: stack.targetKeys.primary, state: 'open', reason: 'provider incident 42', expires_in_seconds: 600 } });
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.json.state, 'open');
    assert.match(forced.json.note, /provider incident 42 \(key:bw_test_/);
    assert.ok(forced.json.cooldown_remaining_ms > 590_000 && forced.json.cooldown_remaining_ms <= 600_000);

    stack.upstream.reset();
    const served = await stack.call('/v1/chat/completions', CONSOLE_KEYS.USER, { body: chatBody });
    assert.equal(served.status, 200, served.text);
    assert.equal(served.headers.get('x-breakwater-fallback-index'), '1', 'the forced-open primary is skipped');
    assert.deepEqual(stack.upstream.requests.map((request) => (request.body as { model: string }).model), [BACKUP_MODEL]);

    const view = (await admin('/v1/admin/targets')).json.data.find((target: { key: string }) => target.key === stack.targetKeys.primary);
    assert.equal(view.state, 'open');
    assert.equal(view.reason, 'forced_open');

    const audit = lastAudit('breaker.force');
    assert.equal(audit?.outcome, 'ok');
    assert.equal(audit?.actor, `key:${displayPrefix(CONSOLE_KEYS.ADMIN)}`);
    assert.equal((audit?.details as { reason: string }).reason, 'provider incident 42');
    assert.ok(typeof audit?.at === 'string' && !Number.isNaN(Date.parse(audit.at as string)));

    // Forced closed: the primary serves again, and failures do not trip it until the expiry.
    const closed = await admin('/v1/admin/targets/force', { body: { target: stack.targetKeys.primary, state: 'closed', reason: 'incident over', expires_in_seconds: 300 } });
    assert.equal(closed.json.state, 'closed');
    assert.ok(closed.json.forced_until);
    stack.upstream.reset();
    stack.upstream.script(...Array.from({ length: 6 }, () => ({ status: 500, body: { error: { message: 'boom' } } })));
    for (let i = 0; i < 6; i++) await stack.call('/v1/chat/completions', CONSOLE_KEYS.USER, { body: chatBody });
    const after = (await admin('/v1/admin/targets')).json.data.find((target: { key: string }) => target.key === stack.targetKeys.primary);
    assert.equal(after.state, 'closed', 'six failures in a row do not trip a breaker held closed');
    assert.ok(after.failure_rate === null || after.failure_rate >= 0);
  });

  it('force: a bad body is a 400 naming the field, an unknown target a 404, and both are audited as failed', async () => {
    const bad = await admin('/v1/admin/targets/force', { body: { target: stack.targetKeys.backup, state: 'sideways', reason: 'x', expires_in_seconds: 60 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_request');
    assert.equal(bad.json.error.param, 'state');
    const tooLong = await admin('/v1/admin/targets/force', { body: { target: stack.targetKeys.backup, state: 'open', reason: 'x', expires_in_seconds: 86_401 } });
    assert.equal(tooLong.status, 400);
    const notJson = await fetch(`${stack.gateway.url}/v1/admin/targets/force`, { method: 'POST', headers: { authorization: `Bearer ${CONSOLE_KEYS.ADMIN}` }, body: '{oops' });
    assert.ok(notJson.status >= 400 && notJson.status < 500, `malformed JSON is a 4xx, got ${notJson.status}`);
    const unknown = await admin('/v1/admin/targets/force', { body: { target: 'nope|x|y', state: 'open', reason: 'x', expires_in_seconds: 60 } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'admin_not_found');
    assert.equal(lastAudit('breaker.force')?.outcome, 'failed');
  });

  it("tenants: spend against each cap; raising and lowering today's cap changes what the spend guard lets through", async () => {
    // The capped tenant has spent exactly its $1 daily cap.
    const windows = budgetWindows(stack.clock.now());
    const ledger = new DynamoSpendLedger(stack.dynamo.doc, stack.dynamo.tables.spend);
    await ledger.adjust(spendKey('capped', windows), [{ label: 'month', attribute: MONTH_ATTRIBUTE }, { label: 'day', attribute: dayAttribute(windows) }], 1_000_000);
    const refused = await stack.call('/v1/chat/completions', CONSOLE_KEYS.CAPPED, { body: chatBody });
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.error.code, 'budget_exceeded');

    const raised = await admin('/v1/admin/tenants/capped/cap-today', { body: { daily_budget_usd: 2, reason: 'quarter-end batch' } });
    assert.equal(raised.status, 200, raised.text);
    const served = await stack.call('/v1/chat/completions', CONSOLE_KEYS.CAPPED, { body: chatBody });
    assert.equal(served.status, 200, `served under the raised cap: ${served.text}`);

    const tenants = (await admin('/v1/admin/tenants')).json.data;
    const capped = tenants.find((tenant: { name: string }) => tenant.name === 'capped');
    assert.equal(capped.spend.day.cap_usd, 2);
    assert.equal(capped.spend.day.policy_cap_usd, 1);
    assert.equal(capped.spend.day.override, true);
    assert.ok(Math.abs(capped.spend.day.spent_usd - 1.0085) < 1e-9, `spent ${capped.spend.day.spent_usd}`);
    assert.ok(Math.abs(capped.spend.day.share - 1.0085 / 2) < 1e-9);
    assert.equal(capped.spend.month.cap_usd, 20);
    const acme = tenants.find((tenant: { name: string }) => tenant.name === 'acme');
    assert.equal(acme.spend.day.cap_usd, null);
    assert.deepEqual(acme.keys.map((key: { prefix: string; status: string }) => [key.prefix, key.status]), [[displayPrefix(CONSOLE_KEYS.USER), 'active']]);

    const lowered = await admin('/v1/admin/tenants/capped/cap-today', { body: { daily_budget_usd: 0.5 } });
    assert.equal(lowered.status, 200);
    const refusedAgain = await stack.call('/v1/chat/completions', CONSOLE_KEYS.CAPPED, { body: chatBody });
    assert.equal(refusedAgain.status, 429);
    assert.match(refusedAgain.json.error.message, /daily budget of \$0\.5\b/);
    const { Item } = await stack.dynamo.doc.send(new GetCommand({ TableName: stack.dynamo.tables.spend, Key: { pk: spendKey('capped', windows) }, ConsistentRead: true }));
    assert.equal(Item?.[dayAttribute(windows)], 1_008_500, 'a hold refused under the lowered cap is given back');

    const reset = await admin('/v1/admin/tenants/capped/cap-today', { body: { daily_budget_usd: null } });
    assert.equal(reset.json.override, false);
    const afterReset = (await admin('/v1/admin/tenants')).json.data.find((tenant: { name: string }) => tenant.name === 'capped');
    assert.equal(afterReset.spend.day.cap_usd, 1);
    assert.equal(afterReset.spend.day.override, false);

    const uncapped = await admin('/v1/admin/tenants/acme/cap-today', { body: { daily_budget_usd: 3 } });
    assert.equal(uncapped.status, 409);
    assert.equal(uncapped.json.error.code, 'admin_conflict');
    const unknown = await admin('/v1/admin/tenants/ghost/cap-today', { body: { daily_budget_usd: 3 } });
    assert.equal(unknown.status, 404);

    const audit = audits().filter((record) => record.action === 'spend.cap_today' && record.outcome === 'ok');
    assert.deepEqual(audit.map((record) => (record.details as { daily_budget_usd: number | null }).daily_budget_usd), [2, 0.5, null]);
    assert.equal(audit[0]!.target, 'capped');
  });

  it('keys: create (admin or not), rotate and revoke; a revoked key fails at once, and no key reaches a log', async () => {
    const created = await admin('/v1/admin/keys', { body: { tenant: 'acme', name: 'console-made', admin: true } });
    assert.equal(created.status, 201, created.text);
    const newKey = created.json.key as string;
    assert.match(newKey, /^bw_/);
    assert.equal(created.json.role, 'admin');
    assert.equal((await stack.call('/v1/admin/overview', newKey)).status, 200, 'a key created with admin: true is an admin key');

    const plain = await admin('/v1/admin/keys', { body: { tenant: 'acme', name: 'worker' } });
    const plainKey = plain.json.key as string;
    assert.equal(plain.json.role, null);
    assert.equal((await stack.call('/v1/chat/completions', plainKey, { body: chatBody })).status, 200);
    assert.equal((await stack.call('/v1/admin/overview', plainKey)).status, 403);

    const rotated = await admin(`/v1/admin/keys/${plain.json.prefix}/rotate`, { body: { grace_seconds: 0 } });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal((await stack.call('/v1/chat/completions', rotated.json.key, { body: chatBody })).status, 200);
    // No grace: the old key's expiry is the rotation's instant, rounded up to the whole second it is stored in.
    stack.clock.advance(1_000);
    assert.equal((await stack.call('/v1/chat/completions', plainKey, { body: chatBody })).status, 401, 'the old key stops with no grace');

    const revoked = await admin(`/v1/admin/keys/${rotated.json.prefix}/revoke`, { method: 'POST' });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.status, 'revoked');
    const next = await stack.call('/v1/chat/completions', rotated.json.key, { body: chatBody });
    assert.equal(next.status, 401, 'the next request after a revoke fails');
    assert.equal(next.json.error.code, 'invalid_api_key');

    assert.equal((await admin('/v1/admin/keys/bw_nothere/revoke', { method: 'POST' })).status, 404);
    assert.equal((await admin(`/v1/admin/keys/${rotated.json.prefix}/rotate`, { body: {} })).status, 409, 'a revoked key cannot be rotated');
    assert.equal((await admin('/v1/admin/keys', { body: { tenant: 'ghost' } })).status, 404);
    assert.equal((await admin('/v1/admin/keys', { body: { tenant: 'acme', policy: { role: 'root' } } })).status, 400);

    const actions = audits().filter((record) => String(record.action).startsWith('key.') && record.outcome === 'ok').map((record) => record.action);
    assert.deepEqual(actions, ['key.create', 'key.create', 'key.rotate', 'key.revoke']);
    const text = stack.logs.text();
    for (const key of [newKey, plainKey, rotated.json.key]) assert.ok(!text.includes(key), 'a created key never reaches a log line');
  });

  it('tasks and DLQ: tasks listed by status across tenants; DLQ depth read and redriven', async () => {
    const submitted = await stack.call('/v1/tasks', CONSOLE_KEYS.USER, { body: { request: chatBody } });
    assert.equal(submitted.status, 202, submitted.text);
    const queued = await admin('/v1/admin/tasks?status=queued');
    assert.equal(queued.status, 200, queued.text);
    const task = queued.json.data.find((each: { id: string }) => each.id === submitted.json.id);
    assert.equal(task?.tenant, 'acme');
    assert.equal((await admin('/v1/admin/tasks?status=succeeded')).json.data.some((each: { id: string }) => each.id === submitted.json.id), false);
    assert.equal((await admin('/v1/admin/tasks?status=bogus')).status, 400);

    await stack.queues.sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.queues.dlq.url, MessageBody: JSON.stringify({ v: 1, tenant: 'acme', id: 'task_dead' }) }));
    const before = await admin('/v1/admin/dlq');
    assert.equal(before.json.enabled, true);
    assert.equal(before.json.depth, 1);
    const redriven = await admin('/v1/admin/dlq/redrive', { method: 'POST' });
    assert.equal(redriven.status, 200, redriven.text);
    assert.deepEqual(redriven.json.data.map((each: { mode: string; moved: number }) => [each.mode, each.moved]), [['copy', 1]]);
    assert.equal((await admin('/v1/admin/dlq')).json.depth, 0);
    assert.equal(lastAudit('dlq.redrive')?.outcome, 'ok');
  });

  it('approvals: a held tool call is listed, approving it runs it once and is audited; the overview counts what needs a look', async () => {
    stack.toolApi.reset();
    const held = await fetch(`${stack.gateway.url}/v1/tools/pay/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONSOLE_KEYS.USER}`, 'content-type': 'application/json', 'idempotency-key': 'refund-admin-1' },
      body: JSON.stringify({ amount: 50_000 }),
    });
    assert.equal(held.status, 202, await held.clone().text());
    const { id } = (await held.json()) as { id: string };
    assert.equal(stack.toolApi.requests.length, 0);

    const overview = await admin('/v1/admin/overview');
    assert.equal(overview.status, 200, overview.text);
    assert.equal(overview.json.pending_approvals, 1);
    assert.equal(overview.json.requests.scope, 'container');
    assert.ok(overview.json.requests.requests > 0);
    assert.ok(overview.json.requests.errorClasses.budget_exceeded >= 1, JSON.stringify(overview.json.requests.errorClasses));
    assert.ok(overview.json.requests.fallbacksByLevel['1'] >= 1);
    assert.equal(overview.json.requests.hourly.length, 24);
    assert.ok(overview.json.spend_today_usd > 1);

    const listed = await admin('/v1/admin/approvals');
    assert.deepEqual(listed.json.data.map((each: { id: string }) => each.id), [id]);
    const approved = await admin(`/v1/admin/approvals/${id}/approve`, { body: { reason: 'customer called' } });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.status, 'succeeded');
    assert.equal(stack.toolApi.requests.length, 1, 'the approved call ran once');
    assert.equal((await admin(`/v1/admin/approvals/${id}/reject`, { body: {} })).status, 409, 'a decided approval cannot be decided again');
    const audit = audits().filter((record) => record.action === 'approval.decide' && record.outcome !== 'denied');
    assert.deepEqual(audit.map((record) => [record.target, record.outcome]), [[id, 'ok'], [id, 'failed']]);
  });

  it('GET /console serves the page with a CSP that allows only its own inline script', async () => {
    const response = await fetch(`${stack.gateway.url}/console`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /connect-src 'self'/);
    const html = await response.text();
    assert.match(html, /<div id="app"><\/div>/);
    assert.ok(!html.includes(CONSOLE_KEYS.ADMIN));
  });
});
