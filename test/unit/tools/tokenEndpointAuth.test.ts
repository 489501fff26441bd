import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SecretRedactor } from '../../../shared/redaction/SecretRedactor';
import { Deadline } from '../../../shared/resilience';
import { createServiceAuth } from '../../../shared/tools/auth/createServiceAuth';
import type { OutgoingToolRequest } from '../../../shared/tools/auth/ServiceAuth';
import { basicClientCredentials, formUrlEncode, tokenRequest, type TokenEndpointAuthMethod } from '../../../shared/tools/auth/tokenEndpointAuth';
import { oauthApp } from '../../../shared/tools/connections/oauthServices';
import { exchangeCode, refreshGrant, revokeToken, type OAuthApp } from '../../../shared/tools/connections/tokenEndpoint';
import { serviceAuthSchema, serviceSchema } from '../../../shared/tools/serviceConfig';
import { fakeClock } from '../../support/fakeClock';
import { sendJson, startMockToolServer, type MockToolServer, type ToolRequestRecord } from '../../support/toolServers/mockToolServer';

const CLIENT = { clientId: 'client:id', clientSecret: 's3cr%t+/=' };
/** RFC 6749 §2.3.1 / Appendix B: each part form-urlencoded, then `id:secret` base64-encoded. */
const EXPECTED_BASIC = Buffer.from('client%3Aid:s3cr%25t%2B%2F%3D').toString('base64');
const METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post'];

/** Checks a recorded token request authenticated the client exactly as `method` says, and no other way. */
function assertAuthenticatedBy(request: ToolRequestRecord, method: TokenEndpointAuthMethod, client = CLIENT): URLSearchParams {
  const form = new URLSearchParams(request.body.toString('utf8'));
  if (method === 'client_secret_basic') {
    assert.equal(request.headers.authorization, `Basic ${basicClientCredentials(client)}`);
    assert.equal(form.has('client_id'), false, 'client_id in the form as well as in Basic');
    assert.equal(form.has('client_secret'), false, 'client_secret in the form as well as in Basic');
  } else {
    assert.equal(request.headers.authorization, undefined, 'an authorization header as well as the form');
    assert.equal(form.get('client_id'), client.clientId);
    assert.equal(form.get('client_secret'), client.clientSecret);
  }
  assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
  return form;
}

describe('tokenRequest: one client authentication method per request', () => {
  it('client_secret_basic: the header per RFC 6749 §2.3.1, the form without client fields', () => {
    const request = tokenRequest('client_secret_basic', CLIENT, { grant_type: 'client_credentials', scope: 'a b' });
    assert.equal(request.headers.authorization, `Basic ${EXPECTED_BASIC}`);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), { grant_type: 'client_credentials', scope: 'a b' });
  });

  it('client_secret_post: id and secret in the form, no authorization header', () => {
    const request = tokenRequest('client_secret_post', CLIENT, { grant_type: 'refresh_token', refresh_token: 'rt-1' });
    assert.equal(request.headers.authorization, undefined);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), {
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'client:id',
      client_secret: 's3cr%t+/=',
    });
  });

  it('client fields in the caller\'s form never add a second method nor replace the credentials', () => {
    const form = { grant_type: 'client_credentials', client_id: 'other', client_secret: 'sk-test-injected-0001' };
    const basic = new URLSearchParams(tokenRequest('client_secret_basic', CLIENT, form).body);
    assert.deepEqual(Object.fromEntries(basic), { grant_type: 'client_credentials' });
    const post = new URLSearchParams(tokenRequest('client_secret_post', CLIENT, form).body);
    assert.equal(post.get('client_id'), 'client:id');
    assert.deepEqual(post.getAll('client_secret'), ['s3cr%t+/=']);
  });

  it('Basic form-urlencodes each part: a server splitting on the first colon and decoding gets both back', () => {
    for (const client of [CLIENT, { clientId: 'app id ~!\'()*', clientSecret: 'sk-test-é:ü&=+ 100%' }, { clientId: 'plain-0001', clientSecret: 'sk-test-plain-0001' }]) {
      const pair = Buffer.from(basicClientCredentials(client), 'base64').toString('utf8');
      const colon = pair.indexOf(':');
      const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
      assert.deepEqual({ clientId: decode(pair.slice(0, colon)), clientSecret: decode(pair.slice(colon + 1)) }, client);
    }
    // Not encodeURIComponent: space is `+` and !'()~ are escaped (application/x-www-form-urlencoded).
    assert.equal(formUrlEncode("a b~!'()*-._"), 'a+b%7E%21%27%28%29*-._');
    assert.equal(formUrlEncode('é'), '%C3%A9');
  });

  it('registers the secret and the Basic value with the redactor before anything is sent', () => {
    for (const method of METHODS) {
      const redactor = new SecretRedactor();
      const client = { clientId: 'client-0001', clientSecret: 'sk-test-redacted-secret-0001' };
      const request = tokenRequest(method, client, { grant_type: 'client_credentials' }, redactor);
      const echoed = redactor.redactCredentials(`denied: ${request.headers.authorization ?? ''} ${request.body}`);
      assert.ok(!echoed.includes(client.clientSecret), method);
      assert.ok(!echoed.includes(basicClientCredentials(client)), method);
    }
  });
});

