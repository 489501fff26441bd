import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { MockUpstream } from '../support/mockUpstream';
import { openAiStreamFrames } from '../support/mockUpstream';
import { VIRTUAL_KEY, assertClientError, fastRetry, hello, raw, startMockedGateway, type MockedGateway } from '../support/e2eHarness';
import { MAX_MODEL_NAME_LENGTH } from '../../shared/gateway/requestSchemas';

/*
 * A route that passes the client's model through puts a client-chosen string into
 * `x-breakwater-target` (provider/model). Node refuses to write a header with characters outside
 * Latin-1 or control characters: the upstream had answered (and billed) and the client got a
 * 502 that was not even OpenAI-shaped. Now the header is percent-encoded, and names that are no
 * printable text, or too long, are refused before anything is called.
 */
describe('e2e: client-chosen strings never reach a header raw', () => {
  let stack: MockedGateway<'upstream'>;
  let mock: MockUpstream;
  let chatUrl: string;

  before(async () => {
    stack = await startMockedGateway({
      upstreams: ['upstream'],
      // No override model: the client's model is sent upstream and named in the header.
      routes: { passthrough: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream' }] } },
      tenants: { e2e: { route: 'passthrough', keys: [VIRTUAL_KEY] } },
    });
    ({ chatUrl, mocks: { upstream: mock } } = stack);
  });
  after(async () => {
    await stack.close();
  });
  beforeEach(() => mock.reset());

  const model = 'モデル-ü-😀 v2%';
  const encoded = 'upstream/%E3%83%A2%E3%83%87%E3%83%AB-%C3%BC-%F0%9F%98%80%20v2%25';

  // Before the fix the request never ended on the local server (502 on Lambda): a timeout, not a hang.
  it('guarantee: a model name with non-Latin-1 characters is served 200; x-breakwater-target carries it percent-encoded', { timeout: 15_000 }, async () => {
    const response = await raw(chatUrl, { body: { model, messages: hello } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('x-breakwater-target'), encoded);
    assert.equal(decodeURIComponent(response.headers.get('x-breakwater-target')!), `upstream/${model}`);
    assert.equal((mock.requests[0]?.body as { model: string }).model, model, 'the upstream got the name as sent');
  });

  it('guarantee: the same for a streamed answer, whose headers go out before its first byte', { timeout: 15_000 }, async () => {
    mock.setDefault({ sse: openAiStreamFrames({ text: ['hi'], model }) });
    const response = await raw(chatUrl, { body: { model, messages: hello, stream: true } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('x-breakwater-target'), encoded);
    assert.match(response.text, /data: \[DONE\]/);
  });

  for (const [name, bad] of [
    ['a line feed', 'gpt-4o\nx-injected: 1'],
    ['a NUL', 'gpt\u00004o'],
    ['a zero-width space', 'gpt\u200b-4o'],
    ['a right-to-left override', 'gpt-\u202eo4'],
    [`${MAX_MODEL_NAME_LENGTH + 1} characters`, 'm'.repeat(MAX_MODEL_NAME_LENGTH + 1)],
    ['3,000 characters', 'm'.repeat(3_000)],
  ] as const) {
    it(`guarantee: a model name with ${name} is 400 invalid_request naming model, and nothing is called`, async () => {
      const response = await raw(chatUrl, { body: { model: bad, messages: hello } });
      const body = assertClientError(response, 400, 'invalid_request');
      assert.equal(body.error.param, 'model');
      assert.match(body.error.message, /^model: /);
      assert.equal(mock.requests.length, 0);
    });
  }
});
