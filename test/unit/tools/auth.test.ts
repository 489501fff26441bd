import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { isGatewayError } from '../../../shared/errors';
import { Deadline } from '../../../shared/resilience';
import { withQueryParameter } from '../../../shared/tools/auth/apiKeyAuth';
import { clientCredentialsAuth } from '../../../shared/tools/auth/clientCredentialsAuth';
import { NodeSha256 } from '../../../shared/tools/auth/nodeSha256';
import { readServiceSecret } from '../../../shared/tools/auth/readSecret';
import type { OutgoingToolRequest } from '../../../shared/tools/auth/ServiceAuth';
import { sigv4Auth } from '../../../shared/tools/auth/sigv4Auth';
import { forwardableRequestHeaders, relayableResponseHeaders } from '../../../shared/tools/toolHeaders';
import { fakeClock } from '../../support/fakeClock';
import { sendJson, startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { TEST_AWS_CREDENTIALS, verifySigV4 } from '../../support/toolServers/sigv4Check';
import { toolSecretSource } from '../../support/toolServers/toolSecrets';

const request = (url: string, init: Partial<OutgoingToolRequest> = {}): OutgoingToolRequest => ({ method: 'GET', url: new URL(url), headers: {}, ...init });

describe('NodeSha256 under the SigV4 signer', () => {
  it('reproduces the AWS SigV4 test suite\'s get-vanilla signature', async () => {
    const signer = new SignatureV4({
      // AWS's own published example credentials (the SigV4 test suite's): the vector needs exactly these.
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      region: 'us-east-1',
      service: 'service',
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      { method: 'GET', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', headers: { host: 'example.amazonaws.com' } },
      { signingDate: new Date('2015-08-30T12:36:00Z') },
    );
    assert.equal(
      signed.headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
});

describe('sigv4Auth', () => {
  it('signs what goes out so that the receiving side verifies it; a tampered body fails', async () => {
    const auth = sigv4Auth({ service: 'aws', signingName: 'execute-api', region: 'eu-west-1', credentials: TEST_AWS_CREDENTIALS });
    const outgoing = request('http://127.0.0.1:9/prod/orders?b=2&a=1&a=0', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"x":1}') });
    await auth.forCall({ service: 'aws', tenant: 't', deadline: Deadline.after(fakeClock(), 1_000) }).apply(outgoing);
    const received = { method: 'PUT', url: `${outgoing.url.pathname}${outgoing.url.search}`, headers: { ...outgoing.headers, host: outgoing.url.host }, body: Buffer.from('{"x":1}') };
    const options = { credentials: TEST_AWS_CREDENTIALS, region: 'eu-west-1', service: 'execute-api' };
    assert.deepEqual(await verifySigV4(received, options), { valid: true });
    assert.equal((await verifySigV4({ ...received, body: Buffer.from('{"x":2}') }, options)).valid, false);
  });

  it('missing credentials are a 502 service_failed naming no secret', async () => {
    const auth = sigv4Auth({ service: 'aws', signingName: 'execute-api', region: 'eu-west-1', credentials: async () => Promise.reject(new Error('no role')) });
    await assert.rejects(
      auth.forCall({ service: 'aws', tenant: 't', deadline: Deadline.after(fakeClock(), 1_000) }).apply(request('http://127.0.0.1:9/x')),
      (error) => isGatewayError(error) && error.code === 'service_failed',
    );
  });
});

describe('clientCredentialsAuth', () => {
  let tokenServer: MockToolServer;
  let issued = 0;
  before(async () => {
    tokenServer = await startMockToolServer(async (_request, res) => {
      issued += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      sendJson(res, 200, { access_token: `sk-test-cc-unit-${issued}`, expires_in: 600 });
    });
  });
  after(() => tokenServer.close());

  it('one fetch for concurrent calls; reused until a minute before expiry; then fetched again', async () => {
    const clock = fakeClock();
    const auth = clientCredentialsAuth({ service: 'cc', secret: 'tools/cc', tokenUrl: `${tokenServer.url}/token`, scopes: [], secrets: toolSecretSource(), clock });
    const apply = async () => {
      const outgoing = request('http://127.0.0.1:9/x');
      await auth.forCall({ service: 'cc', tenant: 't', deadline: Deadline.after(clock, 10_000) }).apply(outgoing);
      return outgoing.headers.authorization;
    };
    const first = await Promise.all(Array.from({ length: 10 }, apply));
    assert.deepEqual(new Set(first), new Set(['Bearer sk-test-cc-unit-1']));
    assert.equal(tokenServer.requests.length, 1);
    clock.advance(538_000);
    assert.equal(await apply(), 'Bearer sk-test-cc-unit-1');
    clock.advance(2_000);
    assert.equal(await apply(), 'Bearer sk-test-cc-unit-2');
    assert.equal(tokenServer.requests.length, 2);
  });

  it('a refusing token endpoint is a 502 service_failed that quotes no credential', async () => {
    const refusing = await startMockToolServer((_request, res) => sendJson(res, 401, { error: 'invalid_client' }));
    try {
      const auth = clientCredentialsAuth({ service: 'cc', secret: 'tools/cc', tokenUrl: `${refusing.url}/token`, scopes: [], secrets: toolSecretSource(), clock: fakeClock() });
      await assert.rejects(
        auth.forCall({ service: 'cc', tenant: 't', deadline: Deadline.after(fakeClock(), 1_000) }).apply(request('http://127.0.0.1:9/x')),
        (error) => isGatewayError(error) && error.code === 'service_failed' && !error.message.includes('sk-test'),
      );
    } finally {
      await refusing.close();
    }
  });
});

describe('secrets and query injection', () => {
  it('a missing secret is a 502 that does not name the secret', async () => {
    await assert.rejects(
      readServiceSecret({ get: async () => undefined }, 'prod/stripe/key', 'stripe'),
      (error) => isGatewayError(error) && error.code === 'service_failed' && !error.message.includes('prod/stripe'),
    );
  });

  it('sets the key parameter, drops the client\'s, keeps every other pair exactly as encoded', () => {
    assert.equal(withQueryParameter('?q=a%20b&key=guess&x=1+2', 'key', 'sk/test+1'), '?q=a%20b&x=1+2&key=sk%2Ftest%2B1');
    assert.equal(withQueryParameter('', 'key', 'v'), '?key=v');
    assert.equal(withQueryParameter('?%6Bey=guess', 'key', 'v'), '?key=v');
  });
});

describe('header filters', () => {
  it('keeps the client\'s credentials, the gateway\'s controls and hop-by-hop headers here', () => {
    const forwarded = forwardableRequestHeaders({
      Authorization: 'Bearer bw_live_abcdefgh1234',
      'X-Api-Key': 'bw_live_abcdefgh1234',
      Cookie: 'a=b',
      Host: 'gateway.example',
      Connection: 'keep-alive, x-hop',
      'X-Hop': '1',
      'Transfer-Encoding': 'chunked',
      'X-Breakwater-Route': 'main',
      'X-Breakwater-User': 'u1',
      'X-Forwarded-For': '1.2.3.4',
      'X-Amzn-Trace-Id': 'Root=1',
      'Accept-Encoding': 'gzip',
      'Idempotency-Key': 'k',
      'X-Note': 'my key is bw_live_abcdefgh1234',
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': 'agent/1',
    });
    assert.deepEqual(forwarded, { accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'agent/1' });
  });

  it('keeps the API\'s cookies, credential headers and connection headers from the agent', () => {
    const relayed = relayableResponseHeaders(
      {
        'set-cookie': 'session=1',
        'www-authenticate': 'Bearer realm="x"',
        authorization: 'Bearer sk-test-x',
        'x-secret-key': 'sk-test-y',
        connection: 'close',
        'transfer-encoding': 'chunked',
        'content-length': '10',
        'x-breakwater-degraded': 'spoof',
        'content-type': 'application/json',
        'x-ratelimit-remaining': '5',
        etag: '"v1"',
      },
      ['X-Secret-Key'],
    );
    assert.deepEqual(relayed, { 'content-type': 'application/json', 'x-ratelimit-remaining': '5', etag: '"v1"' });
  });
});
