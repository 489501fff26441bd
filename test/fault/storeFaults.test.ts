import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { BreakwaterConfigInput } from '../../shared/config';
import { SqsTaskQueue } from '../../shared/queue';
import { systemClock } from '../../shared/resilience';
import { DynamoTaskStore, sweepStaleTasks } from '../../shared/tasks';
import { startChildDynamo, startChildSqs, type ChildDynamo, type ChildEmulator, type ChildSqs } from '../support/childEmulators';
import { fastRetry, openaiProvider, raw, testSettings, upstreamSecrets, type RawResponse } from '../support/e2eHarness';
import { capturingLogger } from '../support/capturingLogger';
import { startMockUpstream, type MockUpstream } from '../support/mockUpstream';
import { startTaskGateway, startTaskWorker, type TaskGateway, type TaskWorker } from '../support/taskStack';

/*
 * The fault suite (`npm run test:fault` runs it alone). DynamoDB Local and the SQS emulator run
 * as child processes; under bursts of concurrent requests (a capped tenant, idempotent requests,
 * plain requests, task submissions) each is frozen with SIGSTOP and thawed with SIGCONT, then
 * killed with SIGKILL and started again. The guarantees: every request ends within its deadline
 * plus a margin, with the status the README documents for each feature while its store is down;
 * the recorded spend never passes the cap; and every task a client submitted (retrying its
 * Idempotency-Key after a 503, as a client should) runs exactly once, counted at the upstream,
 * after the queue's restart and the sweep of stale tasks.
 */

const MODEL = 'priced-model';
/** $0.005 for the mock's 5 prompt tokens and $0.008 for its 4 completion tokens: $0.013 a request. */
const PRICES = { [MODEL]: { input: 1_000, output: 2_000, cache_read: 1_000, cache_write: 1_000, max_output_tokens: 100 } };
const COST_MICROS = 13_000;
/** Reached about when DynamoDB restarts, so the cap is tested under faults, not only before them. */
const CAP_USD = 0.3;
const CAP_MICROS = 300_000;
/** Every request's deadline (`max_request_ms`), and what it may take beyond it on a busy 2-CPU machine. */
const DEADLINE_MS = 6_000;
const MARGIN_MS = 1_500;
/** Requests of each kind in one burst. */
const PER_KIND = 8;

const KEYS = {
  capped: 'bw_test_fault_capped_000000001_x',
  idempotent: 'bw_test_fault_idempotent_00001_x',
  plain: 'bw_test_fault_plain_0000000001_x',
  tasks: 'bw_test_fault_tasks_0000000001_x',
} as const;
type Kind = keyof typeof KEYS;
const KINDS = Object.keys(KEYS) as Kind[];

/** A status and code; `code` undefined for a success. */
interface Outcome {
  status: number;
  code?: string;
}
type Allowed = Record<Kind, Outcome[]>;

const ok: Outcome = { status: 200 };
const accepted: Outcome = { status: 202 };
const overCap: Outcome = { status: 429, code: 'budget_exceeded' };
const DOWN: Record<Kind, Outcome> = {
  capped: { status: 503, code: 'budget_unavailable' },
  idempotent: { status: 503, code: 'idempotency_unavailable' },
  plain: ok,
  tasks: { status: 503, code: 'task_queue_unavailable' },
};
/** Everything up: the capped tenant may have reached its cap. */
const UP: Allowed = { capped: [ok, overCap], idempotent: [ok], plain: [ok], tasks: [accepted] };
/** A key whose cached look-up (30 s) expired meets the key store, which fails closed. */
const authDown: Outcome = { status: 503, code: 'auth_unavailable' };
/** DynamoDB down: each feature's documented answer (README, "When a store is unreachable"). */
const DYNAMO_DOWN: Allowed = {
  capped: [DOWN.capped, authDown],
  idempotent: [DOWN.idempotent, authDown],
  plain: [ok, authDown],
  tasks: [DOWN.tasks, authDown],
};
/** The queue down: only the task API depends on it. */
const QUEUE_DOWN: Allowed = { ...UP, tasks: [DOWN.tasks] };
/** While a store restarts, either answer. */
const either = (down: Allowed): Allowed => Object.fromEntries(KINDS.map((kind) => [kind, [...UP[kind], ...down[kind]]])) as Allowed;

interface Result extends Outcome {
  phase: string;
  kind: Kind;
  ms: number;
  text: string;
}

