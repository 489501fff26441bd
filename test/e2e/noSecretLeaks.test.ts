import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InternalServerError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import { chatCompletion, type MockUpstream } from '../support/mockUpstream';
import {
  UPSTREAM_KEY,
  VIRTUAL_KEY,
  assertErrorBody,
  everythingVisible,
  fastRetry,
  hello,
  modelTarget,
  raw,
  sdkClient,
  sdkError,
  startMockedGateway,
  type MockedGateway,
  type RawResponse,
} from '../support/e2eHarness';

const SECRETS = [UPSTREAM_KEY, VIRTUAL_KEY];
const echoKey = (status: number) => ({
  status,
  body: { error: { message: `Incorrect API key provided: ${UPSTREAM_KEY}. Your key ${UPSTREAM_KEY} is invalid.` } },
  headers: { 'x-echo': UPSTREAM_KEY },
});

function assertNoSecrets(response: RawResponse, secrets: readonly string[] = SECRETS) {
  const visible = everythingVisible(response.headers, response.text);
  for (const secret of secrets) {
    assert.ok(!visible.includes(secret), `secret ${secret.slice(0, 6)}… leaked in:\n${visible}`);
  }
}

/** No credential — the upstream key or the client's virtual key — ever comes back to the client. */
describe('e2e: no secret leaks', () => {
  let stack: MockedGateway<'upstream'>;
  let mock: MockUpstream;
  let gateway: RunningServer;
  let chatUrl: string;
  const request = { model: 'm', messages: hello };

  before(async () => {
    stack = await startMockedGateway({
      upstreams: ['upstream'],
      routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(1), targets: [modelTarget('upstream', 'gpt-x')] } },
    });
    ({ gateway, chatUrl, mocks: { upstream: mock } } = stack);
  });

  after(() => stack.close());

  beforeEach(() => stack.reset());

  it('guarantee: an upstream 401 echoing the upstream key → 502 upstream_auth_failed without the key; a following success has no key either', async () => {
    mock.setDefault(echoKey(401));

    const failing = await raw(chatUrl, { body: request });
    assert.equal(failing.status, 502);
    assertErrorBody(failing.json, { code: 'upstream_auth_failed', type: 'api_error' });
    // The adapter re-reads the secret once and retries once (withCredentialRefresh); the engine
    // does not retry a refused credential on top of that.
    assert.equal(mock.requests.length, 2, 'one call plus one credential-refresh retry, no engine retries');
    assertNoSecrets(failing);

    mock.reset();
    mock.setDefault({ body: chatCompletion('fine now'), headers: { 'x-echo': UPSTREAM_KEY } });
    const succeeding = await raw(chatUrl, { body: request });
    assert.equal(succeeding.status, 200);
    assert.equal((succeeding.json as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content, 'fine now');
    assertNoSecrets(succeeding);
  });

  it('guarantee: the SDK sees the upstream 401 as a 502 upstream_auth_failed (InternalServerError), key-free', async () => {
    mock.setDefault(echoKey(401));
    const error = await sdkError(sdkClient(gateway.url).chat.completions.create(request));
    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 502);
    assert.equal(error.code, 'upstream_auth_failed');
    const visible = `${error.message} ${JSON.stringify(error.error)} ${[...(error.headers ?? [])].join(' ')}`;
    for (const secret of SECRETS) assert.ok(!visible.includes(secret));
  });

  it("guarantee: an upstream 400 echoing the key is passed on as 400 upstream_rejected with the key redacted", async () => {
    mock.script(echoKey(400));

    const response = await raw(chatUrl, { body: request });

    const body = assertErrorBody(response.json, { code: 'upstream_rejected', type: 'invalid_request_error' });
    assert.equal(response.status, 400);
    assert.equal(
      body.error.message,
      'upstream/gpt-x rejected the request (400): Incorrect API key provided: [redacted]. Your key [redacted] is invalid.',
    );
    assertNoSecrets(response);
  });

  it('guarantee: retried 503s echoing the key end in a 503 all_targets_failed without the key', async () => {
    mock.setDefault(echoKey(503));

    const response = await raw(chatUrl, { body: request });

    assert.equal(response.status, 503);
    assertErrorBody(response.json, { code: 'all_targets_failed', type: 'api_error' });
    assert.equal(mock.requests.length, 2);
    assertNoSecrets(response);
  });

  it('guarantee: the virtual key is never forwarded upstream; only the upstream key is', async () => {
    await raw(chatUrl, { body: request });

    assert.equal(mock.requests.length, 1);
    const seen = JSON.stringify({ headers: mock.requests[0]!.headers, body: mock.requests[0]!.body });
    assert.ok(!seen.includes(VIRTUAL_KEY), `the virtual key reached the upstream: ${seen}`);
    assert.equal(mock.requests[0]!.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });

  it('guarantee: a wrong virtual key is not echoed in the 401', async () => {
    const wrongKey = 'bw_test_e2e_wrong_key_9999';
    const response = await raw(chatUrl, { body: request, auth: wrongKey });
    assert.equal(response.status, 401);
    assertNoSecrets(response, [...SECRETS, wrongKey, 'bw_test_e2e']);
  });
});

/**
 * Shape-based redaction (sk-/pk-/bw-, Bearer, AKIA) misses keys of other shapes, such as an
 * Azure-style hex key; the exact credential values sent upstream are cut out of its messages.
 */
describe('e2e: no secret leaks with a key not shaped like sk-…', () => {
  const AZURE_STYLE_KEY = '0123456789abcdef0123456789abcdef';
  let stack: MockedGateway<'azure'>;

  before(async () => {
    stack = await startMockedGateway({
      secrets: { get: async () => ({ api_key: AZURE_STYLE_KEY }) },
      upstreams: ['azure'],
      routes: { main: { strategy: { mode: 'single' }, targets: [modelTarget('azure', 'gpt-az')] } },
    });
  });

  after(() => stack.close());

  it(
    'guarantee: an upstream 400 echoing a non-sk-shaped upstream key does not leak the key to the client',
    async () => {
      stack.mocks.azure.script({ status: 400, body: { error: { message: `Access denied due to invalid subscription key ${AZURE_STYLE_KEY}.` } } });

      const response = await raw(stack.chatUrl, { body: { model: 'm', messages: hello } });

      assert.equal(response.status, 400);
      assertNoSecrets(response, [AZURE_STYLE_KEY]);
    },
  );
});
