import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isGatewayError, type GatewayError } from '../../../shared/errors';
import { Deadline } from '../../../shared/resilience';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { createServiceAuth } from '../../../shared/tools/auth/createServiceAuth';
import { createConnections, type Connections } from '../../../shared/tools/connections';
import { serviceAuthSchema, serviceSchema, type ServiceConfig } from '../../../shared/tools/serviceConfig';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { startMockOAuthServer, type MockOAuthServer } from '../../support/oauthServer';
import { offsetClock } from '../../support/offsetClock';
import { APP_SECRET, calendarService, connect, dataKey, KEY_SECRET, testSecrets } from './harness';

/**
 * `token_endpoint_auth_method` against the mock provider set to accept one method only: the
 * configured method works for every token request (code exchange, refresh, revocation, client
 * credentials), the other is refused. The client id and secret hold characters that Basic must
 * form-urlencode (RFC 6749 §2.3.1), so a wrong encoding fails too.
 */
describe('connections and client credentials: the token endpoint auth method (DynamoDB Local, mock provider)', () => {
  let dynamo: DynamoLocal;
  /** Accepts HTTP Basic only. */
  let basicOnly: MockOAuthServer;
  /** Accepts form credentials only (the mock's default). */
  let postOnly: MockOAuthServer;
  let connections: Connections;
  let destroy: () => void;
  const clock = offsetClock();
  const deadline = () => Deadline.after(clock, 10_000);
  const secrets = testSecrets({});

  const rejection = async (promise: Promise<unknown>): Promise<GatewayError> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(isGatewayError(error), `expected a GatewayError, got ${String(error)}`);
      return error;
    }
    assert.fail('expected a rejection');
  };
  const clientCredentialsToken = async (server: MockOAuthServer, method?: string) => {
    const auth = serviceAuthSchema.parse({ type: 'oauth_client_credentials', secret: APP_SECRET, token_url: server.tokenUrl, token_endpoint_auth_method: method });
    const outgoing = { method: 'GET', url: new URL(`${server.apiUrl}/me`), headers: {} as Record<string, string> };
    await createServiceAuth('billing', auth, { secrets, clock }).forCall({ service: 'billing', tenant: 'acme', deadline: deadline() }).apply(outgoing);
    return outgoing.headers.authorization;
  };

  before(async () => {
    dynamo = await startDynamoLocal();
    const client = { clientId: 'client:id 01', clientSecret: 'sk-test-s3cr%t+/=:é-0001' };
    basicOnly = await startMockOAuthServer({ ...client, clientAuthMethods: ['client_secret_basic'] });
    postOnly = await startMockOAuthServer(client);
    secrets.set(APP_SECRET, { client_id: client.clientId, client_secret: client.clientSecret });
    secrets.set(KEY_SECRET, { key_id: 'k1', key: dataKey() });
    const services = new Map<string, ServiceConfig>([
      ['calendar', serviceSchema.parse({ ...calendarService(basicOnly), auth: { ...calendarService(basicOnly).auth, token_endpoint_auth_method: 'client_secret_basic' } })],
      // No method: user connections keep client_secret_post, which this provider refuses.
      ['mismatched', serviceSchema.parse(calendarService(basicOnly))],
    ]);
    const clients = createDynamoClients({ endpoint: dynamo.endpoint });
    destroy = () => clients.client.destroy();
    connections = createConnections({ doc: clients.doc, tableName: dynamo.tables.connections, services, secrets, clock, redactor: { register: () => undefined } });
  });
  after(async () => {
    destroy();
    await Promise.all([basicOnly.close(), postOnly.close()]);
    await dynamo.stop();
  });

  it('client_secret_basic on an oauth_user service: code exchange, refresh and revocation all authenticate with Basic only', async () => {
    const ref = { tenant: 'acme', user: 'alice@example.com', service: 'calendar' };
    const seenBefore = basicOnly.clientAuthSeen.length;
    await connect(connections, ref);
    const first = await connections.tokens.accessToken(ref, deadline());
    const renewed = await connections.tokens.refreshAfterUnauthorized(ref, first, deadline());
    assert.notEqual(renewed, first);
    assert.equal(basicOnly.refreshes, 1);
    const removed = await connections.remove(ref);
    assert.equal(removed.revoked, true);
    assert.deepEqual(basicOnly.clientAuthSeen.slice(seenBefore), ['client_secret_basic', 'client_secret_basic', 'client_secret_basic']);
  });

  it('the default (client_secret_post) against a Basic-only provider: the exchange fails as 502 upstream_auth_failed, quoting no secret', async () => {
    const seenBefore = basicOnly.clientAuthSeen.length;
    const error = await rejection(connect(connections, { tenant: 'acme', user: 'bob@example.com', service: 'mismatched' }));
    assert.equal(error.code, 'upstream_auth_failed');
    assert.equal(error.status, 502);
    assert.match(error.message, /invalid_client/);
    assert.ok(!error.message.includes(basicOnly.clientSecret));
    assert.deepEqual(basicOnly.clientAuthSeen.slice(seenBefore), ['client_secret_post']);
  });

  it('oauth_client_credentials: Basic by default, client_secret_post when configured; the provider refuses the method it does not take', async () => {
    assert.match(String(await clientCredentialsToken(basicOnly)), /^Bearer at-/);
    assert.match(String(await clientCredentialsToken(postOnly, 'client_secret_post')), /^Bearer at-/);
    assert.equal(basicOnly.clientAuthSeen.at(-1), 'client_secret_basic');
    assert.equal(postOnly.clientAuthSeen.at(-1), 'client_secret_post');

    const refused = await rejection(clientCredentialsToken(basicOnly, 'client_secret_post'));
    assert.equal(refused.code, 'service_failed');
    assert.ok(!refused.message.includes(basicOnly.clientSecret));
    assert.equal((await rejection(clientCredentialsToken(postOnly))).code, 'service_failed');
    assert.equal(postOnly.clientAuthSeen.at(-1), 'client_secret_basic');
  });
});
