import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InternalServerError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import type { SecretSource } from '../../shared/credentials';
import { findCanaries } from '../support/canaryForms';
import { capturingLogger, type CapturedLogs } from '../support/capturingLogger';
import { chatCompletion, openAiStreamFrames, type MockUpstream } from '../support/mockUpstream';
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

/** No secret, plain or base64 (both alphabets, every byte offset), in what the client saw. */
function assertNoSecrets(response: RawResponse, secrets: readonly string[] = SECRETS) {
  const visible = everythingVisible(response.headers, response.text);
  assert.deepEqual(findCanaries([{ label: 'response', text: visible }], secrets), []);
}

/** No secret, plain or base64, in any line the gateway logged. */
function assertNoSecretsLogged(logs: CapturedLogs, secrets: readonly string[] = SECRETS) {
  assert.deepEqual(findCanaries(logs.lines.map((text, i) => ({ label: `log line ${i}`, text })), secrets), []);
}

/** No credential — the upstream key or the client's virtual key — ever comes back to the client. */
describe('e2e: no secret leaks', () => {
  let stack: MockedGateway<'upstream'>;
  let mock: MockUpstream;
  let gateway: RunningServer;
  let chatUrl: string;
  let logs: CapturedLogs;
  const request = { model: 'm', messages: hello };

  before(async () => {
    logs = capturingLogger({ logLevel: 'DEBUG' });
    stack = await startMockedGateway({
      logger: logs.logger,
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

  it('guarantee: a 200 answer echoing the upstream key, plain and base64, reaches the client redacted, buffered or streamed over chunks', async () => {
    const echo = `key ${UPSTREAM_KEY}, basic ${Buffer.from(`u:${UPSTREAM_KEY}`).toString('base64')}, url ${Buffer.from(UPSTREAM_KEY).toString('base64url')}`;
    mock.script({ body: chatCompletion(echo), headers: { 'x-echo': Buffer.from(UPSTREAM_KEY).toString('base64') } });
    const buffered = await raw(chatUrl, { body: request });
    assert.equal(buffered.status, 200);
    assert.match((buffered.json as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, /^key \[redacted\], basic /);
    assertNoSecrets(buffered);

    // Split two characters a chunk: the key never travels whole in one chunk.
    const pieces = Array.from({ length: Math.ceil(echo.length / 2) }, (_, i) => echo.slice(i * 2, i * 2 + 2));
    mock.script({ sse: openAiStreamFrames({ text: pieces }) });
    const streamed = await raw(chatUrl, { body: { ...request, stream: true } });
    assert.equal(streamed.status, 200);
    assert.match(streamed.text, /data: \[DONE\]/);
    const joined = streamed.text
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => (JSON.parse(frame.slice(6)) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta?.content ?? '')
      .join('');
    // Pieces shorter than 4 characters send a key's first ones ("sk"), never more (StreamScanner).
    assert.match(joined, /^key (?:s|sk|sk-)?\[redacted\], basic /);
    assert.deepEqual(findCanaries([{ label: 'joined stream', text: joined }], SECRETS), []);
    assertNoSecrets(streamed);
  });

  it('guarantee: an upstream 400 echoing the key in base64 reaches neither the client nor the logs', async () => {
    mock.script({ status: 400, body: { error: { message: `bad auth header ${Buffer.from(`x:${UPSTREAM_KEY}`).toString('base64')}` } } });
    const response = await raw(chatUrl, { body: request });
    assertErrorBody(response.json, { code: 'upstream_rejected', type: 'invalid_request_error' });
    assertNoSecrets(response);
    assertNoSecretsLogged(logs);
  });

  it('guarantee: a wrong virtual key is not echoed in the 401', async () => {
    const wrongKey = 'bw_test_e2e_wrong_key_9999_xxxxx';
    const response = await raw(chatUrl, { body: request, auth: wrongKey });
    assert.equal(response.status, 401);
    assertNoSecrets(response, [...SECRETS, wrongKey, 'bw_test_e2e']);
  });
  it('guarantee: nothing the gateway logged in this suite holds a secret, plain or base64', () => {
    // The scan must have something to scan: every request above logged an audit line.
    assert.ok(logs.lines.length >= 8, `the gateway logged (${logs.lines.length} lines)`);
    assert.ok(logs.records().some((record) => record.message === 'audit'));
    assertNoSecretsLogged(logs);
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

/**
 * The unexpected-500 path: a bug (here a secret source that throws a TypeError quoting the key
 * it holds) becomes a 500 `internal_error` whose body reveals nothing, and one `unexpected error`
 * log line whose message is redacted.
 */
describe('e2e: an unexpected error is a 500 internal_error and a redacted log line', () => {
  let stack: MockedGateway<'upstream'>;
  let logs: CapturedLogs;
  let reads = 0;
  const buggySecrets: SecretSource = {
    get: async () => {
      // The first read works (so the key is in use); the next ones hit the "bug".
      if (reads++ === 0) return { api_key: UPSTREAM_KEY };
      throw new TypeError(`Cannot read properties of undefined (header ${Buffer.from(`Bearer ${UPSTREAM_KEY}`).toString('base64')}; key ${UPSTREAM_KEY})`);
    },
  };

  before(async () => {
    logs = capturingLogger({ logLevel: 'DEBUG' });
    stack = await startMockedGateway({
      logger: logs.logger,
      secrets: buggySecrets,
      upstreams: ['upstream'],
      routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [modelTarget('upstream', 'gpt-x')] } },
    });
  });

  after(() => stack.close());

  it('guarantee: a handler bug answers 500 internal_error (OpenAI-shaped, nothing revealed) and logs it redacted', async () => {
    assert.equal((await raw(stack.chatUrl, { body: { model: 'm', messages: hello } })).status, 200);

    const response = await raw(stack.chatUrl, { body: { model: 'm', messages: hello } });

    assert.equal(response.status, 500);
    const body = assertErrorBody(response.json, { code: 'internal_error', type: 'api_error' });
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId);
    assert.equal(body.error.message, `internal error; quote request id ${requestId}`);
    assertNoSecrets(response);
    const unexpected = logs.records().filter((record) => record.message === 'unexpected error');
    assert.equal(unexpected.length, 1, logs.text());
    assert.equal(unexpected[0]!.error_name, 'TypeError');
    assert.match(String(unexpected[0]!.error_message), /^Cannot read properties of undefined \(header \S*\[redacted\]\S*; key \[redacted\]\)$/);
    assert.equal(unexpected[0]!.level, 'ERROR');
    assertNoSecretsLogged(logs);
  });
});