describe('token requests of each grant carry the credentials as configured', () => {
  let endpoint: MockToolServer;
  before(async () => {
    endpoint = await startMockToolServer((_request, res) =>
      sendJson(res, 200, { access_token: 'sk-test-access-0001', token_type: 'Bearer', expires_in: 600, refresh_token: 'sk-test-refresh-0002' }),
    );
  });
  after(() => endpoint.close());
  beforeEach(() => endpoint.reset());

  const app = (authMethod: TokenEndpointAuthMethod): OAuthApp => ({ ...CLIENT, authMethod });

  for (const method of METHODS) {
    it(`${method}: the client credentials grant`, async () => {
      const secrets = { get: async () => ({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }) };
      const auth = createServiceAuth(
        'cc',
        serviceAuthSchema.parse({ type: 'oauth_client_credentials', secret: 'tools/cc', token_url: `${endpoint.url}/token`, scopes: ['read'], token_endpoint_auth_method: method }),
        { secrets, clock: fakeClock() },
      );
      const outgoing: OutgoingToolRequest = { method: 'GET', url: new URL('http://127.0.0.1:9/x'), headers: {} };
      await auth.forCall({ service: 'cc', tenant: 't', deadline: Deadline.after(fakeClock(), 5_000) }).apply(outgoing);
      assert.equal(outgoing.headers.authorization, 'Bearer sk-test-access-0001');
      assert.equal(endpoint.requests.length, 1);
      const form = assertAuthenticatedBy(endpoint.requests[0]!, method);
      assert.equal(form.get('grant_type'), 'client_credentials');
      assert.equal(form.get('scope'), 'read');
    });

    it(`${method}: the authorization-code exchange`, async () => {
      const grant = await exchangeCode(`${endpoint.url}/token`, app(method), { code: 'code-1', redirectUri: 'http://127.0.0.1:9/cb', verifier: 'v'.repeat(43) }, 5_000);
      assert.equal(grant.accessToken, 'sk-test-access-0001');
      const form = assertAuthenticatedBy(endpoint.requests[0]!, method);
      assert.equal(form.get('grant_type'), 'authorization_code');
      assert.equal(form.get('code'), 'code-1');
    });

    it(`${method}: the refresh grant`, async () => {
      const grant = await refreshGrant(`${endpoint.url}/token`, app(method), 'sk-test-refresh-0001', 5_000);
      assert.equal(grant.refreshToken, 'sk-test-refresh-0002');
      const form = assertAuthenticatedBy(endpoint.requests[0]!, method);
      assert.equal(form.get('grant_type'), 'refresh_token');
      assert.equal(form.get('refresh_token'), 'sk-test-refresh-0001');
    });

    it(`${method}: the revocation (RFC 7009 authenticates the client the same way)`, async () => {
      await revokeToken(`${endpoint.url}/revoke`, app(method), { value: 'sk-test-refresh-0001', hint: 'refresh_token' }, 5_000);
      const form = assertAuthenticatedBy(endpoint.requests[0]!, method);
      assert.equal(form.get('token'), 'sk-test-refresh-0001');
    });
  }

  it('defaults keep each kind\'s former method: Basic for client credentials, post for user connections', async () => {
    const secrets = { get: async () => ({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }) };
    const cc = createServiceAuth('cc', serviceAuthSchema.parse({ type: 'oauth_client_credentials', secret: 's', token_url: `${endpoint.url}/token` }), { secrets, clock: fakeClock() });
    await cc.forCall({ service: 'cc', tenant: 't', deadline: Deadline.after(fakeClock(), 5_000) }).apply({ method: 'GET', url: new URL('http://127.0.0.1:9/x'), headers: {} });
    assertAuthenticatedBy(endpoint.requests[0]!, 'client_secret_basic');

    const user = serviceAuthSchema.parse({ type: 'oauth_user', secret: 's', authorize_url: 'https://a.test/auth', token_url: `${endpoint.url}/token` });
    assert.equal(user.type, 'oauth_user');
    if (user.type !== 'oauth_user') return;
    assert.equal((await oauthApp(secrets, 'cal', user)).authMethod, 'client_secret_post');
    assert.equal((await oauthApp(secrets, 'cal', { ...user, token_endpoint_auth_method: 'client_secret_basic' })).authMethod, 'client_secret_basic');
  });

  it('a refusing token endpoint echoing the credentials: the error quotes none of them', async () => {
    endpoint.handler = (request, res) => sendJson(res, 401, { error: 'invalid_client', error_description: `${request.headers.authorization} ${request.body.toString()}` });
    const secret = { clientId: 'client-0001', clientSecret: 'sk-test-echoed-secret-0001' };
    for (const method of METHODS) {
      await assert.rejects(refreshGrant(`${endpoint.url}/token`, { ...secret, authMethod: method }, 'sk-test-refresh-0001', 5_000), (error: Error) => {
        assert.equal((error as { oauthError?: string }).oauthError, 'invalid_client');
        assert.ok(!error.message.includes(secret.clientSecret) && !error.message.includes(basicClientCredentials(secret)), error.message);
        return true;
      });
    }
  });
});

