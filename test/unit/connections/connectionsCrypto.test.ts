import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ensureLocalTokenKey } from '../../../bin/local/ensureLocalTokenKey';
import { callbackUrl } from '../../../shared/api/connections/routes';
import { isGatewayError } from '../../../shared/errors';
import { TokenKeyRing } from '../../../shared/tools/connections';
import { signState, verifyState } from '../../../shared/tools/connections/oauthState';
import { grantedScopesOf } from '../../../shared/tools/connections/oauthServices';
import { createPkcePair, pkceChallenge } from '../../../shared/tools/connections/pkce';
import { decryptToken, encryptToken } from '../../../shared/tools/connections/tokenCipher';

const key = () => randomBytes(32).toString('base64');
const ring = (id = 'k1', value = key(), previous?: string) =>
  TokenKeyRing.fromSecret('tool-token-key', { key_id: id, key: value, ...(previous ? { previous_keys: previous } : {}) });
const NOW = 1_800_000_000_000;
const state = { tenant: 'acme', user: 'alice', service: 'calendar', nonce: 'n-1', expiresAt: NOW + 600_000 };
const stateError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(isGatewayError(error));
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.details?.param, 'state');
    return String(error.details?.reason);
  }
  assert.fail('expected a refusal');
};

describe('connections: state, PKCE, sealing (unit)', () => {
  it('a signed state verifies and round-trips; tampered, foreign-key, expired and malformed ones are refused', () => {
    const keys = ring();
    const signed = signState(state, keys);
    assert.deepEqual(verifyState(signed, keys, NOW), state);

    const [payload, signature] = signed.split('.') as [string, string];
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), u: 'mallory' })).toString('base64url');
    assert.equal(stateError(() => verifyState(`${altered}.${signature}`, keys, NOW)), 'invalid');
    assert.equal(stateError(() => verifyState(signed, ring('k1'), NOW)), 'invalid', 'signed with another key of the same id');
    assert.equal(stateError(() => verifyState(signed, keys, state.expiresAt)), 'expired');
    assert.equal(stateError(() => verifyState(undefined, keys, NOW)), 'missing');
    for (const junk of ['', 'x', 'a.b.c', '.', `${payload}.AAAA`, `${'a'.repeat(3000)}.b`]) {
      assert.ok(['invalid', 'missing'].includes(stateError(() => verifyState(junk, keys, NOW))), junk);
    }
  });

  it('a state signed before a key rotation still verifies while the old key is kept', () => {
    const old = key();
    const signed = signState(state, ring('k1', old));
    assert.deepEqual(verifyState(signed, ring('k2', key(), `k1:${old}`), NOW), state);
    assert.equal(stateError(() => verifyState(signed, ring('k2'), NOW)), 'invalid');
  });

  it('PKCE: a 43-character verifier and its S256 challenge (RFC 7636 appendix B)', () => {
    const pair = createPkcePair(randomBytes);
    assert.match(pair.verifier, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(pair.challenge, pkceChallenge(pair.verifier));
    assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('AES-256-GCM: opens with the same key and item only; each sealing differs', () => {
    const { current } = ring();
    const sealed = encryptToken(current, 'at-secret-value', 'conn#a', randomBytes);
    assert.notEqual(sealed, encryptToken(current, 'at-secret-value', 'conn#a', randomBytes));
    assert.ok(!Buffer.from(sealed, 'base64').toString('latin1').includes('at-secret-value'));
    assert.equal(decryptToken(current.key, sealed, 'conn#a'), 'at-secret-value');
    assert.throws(() => decryptToken(current.key, sealed, 'conn#b'));
    assert.throws(() => decryptToken(randomBytes(32), sealed, 'conn#a'));
    const flipped = Buffer.from(sealed, 'base64');
    flipped[14]! ^= 1;
    assert.throws(() => decryptToken(current.key, flipped.toString('base64'), 'conn#a'));
  });

  it('the key ring refuses a misconfigured secret without quoting it', () => {
    for (const bad of [{}, { key_id: 'k1' }, { key_id: 'k1', key: 'c2hvcnQ=' }, { key_id: 'bad id!', key: key() }, { key_id: 'k1', key: key(), previous_keys: 'nocolon' }] as Array<Record<string, string>>) {
      assert.throws(
        () => TokenKeyRing.fromSecret('tool-token-key', bad),
        (error: unknown) => isGatewayError(error) && error.code === 'tool_state_unavailable' && !error.message.includes('c2hvcnQ='),
      );
    }
  });

  it('the key ring takes random text too (a CloudFormation-generated secret), hashed into 32 bytes', () => {
    const text = 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6nOp9qRs2tUv5wXy8z';
    const keys = TokenKeyRing.fromSecret('tool-token-key', { key_id: 'cfn', key: text });
    assert.equal(keys.current.key.length, 32);
    assert.deepEqual(TokenKeyRing.fromSecret('tool-token-key', { key_id: 'cfn', key: text }).current.key, keys.current.key);
    assert.throws(() => TokenKeyRing.fromSecret('tool-token-key', { key_id: 'cfn', key: text.slice(0, 39) }));
  });

  it('granted scopes: space or comma separated, else the requested ones', () => {
    assert.deepEqual(grantedScopesOf('a b', ['x']), ['a', 'b']);
    assert.deepEqual(grantedScopesOf('repo,gist', []), ['repo', 'gist']);
    assert.deepEqual(grantedScopesOf(undefined, ['x', 'y']), ['x', 'y']);
  });

  it('the callback URL: the configured public URL, else the request host and stage (https unless loopback)', () => {
    const event = (host: string | undefined, path = '/v1/connections/calendar', full = path) =>
      ({ headers: host ? { host } : {}, path, requestContext: { path: full } }) as unknown as APIGatewayProxyEvent;
    assert.equal(callbackUrl(event('x'), 'https://api.example.com/prod/'), 'https://api.example.com/prod/v1/connections/callback');
    assert.equal(
      callbackUrl(event('abc.execute-api.eu-west-1.amazonaws.com', '/v1/connections/calendar', '/prod/v1/connections/calendar'), undefined),
      'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/connections/callback',
    );
    assert.equal(callbackUrl(event('127.0.0.1:8787'), undefined), 'http://127.0.0.1:8787/v1/connections/callback');
    for (const bad of [undefined, 'evil.com/path', 'a b']) {
      assert.throws(() => callbackUrl(event(bad), undefined), (error: unknown) => isGatewayError(error) && error.status === 400);
    }
  });

  it('npm start makes the local data key once and keeps the other secrets', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bw-token-key-'));
    try {
      const secretsFile = path.join(dir, 'secrets.json');
      await writeFile(secretsFile, JSON.stringify({ openai: { api_key: 'sk-test-keep-0001' } }));
      assert.equal(await ensureLocalTokenKey({ secretName: 'tool-token-key', secretsFile, env: {} }), 'created');
      const written = JSON.parse(await readFile(secretsFile, 'utf8'));
      assert.equal(written.openai.api_key, 'sk-test-keep-0001');
      assert.doesNotThrow(() => TokenKeyRing.fromSecret('tool-token-key', written['tool-token-key']));
      assert.equal((await stat(secretsFile)).mode & 0o777, 0o600);
      assert.equal(await ensureLocalTokenKey({ secretName: 'tool-token-key', secretsFile, env: {} }), 'file');
      assert.deepEqual(JSON.parse(await readFile(secretsFile, 'utf8')), written);

      const env: NodeJS.ProcessEnv = {};
      await writeFile(secretsFile, '{not json');
      assert.equal(await ensureLocalTokenKey({ secretName: 'tool-token-key', secretsFile, env }), 'memory');
      assert.equal(await readFile(secretsFile, 'utf8'), '{not json');
      assert.ok(env.BREAKWATER_SECRET_TOOL_TOKEN_KEY);
      assert.equal(await ensureLocalTokenKey({ secretName: 'tool-token-key', secretsFile: path.join(dir, 'none.json'), env }), 'env');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
