import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SecretSource, SecretValue } from '../../../shared/credentials';
import type { AuthFailureEvent, UpstreamOutcome } from '../../../shared/providers';
import { withCredentialRefresh } from '../../../shared/providers/withCredentialRefresh';
import { fakeClock } from '../../support/fakeClock';

/** A secret source whose cached value changes only when read with forceRefresh. */
function rotatingSecrets(cached: SecretValue | undefined, fresh: SecretValue | undefined) {
  const reads: Array<{ name: string; forceRefresh: boolean }> = [];
  let current = cached;
  const source: SecretSource = {
    get: async (name, options) => {
      reads.push({ name, forceRefresh: options?.forceRefresh === true });
      if (options?.forceRefresh) current = fresh;
      return current;
    },
  };
  return { source, reads };
}

const ok: UpstreamOutcome = { kind: 'success', status: 200, headers: {}, body: { choices: [] } };
const refused = (status: number): UpstreamOutcome => ({ kind: 'http_error', status, headers: {}, message: 'invalid api key' });

/** Answers from a script and records the key and timeout of every attempt. */
function scriptedSend(...answers: UpstreamOutcome[]) {
  const attempts: Array<{ apiKey: string | undefined; timeoutMs: number }> = [];
  const send = async (apiKey: string | undefined, timeoutMs: number) => {
    attempts.push({ apiKey, timeoutMs });
    const answer = answers.shift();
    assert.ok(answer, 'more attempts than scripted');
    return answer;
  };
  return { send, attempts };
}

describe('withCredentialRefresh', () => {
  it('sends once with the cached key when the upstream accepts it', async () => {
    const { source, reads } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-rotated-0002' });
    const { send, attempts } = scriptedSend(ok);

    const outcome = await withCredentialRefresh({ secrets: source, credential: 'openai', timeoutMs: 5_000 }, send);

    assert.equal(outcome, ok);
    assert.deepEqual(attempts, [{ apiKey: 'sk-test-old-0001', timeoutMs: 5_000 }]);
    assert.deepEqual(reads, [{ name: 'openai', forceRefresh: false }]);
  });

  for (const status of [401, 403]) {
    it(`on a ${status} refreshes the secret past the cache and retries once with the new key`, async () => {
      const { source, reads } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-rotated-0002' });
      const { send, attempts } = scriptedSend(refused(status), ok);
      const events: AuthFailureEvent[] = [];

      const outcome = await withCredentialRefresh(
        { secrets: source, credential: 'openai', timeoutMs: 5_000, clock: fakeClock(), onAuthFailure: (e) => events.push(e) },
        send,
      );

      assert.deepEqual(outcome, { ...ok, upstreamCalls: 2 }, 'the retry is counted as a second upstream call');
      assert.deepEqual(attempts, [
        { apiKey: 'sk-test-old-0001', timeoutMs: 5_000 },
        { apiKey: 'sk-test-rotated-0002', timeoutMs: 5_000 },
      ]);
      assert.deepEqual(reads, [
        { name: 'openai', forceRefresh: false },
        { name: 'openai', forceRefresh: true },
      ]);
      assert.deepEqual(events, [{ credential: 'openai', status, recovered: true }]);
    });
  }

  it('returns the second refusal as is: one refresh per call, never a loop', async () => {
    const { source, reads } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-old-0001' });
    const second = refused(401);
    const { send, attempts } = scriptedSend(refused(401), second);
    const events: AuthFailureEvent[] = [];

    const outcome = await withCredentialRefresh(
      { secrets: source, credential: 'openai', timeoutMs: 5_000, onAuthFailure: (e) => events.push(e) },
      send,
    );

    assert.deepEqual(outcome, { ...second, upstreamCalls: 2 }, 'the retry is counted as a second upstream call');
    assert.equal(attempts.length, 2);
    assert.equal(reads.length, 2);
    assert.deepEqual(events, [{ credential: 'openai', status: 401, recovered: false }]);
  });

  it('does not refresh on other errors', async () => {
    const { source, reads } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-rotated-0002' });
    const tooMany = refused(429);
    const { send, attempts } = scriptedSend(tooMany);

    const outcome = await withCredentialRefresh({ secrets: source, credential: 'openai', timeoutMs: 5_000 }, send);

    assert.equal(outcome, tooMany);
    assert.equal(attempts.length, 1);
    assert.equal(reads.length, 1);
  });

  it('gives the retry only what is left of the attempt timeout', async () => {
    const clock = fakeClock();
    const { source } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-rotated-0002' });
    const attempts: number[] = [];
    const send = async (_key: string | undefined, timeoutMs: number): Promise<UpstreamOutcome> => {
      attempts.push(timeoutMs);
      clock.advance(1_200);
      return attempts.length === 1 ? refused(401) : ok;
    };

    await withCredentialRefresh({ secrets: source, credential: 'openai', timeoutMs: 5_000, clock }, send);

    assert.deepEqual(attempts, [5_000, 3_800]);
  });

  it('returns the first refusal when no time is left for a retry', async () => {
    const clock = fakeClock();
    const { source } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-rotated-0002' });
    const first = refused(401);
    const events: AuthFailureEvent[] = [];
    let calls = 0;
    const send = async (): Promise<UpstreamOutcome> => {
      calls++;
      clock.advance(5_000);
      return first;
    };

    const outcome = await withCredentialRefresh(
      { secrets: source, credential: 'openai', timeoutMs: 5_000, clock, onAuthFailure: (e) => events.push(e) },
      send,
    );

    assert.equal(outcome, first);
    assert.equal(calls, 1);
    assert.deepEqual(events, [{ credential: 'openai', status: 401, recovered: false }]);
  });

  it('returns the first refusal when the refreshed secret is gone', async () => {
    const { source } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, undefined);
    const first = refused(403);
    const { send, attempts } = scriptedSend(first);

    const outcome = await withCredentialRefresh({ secrets: source, credential: 'openai', timeoutMs: 5_000 }, send);

    assert.equal(outcome, first);
    assert.equal(attempts.length, 1);
  });

  it('reports the target unavailable when the secret is not set, without calling upstream', async () => {
    const { source } = rotatingSecrets(undefined, undefined);
    const { send, attempts } = scriptedSend();

    const outcome = await withCredentialRefresh({ secrets: source, credential: 'tenant-acme', timeoutMs: 5_000 }, send);

    assert.deepEqual(outcome, { kind: 'unavailable', reason: 'credential "tenant-acme" is not set' });
    assert.equal(attempts.length, 0);
  });

  it('sends without a key and never refreshes when no credential is named', async () => {
    const { source, reads } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, undefined);
    const first = refused(401);
    const { send, attempts } = scriptedSend(first);

    const outcome = await withCredentialRefresh({ secrets: source, credential: undefined, timeoutMs: 5_000 }, send);

    assert.equal(outcome, first);
    assert.deepEqual(attempts, [{ apiKey: undefined, timeoutMs: 5_000 }]);
    assert.equal(reads.length, 0);
  });

  it('a throwing counter does not change the outcome', async () => {
    const { source } = rotatingSecrets({ api_key: 'sk-test-old-0001' }, { api_key: 'sk-test-rotated-0002' });
    const { send } = scriptedSend(refused(401), ok);

    const outcome = await withCredentialRefresh(
      {
        secrets: source,
        credential: 'openai',
        timeoutMs: 5_000,
        onAuthFailure: () => {
          throw new Error('metrics broke');
        },
      },
      send,
    );

    assert.deepEqual(outcome, { ...ok, upstreamCalls: 2 }, 'the retry is counted as a second upstream call');
  });
});