describe('fault suite: DynamoDB Local and the SQS emulator frozen and killed under concurrent load', () => {
  let dynamo: ChildDynamo;
  let sqs: ChildSqs;
  let mock: MockUpstream;
  let gateway: TaskGateway;
  let worker: TaskWorker;
  const results: Result[] = [];
  const faults: string[] = [];
  /** When each phase began (seconds since `t0`), for a failure's message. */
  const phases: string[] = [];
  let t0 = Date.now();
  /** The worker's own lines, kept to explain a task that did not finish or ran twice. */
  const workerLogs = capturingLogger({ logLevel: 'DEBUG' });
  /** Every task a client submitted: its Idempotency-Key → the marker its prompt carries. */
  const tasks = new Map<string, { marker: string; accepted: boolean; id?: string }>();
  let submitted = 0;
  let sequence = 0;
  /** Answers the capped tenant got, every request counted (bursts and recovery probes alike). */
  let cappedServed = 0;

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    // One retry: a keep-alive socket the mock closed while idle (the stores' outages leave it idle for seconds) is reset on reuse.
    routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(1), targets: [{ provider: 'upstream', override_params: { model: MODEL } }] } },
    tenants: {
      capped: { route: 'main', keys: [KEYS.capped], daily_budget_usd: CAP_USD },
      idempotent: { route: 'main', keys: [KEYS.idempotent] },
      plain: { route: 'main', keys: [KEYS.plain] },
      tasks: { route: 'main', keys: [KEYS.tasks] },
    },
    prices: PRICES,
    settings: testSettings({ max_request_ms: DEADLINE_MS }),
  });

  const chatBody = (content: string) => ({ model: 'client-model', messages: [{ role: 'user', content }], max_tokens: 10 });

  /** One request of `kind`; a task submission gets a fresh Idempotency-Key (or `retryKey`'s again). */
  async function request(kind: Kind, retryKey?: string): Promise<RawResponse> {
    const n = sequence++;
    if (kind === 'tasks') {
      const key = retryKey ?? `fault-task-${submitted++}`;
      const task = tasks.get(key) ?? { marker: `[marker ${key}]`, accepted: false };
      tasks.set(key, task);
      const response = await raw(`${gateway.url}/v1/tasks`, {
        body: { request: chatBody(`run ${task.marker}`) },
        auth: KEYS.tasks,
        headers: { 'idempotency-key': key },
      });
      if (response.status === 202) {
        task.accepted = true;
        task.id = (response.json as { id: string }).id;
      }
      return response;
    }
    const headers: Record<string, string> = kind === 'idempotent' ? { 'idempotency-key': `fault-request-${n}` } : {};
    const response = await raw(`${gateway.url}/v1/chat/completions`, { body: chatBody(`request ${n}`), auth: KEYS[kind], headers });
    if (kind === 'capped' && response.status === 200) cappedServed++;
    return response;
  }

  /** PER_KIND requests of every kind at once; each result is checked against `allowed` and the deadline. */
  async function burst(phase: string, allowed: Allowed): Promise<Result[]> {
    phases.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${phase}`);
    const settled = await Promise.all(
      KINDS.flatMap((kind) =>
        Array.from({ length: PER_KIND }, async (): Promise<Result> => {
          const started = performance.now();
          const response = await request(kind);
          const code = (response.json as { error?: { code?: string } } | undefined)?.error?.code;
          return { phase, kind, status: response.status, code, ms: performance.now() - started, text: response.text.slice(0, 300) };
        }),
      ),
    );
    results.push(...settled);
    for (const result of settled) {
      const expected = allowed[result.kind];
      assert.ok(
        expected.some((outcome) => outcome.status === result.status && outcome.code === result.code),
        `${phase}, ${result.kind}: ${result.status} ${result.code ?? ''}, expected ${expected.map((o) => `${o.status} ${o.code ?? ''}`).join(' | ')}: ${result.text}`,
      );
      assert.ok(result.ms <= DEADLINE_MS + MARGIN_MS, `${phase}, ${result.kind}: ${Math.round(result.ms)} ms, past the ${DEADLINE_MS} ms deadline + ${MARGIN_MS} ms`);
    }
    return settled;
  }

  /** A burst while `emulator` is frozen; thawed once the burst is over (or the test gave up on it). */
  async function whileFrozen(name: string, emulator: ChildEmulator, allowed: Allowed): Promise<Result[]> {
    emulator.freeze();
    faults.push(`SIGSTOP ${name}`);
    try {
      return await burst(`${name} frozen`, allowed);
    } finally {
      emulator.thaw();
      faults.push(`SIGCONT ${name}`);
    }
  }

  /** Kills `emulator`, sends a burst at once and another while it restarts, and waits for both. */
  async function whileRestarting(name: string, emulator: ChildEmulator, down: Allowed): Promise<void> {
    await emulator.kill();
    faults.push(`SIGKILL ${name}`);
    await burst(`${name} killed`, down);
    const restarted = emulator.restart().then(() => {
      faults.push(`restart ${name}`);
      phases.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${name} restarted`);
    });
    await burst(`${name} restarting`, either(down));
    await restarted;
  }

  /** Sends `kind` until it gets one of `UP`'s answers (a restarted JVM is slow at first), at most `ms`. */
  async function recovered(kind: Kind, ms = 20_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const response = await request(kind);
      const code = (response.json as { error?: { code?: string } } | undefined)?.error?.code;
      if (UP[kind].some((outcome) => outcome.status === response.status && outcome.code === code)) {
        phases.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${kind} recovered`);
        return;
      }
      assert.ok(Date.now() < until, `${kind} did not recover in ${ms} ms: ${response.status} ${response.text.slice(0, 200)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  before(async () => {
    [dynamo, sqs, mock] = await Promise.all([
      startChildDynamo(),
      // Receives a fault can burn are many more than a healthy queue needs; none may dead-letter a task here.
      startChildSqs({ prefix: `fault-${Date.now().toString(36)}`, maxReceiveCount: 20 }),
      startMockUpstream(),
    ]);
    gateway = await startTaskGateway({ config: config(), dynamo: dynamo.local, queues: sqs.queues, secrets: upstreamSecrets });
    worker = await startTaskWorker({
      config: config(),
      dynamo: dynamo.local,
      queues: sqs.queues,
      secrets: upstreamSecrets,
      logger: workerLogs.logger,
      // A transient failure comes back after 1 s, then 2 s: a store outage costs a few receives, not dozens.
      worker: { backoff: { baseSeconds: 1, capSeconds: 2 }, random: () => 0.999 },
    });
    // Warm every key into the container's cache, so each request meets the feature it is about.
    for (const kind of KINDS) await recovered(kind);
    // Breaker reads are trusted for a second: let the warm-up's expire, so the faults meet them.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  });

  after(async () => {
    dynamo?.thaw();
    sqs?.thaw();
    await worker?.close();
    await gateway?.close();
    await mock?.close();
    await sqs?.stop();
    await dynamo?.stop();
  });

  it(
    'guarantee: every request ends within its deadline with its documented answer, spend stays under the cap, and every task runs exactly once',
    // About 60 s on an idle machine; a restarted JVM alone takes 15 s on a loaded one.
    { timeout: 240_000 },
    async () => {
      const started = Date.now();
      t0 = started;
      await burst('healthy', UP);

      const frozenDynamo = await whileFrozen('DynamoDB', dynamo, DYNAMO_DOWN);
      await recovered('capped');
      await whileRestarting('DynamoDB', dynamo, DYNAMO_DOWN);
      for (const kind of KINDS) await recovered(kind);

      const frozenQueue = await whileFrozen('SQS', sqs, QUEUE_DOWN);
      await recovered('tasks');
      await whileRestarting('SQS', sqs, QUEUE_DOWN);
      await recovered('tasks');
      await burst('healthy again', UP);

      // A client retries a submit that got a 503 with the same Idempotency-Key, until it is accepted.
      for (const [key, task] of tasks) {
        for (let attempt = 0; !task.accepted; attempt++) {
          assert.ok(attempt < 20, `task ${key} was never accepted`);
          const response = await request('tasks', key);
          if (response.status !== 202) await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }

      // Messages lost with the killed queue are sent again by the sweep (a second's bound here, a minute in production).
      const store = new DynamoTaskStore(dynamo.local.doc, dynamo.tables.tasks);
      const queue = new SqsTaskQueue(sqs.queues.sqs, { high: sqs.queues.queues.high.url, normal: sqs.queues.queues.normal.url });
      const logger = { info: () => {}, warn: () => {} };
      const upstreamCalls = (marker: string) => mock.requests.filter((r) => JSON.stringify(r.body).includes(marker));
      /** What a failure message needs to tell why: the stored task, its deliveries, its upstream calls, the worker's lines. */
      const explain = async (task: { marker: string; id?: string }) => {
        const stored = await store.get({ tenant: 'tasks', id: task.id! });
        const now = Date.now();
        const at = (ms: number | undefined) => (ms === undefined ? '-' : `${((ms - t0) / 1000).toFixed(1)} s`);
        return [
          `${task.id} ${stored?.status}, attempts ${stored?.attempts}, lease until ${at(stored?.leaseUntil)}, sent at ${at(stored?.enqueuedAt)}, now ${at(now)}`,
          `  deliveries (receive:settled) ${worker.deliveriesOf(task.id!).map((d) => `${d.receiveCount}:${d.settled}`).join(' ')}`,
          `  upstream calls at ${upstreamCalls(task.marker).map((r) => at(r.at)).join(', ')}`,
          ...workerLogs.lines.filter((line) => line.includes(task.id!)).slice(-10).map((line) => `  ${line.slice(0, 400)}`),
        ].join('\n');
      };
      let sweeps = 0;
      const drainStarted = Date.now();
      for (;;) {
        const waiting = [];
        for (const task of tasks.values()) {
          if ((await store.get({ tenant: 'tasks', id: task.id! }))?.status !== 'succeeded') waiting.push(task);
        }
        if (waiting.length === 0) break;
        if (Date.now() - drainStarted > 45_000) {
          assert.fail(`tasks not finished:\n${(await Promise.all(waiting.map(explain))).join('\n')}\nphases:\n${phases.join('\n')}`);
        }
        await sweepStaleTasks({ store, queue, clock: systemClock, logger, staleAfterMs: 1_000 });
        sweeps++;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }

      // Exactly once, counted where it costs: the upstream, by the marker in each task's prompt.
      const lost = [...tasks.values()].filter((task) => upstreamCalls(task.marker).length === 0);
      const duplicated = [...tasks.values()].filter((task) => upstreamCalls(task.marker).length > 1);

      // The cap: every day the capped tenant's ledger holds, read straight from the table.
      const { Items = [] } = await dynamo.local.doc.send(new ScanCommand({ TableName: dynamo.tables.spend, ConsistentRead: true }));
      const recordedMicros = Items.filter((item) => String(item.pk).startsWith('spend#capped#'))
        .flatMap((item) => Object.entries(item).filter(([name]) => /^day_\d\d_micro_usd$/.test(name)))
        .reduce((sum, [, value]) => sum + Number(value), 0);
      const served = cappedServed;

      const frozenMax = (frozen: Result[]) => Math.round(Math.max(...frozen.map((result) => result.ms)));
      console.log(
        [
          `fault suite (${Math.round((Date.now() - started) / 1000)} s):`,
          `  requests: ${results.length} in bursts of ${PER_KIND * KINDS.length}; faults injected: ${faults.length} (${faults.join(', ')})`,
          `  slowest request: ${Math.round(Math.max(...results.map((r) => r.ms)))} ms; under a frozen DynamoDB ${frozenMax(frozenDynamo)} ms, a frozen queue ${frozenMax(frozenQueue)} ms (deadline ${DEADLINE_MS} ms)`,
          `  spend: recorded ${recordedMicros} µ$ of a ${CAP_MICROS} µ$ cap, overspend ${Math.max(0, recordedMicros - CAP_MICROS)} µ$; ` +
            `${served} capped answers (${served * COST_MICROS} µ$), over-counted ${recordedMicros - served * COST_MICROS} µ$ (holds whose release a fault cut)`,
          `  tasks: ${tasks.size} submitted, ${lost.length} lost, ${duplicated.length} run twice; ${sweeps} sweeps`,
        ].join('\n'),
      );

      assert.ok(recordedMicros <= CAP_MICROS, `recorded spend ${recordedMicros} µ$ is over the ${CAP_MICROS} µ$ cap`);
      assert.ok(served * COST_MICROS <= recordedMicros, `${served} answers at ${COST_MICROS} µ$ each are not all recorded (${recordedMicros} µ$)`);
      assert.ok(served > 0 && results.some((result) => result.kind === 'capped' && result.code === 'budget_exceeded'), 'the cap was reached');
      assert.deepEqual(lost.map((task) => task.marker), [], 'no task lost');
      if (duplicated.length > 0) {
        assert.fail(`tasks run twice:\n${(await Promise.all(duplicated.map(explain))).join('\n')}\nphases:\n${phases.join('\n')}`);
      }
      assert.ok(worker.deliveries.length >= tasks.size);
    },
  );
});
