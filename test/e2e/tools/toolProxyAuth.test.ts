import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { echo, sendJson, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { TEST_AWS_CREDENTIALS, verifySigV4 } from '../../support/toolServers/sigv4Check';
import { startToolGateway, TOOL_KEYS, type ToolGateway } from '../../support/toolServers/startToolGateway';
import { TOOL_SECRET_VALUES, TOOL_SECRETS, toolSecretSource } from '../../support/toolServers/toolSecrets';

/**
 * Credential injection, one service per auth kind, through the real handler and local server with
 * a real HTTP client (fetch). Each mock API checks the credential it gets; the agent never sees it.
 */
describe('e2e: tool proxy credential injection', () => {
  let apikey: MockToolServer;
  let querykey: MockToolServer;
  let bearer: MockToolServer;
  let basic: MockToolServer;
  let tokens: MockToolServer;
  let cc: MockToolServer;
  let aws: MockToolServer;
  let stack: ToolGateway;
  /** Every answer the agent got in this suite: none may hold a credential. */
  const seen: string[] = [];

  const remember = async (response: Response): Promise<string> => {
    const text = await response.text();
    seen.push(text, JSON.stringify([...response.headers]));
    return text;
  };

  before(async () => {
    process.env.AWS_ACCESS_KEY_ID = TEST_AWS_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = TEST_AWS_CREDENTIALS.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    apikey = await startMockToolServer();
    querykey = await startMockToolServer();
    bearer = await startMockToolServer();
    basic = await startMockToolServer();
    tokens = await startMockToolServer();
    cc = await startMockToolServer();
    aws = await startMockToolServer();
    stack = await startToolGateway({
      secrets: toolSecretSource(),
      services: {
        apikey: { base_url: `${apikey.url}/api`, auth: { type: 'api_key', secret: 'tools/apikey' } },
        querykey: { base_url: querykey.url, auth: { type: 'api_key', secret: 'tools/querykey', in: 'query', name: 'key' } },
        bearer: { base_url: bearer.url, auth: { type: 'bearer', secret: 'tools/bearer' } },
        basic: { base_url: basic.url, auth: { type: 'basic', secret: 'tools/basic' } },
        cc: { base_url: cc.url, auth: { type: 'oauth_client_credentials', secret: 'tools/cc', token_url: `${tokens.url}/oauth/token`, scopes: ['read', 'write'] } },
        aws: { base_url: `${aws.url}/prod`, auth: { type: 'sigv4', service: 'execute-api', region: 'eu-west-1' } },
      },
    });
  });

  after(async () => {
    await stack.close();
    await Promise.all([apikey, querykey, bearer, basic, tokens, cc, aws].map((mock) => mock.close()));
  });

  beforeEach(() => {
    for (const mock of [apikey, querykey, bearer, basic, tokens, cc, aws]) mock.reset();
  });

  it('api_key in a header: the API gets the stored key, never the agent\'s headers', async () => {
    apikey.handler = (request, res) => {
      if (request.headers['x-api-key'] !== TOOL_SECRETS['tools/apikey'].api_key) return sendJson(res, 401, { error: 'bad key' });
      // A careless API: it echoes the key, sets a cookie, and tries to speak for the gateway.
      sendJson(res, 200, { ok: true, url: request.url, echoed: request.headers['x-api-key'] }, {
        'set-cookie': 'session=abc; HttpOnly',
        'x-api-key': String(request.headers['x-api-key']),
        'x-breakwater-degraded': 'spoofed',
        'x-upstream': 'kept',
      });
    };
    const response = await stack.call('apikey/v1/customers/cus_123?limit=3&expand[]=a%20b', {
      headers: {
        cookie: 'agent=1',
        'x-api-key': 'agent-supplied-key',
        'x-breakwater-route': 'main',
        'x-forwarded-for': '10.0.0.1',
        'x-custom': 'kept',
        accept: 'application/json',
      },
    });
    const text = await remember(response);
    assert.equal(response.status, 200, text);

    assert.equal(apikey.requests.length, 1);
    const seenByApi = apikey.requests[0]!;
    assert.equal(seenByApi.url, '/api/v1/customers/cus_123?limit=3&expand%5B%5D=a%20b');
    assert.equal(seenByApi.headers['x-api-key'], TOOL_SECRETS['tools/apikey'].api_key);
    assert.equal(seenByApi.headers['x-custom'], 'kept');
    assert.equal(seenByApi.headers.accept, 'application/json');
    for (const name of ['authorization', 'cookie', 'x-breakwater-route', 'x-forwarded-for']) assert.equal(seenByApi.headers[name], undefined, name);
    assert.ok(!JSON.stringify(seenByApi.headers).includes(TOOL_KEYS.FULL), 'the virtual key went upstream');

    assert.equal(response.headers.get('set-cookie'), null);
    assert.equal(response.headers.get('x-api-key'), null);
    assert.equal(response.headers.get('x-breakwater-degraded'), null);
    assert.equal(response.headers.get('x-upstream'), 'kept');
    assert.equal(response.headers.get('x-breakwater-attempts'), '1');
    assert.ok(!text.includes(TOOL_SECRETS['tools/apikey'].api_key), 'an echoed key is cut out of the answer');
  });

  it('api_key in the query: the agent\'s own `key` and `breakwater_user` do not go upstream', async () => {
    querykey.handler = (request, res) => {
      const key = new URL(request.url, 'http://x').searchParams.getAll('key');
      sendJson(res, key.length === 1 && key[0] === TOOL_SECRETS['tools/querykey'].api_key ? 200 : 401, { ok: true });
    };
    const response = await stack.call('querykey/weather?city=Z%C3%BCrich&key=agent-guess&breakwater_user=u1');
    await remember(response);
    assert.equal(response.status, 200);
    const query = new URL(querykey.requests[0]!.url, 'http://x').searchParams;
    assert.equal(query.get('city'), 'Zürich');
    assert.equal(query.get('breakwater_user'), null);
    assert.deepEqual(query.getAll('key'), [TOOL_SECRETS['tools/querykey'].api_key]);
  });

  it('bearer: Authorization carries the stored token, not the virtual key', async () => {
    bearer.handler = (request, res) =>
      sendJson(res, request.headers.authorization === `Bearer ${TOOL_SECRETS['tools/bearer'].token}` ? 200 : 401, { ok: true });
    const response = await stack.call('bearer/me');
    await remember(response);
    assert.equal(response.status, 200);
    assert.equal(bearer.requests.length, 1);
  });

  it('basic: username and password from the secret', async () => {
    const expected = `Basic ${Buffer.from(`svc-user:${TOOL_SECRETS['tools/basic'].password}`).toString('base64')}`;
    basic.handler = (request, res) => sendJson(res, request.headers.authorization === expected ? 200 : 401, { ok: true });
    const response = await stack.call('basic/reports', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' });
    await remember(response);
    assert.equal(response.status, 200);
    assert.equal(basic.requests[0]!.body.toString(), 'a,b\n1,2\n', 'a non-JSON body is relayed as bytes');
    assert.equal(basic.requests[0]!.headers['content-type'], 'text/csv');
  });

  it('oauth_client_credentials: one token fetch serves concurrent calls, cached until it nears expiry', async () => {
    let issued = 0;
    tokens.handler = async (request, res) => {
      const expected = `Basic ${Buffer.from(`client-0001:${TOOL_SECRETS['tools/cc'].client_secret}`).toString('base64')}`;
      const form = new URLSearchParams(request.body.toString());
      if (request.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials') return sendJson(res, 401, { error: 'invalid_client' });
      issued += 1;
      await new Promise((resolve) => setTimeout(resolve, 30));
      sendJson(res, 200, { access_token: `sk-test-cc-access-token-${issued}`, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') });
    };
    cc.handler = (request, res) => sendJson(res, request.headers.authorization === 'Bearer sk-test-cc-access-token-1' ? 200 : 401, { ok: true });
    const responses = await Promise.all(Array.from({ length: 5 }, () => stack.call('cc/v1/items')));
    for (const response of responses) {
      await remember(response);
      assert.equal(response.status, 200);
    }
    const again = await stack.call('cc/v1/items');
    await remember(again);
    assert.equal(again.status, 200);
    assert.equal(tokens.requests.length, 1, 'one token request for six calls');
    assert.equal(new URLSearchParams(tokens.requests[0]!.body.toString()).get('scope'), 'read write');
  });

  it('oauth_client_credentials: a token the API refuses is fetched anew once, and the call retried once', async () => {
    let issued = 100;
    tokens.handler = (_request, res) => sendJson(res, 200, { access_token: `sk-test-cc-access-token-${++issued}`, expires_in: 3600 });
    // Only tokens issued from now on are good: the cached one from the test above is refused.
    cc.handler = (request, res) => sendJson(res, /token-1\d\d$/.test(String(request.headers.authorization)) ? 200 : 401, { ok: true });
    const response = await stack.call('cc/v1/items');
    await remember(response);
    assert.equal(response.status, 200);
    assert.equal(cc.requests.length, 2);
    assert.equal(tokens.requests.length, 1);
  });

  it('sigv4: the API verifies the signature with the test credentials (POST with a query and a body)', async () => {
    const verdicts: Array<{ valid: boolean; reason?: string }> = [];
    aws.handler = async (request, res) => {
      const verdict = await verifySigV4(request, { credentials: TEST_AWS_CREDENTIALS, region: 'eu-west-1', service: 'execute-api' });
      verdicts.push(verdict);
      sendJson(res, verdict.valid ? 200 : 403, verdict);
    };
    const response = await stack.call('aws/orders/42?expand=items&a=1&a=2', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'é ü', qty: 2 }),
    });
    const text = await remember(response);
    assert.equal(response.status, 200, text);
    assert.deepEqual(verdicts, [{ valid: true }]);
    assert.equal(aws.requests[0]!.url.startsWith('/prod/orders/42?'), true);
    assert.match(String(aws.requests[0]!.headers.authorization), /Credential=AKIDTESTEXAMPLE00001\/\d{8}\/eu-west-1\/execute-api\/aws4_request/);
  });

  it('a signature the API cannot verify (wrong region) is its 403, relayed', async () => {
    aws.handler = async (request, res) => {
      const verdict = await verifySigV4(request, { credentials: TEST_AWS_CREDENTIALS, region: 'us-east-1', service: 'execute-api' });
      sendJson(res, verdict.valid ? 200 : 403, verdict);
    };
    const response = await stack.call('aws/orders');
    await remember(response);
    assert.equal(response.status, 403);
  });

  it('writes one audit line per call, with the path template and never a credential', async () => {
    apikey.handler = echo;
    const linesBefore = stack.logs.lines.length;
    const response = await stack.call('apikey/v1/customers/cus_9f8e7d/notes?x=1', { headers: { 'x-breakwater-user': 'user-42' } });
    await remember(response);
    const audits = stack.logs
      .records()
      .slice(linesBefore)
      .filter((record) => record.event === 'tool_call');
    assert.equal(audits.length, 1);
    const audit = audits[0]!;
    assert.equal(audit.tenant, 'tools');
    // The display prefix; the log redactor's broad credential shape may cut a `bw_` prefix too. Never the key.
    assert.ok([TOOL_KEYS.FULL.slice(0, 12), '[redacted]'].includes(String(audit.key_prefix)), String(audit.key_prefix));
    assert.equal(audit.end_user, 'user-42');
    assert.equal(audit.tool_service, 'apikey');
    assert.equal(audit.method, 'GET');
    assert.equal(audit.path_template, '/v1/customers/{id}/notes');
    assert.equal(audit.status, 200);
    assert.equal(audit.attempts, 1);
    assert.equal(typeof audit.latency_ms, 'number');
  });

  it('no answer and no log line ever held a tool credential or the virtual key', () => {
    const everything = [...seen, stack.logs.text()].join('\n');
    for (const secret of [...TOOL_SECRET_VALUES, 'sk-test-cc-access-token-1', TEST_AWS_CREDENTIALS.secretAccessKey, TOOL_KEYS.FULL]) {
      assert.ok(!everything.includes(secret), `leaked: ${secret.slice(0, 12)}…`);
    }
    assert.ok(seen.length > 10);
  });
});
