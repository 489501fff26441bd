import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitOutput, withOutputLimits } from '../../../shared/budget';
import type { ProviderAdapter, UpstreamRequest } from '../../../shared/providers';

describe('limitOutput: the output limit a reservation paid for, in the body sent upstream', () => {
  const messages = [{ role: 'user', content: 'hi' }];

  it('sets max_tokens when the body names no limit', () => {
    assert.deepEqual(limitOutput({ model: 'gpt-4o', messages }, 500), { model: 'gpt-4o', messages, max_tokens: 500 });
  });

  it('sets max_completion_tokens for OpenAI reasoning models, which refuse max_tokens', () => {
    assert.deepEqual(limitOutput({ model: 'o3-mini', messages }, 500), { model: 'o3-mini', messages, max_completion_tokens: 500 });
    assert.deepEqual(limitOutput({ model: 'gpt-5', messages }, 500), { model: 'gpt-5', messages, max_completion_tokens: 500 });
  });

  it('lowers every limit the body names, and keeps a smaller one', () => {
    assert.deepEqual(limitOutput({ model: 'm', max_tokens: 9_000, max_completion_tokens: 700 }, 500), {
      model: 'm',
      max_tokens: 500,
      max_completion_tokens: 500,
    });
    assert.deepEqual(limitOutput({ model: 'm', max_tokens: 20 }, 500), { model: 'm', max_tokens: 20 });
  });

  it('a null limit is no limit: dropped, and the bound set', () => {
    assert.deepEqual(limitOutput({ model: 'm', max_tokens: null, max_completion_tokens: null }, 500), { model: 'm', max_tokens: 500 });
  });
});

describe('withOutputLimits: every chat call of an adapter held to its model\'s limit', () => {
  function recording(): ProviderAdapter & { seen: UpstreamRequest[] } {
    const seen: UpstreamRequest[] = [];
    return {
      seen,
      call: async (request) => {
        seen.push(request);
        return { kind: 'success', status: 200, headers: {}, body: {} };
      },
      stream: async (request) => {
        seen.push(request);
        return { kind: 'unavailable', reason: 'test' };
      },
      unsupported: () => undefined,
    };
  }
  const limits = new Map([
    ['cheap', 4_000],
    ['dear', 300],
  ]);

  it('applies the limit of the model the call is for, buffered and streamed', async () => {
    const inner = recording();
    const adapter = withOutputLimits(inner, limits);
    await adapter.call({ operation: 'chat', body: { model: 'cheap', max_tokens: 10_000 }, timeoutMs: 1 });
    await adapter.stream({ operation: 'chat', body: { model: 'dear', stream: true }, timeoutMs: 1 });
    assert.deepEqual(
      inner.seen.map((request) => request.body),
      [
        { model: 'cheap', max_tokens: 4_000 },
        { model: 'dear', stream: true, max_tokens: 300 },
      ],
    );
    assert.equal(typeof adapter.unsupported, 'function');
  });

  it('a model no reservation priced gets the smallest limit; embeddings are left alone', async () => {
    const inner = recording();
    const adapter = withOutputLimits(inner, limits);
    await adapter.call({ operation: 'chat', body: { model: 'elsewhere' }, timeoutMs: 1 });
    await adapter.call({ operation: 'embeddings', body: { model: 'cheap', input: 'x' }, timeoutMs: 1 });
    assert.deepEqual(
      inner.seen.map((request) => request.body),
      [{ model: 'elsewhere', max_tokens: 300 }, { model: 'cheap', input: 'x' }],
    );
  });

  it('no limits: the adapter itself', () => {
    const inner = recording();
    assert.equal(withOutputLimits(inner, new Map()), inner);
  });
});
