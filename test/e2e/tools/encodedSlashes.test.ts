import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { invokeStreamingHandler } from '../../../bin/local/lambdaStreaming';
import { createGatewayHandler } from '../../../functions/gateway/createHandler';
import { compileConfig } from '../../../shared/config';
import { lambdaContext, proxyEvent, readText } from '../../support/proxyEvent';
import { echo, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { startToolGateway, type ToolGateway } from '../../support/toolServers/startToolGateway';
import { toolSecretSource } from '../../support/toolServers/toolSecrets';

/**
 * `allow_encoded_slashes` through the local API Gateway server to a mock API: GitLab-style ids
 * (`group%2Fproject`) reach the API byte for byte on a service that opts in, and are refused on
 * one that does not; every other traversal form stays refused either way, before any call.
 */
describe('e2e: encoded slashes in tool paths, opt-in per service', () => {
  let api: MockToolServer;
  let stack: ToolGateway;

  before(async () => {
    api = await startMockToolServer(echo);
    stack = await startToolGateway({
      secrets: toolSecretSource(),
      services: {
        gitlab: { base_url: `${api.url}/gitlab`, auth: { type: 'bearer', secret: 'tools/bearer' }, allow_encoded_slashes: true },
        strict: { base_url: `${api.url}/strict`, auth: { type: 'bearer', secret: 'tools/bearer' } },
      },
    });
  });

  after(async () => {
    await stack.close();
    await api.close();
  });

  beforeEach(() => api.reset());

  const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

  it('relays group%2Fsubgroup%2Fproject still encoded, byte for byte, when the service allows it', async () => {
    const response = await stack.call('gitlab/api/v4/projects/group%2Fsubgroup%2Fproject/issues?state=opened');
    assert.equal(response.status, 200);
    assert.equal(api.requests.length, 1);
    assert.equal(api.requests[0]!.url, '/gitlab/api/v4/projects/group%2Fsubgroup%2Fproject/issues?state=opened');
  });

  it('keeps the client\'s own case: a lower-case %2f goes out lower-case', async () => {
    assert.equal((await stack.call('gitlab/@scope%2fname')).status, 200);
    assert.equal(api.requests[0]!.url, '/gitlab/@scope%2fname');
  });

  it('refuses the same path with 400 tool_path_rejected on a service that did not opt in', async () => {
    const response = await stack.call('strict/api/v4/projects/group%2Fproject/issues');
    assert.equal(response.status, 400);
    assert.equal(await errorCode(response), 'tool_path_rejected');
    assert.equal(api.requests.length, 0);
  });

  const stillRefused = [
    'gitlab/api/v4/projects/group%252fproject/issues',
    'gitlab/api/v4/projects/group%252Fproject/issues',
    'gitlab/api/v4/projects/..%2fadmin',
    'gitlab/api/v4/projects/group%2F..%2F..%2Fadmin',
    'gitlab/api/v4/projects/%2e%2e%2Fadmin',
    'gitlab/api/v4/projects/%2Fetc%2Fpasswd',
    'gitlab/api/v4/projects/group%2F%2Fproject',
    'gitlab/api/v4/projects/group%2F%5c..',
    'gitlab/api/v4/projects/group%2F..;x',
  ];
  for (const path of stillRefused) {
    it(`still refuses ${path} with the option on, before any call`, async () => {
      const response = await stack.call(path);
      assert.equal(response.status, 400);
      assert.equal(await errorCode(response), 'tool_path_rejected');
      assert.equal(api.requests.length, 0);
    });
  }
});

describe('e2e: an encoded slash in the event API Gateway REST sends, behind a base path', () => {
  let api: MockToolServer;
  before(async () => {
    api = await startMockToolServer(echo);
  });
  after(async () => {
    await api.close();
  });

  it('routes on the encoded event.path although pathParameters.proxy was decoded, and relays %2F', async () => {
    const key = 'bw_test_encoded_slash_key_0000000001';
    const handler = createGatewayHandler({
      config: compileConfig({
        providers: { sim: { type: 'simulated', latency_ms: 0 } },
        routes: { main: { provider: 'sim' } },
        services: { gitlab: { base_url: `${api.url}/gitlab`, allow_encoded_slashes: true } },
        tenants: { acme: { route: 'main', keys: [key] } },
      }),
      secrets: { get: async () => undefined },
    });
    // As API Gateway REST delivers it through a custom domain mapped at /llm: the path keeps its
    // encoding and the base path, the greedy parameter is decoded (so it holds one more `/`).
    const event = proxyEvent({ method: 'GET', path: '/', headers: { authorization: `Bearer ${key}` } });
    event.path = '/llm/v1/tools/gitlab/api/v4/projects/group%2Fproject/issues';
    event.resource = '/v1/tools/{service}/{proxy+}';
    event.pathParameters = { service: 'gitlab', proxy: 'api/v4/projects/group/project/issues' };
    event.requestContext.path = event.path;
    const { response } = invokeStreamingHandler(handler, event, lambdaContext(30_000));
    const { statusCode, body } = await response;
    const text = await readText(body as never);
    assert.equal(statusCode, 200, text);
    assert.equal(api.requests.length, 1);
    assert.equal(api.requests[0]!.url, '/gitlab/api/v4/projects/group%2Fproject/issues');
  });
});