describe('token_endpoint_auth_method in the config', () => {
  const cc = { type: 'oauth_client_credentials', secret: 's', token_url: 'https://auth.test/token' };
  const user = { type: 'oauth_user', secret: 's', authorize_url: 'https://auth.test/authorize', token_url: 'https://auth.test/token' };

  it('takes either method on both OAuth kinds, and is absent (the kind\'s default) when not set', () => {
    for (const auth of [cc, user]) {
      for (const method of METHODS) assert.equal((serviceAuthSchema.parse({ ...auth, token_endpoint_auth_method: method }) as { token_endpoint_auth_method?: string }).token_endpoint_auth_method, method);
      assert.equal((serviceAuthSchema.parse(auth) as { token_endpoint_auth_method?: string }).token_endpoint_auth_method, undefined);
    }
  });

  it('refuses another method (private_key_jwt, none) and the field on kinds without a token endpoint, naming the path', () => {
    for (const auth of [cc, user]) {
      for (const method of ['private_key_jwt', 'none', 'Client_Secret_Basic', 1]) {
        const result = serviceSchema.safeParse({ base_url: 'https://api.test', auth: { ...auth, token_endpoint_auth_method: method } });
        assert.equal(result.success, false, String(method));
        assert.deepEqual(result.error!.issues[0]!.path, ['auth', 'token_endpoint_auth_method']);
      }
    }
    const bearer = serviceSchema.safeParse({ base_url: 'https://api.test', auth: { type: 'bearer', secret: 's', token_endpoint_auth_method: 'client_secret_post' } });
    assert.equal(bearer.success, false);
  });
});
