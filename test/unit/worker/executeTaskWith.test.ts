import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { compileConfig } from '../../../shared/config';
import type { CompletionRequest, CompletionService } from '../../../shared/gateway';
import type { Task } from '../../../shared/tasks';
import { executeTaskWith } from '../../../functions/worker/executeTaskWith';
import { recordSpend } from '../../../shared/telemetry/requestMetrics';
import { fakeClock } from '../../support/fakeClock';
import { captureEmf, enabledMetrics } from '../telemetry/emfCapture';

const config = compileConfig({
  providers: { sim: { type: 'simulated' } },
  routes: { main: { provider: 'sim' }, cheap: { provider: 'sim' } },
  tenants: { acme: { route: 'main', rpm_limit: 100, daily_budget_usd: 50 } },
});

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: 'task_1',
    tenant: 'acme',
    status: 'running',
    priority: 'normal',
    request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    submissionHash: 'h',
    attempts: 1,
    createdAt: 0,
    updatedAt: 0,
    expiresAt: 0,
    ...overrides,
  };
}

function recordingCompletions() {
  const requests: CompletionRequest[] = [];
  const completions = {
    complete: async (request: CompletionRequest) => {
      requests.push(request);
      return { body: { choices: [] }, headers: { 'x-breakwater-cost-usd': '0.0042' } };
    },
  } as unknown as CompletionService;
  return { requests, completions };
}

const lambdaContext = { getRemainingTimeInMillis: () => 60_000 } as Context;

describe('executeTaskWith', () => {
  it("applies the submitting key's policy as it was at submit time, narrowing the tenant's", async () => {
    const { requests, completions } = recordingCompletions();
    const run = executeTaskWith(completions, config, fakeClock());
    const outcome = await run(task({ keyId: 'abc123', keyPrefix: 'bw_live_AbCd', keyPolicy: { rpm_limit: 5, daily_budget_usd: 1 } }), {
      lambdaContext,
      receiveCount: 1,
    });
    const [request] = requests;
    assert.equal(request!.principal.keyId, 'abc123');
    assert.equal(request!.principal.policy.rpm_limit, 5, 'the smaller of tenant (100) and key (5)');
    assert.deepEqual(request!.principal.keyPolicy, { rpm_limit: 5, daily_budget_usd: 1 }, "the key's own caps travel for its ledger");
    assert.equal(request!.routeName, 'main');
    assert.equal(outcome.costUsd, 0.0042);
  });

  it("falls back to the tenant's policy and a per-tenant id for tasks without a key policy", async () => {
    const { requests, completions } = recordingCompletions();
    await executeTaskWith(completions, config, fakeClock())(task(), { lambdaContext, receiveCount: 1 });
    assert.equal(requests[0]!.principal.keyId, 'tenant:acme');
    assert.equal(requests[0]!.principal.policy.rpm_limit, 100);
  });

  it('fails permanently (401) when the tenant is no longer configured', async () => {
    const { completions } = recordingCompletions();
    await assert.rejects(executeTaskWith(completions, config, fakeClock())(task({ tenant: 'gone' }), { lambdaContext, receiveCount: 1 }), {
      code: 'invalid_api_key',
      status: 401,
    });
  });

  it('runs on the route named at submit; a route since removed from the config fails the task permanently', async () => {
    const { requests, completions } = recordingCompletions();
    const run = executeTaskWith(completions, config, fakeClock());
    await run(task({ route: 'cheap' }), { lambdaContext, receiveCount: 1 });
    assert.equal(requests[0]!.routeName, 'cheap');
    await assert.rejects(run(task({ route: 'removed' }), { lambdaContext, receiveCount: 1 }), { code: 'unknown_route', status: 404 });
    assert.equal(requests.length, 1);
  });
});

describe("executeTaskWith: a task's spend and tokens as metrics", () => {
  it('hands the completion the onSettled hook, and recordSpend writes one EMF line with the tenant (and none for a free answer)', async (t) => {
    const { requests, completions } = recordingCompletions();
    const metrics = enabledMetrics('breakwater-worker');
    const capture = captureEmf();
    t.after(() => capture.restore());
    const clock = fakeClock();
    await executeTaskWith(completions, config, clock, (facts) => recordSpend(metrics, clock.now(), facts))(task(), { lambdaContext, receiveCount: 1 });
    const onSettled = requests[0]!.onSettled;
    assert.ok(onSettled, 'the completion gets the hook');
    // What CompletionService's audit point calls it with when the task's completion settles.
    onSettled({ tenant: 'acme', target: 'sim/*', attempts: 1, fallbackIndex: 0, costUsd: 0.0042, tokens: 120 });
    onSettled({ tenant: 'acme', costUsd: 0, tokens: 0 });
    assert.equal(capture.lines.length, 1);
    const [line] = capture.lines;
    assert.equal(line!['tenant'], 'acme');
    assert.equal(line!['Spend'], 0.0042);
    assert.equal(line!['Tokens'], 120);
    assert.equal(line!['service'], 'breakwater-worker');
    assert.deepEqual(line!._aws.CloudWatchMetrics[0]!.Dimensions.map((set) => [...set].sort().join(',')).sort(), ['service', 'service,tenant']);
  });
});
