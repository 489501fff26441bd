import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { SecretSource, SecretValue } from '../../shared/credentials';
import { capturingLogger, type CapturedLogs } from '../support/capturingLogger';
import { startDynamoLocal, type DynamoLocal } from '../support/dynamoLocal';
import { POISONED_DESCRIPTION, startMcpUpstream, type McpUpstream } from '../support/mcpUpstream';
import { sendJson, startMockToolServer, type MockToolServer } from '../support/toolServers/mockToolServer';
import { startStatefulGateway, type StatefulGateway } from '../support/startStatefulGateway';

const KEYS = {
  FULL: 'bw_test_mcp_full_key_000000000000001',
  NARROW: 'bw_test_mcp_narrow_key_0000000000001',
  GUARDED: 'bw_test_mcp_guarded_key_000000000001',
  ADMIN: 'bw_test_mcp_admin_key_0000000000001',
  METERED: 'bw_test_mcp_metered_key_000000000001',
} as const;
const SECRETS: Record<string, SecretValue> = {
  'mcp/files': { api_key: 'sk-test-mcp-files-upstream-0001' },
  'tools/crm': { api_key: 'sk-test-mcp-crm-service-0001' },
};
const secretSource: SecretSource = { get: async (name) => SECRETS[name] };
const SECRET_VALUES = Object.values(SECRETS).map((secret) => secret.api_key!);

