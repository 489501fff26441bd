import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createConnections } from '../../shared/tools/connections';
import { calendarService, consent, secretsFor } from '../integration/connections/harness';
import { capturingLogger } from '../support/capturingLogger';
import { startDynamoLocal, type DynamoLocal } from '../support/dynamoLocal';
import { bearerCheckedAt, startMcpUpstream, type McpUpstream } from '../support/mcpUpstream';
import { startMockOAuthServer, type MockOAuthServer } from '../support/oauthServer';
import { startStatefulGateway, type StatefulGateway } from '../support/startStatefulGateway';

const KEY = 'bw_test_mcp_oauth_key_00000000000001';

/**
 * An upstream MCP server that wants the end user's own OAuth token: Breakwater takes it from the
 * user's connection (`credentials_from` an `oauth_user` service), refreshes it once when the
 * server refuses it, and says where to connect when there is no connection. The agent only ever
 * holds its virtual key.
 */
describe('MCP gateway: an upstream MCP server with OAuth on behalf of the end user', () => {
  let dynamo: DynamoLocal;
  let oauth: MockOAuthServer;
  let upstream: McpUpstream;
  let gateway: StatefulGateway;
  const logs = capturingLogger({ logLevel: 'INFO' });
  const clients: Client[] = [];
  /** Everything the agent was given, to look for tokens in. */
  const seen: string[] = [];

  const connectAgent = async (user?: string) => {
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    const headers: Record<string, string> = { authorization: `Bearer ${KEY}`, ...(user ? { 'x-breakwater-user': user } : {}) };
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers } }));
    clients.push(client);
    return client;
  };
  const callTool = async (client: Client, name: string, args: Record<string, unknown>) => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    seen.push(JSON.stringify(result));
    return result;
  };
  const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

  /** The user's connect flow: start it with the virtual key, consent at the provider, land on the callback. */
  const connectUser = async (user: string) => {
    const started = await fetch(`${gateway.url}/v1/connections/calendar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    const request = (await started.json()) as { authorization_url: string };
    assert.equal(started.status, 200, JSON.stringify(request));
    const callback = await fetch(await consent(request.authorization_url), { headers: { accept: 'application/json' } });
    const connection = await callback.text();
    seen.push(connection);
    assert.equal(callback.status, 200, connection);
  };

  before(async () => {
    dynamo = await startDynamoLocal();
    oauth = await startMockOAuthServer();
    upstream = await startMcpUpstream(bearerCheckedAt(oauth.apiUrl));
    const secrets = secretsFor(oauth);
    gateway = await startStatefulGateway({
      dynamo,
      secrets,
      logger: logs.logger,
      config: {
        providers: { sim: { type: 'simulated' } },
        routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
        services: { calendar: calendarService(oauth) },
        mcp_servers: { cal: { url: upstream.url, credentials_from: 'calendar' } },
        tenants: { acme: { route: 'main', keys: [KEY] } },
      },
      overrideServices: (built, context) => ({
        ...built,
        connections: createConnections({
          doc: context.clients.doc,
          tableName: context.tables.connections,
          services: context.config.services,
          secrets,
          clock: context.clock,
          logger: context.logger,
        }),
      }),
    });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await gateway?.close();
    await upstream?.close();
    await oauth?.close();
    await dynamo?.stop();
  });

  it("lists and calls the server's tools with the connected user's token", async () => {
    await connectUser('alice');
    const agent = await connectAgent('alice');
    const names = (await agent.listTools()).tools.map((tool) => tool.name).sort();
    assert.deepEqual(names, ['cal__add', 'cal__delete_file', 'cal__echo', 'cal__leaky', 'cal__poisoned']);
    const before = upstream.calls.length;
    const result = await callTool(agent, 'cal__add', { a: 20, b: 22 });
    assert.equal(result.isError, undefined);
    assert.equal(text(result), '42');
    assert.deepEqual(upstream.calls.slice(before), [{ name: 'add', args: { a: 20, b: 22 } }]);
    assert.equal(upstream.refused, 0, 'every request to the server carried a live token');
  });

  it('refreshes an expired token once and retries, without the agent noticing', async () => {
    const agent = await connectAgent('alice');
    oauth.expireAccessTokens();
    const refreshesBefore = oauth.refreshes;
    const refusedBefore = upstream.refused;
    const result = await callTool(agent, 'cal__echo', { text: 'still me' });
    assert.equal(text(result), 'echo: still me');
    assert.equal(oauth.refreshes - refreshesBefore, 1, 'one refresh');
    assert.equal(upstream.refused - refusedBefore, 1, 'the expired token was refused once, then the fresh one accepted');
    // The fresh token is cached: the next call needs no refresh.
    assert.equal(text(await callTool(agent, 'cal__echo', { text: 'again' })), 'echo: again');
    assert.equal(oauth.refreshes - refreshesBefore, 1);
  });

  it('a user without a connection gets a tool error naming the connect URL; the server is never called', async () => {
    const agent = await connectAgent('nobody');
    assert.deepEqual((await agent.listTools()).tools, [], "the server's tools need the user's connection to be listed");
    const before = upstream.calls.length;
    const refused = await callTool(agent, 'cal__echo', { text: 'hi' });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /^reauthorization_required: .*POST \/v1\/connections\/calendar/);
    assert.equal(upstream.calls.length, before);
  });

  it('a connection whose refresh token was revoked asks for a new connection too', async () => {
    const agent = await connectAgent('alice');
    oauth.expireAccessTokens();
    oauth.revokeRefreshTokens();
    const refused = await callTool(agent, 'cal__echo', { text: 'hi' });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /^reauthorization_required: .*POST \/v1\/connections\/calendar/);
    // Connecting again brings the tools back.
    await connectUser('alice');
    assert.equal(text(await callTool(agent, 'cal__echo', { text: 'back' })), 'echo: back');
  });

  it('a call that names no user is a clear tool error', async () => {
    const agent = await connectAgent();
    const refused = await callTool(agent, 'cal__echo', { text: 'hi' });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /^invalid_request: .*x-breakwater-user/);
  });

  it('never shows a token to the agent or in a log line, and audits every call with its end user', () => {
    assert.ok(oauth.issued.length >= 4);
    const everything = `${seen.join('\n')}\n${logs.text()}`;
    for (const token of oauth.issued) assert.ok(!everything.includes(token), 'a token reached the agent or the logs');
    const audits = logs.records().filter((record) => record.event === 'mcp_tool_call');
    assert.ok(audits.some((audit) => audit.end_user === 'alice' && audit.tool === 'cal__add' && audit.outcome === 'ok'));
    assert.ok(audits.some((audit) => audit.end_user === 'nobody' && audit.error_code === 'reauthorization_required'));
    assert.ok(audits.every((audit) => audit.tenant === 'acme' && typeof audit.latency_ms === 'number'));
  });
});
