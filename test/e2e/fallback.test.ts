import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InternalServerError } from 'openai';
import { chatCompletion, type MockUpstream } from '../support/mockUpstream';
import {
  UPSTREAM_KEY,
  fastRetry,
  hello,
  modelTarget,
  openaiProvider,
  raw,
  sdkClient,
  sdkError,
  sdkErrorAttempts,
  sdkErrorBody,
  startMockedGateway,
  withoutDurations,
  type MockedGateway,
} from '../support/e2eHarness';

const UNRESOLVABLE = 'http://nonexistent.invalid/v1';

/** Fallback across targets: a primary mock, a backup mock, and an upstream that does not exist. */
describe('e2e: fallback across targets', () => {
  let stack: MockedGateway<'primary' | 'backup'>;
  let primary: MockUpstream;
  let backup: MockUpstream;
  const chat = (route?: string) =>
    sdkClient(stack.gateway.url, undefined, route ? { 'x-breakwater-route': route } : undefined).chat.completions;

  before(async () => {
    const primaryTarget = modelTarget('primary', 'primary-model');
    const backupTarget = modelTarget('backup', 'backup-model');
    const deadTarget = modelTarget('dead', 'dead-model');
    stack = await startMockedGateway({
      upstreams: ['primary', 'backup'],
      otherProviders: { dead: openaiProvider(UNRESOLVABLE) },
      routes: {
        main: { strategy: { mode: 'fallback' }, retry: fastRetry(2), targets: [primaryTarget, backupTarget] },
        'dead-first': { strategy: { mode: 'fallback' }, retry: fastRetry(2), targets: [deadTarget, backupTarget] },
        'dead-only': { strategy: { mode: 'single' }, retry: fastRetry(2), targets: [deadTarget] },
        'only-429-falls-back': {
          strategy: { mode: 'fallback', on_status_codes: [429] },
          retry: fastRetry(0),
          targets: [primaryTarget, backupTarget],
        },
      },
    });
    ({ primary, backup } = stack.mocks);
  });

  after(() => stack.close());
  beforeEach(() => stack.reset());

  it('guarantee: 503 on the primary through all retries falls back to the backup — fallback-index 1, degraded true, target names the backup', async () => {
    primary.setDefault({ status: 503 });
    backup.script({ body: chatCompletion('answered by the backup', 'backup-model') });

    const { data, response } = await chat().create({ model: 'client-model', messages: hello }).withResponse();

    assert.equal(data.choices[0]?.message.content, 'answered by the backup');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '1');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'true');
    assert.equal(response.headers.get('x-breakwater-attempts'), '4');
    assert.equal(primary.requests.length, 3);
    assert.equal(backup.requests.length, 1);
    assert.equal((backup.requests[0]!.body as { model: string }).model, 'backup-model');
    assert.equal(backup.requests[0]!.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });

  it('guarantee: all targets down → 503 all_targets_failed whose error.attempts lists every attempt (target, status, duration_ms)', async () => {
    primary.setDefault({ status: 503 });
    backup.setDefault({ status: 500 });

    const error = await sdkError(chat().create({ model: 'client-model', messages: hello }));

    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    assert.equal(error.type, 'api_error');
    const body = sdkErrorBody(error);
    assert.equal(
      body.message,
      'every target failed: primary/primary-model 503, primary/primary-model 503, primary/primary-model 503, ' +
        'backup/backup-model 500, backup/backup-model 500, backup/backup-model 500',
    );
    const attempts = sdkErrorAttempts(error);
    assert.deepEqual(withoutDurations(attempts), [
      { target: 'primary/primary-model', attempt: 1, status: 503 },
      { target: 'primary/primary-model', attempt: 2, status: 503 },
      { target: 'primary/primary-model', attempt: 3, status: 503 },
      { target: 'backup/backup-model', attempt: 1, status: 500 },
      { target: 'backup/backup-model', attempt: 2, status: 500 },
      { target: 'backup/backup-model', attempt: 3, status: 500 },
    ]);
    for (const attempt of attempts) {
      assert.ok(Number.isInteger(attempt.duration_ms) && attempt.duration_ms >= 0, `duration_ms ${attempt.duration_ms}`);
    }
    assert.equal(primary.requests.length, 3);
    assert.equal(backup.requests.length, 3);
  });

  it('guarantee: a primary that always answers a malformed 200 (`{not json`) is retried, then the backup answers', async () => {
    primary.setDefault({ body: '{not json' });

    const { data, response } = await chat().create({ model: 'client-model', messages: hello }).withResponse();

    assert.equal(data.choices[0]?.message.content, 'hello from the mock');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '1');
    assert.equal(response.headers.get('x-breakwater-attempts'), '4');
    assert.equal(primary.requests.length, 3);
    assert.equal(backup.requests.length, 1);
  });

  it('guarantee: a primary that always resets the connection is retried, then the backup answers', async () => {
    primary.setDefault({ reset: true });

    const { response } = await chat().create({ model: 'client-model', messages: hello }).withResponse();

    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(response.headers.get('x-breakwater-attempts'), '4');
    assert.equal(primary.requests.length, 3);
  });

  it('guarantee: an unresolvable host fails over to the backup without being retried (attempts 2 = 1 + 1)', async () => {
    const { data, response } = await chat('dead-first').create({ model: 'client-model', messages: hello }).withResponse();

    assert.equal(data.choices[0]?.message.content, 'hello from the mock');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '1');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'true');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.equal(backup.requests.length, 1);
  });

  it('guarantee: an unresolvable host alone is tried once (no retries) → 503 listing a single DNS-failure attempt', async () => {
    const error = await sdkError(chat('dead-only').create({ model: 'client-model', messages: hello }));

    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    const attempts = sdkErrorAttempts(error);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.target, 'dead/dead-model');
    assert.equal(attempts[0]!.attempt, 1);
    assert.equal(attempts[0]!.status, undefined);
    assert.match(attempts[0]!.error ?? '', /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/);
  });

  it('guarantee: a 400 on the primary does not fall back — the backup is never called', async () => {
    primary.script({ status: 400, body: { error: { message: 'bad tool schema' } } });

    const error = await sdkError(chat().create({ model: 'client-model', messages: hello }));

    assert.equal(error.status, 400);
    assert.equal(error.code, 'upstream_rejected');
    assert.equal(primary.requests.length, 1);
    assert.equal(backup.requests.length, 0);
  });

  it('guarantee: strategy.on_status_codes decides what falls back — a 503 not listed stays on the primary', async () => {
    primary.setDefault({ status: 503 });

    const error = await sdkError(chat('only-429-falls-back').create({ model: 'client-model', messages: hello }));

    assert.equal(error.status, 503);
    assert.equal(error.code, 'all_targets_failed');
    assert.equal(primary.requests.length, 1);
    assert.equal(backup.requests.length, 0);

    primary.reset();
    primary.script({ status: 429 });
    const { response } = await chat('only-429-falls-back').create({ model: 'client-model', messages: hello }).withResponse();
    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(backup.requests.length, 1);
  });

  // A 3xx (an http:// base_url the provider redirects to https://, say) is the target's
  // misconfiguration: it must never reach the client as a 301 blaming the client.
  it(
    'guarantee: an upstream 3xx redirect is never passed to the client; the backup is tried',
    async () => {
      primary.setDefault({ status: 301, headers: { location: 'https://example.com/v1/chat/completions' }, body: 'Moved' });

      const response = await raw(stack.chatUrl, { body: { model: 'm', messages: hello } });

      assert.ok(
        response.status >= 500 || response.status === 200,
        `a redirect from the upstream is the gateway's problem, not the client's; got ${response.status} ${response.text}`,
      );
    },
  );
});