describe('MCP gateway: the official MCP client against /mcp, a real MCP server and a REST service behind it', () => {
  let dynamo: DynamoLocal;
  let upstream: McpUpstream;
  let crm: MockToolServer;
  let gateway: StatefulGateway;
  let logs: CapturedLogs;
  let crmFailuresLeft = 0;
  const clients: Client[] = [];

  const connect = async (key: string) => {
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
    );
    clients.push(client);
    return client;
  };
  const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

  before(async () => {
    dynamo = await startDynamoLocal();
    upstream = await startMcpUpstream(SECRETS['mcp/files']!.api_key!);
    crm = await startMockToolServer((request, res) => {
      if (request.headers['x-api-key'] !== SECRETS['tools/crm']!.api_key) return sendJson(res, 401, { error: 'bad key' });
      if (crmFailuresLeft > 0) {
        crmFailuresLeft -= 1;
        return sendJson(res, 503, { error: 'try later' });
      }
      if (request.method === 'GET') return sendJson(res, 200, { id: request.url.split('/').pop()?.split('?')[0], name: 'Ada' });
      return sendJson(res, 201, { refunded: true });
    });
    logs = capturingLogger({ logLevel: 'INFO' });
    gateway = await startStatefulGateway({
      dynamo,
      secrets: secretSource,
      logger: logs.logger,
      config: {
        providers: { sim: { type: 'simulated' } },
        routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
        services: {
          crm: {
            base_url: `${crm.url}/api`,
            auth: { type: 'api_key', secret: 'tools/crm' },
            retry: { attempts: 2, base_delay_ms: 1, max_delay_ms: 5 },
            high_stakes: [{ method: 'POST', path: '/v1/refunds' }],
            tools: [
              {
                name: 'get_customer',
                description: 'Looks a customer up by id.',
                input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
                method: 'GET',
                path: '/v1/customers/{id}',
              },
              {
                name: 'refund',
                description: 'Refunds a payment.',
                input_schema: { type: 'object', properties: { payment: { type: 'string' }, amount: { type: 'number' } } },
                method: 'POST',
                path: '/v1/refunds',
              },
            ],
          },
        },
        mcp_servers: {
          files: {
            url: upstream.url,
            auth: { type: 'api_key', secret: 'mcp/files' },
            circuit_breaker: { failure_threshold: 2, cooldown_interval: 60_000 },
            high_stakes_tools: ['delete_file'],
          },
        },
        tenants: {
          full: { route: 'main', keys: [KEYS.FULL], input_screening: 'flag' },
          narrow: { route: 'main', keys: [KEYS.NARROW], allowed_tools: ['files__echo'] },
          guarded: { route: 'main', keys: [KEYS.GUARDED], input_screening: 'block' },
          ops: { route: 'main', keys: [KEYS.ADMIN], role: 'admin' },
          metered: { route: 'main', keys: [KEYS.METERED], daily_tool_calls: 3 },
        },
      },
    });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await gateway?.close();
    await upstream?.close();
    await crm?.close();
    await dynamo?.stop();
  });

  it('lists the REST tools and the upstream server tools in one namespaced list', async () => {
    const client = await connect(KEYS.FULL);
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name).sort();
    assert.deepEqual(names, ['crm__get_customer', 'crm__refund', 'files__add', 'files__delete_file', 'files__echo', 'files__leaky', 'files__poisoned']);
    assert.equal(tools.find((tool) => tool.name === 'files__add')?.description, 'Adds two numbers.');
  });

  it('calls an upstream tool with the credential injected, which the client never sees', async () => {
    const client = await connect(KEYS.FULL);
    const before = upstream.calls.length;
    const result = await client.callTool({ name: 'files__add', arguments: { a: 2, b: 3 } });
    assert.equal(text(result), '5');
    assert.deepEqual(upstream.calls.slice(before), [{ name: 'add', args: { a: 2, b: 3 } }]);
    assert.equal(upstream.refused, 0, 'every upstream request carried the key');
    const seen = JSON.stringify(result) + JSON.stringify(await client.listTools());
    for (const secret of SECRET_VALUES) {
      assert.ok(!seen.includes(secret), 'no credential in what the client sees');
      assert.ok(!logs.text().includes(secret), 'no credential in the logs');
    }
  });

  it('calls a REST tool through the tool proxy: the key injected, and retried after a 503', async () => {
    const client = await connect(KEYS.FULL);
    crmFailuresLeft = 1;
    const before = crm.requests.length;
    const result = await client.callTool({ name: 'crm__get_customer', arguments: { id: '42' } });
    assert.equal((result as CallToolResult).isError, false);
    assert.deepEqual(JSON.parse(text(result)), { id: '42', name: 'Ada' });
    const sent = crm.requests.slice(before);
    assert.equal(sent.length, 2, 'one 503, one retry');
    assert.ok(sent.every((request) => request.method === 'GET' && request.url.startsWith('/api/v1/customers/42')));
  });

  it("filters tools/list by the key's allowed_tools, and refuses a hidden tool called by name without running it", async () => {
    const client = await connect(KEYS.NARROW);
    assert.deepEqual((await client.listTools()).tools.map((tool) => tool.name), ['files__echo']);
    const before = upstream.calls.length;
    await assert.rejects(client.callTool({ name: 'files__add', arguments: { a: 1, b: 1 } }), /not available to this key/);
    await assert.rejects(client.callTool({ name: 'crm__get_customer', arguments: { id: '1' } }), /not available to this key/);
    assert.equal(upstream.calls.length, before, 'the hidden tool never ran');
    assert.equal(text(await client.callTool({ name: 'files__echo', arguments: { text: 'hi' } })), 'echo: hi');
  });

  it('screens upstream tool descriptions and results: flagged for one tenant, left out or withheld for a blocking one', async () => {
    const flagging = await connect(KEYS.FULL);
    const listed = (await flagging.listTools()).tools.find((tool) => tool.name === 'files__poisoned');
    assert.equal(listed?.description, POISONED_DESCRIPTION, 'flag mode lists it, and logs the event');
    assert.ok(logs.records().some((record) => record.event === 'mcp_screening' && record.source === 'tool_description' && record.action === 'flag'));

    const blocking = await connect(KEYS.GUARDED);
    const names = (await blocking.listTools()).tools.map((tool) => tool.name);
    assert.ok(!names.includes('files__poisoned'), 'block mode leaves the poisoned tool out');
    assert.ok(names.includes('files__echo'));
    const withheld = (await blocking.callTool({ name: 'files__leaky', arguments: { url: 'https://example.test' } })) as CallToolResult;
    assert.equal(withheld.isError, true);
    assert.match(text(withheld), /^input_rejected/);
    assert.ok(!text(withheld).includes('system prompt'), 'the injected text is not passed on');
  });

  it('holds a high-stakes REST tool for approval; the approved call runs exactly once', async () => {
    const client = await connect(KEYS.FULL);
    const before = crm.requests.filter((request) => request.method === 'POST').length;
    const held = (await client.callTool({ name: 'crm__refund', arguments: { payment: 'pay_1', amount: 50 } })) as CallToolResult;
    const pending = held.structuredContent as { status: string; approval_id: string };
    assert.equal(pending.status, 'approval_pending');
    assert.match(text(held), /needs a person's approval/);
    assert.equal(crm.requests.filter((request) => request.method === 'POST').length, before, 'nothing ran yet');

    const approve = await fetch(`${gateway.url}/v1/approvals/${pending.approval_id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.ADMIN}` },
    });
    assert.equal(approve.status, 200);
    const record = (await approve.json()) as { status: string; result: { status_code: number } };
    assert.equal(record.status, 'succeeded');
    assert.equal(record.result.status_code, 201);
    const again = await fetch(`${gateway.url}/v1/approvals/${pending.approval_id}`, { headers: { authorization: `Bearer ${KEYS.FULL}` } });
    assert.equal(((await again.json()) as { status: string }).status, 'succeeded');
    const posts = crm.requests.filter((request) => request.method === 'POST').slice(before);
    assert.equal(posts.length, 1, 'the approved call ran once');
    assert.deepEqual(JSON.parse(posts[0]!.body.toString()), { payment: 'pay_1', amount: 50 });
  });

  it("holds an upstream server's high-stakes tool for approval; the approved call runs on the server exactly once", async () => {
    const client = await connect(KEYS.FULL);
    const before = upstream.calls.length;
    const held = (await client.callTool({ name: 'files__delete_file', arguments: { path: '/srv/report.txt' } })) as CallToolResult;
    const pending = held.structuredContent as { status: string; approval_id: string; expires_at: number };
    assert.equal(pending.status, 'approval_pending');
    assert.match(pending.approval_id, /^apv_/);
    assert.match(text(held), /needs a person's approval before it runs \(tool files__delete_file\)/);
    assert.equal(upstream.calls.length, before, 'nothing ran yet');

    const waiting = await fetch(`${gateway.url}/v1/approvals/${pending.approval_id}`, { headers: { authorization: `Bearer ${KEYS.FULL}` } });
    const record = (await waiting.json()) as { status: string; service: string; rule: string };
    assert.deepEqual([record.status, record.service, record.rule], ['pending', 'mcp:files', 'POST /tools/delete_file']);

    const approve = () => fetch(`${gateway.url}/v1/approvals/${pending.approval_id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.ADMIN}` } });
    const approved = await approve();
    assert.equal(approved.status, 200);
    const decided = (await approved.json()) as { status: string; result: { status_code: number; body: string } };
    assert.equal(decided.status, 'succeeded');
    assert.equal(decided.result.status_code, 200);
    assert.deepEqual(JSON.parse(decided.result.body), { content: [{ type: 'text', text: 'deleted /srv/report.txt' }] });

    // Asked for again, approved again: it never runs a second time.
    const again = await fetch(`${gateway.url}/v1/approvals/${pending.approval_id}`, { headers: { authorization: `Bearer ${KEYS.FULL}` } });
    assert.equal(((await again.json()) as { status: string }).status, 'succeeded');
    assert.equal((await approve()).status, 409);
    assert.deepEqual(upstream.calls.slice(before), [{ name: 'delete_file', args: { path: '/srv/report.txt' } }], 'the approved call ran once');
    assert.ok(logs.records().some((record) => record.event === 'mcp_tool_call' && record.approval_id === pending.approval_id && record.outcome === 'ok'));
  });

  it('counts MCP tools/call and /v1/tools calls against one daily_tool_calls quota: 429 tool_quota_exceeded past it', async () => {
    const viaProxy = () => fetch(`${gateway.url}/v1/tools/crm/v1/customers/7`, { headers: { authorization: `Bearer ${KEYS.METERED}` } });
    const first = await viaProxy();
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const client = await connect(KEYS.METERED);
    assert.equal(text(await client.callTool({ name: 'files__echo', arguments: { text: 'one' } })), 'echo: one');
    assert.equal((await client.callTool({ name: 'crm__get_customer', arguments: { id: '8' } })).isError, false);

    const before = upstream.calls.length;
    const refused = (await client.callTool({ name: 'files__echo', arguments: { text: 'four' } })) as CallToolResult;
    assert.equal(refused.isError, true);
    assert.match(text(refused), /^tool_quota_exceeded: tenant "metered" has made its 3 tool calls for today/);
    assert.equal(upstream.calls.length, before, 'the refused call never reached the server');

    const proxied = await viaProxy();
    assert.equal(proxied.status, 429);
    const retryAfter = Number(proxied.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 86_400, `Retry-After until midnight UTC, got ${retryAfter}`);
    const body = (await proxied.json()) as { error: { code: string; type: string; limit: string } };
    assert.deepEqual([body.error.code, body.error.type, body.error.limit], ['tool_quota_exceeded', 'rate_limit_error', 'daily_tool_calls']);
  });

  it('a failing upstream server gives a clear tool error, then its breaker answers without calling it', async () => {
    const client = await connect(KEYS.FULL);
    upstream.down = true;
    try {
      const first = (await client.callTool({ name: 'files__echo', arguments: { text: 'x' } })) as CallToolResult;
      assert.equal(first.isError, true);
      assert.match(text(first), /^service_failed: MCP server "files" could not be reached/);
      await client.callTool({ name: 'files__echo', arguments: { text: 'x' } });
      const open = (await client.callTool({ name: 'files__echo', arguments: { text: 'x' } })) as CallToolResult;
      assert.match(text(open), /^service_unavailable: MCP server "files" is failing; its breaker is open/);
      // Other tools still list: one server down does not hide the REST tools.
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('crm__get_customer'));
      assert.ok(!names.includes('files__echo'));
    } finally {
      upstream.down = false;
    }
  });

  it('writes one audit line per tools/call, without arguments or credentials', () => {
    const audits = logs.records().filter((record) => record.event === 'mcp_tool_call');
    assert.ok(audits.length >= 5);
    for (const audit of audits) {
      assert.equal(typeof audit.tenant, 'string');
      assert.equal(typeof audit.tool, 'string');
      assert.equal(typeof audit.latency_ms, 'number');
      assert.ok(!('args' in audit) && !('arguments' in audit));
    }
    assert.ok(audits.some((audit) => audit.tool === 'files__add' && audit.outcome === 'ok'));
    assert.ok(audits.some((audit) => audit.outcome === 'held' && typeof audit.approval_id === 'string'));
  });

  it('answers GET and DELETE on /mcp with 405 (a stateless server), and an unauthenticated POST with 401', async () => {
    const get = await fetch(`${gateway.url}/mcp`, { headers: { authorization: `Bearer ${KEYS.FULL}`, accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const anonymous = await fetch(`${gateway.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(anonymous.status, 401);
  });
});
