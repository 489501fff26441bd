import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { sendJson, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const KEY = 'bw_test_tools_burst_key_000000000001';
/** The API's own limit: 50 calls in any rolling second, a 429 past it. */
const API_LIMIT_PER_SECOND = 50;

describe('tool proxy rate limiting (DynamoDB Local, two gateway containers)', () => {
  let dynamo: DynamoLocal;
  let api: MockToolServer;
  let gateways: StatefulGateway[] = [];
  const arrivals: number[] = [];
  let refusedByApi = 0;

  before(async () => {
    dynamo = await startDynamoLocal();
    api = await startMockToolServer((_request, res) => {
      const now = Date.now();
      arrivals.push(now);
      const lastSecond = arrivals.filter((at) => at > now - 1_000).length;
      if (lastSecond > API_LIMIT_PER_SECOND) {
        refusedByApi += 1;
        return sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '1' });
      }
      return sendJson(res, 200, { ok: true });
    });
    const config = {
      providers: { sim: { type: 'simulated' as const } },
      routes: { main: { strategy: { mode: 'single' as const }, targets: [{ provider: 'sim' }] } },
      services: {
        // 25 a second with a burst of 5: at most 30 in any second, under the API's 50 with room
        // for the jitter between a call's slot and its arrival at the API (as an operator would set it).
        limited: { base_url: `${api.url}/v1`, rate_limit: { requests_per_second: 25, burst: 5 } },
      },
      tenants: { agents: { route: 'main', keys: [KEY] } },
    };
    // Two containers spending from the same bucket, as a fleet does.
    gateways = [await startStatefulGateway({ dynamo, config }), await startStatefulGateway({ dynamo, config, seedConfigKeys: false })];
  });
  after(async () => {
    for (const gateway of gateways) await gateway.close();
    await api?.close();
    await dynamo?.stop();
  });

  it('guarantee: a burst of 200 calls across the fleet stays under the API limit, and no 429 reaches a client', async () => {
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const response = await fetch(`${gateways[i % 2]!.url}/v1/tools/limited/items/${i}`, { headers: { authorization: `Bearer ${KEY}` } });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const elapsed = Date.now() - started;
    assert.deepEqual(
      statuses.filter((status) => status !== 200),
      [],
      'every call succeeded',
    );
    assert.equal(refusedByApi, 0, 'the API never had to refuse a call');
    assert.equal(arrivals.length, 200);
    // 200 calls at 25 a second after a burst of 5 cannot take less than (200 - 5) / 25 s.
    assert.ok(elapsed >= ((200 - 5) / 25) * 1_000 - 200, `took ${elapsed} ms`);
    let busiestSecond = 0;
    for (const at of arrivals) busiestSecond = Math.max(busiestSecond, arrivals.filter((other) => other >= at && other < at + 1_000).length);
    console.log(`rate limit burst: 200 calls in ${elapsed} ms, busiest second ${busiestSecond} calls (API limit ${API_LIMIT_PER_SECOND}), API 429s ${refusedByApi}`);
  });
});
