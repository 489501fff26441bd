import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { NotFoundError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import type { MockUpstream } from '../support/mockUpstream';
import {
  OTHER_TENANT_KEY,
  UPSTREAM_KEY,
  VIRTUAL_KEY,
  assertErrorBody,
  fastRetry,
  hello,
  modelTarget,
  raw,
  sdkClient,
  sdkError,
  startMockedGateway,
  type MockedGateway,
} from '../support/e2eHarness';

const base64Floats = (values: number[]) => Buffer.from(new Float32Array(values).buffer).toString('base64');

/** The gateway's endpoints as an OpenAI SDK user sees them. */
describe('e2e: endpoints', () => {
  let stack: MockedGateway<'first' | 'second'>;
  let first: MockUpstream;
  let second: MockUpstream;
  let gateway: RunningServer;

  before(async () => {
    stack = await startMockedGateway({
      upstreams: ['first', 'second'],
      routes: {
        main: { strategy: { mode: 'fallback' }, retry: fastRetry(1), targets: [modelTarget('first', 'gpt-a'), modelTarget('second', 'gpt-b')] },
        embed: { strategy: { mode: 'single' }, targets: [modelTarget('first', 'text-embed-x')] },
        lb: {
          strategy: { mode: 'loadbalance' },
          targets: [
            { provider: 'first', weight: 1, override_params: { model: 'gpt-a' } },
            { provider: 'second', weight: 0, override_params: { model: 'gpt-b' } },
          ],
        },
        tuned: {
          strategy: { mode: 'single' },
          targets: [{ provider: 'first', override_params: { model: 'gpt-a', temperature: 0 } }],
        },
        hidden: { strategy: { mode: 'single' }, targets: [modelTarget('second', 'hidden-model')] },
      },
      tenants: {
        e2e: { route: 'main', allowed_routes: ['embed', 'lb', 'tuned'], keys: [VIRTUAL_KEY] },
        other: { route: 'hidden', keys: [OTHER_TENANT_KEY] },
      },
    });
    ({ gateway, mocks: { first, second } } = stack);
  });

  after(() => stack.close());
  beforeEach(() => stack.reset());

  it('guarantee: GET /health is 200 {"status":"ok"} without a key, with an x-request-id', async () => {
    const response = await raw(`${gateway.url}/health`, { auth: null });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { status: 'ok' });
    assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it("guarantee: client.models.list() returns the models of the tenant's routes, once each, in route order", async () => {
    const page = await sdkClient(gateway.url).models.list();
    assert.deepEqual(page.data, [
      { id: 'gpt-a', object: 'model', created: 0, owned_by: 'first' },
      { id: 'gpt-b', object: 'model', created: 0, owned_by: 'second' },
      { id: 'text-embed-x', object: 'model', created: 0, owned_by: 'first' },
    ]);

    const otherPage = await sdkClient(gateway.url, OTHER_TENANT_KEY).models.list();
    assert.deepEqual(
      otherPage.data.map((model) => model.id),
      ['hidden-model'],
    );
    assert.equal(first.requests.length + second.requests.length, 0, 'listing models calls no upstream');
  });

  it('guarantee: client.models.retrieve() finds a model of the routes; an unknown one is a 404 model_not_found', async () => {
    assert.deepEqual(await sdkClient(gateway.url).models.retrieve('gpt-b'), { id: 'gpt-b', object: 'model', created: 0, owned_by: 'second' });

    const error = await sdkError(sdkClient(gateway.url).models.retrieve('gpt-nope'));
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, 'model_not_found');
    assert.equal(error.type, 'not_found_error');
    assert.equal(error.param, 'model');
    // Another tenant's model does not exist for this key either.
    assert.equal((await sdkError(sdkClient(gateway.url).models.retrieve('hidden-model'))).code, 'model_not_found');
  });

  it("guarantee: a chat completion without a route header uses the tenant's route; the SDK sees x-request-id as request_id", async () => {
    const { data, response, request_id } = await sdkClient(gateway.url)
      .chat.completions.create({ model: 'anything', messages: hello })
      .withResponse();

    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'gpt-a');
    assert.equal(response.headers.get('x-breakwater-target'), 'first/gpt-a');
    assert.equal(response.headers.get('x-breakwater-attempts'), '1');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '0');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'false');
    assert.match(request_id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(request_id, response.headers.get('x-request-id'));
  });

  it('guarantee: every request gets its own x-request-id', async () => {
    const client = sdkClient(gateway.url);
    const ids = new Set<string | null>();
    for (let i = 0; i < 3; i++) {
      const { request_id } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();
      ids.add(request_id);
    }
    assert.equal(ids.size, 3);
  });

  it('guarantee: override_params override the client (model, temperature); other client fields pass through', async () => {
    const client = sdkClient(gateway.url, VIRTUAL_KEY, { 'x-breakwater-route': 'tuned' });
    await client.chat.completions.create({
      model: 'client-model',
      messages: hello,
      temperature: 1.5,
      max_tokens: 7,
      user: 'agent-42',
    });

    assert.equal(first.requests.length, 1);
    const sent = first.requests[0]!.body as Record<string, unknown>;
    assert.equal(sent.model, 'gpt-a');
    assert.equal(sent.temperature, 0);
    assert.equal(sent.max_tokens, 7);
    assert.equal(sent.user, 'agent-42');
    assert.deepEqual(sent.messages, hello);
  });

  it('guarantee: client.embeddings.create works through the gateway (encoding_format float)', async () => {
    const client = sdkClient(gateway.url, VIRTUAL_KEY, { 'x-breakwater-route': 'embed' });
    const { data, response } = await client.embeddings
      .create({ model: 'client-embed', input: 'hello', encoding_format: 'float' })
      .withResponse();

    assert.equal(data.object, 'list');
    assert.equal(data.model, 'text-embed-x');
    assert.deepEqual(data.data[0]?.embedding, [0.1, 0.2, 0.3]);
    assert.equal(response.headers.get('x-breakwater-target'), 'first/text-embed-x');
    assert.equal(first.requests.length, 1);
    const request = first.requests[0]!;
    assert.equal(request.path, '/v1/embeddings');
    assert.equal(request.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.deepEqual(request.body, { model: 'text-embed-x', input: 'hello', encoding_format: 'float' });
  });

  it("guarantee: the SDK's default embeddings.create (base64) gets the upstream's floats back: asked as floats, encoded by the gateway", async () => {
    first.script({
      body: {
        object: 'list',
        model: 'text-embed-x',
        data: [{ object: 'embedding', index: 0, embedding: [0.5, -1, 2, 0.1] }],
        usage: { prompt_tokens: 1, total_tokens: 1 },
      },
    });
    const client = sdkClient(gateway.url, VIRTUAL_KEY, { 'x-breakwater-route': 'embed' });
    const result = await client.embeddings.create({ model: 'client-embed', input: ['hello'], dimensions: 4 });

    // The SDK asked base64 and decoded it: float32 values, as OpenAI's own answer would give.
    assert.deepEqual(result.data[0]?.embedding, [0.5, -1, 2, Math.fround(0.1)]);
    const sent = first.requests[0]!.body as { encoding_format: string; dimensions: number };
    assert.equal(sent.encoding_format, 'float', 'the engine always asks the upstream for floats');
    assert.equal(sent.dimensions, 4, '`dimensions` is passed on');
  });

  it('guarantee: a raw base64 request gets little-endian float32 base64; an upstream that answered base64 anyway is decoded for a float request', async () => {
    first.script({
      body: { object: 'list', model: 'text-embed-x', data: [{ object: 'embedding', index: 0, embedding: [1, -2] }], usage: { prompt_tokens: 1, total_tokens: 1 } },
    });
    const encoded = await raw(`${gateway.url}/v1/embeddings`, {
      headers: { 'x-breakwater-route': 'embed' },
      body: { model: 'm', input: 'x', encoding_format: 'base64' },
    });
    assert.equal((encoded.json as { data: Array<{ embedding: string }> }).data[0]!.embedding, base64Floats([1, -2]));

    first.script({
      body: { object: 'list', model: 'text-embed-x', data: [{ object: 'embedding', index: 0, embedding: base64Floats([0.5, 3]) }], usage: { prompt_tokens: 1, total_tokens: 1 } },
    });
    const floats = await raw(`${gateway.url}/v1/embeddings`, {
      headers: { 'x-breakwater-route': 'embed' },
      body: { model: 'm', input: 'x', encoding_format: 'float' },
    });
    assert.deepEqual((floats.json as { data: Array<{ embedding: number[] }> }).data[0]!.embedding, [0.5, 3]);
  });

  it('guarantee: the legacy POST /v1/completions is a 404 that names /v1/chat/completions', async () => {
    const response = await raw(`${gateway.url}/v1/completions`, { body: { model: 'm', prompt: 'hello' } });
    const body = assertErrorBody(response.json, { code: 'unknown_route', type: 'not_found_error' });
    assert.equal(response.status, 404);
    assert.match(body.error.message, /POST \/v1\/chat\/completions/);
    assert.equal(first.requests.length + second.requests.length, 0);
  });

  it('guarantee: a loadbalance route weighted 1:0 always hits the first target (20 of 20)', async () => {
    const client = sdkClient(gateway.url, VIRTUAL_KEY, { 'x-breakwater-route': 'lb' });
    for (let i = 0; i < 20; i++) {
      const { response } = await client.chat.completions.create({ model: 'm', messages: hello }).withResponse();
      assert.equal(response.headers.get('x-breakwater-target'), 'first/gpt-a');
      assert.equal(response.headers.get('x-breakwater-fallback-index'), '0');
    }
    assert.equal(first.requests.length, 20);
    assert.equal(second.requests.length, 0);
  });

  it('guarantee: the virtual key is also accepted as `x-api-key`', async () => {
    const response = await raw(`${gateway.url}/v1/chat/completions`, {
      auth: null,
      headers: { 'x-api-key': VIRTUAL_KEY },
      body: { model: 'm', messages: hello },
    });
    assert.equal(response.status, 200);
  });

  it('guarantee: a JSON body sent without a JSON content-type is still accepted (curl users forget it)', async () => {
    const response = await raw(`${gateway.url}/v1/chat/completions`, {
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ model: 'm', messages: hello }),
    });
    assert.equal(response.status, 200);
    assert.equal((response.json as { object: string }).object, 'chat.completion');
  });

  it('guarantee: paths are matched with a trailing slash too', async () => {
    const response = await raw(`${gateway.url}/v1/chat/completions/`, { body: { model: 'm', messages: hello } });
    assert.equal(response.status, 200);
  });
});
