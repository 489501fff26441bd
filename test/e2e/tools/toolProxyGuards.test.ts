import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { toolRoutes } from '../../../shared/api/tools/routes';
import { compileConfig, type BreakwaterConfigInput } from '../../../shared/config';
import { GatewayError, isGatewayError } from '../../../shared/errors';
import { GatewayApp } from '../../../shared/gateway';
import { Deadline, systemClock } from '../../../shared/resilience';
import { ToolProxy } from '../../../shared/tools/ToolProxy';
import type { LoopGuard, RateKey, ToolCall, ToolCaller, ToolPriority, ToolRateGate } from '../../../shared/tools/types';
import { capturingLogger } from '../../support/capturingLogger';
import { lambdaContext, proxyEvent, readText } from '../../support/proxyEvent';
import { fakeUserTokens, recordingApprovals } from '../../support/toolServers/fakeToolState';
import { echo, sendJson, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { startToolGateway, TOOL_KEYS, type ToolGateway } from '../../support/toolServers/startToolGateway';
import { toolSecretSource } from '../../support/toolServers/toolSecrets';

/** An event whose path is exactly `rawPath` (proxyEvent's URL parsing would normalise `..` away). */
const rawEvent = (method: string, rawPath: string, headers: Record<string, string> = {}): APIGatewayProxyEvent => ({
  ...proxyEvent({ method, path: '/v1/tools/apikey/x', headers: { authorization: `Bearer ${TOOL_KEYS.FULL}`, ...headers } }),
  path: rawPath,
});

describe('e2e: tool proxy guards — least privilege, traversal, approvals, loops, user tokens', () => {
  let api: MockToolServer;
  let stack: ToolGateway;

  before(async () => {
    api = await startMockToolServer(echo);
    stack = await startToolGateway({
      secrets: toolSecretSource(),
      services: {
        apikey: {
          base_url: `${api.url}/base`,
          auth: { type: 'api_key', secret: 'tools/apikey' },
          high_stakes: [{ method: 'POST', path: '/v1/refunds', amount_field: 'amount', threshold: 10_000 }],
        },
        bearer: { base_url: api.url, auth: { type: 'bearer', secret: 'tools/bearer' } },
      },
    });
  });

  after(async () => {
    await stack.close();
    await api.close();
  });

  beforeEach(() => api.reset());

  describe('least privilege: 403 tool_not_allowed before any call', () => {
    const cases: Array<{ name: string; key: string; method: string; path: string }> = [
      { name: 'read-only key, POST', key: TOOL_KEYS.READ_ONLY, method: 'POST', path: 'apikey/v1/customers' },
      { name: 'read-only key, DELETE', key: TOOL_KEYS.READ_ONLY, method: 'DELETE', path: 'apikey/v1/customers/cus_1' },
      { name: 'read-only key, PATCH', key: TOOL_KEYS.READ_ONLY, method: 'PATCH', path: 'apikey/v1/customers/cus_1' },
      { name: 'service outside allowed_services', key: TOOL_KEYS.OTHER, method: 'GET', path: 'bearer/me' },
      { name: 'path outside service_permissions', key: TOOL_KEYS.OTHER, method: 'GET', path: 'apikey/v1/refunds' },
      { name: 'deeper path than the pattern', key: TOOL_KEYS.OTHER, method: 'GET', path: 'apikey/v1/customers/cus_1/cards' },
      { name: 'method outside service_permissions', key: TOOL_KEYS.OTHER, method: 'POST', path: 'apikey/v1/customers/cus_1' },
    ];
    for (const { name, key, method, path } of cases) {
      it(`refuses: ${name}`, async () => {
        const response = await stack.call(path, { method, key, body: method === 'GET' ? undefined : '{}' });
        const body = (await response.json()) as { error: { code: string; type: string } };
        assert.equal(response.status, 403);
        assert.equal(body.error.code, 'tool_not_allowed');
        assert.equal(body.error.type, 'permission_error');
        assert.equal(api.requests.length, 0, 'the API was called');
      });
    }

    it('lets the same keys through where their policy allows', async () => {
      assert.equal((await stack.call('apikey/v1/customers', { key: TOOL_KEYS.READ_ONLY })).status, 200);
      assert.equal((await stack.call('apikey/v1/customers/cus_1', { method: 'HEAD', key: TOOL_KEYS.READ_ONLY })).status, 200);
      assert.equal((await stack.call('apikey/v1/customers/cus_1', { key: TOOL_KEYS.OTHER })).status, 200);
      assert.equal(api.requests.length, 3);
    });

    it('unknown service: 404 unknown_service; no key: 401', async () => {
      const unknown = await stack.call('nosuch/x');
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unknown_service');
      const anonymous = await fetch(`${stack.gateway.url}/v1/tools/apikey/v1/customers`);
      assert.equal(anonymous.status, 401);
      assert.equal(api.requests.length, 0);
    });

    it('bad client input is a 4xx with a code: priority, user, Idempotency-Key', async () => {
      const bad: Array<Record<string, string>> = [{ 'x-breakwater-priority': 'urgent' }, { 'x-breakwater-user': 'a b' }, { 'idempotency-key': '\u00e9t\u00e9' }];
      for (const headers of bad) {
        const response = await stack.call('apikey/v1/customers', { headers });
        assert.equal(response.status, 400, JSON.stringify(headers));
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_request');
      }
      assert.equal(api.requests.length, 0);
    });
  });

  describe('path traversal: 400 tool_path_rejected, nothing called', () => {
    let app: GatewayApp;
    before(() => {
      app = new GatewayApp({
        config: compileConfig({
          providers: { sim: { type: 'simulated' } },
          routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
          services: { apikey: { base_url: `${api.url}/base/v1`, auth: { type: 'api_key', secret: 'tools/apikey' } } },
          tenants: { tools: { route: 'main', keys: [TOOL_KEYS.FULL] } },
        } as BreakwaterConfigInput),
        secrets: toolSecretSource(),
        clock: systemClock,
        random: () => 0.5,
        logger: capturingLogger().logger,
      });
    });

    const attacks = [
      '/v1/tools/apikey/../admin',
      '/v1/tools/apikey/a/../../admin',
      '/v1/tools/apikey/%2e%2e/admin',
      '/v1/tools/apikey/%2E%2E/admin',
      '/v1/tools/apikey/.%2e/admin',
      '/v1/tools/apikey/%2e./admin',
      '/v1/tools/apikey/%252e%252e/admin',
      '/v1/tools/apikey/%25252e%25252e/admin',
      '/v1/tools/apikey/a%2f..%2fadmin',
      '/v1/tools/apikey/a%252f..%252fadmin',
      '/v1/tools/apikey/a\\..\\admin',
      '/v1/tools/apikey/a%5c..%5cadmin',
      '/v1/tools/apikey//evil.example/x',
      '/v1/tools/apikey/a//b',
      '/v1/tools/apikey/..;/admin',
      '/v1/tools/apikey/%c0%ae%c0%ae/admin',
      '/v1/tools/apikey/%EF%BC%8E%EF%BC%8E/admin',
      '/v1/tools/apikey/./admin',
      '/v1/tools/apikey/a/%00',
    ];
    for (const path of attacks) {
      it(`refuses ${path}`, async () => {
        await assert.rejects(
          app.handle(rawEvent('GET', path), lambdaContext()),
          (error) => isGatewayError(error) && error.code === 'tool_path_rejected' && error.status === 400,
        );
        assert.equal(api.requests.length, 0);
      });
    }

    it('a clean path through the same app reaches the API under the base path', async () => {
      const response = await app.handle(rawEvent('GET', '/v1/tools/apikey/customers/cus_1/'), lambdaContext());
      assert.equal(response.statusCode, 200);
      assert.equal(JSON.parse(await readText(response.body as never)).url, '/base/v1/customers/cus_1/');
    });
  });

  describe('high stakes, loops, pacing, user tokens (the proxy with fake parts)', () => {
    const logs = capturingLogger({ logLevel: 'INFO' });
    const principal = { tenant: { name: 'tools' }, keyPrefix: 'bw_test_tool', keyId: 'k1', policy: {} } as unknown as ToolCaller['principal'];
    const caller: ToolCaller = { tenant: 'tools', keyPrefix: 'bw_test_tool', keyId: 'k1', principal };
    const call = (overrides: Partial<ToolCall> = {}): ToolCall => ({
      service: 'pay',
      method: 'POST',
      path: '/v1/refunds',
      query: '',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"amount":50000}'),
      priority: 'interactive',
      ...overrides,
    });
    const deadline = () => Deadline.after(systemClock, 10_000);
    const services = () =>
      compileConfig({
        providers: { sim: { type: 'simulated' } },
        routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
        services: {
          pay: { base_url: api.url, high_stakes: [{ method: 'POST', path: '/v1/refunds', amount_field: 'amount', threshold: 10_000 }], loop_detection: { max_repeats: 2, window_ms: 60_000 } },
          cal: { base_url: api.url, auth: { type: 'oauth_user', secret: 'tools/cc', authorize_url: 'https://auth.example/authorize', token_url: 'https://auth.example/token', scopes: ['calendar.read'] } },
        },
        tenants: { tools: { route: 'main', keys: [TOOL_KEYS.FULL] } },
      } as BreakwaterConfigInput).services;

    it('holds a high-stakes call: 202 with the approval id and Location, and the API is never called', async () => {
      const approvals = recordingApprovals(() => systemClock.now());
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger, approvals });
      const routes = toolRoutes({
        requestDeadline: () => Deadline.after(systemClock, 30_000),
        tools: proxy,
        authenticate: async () => principal,
      });
      const handler = routes['/v1/tools/{service}/{path+}']!.ANY!;
      const event = proxyEvent({ method: 'POST', path: '/v1/tools/pay/v1/refunds', headers: { 'content-type': 'application/json' }, body: { amount: 50_000 } });
      const response = await handler({ event, context: lambdaContext(), requestId: 'r1', params: { service: 'pay', path: 'v1/refunds' } });
      assert.equal(response.statusCode, 202);
      assert.equal(response.headers.location, '/v1/approvals/apr_test_1');
      const body = JSON.parse(response.body as string) as Record<string, unknown>;
      assert.equal(body.object, 'breakwater.approval');
      assert.equal(body.id, 'apr_test_1');
      assert.equal(body.status, 'pending');
      assert.equal(body.code, 'approval_required');
      assert.equal(typeof body.expires_at, 'number');
      assert.equal(approvals.held.length, 1);
      assert.deepEqual(approvals.held[0]!.rule, { method: 'POST', path: '/v1/refunds' });
      assert.equal(api.requests.length, 0);
      const audit = logs.records().filter((record) => record.event === 'tool_call').at(-1)!;
      assert.equal(audit.approval_id, 'apr_test_1');
      assert.equal(audit.status, 202);
    });

    it('a refund under the threshold runs at once; without an approvals part a held call never runs (503)', async () => {
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger });
      const small = await proxy.serve(call({ body: Buffer.from('{"amount":500}') }), caller, deadline());
      assert.equal(small.kind, 'response');
      assert.equal(api.requests.length, 1);
      await assert.rejects(proxy.serve(call(), caller, deadline()), (error) => isGatewayError(error) && error.code === 'tool_state_unavailable');
      assert.equal(api.requests.length, 1);
    });

    it('execute runs an approved call exactly as given, with the approval id on its audit line', async () => {
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger });
      const response = await proxy.execute(call(), caller, deadline(), { approvalId: 'apr_9' });
      assert.equal(response.statusCode, 200);
      await readText(response.body);
      assert.equal(api.requests.length, 1);
      assert.equal(api.requests[0]!.body.toString(), '{"amount":50000}');
      assert.equal(logs.records().filter((record) => record.event === 'tool_call').at(-1)!.approval_id, 'apr_9');
    });

    it('asks the loop guard with the same fingerprint for the same call (keys in any order)', async () => {
      const fingerprints: string[] = [];
      const loopGuard: LoopGuard = {
        check: async (input) => {
          fingerprints.push(input.fingerprint);
          assert.equal(input.maxRepeats, 2);
          if (fingerprints.filter((seen) => seen === input.fingerprint).length > input.maxRepeats) {
            throw new GatewayError('loop_detected', 'the same call repeats');
          }
        },
      };
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger, loopGuard });
      const get = (body: string) => call({ method: 'PUT', path: '/v1/items/1', body: Buffer.from(body) });
      for (const body of ['{"a":1,"b":2}', '{"b":2,"a":1}']) {
        const outcome = await proxy.serve(get(body), caller, deadline());
        if (outcome.kind === 'response') await readText(outcome.response.body);
      }
      await assert.rejects(proxy.serve(get('{ "a": 1, "b": 2 }'), caller, deadline()), (error) => isGatewayError(error) && error.code === 'loop_detected');
      assert.equal(new Set(fingerprints).size, 1);
      assert.equal(api.requests.length, 2);
    });

    it('waits on the rate gate with the call\'s priority, and shows it every answer\'s headers', async () => {
      const acquired: Array<{ key: RateKey; priority: ToolPriority }> = [];
      const observed: number[] = [];
      const rateGate: ToolRateGate = {
        acquire: async (key, priority) => void acquired.push({ key, priority }),
        observe: async (_key, status) => void observed.push(status),
      };
      api.handler = (_request, res) => sendJson(res, 200, { ok: true }, { 'x-ratelimit-remaining': '9' });
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger, rateGate });
      const outcome = await proxy.serve(call({ method: 'GET', body: undefined, path: '/v1/things', priority: 'background' }), caller, deadline());
      assert.equal(outcome.kind, 'response');
      assert.equal(acquired.length, 1);
      assert.equal(acquired[0]!.priority, 'background');
      assert.equal(acquired[0]!.key.service, 'pay');
      assert.match(acquired[0]!.key.credentialId, /^(none|[0-9a-f]{16})$/);
      assert.deepEqual(observed, [200]);
    });

    it('oauth_user: injects the user\'s token; on a 401 refreshes once and retries once', async () => {
      const userTokens = fakeUserTokens({ token: 'sk-test-user-token-old', refreshed: 'sk-test-user-token-new', scopes: ['calendar.read'] });
      api.handler = (request, res) => sendJson(res, request.headers.authorization === 'Bearer sk-test-user-token-new' ? 200 : 401, { ok: true });
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger, userTokens });
      const response = await proxy.execute(call({ service: 'cal', method: 'GET', path: '/events', body: undefined, endUser: 'user-7' }), caller, deadline());
      assert.equal(response.statusCode, 200);
      assert.deepEqual(userTokens.refreshes, ['sk-test-user-token-old']);
      assert.deepEqual(userTokens.asked[0], { tenant: 'tools', user: 'user-7', service: 'cal' });
      assert.equal(api.requests.length, 2);

      // A token the API still refuses after the one refresh: its 401 goes back, no third try.
      api.reset();
      api.handler = (_request, res) => sendJson(res, 401, { error: 'nope' });
      const refused = await proxy.execute(call({ service: 'cal', method: 'GET', path: '/events', body: undefined, endUser: 'user-7' }), caller, deadline());
      assert.equal(refused.statusCode, 401);
      assert.equal(api.requests.length, 2);
    });

    it('oauth_user: no end user is a 400; a connection without the configured scopes is 403 scope_not_granted', async () => {
      const userTokens = fakeUserTokens({ token: 't', refreshed: 't', scopes: ['profile'] });
      const proxy = new ToolProxy({ services: services(), secrets: toolSecretSource(), clock: systemClock, random: () => 0, logger: logs.logger, userTokens });
      const get = (endUser?: string) => call({ service: 'cal', method: 'GET', path: '/events', body: undefined, endUser });
      await assert.rejects(proxy.execute(get(), caller, deadline()), (error) => isGatewayError(error) && error.status === 400);
      await assert.rejects(proxy.execute(get('user-7'), caller, deadline()), (error) => isGatewayError(error) && error.code === 'scope_not_granted');
      assert.equal(api.requests.length, 0);
    });
  });
});
