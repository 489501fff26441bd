import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BreakwaterConfigInput } from '../../../shared/config';
import type { SecretSource } from '../../../shared/credentials';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { hello, raw, testSettings, UPSTREAM_KEY } from '../../support/e2eHarness';
import { chatCompletion } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * Bring-your-own-key: tenant A calls the shared target with its own credential
 * (`credential_overrides`). A's key is rate-limited (429, Retry-After: 120). That pause belongs
 * to A's credential: before breakers were keyed by credential, it put the target itself into a
 * fleet-wide cooldown and every other tenant got 503 for two minutes.
 */

const TENANT_A_UPSTREAM_KEY = 'sk-test-tenant-a-own-0001';
const KEYS = { a: 'bw_test_byok_tenant_a_001_xxxxxx', b: 'bw_test_byok_tenant_b_001_xxxxxx' } as const;

/** An upstream that rate-limits tenant A's own key and serves every other key. */
async function startUpstream() {
  const keys: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      keys.push(key);
      if (key === TENANT_A_UPSTREAM_KEY) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '120' });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached for your organization', type: 'requests' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletion('hello', 'gpt-test')));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    keys,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('gateway integration: one BYOK tenant refused on its own key leaves the shared target to the others (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let gateway: StatefulGateway;
  /** A second container on the same table: the breakers are fleet-wide. */
  let other: StatefulGateway;

  const secrets: SecretSource = {
    get: async (name) => ({ api_key: name === 'tenant-a-openai' ? TENANT_A_UPSTREAM_KEY : UPSTREAM_KEY }),
  };
  const config = (): BreakwaterConfigInput => ({
    providers: { shared: { type: 'openai', base_url: upstream.baseUrl, credential: 'platform-openai' } },
    routes: {
      main: {
        strategy: { mode: 'single' },
        // Retry-After 120 s is past the route's longest wait: no retry, the next target (none) at once.
        retry: { attempts: 2, base_delay_ms: 5, max_delay_ms: 20, use_retry_after_header: true },
        targets: [{ provider: 'shared', override_params: { model: 'gpt-test' } }],
      },
    },
    tenants: {
      a: { route: 'main', keys: [KEYS.a], credential_overrides: { shared: 'tenant-a-openai' } },
      b: { route: 'main', keys: [KEYS.b] },
    },
    settings: testSettings(),
  });
  const chat = (gatewayUrl: string, key: string) =>
    raw(`${gatewayUrl}/v1/chat/completions`, { body: { model: 'any', messages: hello }, auth: key });

  before(async () => {
    dynamo = await startDynamoLocal();
    upstream = await startUpstream();
    gateway = await startStatefulGateway({ config: config(), dynamo, secrets });
    other = await startStatefulGateway({ config: config(), dynamo, secrets });
  });
  after(async () => {
    await other?.close();
    await gateway?.close();
    await upstream?.close();
    await dynamo?.stop();
  });

  it("guarantee: tenant A's key gets 429 Retry-After 120 and is paused; tenant B on the same target is still served, in this container and another", async () => {
    const refused = await chat(gateway.url, KEYS.a);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(upstream.keys.filter((key) => key === TENANT_A_UPSTREAM_KEY).length, 1, "A's own key was called once");

    for (const url of [gateway.url, other.url]) {
      const served = await chat(url, KEYS.b);
      assert.equal(served.status, 200, `tenant B through ${url === gateway.url ? 'the same' : 'another'} container: ${served.text}`);
      assert.equal(served.headers.get('x-breakwater-target'), 'shared/gpt-test');
    }
    assert.equal(upstream.keys.filter((key) => key === UPSTREAM_KEY).length, 2, "B was served on the platform's key");

    // A's own credential stays paused fleet-wide, without another call on it.
    for (const url of [gateway.url, other.url]) {
      const paused = await chat(url, KEYS.a);
      assert.equal(paused.status, 503, paused.text);
      assert.equal((paused.json as { error: { code: string } }).error.code, 'all_targets_unavailable');
      const retryAfter = Number(paused.headers.get('retry-after'));
      assert.ok(retryAfter > 100 && retryAfter <= 120, `Retry-After ${retryAfter}`);
    }
    assert.equal(upstream.keys.filter((key) => key === TENANT_A_UPSTREAM_KEY).length, 1);
  });
});
