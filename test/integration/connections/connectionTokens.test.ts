import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isGatewayError, type GatewayError } from '../../../shared/errors';
import { Deadline } from '../../../shared/resilience';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { ConnectionRecords, connectionKey, createConnections, type Connections } from '../../../shared/tools/connections';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { startMockOAuthServer, type MockOAuthServer } from '../../support/oauthServer';
import { offsetClock } from '../../support/offsetClock';
import { connect, dataKey, KEY_SECRET, SCOPES, secretsFor, servicesMap, testSecrets } from './harness';

const TWO_HOURS_MS = 2 * 3600 * 1000;

/**
 * The token side of user connections against DynamoDB Local and a mock OAuth provider: tokens
 * sealed at rest, key rotation, one refresh across the fleet, reauthorization. Each "container"
 * is its own `createConnections` with its own DynamoDB client and cache, sharing the table.
 */
describe('connections: user tokens (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let oauth: MockOAuthServer;
  let secrets: ReturnType<typeof testSecrets>;
  const clock = offsetClock();
  const deadline = () => Deadline.after(clock, 10_000);
  const containers: Array<{ destroy(): void }> = [];
  let userCount = 0;
  const newRef = () => ({ tenant: 'acme', user: `user-${++userCount}@example.com`, service: 'calendar' });

  /** One container: its own client, cache and lease owner name. */
  const container = (options: { owner?: string; leaseMs?: number } = {}): Connections => {
    const clients = createDynamoClients({ endpoint: dynamo.endpoint });
    containers.push(clients.client);
    return createConnections({
      doc: clients.doc,
      tableName: dynamo.tables.connections,
      services: servicesMap(oauth),
      secrets,
      clock,
      redactor: { register: () => undefined },
      tokens: options,
    });
  };
  const rawItem = async (ref: { tenant: string; user: string; service: string }) =>
    (await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.connections, Key: { pk: connectionKey(ref) }, ConsistentRead: true }))).Item!;
  const rejection = async (promise: Promise<unknown>): Promise<GatewayError> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(isGatewayError(error), `expected a GatewayError, got ${String(error)}`);
      return error;
    }
    assert.fail('expected a rejection');
  };

  before(async () => {
    dynamo = await startDynamoLocal();
    oauth = await startMockOAuthServer({ refreshDelayMs: 150 });
    secrets = secretsFor(oauth);
  });
  after(async () => {
    for (const client of containers) client.destroy();
    await oauth.close();
    await dynamo.stop();
  });

  it('stores the tokens sealed: the raw item holds no token, and a sealed blob does not open on another user', async () => {
    const connections = container();
    const alice = newRef();
    const bob = newRef();
    await connect(connections, alice);
    await connect(connections, bob);

    const item = await rawItem(alice);
    const raw = JSON.stringify(item);
    assert.ok(oauth.issued.length >= 4);
    for (const token of oauth.issued) assert.ok(!raw.includes(token), 'an issued token is in the item in plain text');
    assert.equal(item.key_id, 'k1');
    assert.deepEqual(item.scopes, SCOPES);
    assert.equal(await connections.tokens.accessToken(alice, deadline()), oauth.issued.at(-4));

    // Alice's sealed tokens copied onto Bob's item: bound to Alice's key, they do not open there.
    await dynamo.doc.send(
      new UpdateCommand({
        TableName: dynamo.tables.connections,
        Key: { pk: connectionKey(bob) },
        UpdateExpression: 'SET tokens = :tokens',
        ExpressionAttributeValues: { ':tokens': item.tokens },
      }),
    );
    const error = await rejection(container().tokens.accessToken(bob, deadline()));
    assert.equal(error.code, 'tool_state_unavailable');
  });

  it('refreshes once for 20 concurrent callers across 3 containers with an expired token', async () => {
    const ref = newRef();
    await connect(container(), ref);
    const first = await container().tokens.accessToken(ref, deadline());
    clock.advance(TWO_HOURS_MS);
    const fleet = [container(), container(), container()];
    const refreshesBefore = oauth.refreshes;

    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => fleet[i % 3]!.tokens.accessToken(ref, deadline())));

    assert.equal(oauth.refreshes - refreshesBefore, 1, 'the provider saw exactly one refresh');
    assert.equal(new Set(tokens).size, 1, 'every caller got the same new token');
    assert.notEqual(tokens[0], first);
    assert.equal(oauth.refusedRefreshes, 0, 'no refresh token was reused');
    // And the next round is served from the containers' caches.
    await Promise.all(fleet.map((connections) => connections.tokens.accessToken(ref, deadline())));
    assert.equal(oauth.refreshes - refreshesBefore, 1);
  });

  it('after a 401 refreshes once; a container whose rejected token was already replaced gets the newer one', async () => {
    const ref = newRef();
    await connect(container(), ref);
    const [one, two] = [container(), container()];
    const rejected = await one.tokens.accessToken(ref, deadline());
    assert.equal(await two.tokens.accessToken(ref, deadline()), rejected);
    const refreshesBefore = oauth.refreshes;

    const renewed = await one.tokens.refreshAfterUnauthorized(ref, rejected, deadline());
    const seenByTwo = await two.tokens.refreshAfterUnauthorized(ref, rejected, deadline());

    assert.notEqual(renewed, rejected);
    assert.equal(seenByTwo, renewed);
    assert.equal(oauth.refreshes - refreshesBefore, 1);
  });

  it('a refresh token the provider no longer accepts gives 401 reauthorization_required naming the connect URL', async () => {
    const ref = newRef();
    const connections = container();
    await connect(connections, ref);
    oauth.revokeRefreshTokens();
    clock.advance(TWO_HOURS_MS);
    const refusedBefore = oauth.refusedRefreshes;

    const error = await rejection(connections.tokens.accessToken(ref, deadline()));
    assert.equal(error.code, 'reauthorization_required');
    assert.equal(error.status, 401);
    assert.equal(error.details?.service, 'calendar');
    assert.equal(error.details?.connect_url, '/v1/connections/calendar');
    assert.match(error.message, /POST \/v1\/connections\/calendar/);
    assert.equal((await rawItem(ref)).status, 'reauthorization_required');

    // Another container does not try the dead refresh token again.
    const again = await rejection(container().tokens.accessToken(ref, deadline()));
    assert.equal(again.code, 'reauthorization_required');
    assert.equal(oauth.refusedRefreshes - refusedBefore, 1);
    assert.deepEqual((await connections.list('acme', ref.user)).data.map((c) => c.status), ['reauthorization_required']);

    // Connecting again restores it.
    await connect(connections, ref);
    assert.ok(await connections.tokens.accessToken(ref, deadline()));
    assert.equal((await rawItem(ref)).status, 'active');
  });

  it('no connection at all is reauthorization_required too; granted scopes come from the token answer', async () => {
    const ref = newRef();
    const connections = container();
    assert.equal((await rejection(connections.tokens.accessToken(ref, deadline()))).code, 'reauthorization_required');
    assert.equal((await rejection(connections.tokens.grantedScopes(ref, deadline()))).code, 'reauthorization_required');
    await connect(connections, ref);
    assert.deepEqual(await container().tokens.grantedScopes(ref, deadline()), SCOPES);
  });

  it('rotates the data key: items sealed under the old key still open, refreshes and new connects use the new one', async () => {
    const ref = newRef();
    await connect(container(), ref);
    const oldKey = (await secrets.get(KEY_SECRET))!;
    assert.equal((await rawItem(ref)).key_id, oldKey.key_id);

    const rotatedId = `rotated-${userCount}`;
    secrets.set(KEY_SECRET, { key_id: rotatedId, key: dataKey(), previous_keys: `${oldKey.key_id}:${oldKey.key}` });
    const connections = container();
    const token = await connections.tokens.accessToken(ref, deadline());
    assert.ok(oauth.issued.includes(token), 'the old item opened under its own key');

    clock.advance(TWO_HOURS_MS);
    const refreshed = await connections.tokens.accessToken(ref, deadline());
    assert.notEqual(refreshed, token);
    assert.equal((await rawItem(ref)).key_id, rotatedId, 'the refresh re-sealed under the current key');

    const fresh = newRef();
    await connect(connections, fresh);
    assert.equal((await rawItem(fresh)).key_id, rotatedId);
    // Once every item is re-sealed, the old key can go.
    secrets.set(KEY_SECRET, { key_id: rotatedId, key: (await secrets.get(KEY_SECRET))!.key! });
    assert.equal(await container().tokens.accessToken(ref, deadline()), refreshed);
  });

  it('a container that died holding the refresh lease delays the others only until the lease expires', async () => {
    const ref = newRef();
    await connect(container(), ref);
    clock.advance(TWO_HOURS_MS);
    const item = await rawItem(ref);
    const records = new ConnectionRecords(dynamo.doc, dynamo.tables.connections);
    assert.equal(await records.claimLease(ref, 'dead-container', Number(item.version), clock.now(), clock.now() + 400), true);
    const refreshesBefore = oauth.refreshes;

    const started = Date.now();
    const token = await container({ leaseMs: 400 }).tokens.accessToken(ref, deadline());
    assert.ok(token);
    assert.ok(Date.now() - started >= 300, 'it waited for the dead lease');
    assert.equal(oauth.refreshes - refreshesBefore, 1);
  });

  it('a connections store that cannot be reached is a 503 tool_state_unavailable', async () => {
    const dead = deadDynamoClients();
    try {
      const connections = createConnections({
        doc: dead.doc,
        tableName: dynamo.tables.connections,
        services: servicesMap(oauth),
        secrets,
        clock,
        redactor: { register: () => undefined },
      });
      const error = await rejection(connections.tokens.accessToken(newRef(), deadline()));
      assert.equal(error.code, 'tool_state_unavailable');
      assert.equal(error.status, 503);
    } finally {
      dead.client.destroy();
    }
  });
});
