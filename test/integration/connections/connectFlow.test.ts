import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { createConnections } from '../../../shared/tools/connections';
import { fastRetry, openaiProvider, testSettings } from '../../support/e2eHarness';
import { capturingLogger } from '../../support/capturingLogger';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { startMockOAuthServer, type MockOAuthServer } from '../../support/oauthServer';
import { offsetClock } from '../../support/offsetClock';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';
import { calendarService, consent, SCOPES, secretsFor } from './harness';

const ACME_KEY = 'bw_test_connections_acme_key_000001';
const OTHER_KEY = 'bw_test_connections_other_key_00001';
const WEATHER_ONLY_KEY = 'bw_test_connections_narrow_key_0001';
const TEN_MINUTES_MS = 600_000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, any>;
}

/**
 * The connect flow through the real gateway on DynamoDB Local, the mock provider playing the
 * user's consent: `POST /v1/connections/{service}`, the provider's redirect to the callback,
 * listing and deleting, and the user's token used by `/v1/tools/...`.
 */
describe('connections: the connect flow through the gateway (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let oauth: MockOAuthServer;
  /** A provider that grants less than the service asks for. */
  let stingyOauth: MockOAuthServer;
  let gateway: StatefulGateway;
  const clock = offsetClock();
  const logs = capturingLogger({ logLevel: 'DEBUG' });
  /** Every answer the gateway gave, to look for tokens in. */
  const answers: string[] = [];

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider('http://127.0.0.1:1/v1') },
    routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: 'gpt-test' } }] } },
    services: { calendar: calendarService(oauth), stingy: calendarService(stingyOauth), weather: { base_url: 'http://127.0.0.1:1' } },
    tenants: {
      acme: { route: 'main', keys: [ACME_KEY] },
      other: { route: 'main', keys: [OTHER_KEY] },
      narrow: { route: 'main', keys: [WEATHER_ONLY_KEY], allowed_services: ['weather'] },
    },
    settings: testSettings(),
  });

  const call = async (path: string, init: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const url = path.startsWith('http') ? path : `${gateway.url}${path}`;
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      redirect: 'manual',
    });
    const text = await response.text();
    answers.push(text);
    let body: Record<string, any> = {};
    try {
      body = JSON.parse(text) as Record<string, any>;
    } catch {
      // An HTML page.
    }
    return { status: response.status, headers: response.headers, text, body };
  };
  /** Start a connect and consent at the provider: the callback URL the browser is sent to. */
  const startAndConsent = async (user: string): Promise<URL> => {
    const started = await call('/v1/connections/calendar', { method: 'POST', key: ACME_KEY, body: { user } });
    assert.equal(started.status, 200, started.text);
    return consent(started.body.authorization_url);
  };
  const connectUser = async (user: string) => {
    const done = await call((await startAndConsent(user)).toString());
    assert.equal(done.status, 200, done.text);
  };
  const assertError = (answer: Answer, status: number, code: string, param?: string) => {
    assert.equal(answer.status, status, answer.text);
    assert.equal(answer.body.error?.code, code, answer.text);
    if (param) assert.equal(answer.body.error?.param, param, answer.text);
  };

  before(async () => {
    dynamo = await startDynamoLocal();
    oauth = await startMockOAuthServer();
    stingyOauth = await startMockOAuthServer({ clientId: 'mock-client-id', clientSecret: 'sk-test-oauth-client-secret-0001', grantedScope: 'calendar.read' });
    const secrets = secretsFor(oauth);
    gateway = await startStatefulGateway({
      dynamo,
      config: config(),
      clock,
      secrets,
      logger: logs.logger,
      overrideServices: (built, context) => ({
        ...built,
        connections: createConnections({
          doc: context.clients.doc,
          tableName: context.tables.connections,
          services: context.config.services,
          secrets,
          clock,
          logger: context.logger,
          publicBaseUrl: context.config.settings.public_base_url,
        }),
      }),
    });
  });
  after(async () => {
    await gateway?.close();
    await oauth?.close();
    await stingyOauth?.close();
    await dynamo?.stop();
  });

  it('connects a user end to end: an authorization URL with PKCE and a signed state, consent, callback, listing', async () => {
    const started = await call('/v1/connections/calendar', { method: 'POST', key: ACME_KEY, body: { user: 'alice' } });
    assert.equal(started.status, 200, started.text);
    assert.equal(started.body.object, 'breakwater.connection_request');
    const url = new URL(started.body.authorization_url);
    assert.equal(`${url.origin}${url.pathname}`, oauth.authorizeUrl);
    const q = url.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), oauth.clientId);
    assert.equal(q.get('redirect_uri'), `${gateway.url}/v1/connections/callback`);
    assert.equal(q.get('scope'), SCOPES.join(' '));
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.get('access_type'), 'offline');
    assert.ok(q.get('state'));
    const expectedExpiry = Math.floor((clock.now() + TEN_MINUTES_MS) / 1000);
    assert.ok(Math.abs(started.body.state_expires_at - expectedExpiry) <= 2);

    const back = await consent(started.body.authorization_url);
    assert.equal(`${back.origin}${back.pathname}`, `${gateway.url}/v1/connections/callback`);
    const done = await call(back.toString(), { headers: { accept: 'application/json' } });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(
      { object: done.body.object, service: done.body.service, user: done.body.user, status: done.body.status, scopes: done.body.scopes },
      { object: 'breakwater.connection', service: 'calendar', user: 'alice', status: 'active', scopes: SCOPES },
    );

    const listed = await call('/v1/connections?user=alice', { key: ACME_KEY });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.map((c: { service: string; status: string }) => [c.service, c.status]), [['calendar', 'active']]);
    // Another tenant's key sees nothing of acme's users.
    assert.deepEqual((await call('/v1/connections?user=alice', { key: OTHER_KEY })).body.data, []);
    // By header too.
    assert.equal((await call('/v1/connections', { key: ACME_KEY, headers: { 'x-breakwater-user': 'alice' } })).body.data.length, 1);
  });

  it('answers a browser with a small page', async () => {
    const back = await startAndConsent('page-user');
    const page = await call(back.toString(), { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, /Connected to calendar/);
  });

  it('refuses a tampered, forged, missing, replayed or expired state with a 400, never a 5xx', async () => {
    const back = await startAndConsent('bob');
    const state = back.searchParams.get('state')!;
    const [payload, signature] = state.split('.') as [string, string];

    const tampered = new URL(back);
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    tampered.searchParams.set('state', `${Buffer.from(JSON.stringify({ ...claims, t: 'other' })).toString('base64url')}.${signature}`);
    assertError(await call(tampered.toString()), 400, 'invalid_request', 'state');
    for (const forged of ['abc', 'a.b', `${payload}.`, 'x'.repeat(5000)]) {
      const url = new URL(back);
      url.searchParams.set('state', forged);
      assertError(await call(url.toString()), 400, 'invalid_request', 'state');
    }
    const missing = new URL(back);
    missing.searchParams.delete('state');
    assertError(await call(missing.toString()), 400, 'invalid_request', 'state');

    assert.equal((await call(back.toString())).status, 200);
    const replayed = await call(back.toString());
    assertError(replayed, 400, 'invalid_request', 'state');
    assert.equal(replayed.body.error.reason, 'used');

    const late = await startAndConsent('carl');
    clock.advance(TEN_MINUTES_MS + 1_000);
    const expired = await call(late.toString());
    assertError(expired, 400, 'invalid_request', 'state');
    assert.equal(expired.body.error.reason, 'expired');
    assert.deepEqual((await call('/v1/connections?user=carl', { key: ACME_KEY })).body.data, []);
  });

  it('a consent the user refused, or a code the provider refuses, is a 400 and stores nothing', async () => {
    oauth.denyNextConsent();
    const denied = await call((await startAndConsent('dora')).toString());
    assertError(denied, 400, 'invalid_request', 'error');
    assert.equal(denied.body.error.provider_error, 'access_denied');

    const back = await startAndConsent('dora');
    back.searchParams.set('code', 'not-a-code-the-provider-issued');
    const refused = await call(back.toString());
    assertError(refused, 400, 'invalid_request', 'code');
    assert.deepEqual((await call('/v1/connections?user=dora', { key: ACME_KEY })).body.data, []);
  });

  it('deletes a connection and revokes its refresh token at the provider', async () => {
    await connectUser('erin');
    const removed = await call('/v1/connections/calendar?user=erin', { method: 'DELETE', key: ACME_KEY });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.body, { object: 'breakwater.connection.deleted', service: 'calendar', user: 'erin', deleted: true, revoked: true });
    const revokedToken = oauth.revoked.at(-1)!;
    assert.ok(revokedToken.startsWith('rt-') && oauth.issued.includes(revokedToken), 'the refresh token was revoked');
    assert.deepEqual((await call('/v1/connections?user=erin', { key: ACME_KEY })).body.data, []);
    assertError(await call('/v1/connections/calendar?user=erin', { method: 'DELETE', key: ACME_KEY }), 404, 'connection_not_found');
    // Another tenant cannot delete acme's connection.
    await connectUser('frank');
    assertError(await call('/v1/connections/calendar?user=frank', { method: 'DELETE', key: OTHER_KEY }), 404, 'connection_not_found');
    assert.equal((await call('/v1/connections?user=frank', { key: ACME_KEY })).body.data.length, 1);
  });

  it('answers bad requests with a 4xx and a code', async () => {
    assertError(await call('/v1/connections/calendar', { method: 'POST', body: { user: 'x' } }), 401, 'invalid_api_key');
    assertError(await call('/v1/connections/nope', { method: 'POST', key: ACME_KEY, body: { user: 'x' } }), 404, 'unknown_service');
    assertError(await call('/v1/connections/weather', { method: 'POST', key: ACME_KEY, body: { user: 'x' } }), 400, 'invalid_request', 'service');
    assertError(await call('/v1/connections/calendar', { method: 'POST', key: WEATHER_ONLY_KEY, body: { user: 'x' } }), 403, 'tool_not_allowed');
    assertError(await call('/v1/connections/calendar', { method: 'POST', key: ACME_KEY, body: {} }), 400, 'invalid_request', 'user');
    assertError(await call('/v1/connections/calendar', { method: 'POST', key: ACME_KEY, body: [1] }), 400, 'invalid_request', 'body');
    assertError(await call('/v1/connections/calendar', { method: 'POST', key: ACME_KEY, body: { user: 'a\u0000b' } }), 400, 'invalid_request', 'user');
    assertError(await call('/v1/connections/calendar', { method: 'POST', key: ACME_KEY, body: { user: 'u'.repeat(300) } }), 400, 'invalid_request', 'user');
    assertError(await call('/v1/connections', { key: ACME_KEY }), 400, 'invalid_request', 'user');
    assertError(await call('/v1/connections/callback', { method: 'POST', key: ACME_KEY }), 405, 'method_not_allowed');
  });

  it("calls the service through /v1/tools with the user's token: a 401 refreshes once and retries once", async () => {
    await connectUser('gina');
    const asGina = { key: ACME_KEY, headers: { 'x-breakwater-user': 'gina' } };
    const first = await call('/v1/tools/calendar/events', asGina);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.path, '/api/events');

    oauth.expireAccessTokens();
    const refreshesBefore = oauth.refreshes;
    const apiCallsBefore = oauth.apiStatuses.length;
    const again = await call('/v1/tools/calendar/events', asGina);
    assert.equal(again.status, 200, again.text);
    assert.equal(oauth.refreshes - refreshesBefore, 1);
    assert.deepEqual(oauth.apiStatuses.slice(apiCallsBefore), [401, 200]);

    oauth.expireAccessTokens();
    oauth.revokeRefreshTokens();
    const gone = await call('/v1/tools/calendar/events', asGina);
    assertError(gone, 401, 'reauthorization_required');
    assert.equal(gone.body.error.connect_url, '/v1/connections/calendar');

    assertError(await call('/v1/tools/calendar/events', { key: ACME_KEY, headers: { 'x-breakwater-user': 'nobody' } }), 401, 'reauthorization_required');
  });

  it('refuses a call when the user granted fewer scopes than the service needs (403 scope_not_granted)', async () => {
    const started = await call('/v1/connections/stingy', { method: 'POST', key: ACME_KEY, body: { user: 'hana' } });
    const done = await call((await consent(started.body.authorization_url)).toString());
    assert.deepEqual(done.body.scopes, ['calendar.read']);
    const refused = await call('/v1/tools/stingy/events', { key: ACME_KEY, headers: { 'x-breakwater-user': 'hana' } });
    assertError(refused, 403, 'scope_not_granted');
    assert.deepEqual(stingyOauth.apiStatuses, [], 'the API was never called');
  });

  it('never puts a token in an answer or a log line', () => {
    const everything = `${answers.join('\n')}\n${logs.text()}`;
    assert.ok(logs.records().some((record) => record.event === 'connection_refreshed'), 'the refreshes were logged');
    assert.ok(oauth.issued.length > 0);
    for (const token of [...oauth.issued, ...stingyOauth.issued]) assert.ok(!everything.includes(token), 'a token reached an answer');
  });
});
