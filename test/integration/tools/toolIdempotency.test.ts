import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';
import { sendJson, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { toolSecretSource, TOOL_SECRETS } from '../../support/toolServers/toolSecrets';

const KEY = 'bw_test_tools_idempotency_000000001';

/**
 * The tool proxy on the fleet's real state (DynamoDB Local): an Idempotency-Key makes a POST run
 * once however many times the agent sends it, and the key goes on to the API.
 */
describe('tool proxy integration: Idempotency-Key end to end (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let api: MockToolServer;
  let gateway: StatefulGateway;
  let charges = 0;

  const charge = (key: string, body = '{"amount":100}') =>
    fetch(`${gateway.url}/v1/tools/pay/v1/charges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': key },
      body,
    });

  before(async () => {
    dynamo = await startDynamoLocal();
    api = await startMockToolServer(async (request, res) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      charges += 1;
      sendJson(res, 200, { id: `ch_${charges}`, key: request.headers['idempotency-key'] });
    });
    gateway = await startStatefulGateway({
      dynamo,
      secrets: toolSecretSource(),
      config: {
        providers: { sim: { type: 'simulated' } },
        routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
        services: { pay: { base_url: api.url, auth: { type: 'api_key', secret: 'tools/apikey' } } },
        tenants: { acme: { route: 'main', keys: [KEY] } },
      },
    });
  });

  after(async () => {
    await gateway?.close();
    await api?.close();
    await dynamo?.stop();
  });

  beforeEach(() => {
    api.reset();
    charges = 0;
  });

  it('guarantee: a POST with a key runs once under 10 concurrent duplicates', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => charge('order-42-charge')));
    assert.equal(api.requests.length, 1, 'one charge for ten deliveries');
    assert.equal(api.requests[0]!.headers['idempotency-key'], 'order-42-charge');
    assert.equal(api.requests[0]!.headers['x-api-key'], TOOL_SECRETS['tools/apikey'].api_key);
    const statuses = responses.map((response) => response.status);
    assert.ok(statuses.every((status) => status === 200 || status === 409), statuses.join(','));
    const bodies = await Promise.all(responses.filter((response) => response.status === 200).map((response) => response.json()));
    for (const body of bodies) assert.deepEqual(body, { id: 'ch_1', key: 'order-42-charge' });

    const later = await charge('order-42-charge');
    assert.equal(later.status, 200);
    assert.equal(later.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await later.json(), { id: 'ch_1', key: 'order-42-charge' });
    assert.equal(api.requests.length, 1);
  });

  it('the same key with another body is a 422, and the API is not called', async () => {
    assert.equal((await charge('order-43-charge')).status, 200);
    const reused = await charge('order-43-charge', '{"amount":999}');
    assert.equal(reused.status, 422);
    assert.equal(((await reused.json()) as { error: { code: string } }).error.code, 'idempotency_key_reused');
    assert.equal(api.requests.length, 1);
  });
});
