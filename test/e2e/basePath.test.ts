import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { invokeStreamingHandler, installAwsLambdaGlobal } from '../../bin/local/lambdaStreaming';
import { createGatewayHandler, type GatewayStreamingHandler } from '../../functions/gateway/createHandler';
import { compileConfig } from '../../shared/config';
import { lambdaContext, proxyEvent } from '../support/proxyEvent';
import { sendJson, startMockToolServer, type MockToolServer } from '../support/toolServers/mockToolServer';

const KEY = 'bw_test_base_path_key_000000000000001';

/** An event as API Gateway sends it through a custom domain mapped at `/llm`: the path keeps the base path, the resource does not. */
function behindBasePath(method: string, apiPath: string, resource: string, pathParameters: Record<string, string>, body?: unknown) {
  const event = proxyEvent({ method, path: apiPath, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body });
  event.path = `/llm${apiPath}`;
  event.resource = resource;
  event.pathParameters = pathParameters;
  event.requestContext.path = `/llm${apiPath}`;
  return event;
}

async function invoke(handler: GatewayStreamingHandler, event: ReturnType<typeof proxyEvent>) {
  const { response } = invokeStreamingHandler(handler, event, lambdaContext(30_000));
  const { statusCode, headers, body } = await response;
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
  return { statusCode, headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as Record<string, unknown> };
}

describe('a custom domain with a base path (/llm): routing on the resource, not the raw path', () => {
  let api: MockToolServer;
  let handler: GatewayStreamingHandler;

  before(async () => {
    installAwsLambdaGlobal();
    api = await startMockToolServer((request, res) => sendJson(res, 200, { seen: request.url }));
    handler = createGatewayHandler({
      config: compileConfig({
        providers: { sim: { type: 'simulated', latency_ms: 0 } },
        routes: { main: { provider: 'sim' } },
        services: { crm: { base_url: `${api.url}/api` } },
        tenants: { acme: { route: 'main', keys: [KEY] } },
      }),
      secrets: { get: async () => undefined },
    });
  });
  after(async () => {
    await api?.close();
  });

  it('serves /llm/v1/chat/completions through the greedy resource (was a 404)', async () => {
    const event = behindBasePath('POST', '/v1/chat/completions', '/{proxy+}', { proxy: 'v1/chat/completions' }, {
      model: 'any',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const { statusCode, json } = await invoke(handler, event);
    assert.equal(statusCode, 200, JSON.stringify(json));
    assert.equal(json.object, 'chat.completion');
  });

  it('serves an explicit resource with a parameter, and keeps the client-facing path in Location', async () => {
    const { statusCode, json } = await invoke(handler, behindBasePath('GET', '/v1/models', '/v1/models', {}));
    assert.equal(statusCode, 200, JSON.stringify(json));
    assert.equal(json.object, 'list');
  });

  it('relays a tool call with its path tail as sent, under the service base URL', async () => {
    const event = behindBasePath('GET', '/v1/tools/crm/v1/customers/42', '/v1/tools/{service}/{proxy+}', { service: 'crm', proxy: 'v1/customers/42' });
    const { statusCode, json } = await invoke(handler, event);
    assert.equal(statusCode, 200, JSON.stringify(json));
    assert.equal(json.seen, '/api/v1/customers/42');
  });

  it('still refuses a traversal hidden behind the base path', async () => {
    const before = api.requests.length;
    const event = behindBasePath('GET', '/v1/tools/crm/%2e%2e/%2e%2e/admin', '/v1/tools/{service}/{proxy+}', { service: 'crm', proxy: '../../admin' });
    const { statusCode, json } = await invoke(handler, event);
    assert.equal(statusCode, 400);
    assert.equal((json.error as { code: string }).code, 'tool_path_rejected');
    assert.equal(api.requests.length, before);
  });
});
