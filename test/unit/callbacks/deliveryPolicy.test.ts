import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  callbackSigningSecretName,
  classifyCallbackStatus,
  readCallbackSigningSecret,
} from '../../../shared/callbacks';
import { EnvSecretSource } from '../../../shared/credentials';

describe('classifyCallbackStatus', () => {
  const table: Array<[number, string]> = [
    [200, 'delivered'],
    [202, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [301, 'give_up'],
    [302, 'give_up'],
    [400, 'give_up'],
    [401, 'give_up'],
    [403, 'give_up'],
    [404, 'give_up'],
    [408, 'retry'],
    [410, 'give_up'],
    [422, 'give_up'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
  ];
  for (const [status, outcome] of table) {
    it(`${status} → ${outcome}`, () => assert.equal(classifyCallbackStatus(status), outcome));
  }
});

describe('callback signing secrets', () => {
  it('are named per tenant', () => {
    assert.equal(callbackSigningSecretName('acme'), 'callback-signing/acme');
  });

  it('read the signing_secret field, or a bare string, through the SecretSource', async () => {
    const source = new EnvSecretSource({
      BREAKWATER_SECRET_CALLBACK_SIGNING_ACME: '{"signing_secret":"s3cr3t-acme"}',
      BREAKWATER_SECRET_CALLBACK_SIGNING_BETA: 'bare-beta-secret',
    });
    assert.equal(await readCallbackSigningSecret(source, 'acme'), 's3cr3t-acme');
    assert.equal(await readCallbackSigningSecret(source, 'beta'), 'bare-beta-secret');
    assert.equal(await readCallbackSigningSecret(source, 'gamma'), undefined);
  });

  it('passes forceRefresh through (a rotated secret is picked up)', async () => {
    const seen: unknown[] = [];
    const source = {
      get: async (name: string, options?: { forceRefresh?: boolean }) => {
        seen.push([name, options]);
        return { signing_secret: 'x' };
      },
    };
    await readCallbackSigningSecret(source, 'acme', { forceRefresh: true });
    assert.deepEqual(seen, [['callback-signing/acme', { forceRefresh: true }]]);
  });
});
