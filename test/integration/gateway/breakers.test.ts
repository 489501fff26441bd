import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CircuitBreakers, DynamoBreakerStore } from '../../../shared/breaker';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { capturingLogger } from '../../support/capturingLogger';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertErrorBody, fastRetry, hello, openaiProvider, raw, sdkClient, testSettings } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { offsetClock, type OffsetClock } from '../../support/offsetClock';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const KEY = 'bw_test_breakers_key_0001_xxxxxx';
const COOLDOWN_MS = 500;
const LONG_COOLDOWN_MS = 3_000;

/** Two 503s in a row trip a breaker; one request with one retry is exactly that. */
const breaker = (cooldown: number) => ({ failure_threshold: 2, cooldown_interval: cooldown });
const target = (model: string) => ({ provider: 'upstream', override_params: { model } });

const body = { model: 'client-model', messages: hello };
type ErrorWithAttempts = { error: { attempts?: Array<{ target: string; error?: string; status?: number }> } };

describe('gateway integration: fleet-wide circuit breakers over HTTP (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  /**
   * Shared by every gateway of the file and stopped: a cooldown ends when the test says so, not
   * when a slow machine happens to get there (sleeps, e.g. the mock's delay, stay real).
   */
  let clock: OffsetClock;

  const config = (mockUrl: string): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mockUrl) },
    routes: {
      single: { strategy: { mode: 'single' }, retry: fastRetry(1), circuit_breaker: breaker(COOLDOWN_MS), targets: [target('single-model')] },
      pair: {
        strategy: { mode: 'fallback' },
        retry: fastRetry(1),
        circuit_breaker: breaker(LONG_COOLDOWN_MS),
        targets: [target('pair-primary'), target('pair-backup')],
      },
      fleet: { strategy: { mode: 'single' }, retry: fastRetry(1), circuit_breaker: breaker(COOLDOWN_MS), targets: [target('fleet-model')] },
      local: { strategy: { mode: 'single' }, retry: fastRetry(1), circuit_breaker: breaker(COOLDOWN_MS), targets: [target('local-model')] },
    },
    tenants: { acme: { route: 'single', allowed_routes: ['pair', 'fleet', 'local'], keys: [KEY] } },
    settings: testSettings(),
  });

  const chatUrl = (server: { url: string }) => `${server.url}/v1/chat/completions`;
  const send = (server: { url: string }, route: string) => raw(chatUrl(server), { body, auth: KEY, headers: { 'x-breakwater-route': route } });

  /** The shared breaker record of a target, straight from the table. */
  async function breakerItem(model: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.breakers, Key: { pk: `upstream|${model}|${mock.baseUrl}` }, ConsistentRead: true }),
    );
    return Item;
  }

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    clock = offsetClock();
    clock.freeze();
    gateway = await startStatefulGateway({ config: config(mock.baseUrl), dynamo, clock });
  });

  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  beforeEach(() => mock.reset());

  it('guarantee: breaker opens after the threshold and closes after a good probe', async () => {
    mock.setDefault({ status: 503 });

    const failing = await send(gateway, 'single');
    assert.equal(failing.status, 503, failing.text);
    assertErrorBody(failing.json, { code: 'all_targets_failed', type: 'api_error' });
    assert.equal(mock.requests.length, 2, 'one call and one retry: two failures, the threshold');
    const opened = await breakerItem('single-model');
    assert.equal(opened?.state, 'open');
    assert.equal(opened?.reason, 'consecutive_failures');
    assert.equal(opened?.trips, 1);

    const skipped = await send(gateway, 'single');
    assert.equal(skipped.status, 503, skipped.text);
    assertErrorBody(skipped.json, { code: 'all_targets_unavailable', type: 'api_error' });
    assert.equal(skipped.headers.get('retry-after'), '1', 'the half-open time, under a second away, rounded up');
    assert.equal(mock.requests.length, 2, 'an open breaker skips the target without calling it');

    clock.advance(COOLDOWN_MS - 1);
    assertErrorBody((await send(gateway, 'single')).json, { code: 'all_targets_unavailable', type: 'api_error' });
    assert.equal(mock.requests.length, 2, 'still open 1 ms before the cooldown ends');

    clock.advance(1);
    mock.setDefault({ body: chatCompletion('healthy again', 'single-model') });
    const probe = await sdkClient(gateway.url, KEY, { 'x-breakwater-route': 'single' }).chat.completions.create(body);
    assert.equal(probe.choices[0]?.message.content, 'healthy again');
    assert.equal(mock.requests.length, 3, 'the probe is one call');
    const closed = await breakerItem('single-model');
    assert.equal(closed?.state, 'closed');
    assert.equal(closed?.reason, 'probe_succeeded');
    assert.equal(closed?.trips, 0);

    const after = await send(gateway, 'single');
    assert.equal(after.status, 200, after.text);
    assert.equal(mock.requests.length, 4);
  });

  it('guarantee: every target open → 503 all_targets_unavailable with Retry-After set to the earliest half-open time, and no upstream call', async () => {
    mock.setDefault({ status: 503 });

    const tripping = await send(gateway, 'pair');
    assert.equal(tripping.status, 503, tripping.text);
    assertErrorBody(tripping.json, { code: 'all_targets_failed', type: 'api_error' });
    assert.deepEqual(
      mock.requests.map((request) => (request.body as { model: string }).model),
      ['pair-primary', 'pair-primary', 'pair-backup', 'pair-backup'],
    );
    assert.equal((await breakerItem('pair-primary'))?.state, 'open');
    assert.equal((await breakerItem('pair-backup'))?.state, 'open');

    const refused = await send(gateway, 'pair');

    assert.equal(refused.status, 503, refused.text);
    const error = assertErrorBody(refused.json, { code: 'all_targets_unavailable', type: 'api_error' });
    assert.equal(refused.headers.get('retry-after'), String(LONG_COOLDOWN_MS / 1000), 'both half-open 3 s from now');
    assert.deepEqual(
      (error as unknown as ErrorWithAttempts).error.attempts?.map(({ target: label, error: reason }) => [label, reason]),
      [
        ['upstream/pair-primary', 'circuit_open'],
        ['upstream/pair-backup', 'circuit_open'],
      ],
    );
    assert.equal(mock.requests.length, 4, 'nothing was called');
  });

  it('guarantee: one half-open probe across 8 concurrent gateway instances', async () => {
    const fleet: StatefulGateway[] = [];
    for (let i = 0; i < 8; i++) {
      // Separate handler instances, each with its own createServices and clients: eight containers.
      fleet.push(await startStatefulGateway({ config: config(mock.baseUrl), dynamo, clock, seedConfigKeys: false, breakerCacheTtlMs: 200 }));
    }
    try {
      mock.setDefault({ status: 503 });
      const tripping = await send(fleet[0]!, 'fleet');
      assert.equal(tripping.status, 503, tripping.text);
      assert.equal((await breakerItem('fleet-model'))?.state, 'open');

      clock.advance(COOLDOWN_MS);
      mock.reset();
      // The probe answers slowly, so every other container asks while it is still out.
      mock.setDefault({ delayMs: 300, body: chatCompletion('probe answer', 'fleet-model') });
      const responses = await Promise.all(fleet.map((member) => send(member, 'fleet')));

      assert.equal(mock.requests.length, 1, 'exactly one probe reached the upstream');
      const outcomes = responses.map((response) => `${response.status} ${(response.json as { error?: { code?: string } }).error?.code ?? 'ok'}`);
      assert.deepEqual(outcomes.filter((outcome) => outcome === '200 ok'), ['200 ok'], `outcomes: ${outcomes.join(', ')}`);
      assert.equal(outcomes.filter((outcome) => outcome === '503 all_targets_unavailable').length, 7, `outcomes: ${outcomes.join(', ')}`);
      for (const response of responses.filter((r) => r.status === 503)) {
        assert.ok(Number(response.headers.get('retry-after')) >= 1, 'a skipped request says when to come back');
      }
      assert.equal((await breakerItem('fleet-model'))?.state, 'closed');

      // Once the probe closed it, the whole fleet uses the target again (after its 200 ms read cache).
      clock.advance(200);
      mock.reset();
      const afterwards = await Promise.all(fleet.map((member) => send(member, 'fleet')));
      assert.deepEqual(
        afterwards.map((response) => response.status),
        Array.from({ length: 8 }, () => 200),
      );
      assert.equal(mock.requests.length, 8);
    } finally {
      await Promise.all(fleet.map((member) => member.close()));
    }
  });

  it('guarantee: breaker store down → requests are still served, and an in-container breaker takes over (logged)', async () => {
    const dead = deadDynamoClients();
    const logs = capturingLogger({ logLevel: 'INFO' });
    const container = await startStatefulGateway({
      config: config(mock.baseUrl),
      dynamo,
      clock,
      logger: logs.logger,
      seedConfigKeys: false,
      overrideServices: (built, context) => ({
        ...built,
        breakers: new CircuitBreakers({ store: new DynamoBreakerStore(dead.doc, dynamo.tables.breakers), clock: context.clock, logger: context.logger }),
      }),
    });
    try {
      const served = await send(container, 'local');
      assert.equal(served.status, 200, served.text);
      const warnings = logs.records().filter((record) => record.message === 'circuit breaker store unavailable: using the in-container breaker');
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]!.level, 'WARN');

      mock.setDefault({ status: 503 });
      assertErrorBody((await send(container, 'local')).json, { code: 'all_targets_failed', type: 'api_error' });
      const skipped = await send(container, 'local');
      assertErrorBody(skipped.json, { code: 'all_targets_unavailable', type: 'api_error' });
      assert.equal(skipped.headers.get('retry-after'), '1');
      assert.equal(mock.requests.length, 3, 'the in-container breaker opened after two failures');
      assert.equal(await breakerItem('local-model'), undefined, 'nothing reached the shared table');
    } finally {
      await container.close();
      dead.client.destroy();
    }
  });
});
