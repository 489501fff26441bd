import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  DecryptionFailure,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerSource } from '../../../shared/credentials';
import { fakeClock } from '../../support/fakeClock';

const recordingLogger = () => {
  const warnings: Array<{ message: string; extra: unknown }> = [];
  const warn = (...args: unknown[]) => void warnings.push({ message: String(args[0]), extra: args[1] });
  return { warnings, warn };
};

const notFound = () =>
  new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } });

describe('SecretsManagerSource (aws-sdk-client-mock)', () => {
  const sm = mockClient(SecretsManagerClient);
  let client: SecretsManagerClient;

  beforeEach(() => {
    sm.reset();
    client = new SecretsManagerClient({ region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterEach(() => client.destroy());

  it('sends GetSecretValue with exactly the secret name and parses the JSON secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ Name: 'openai', SecretString: '{"api_key":"sk-test-mock-0001"}' });
    const source = new SecretsManagerSource({ client });

    const value = await source.get('openai');

    assert.deepEqual(value, { api_key: 'sk-test-mock-0001' });
    const calls = sm.commandCalls(GetSecretValueCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.args[0].input, { SecretId: 'openai' });
  });

  it('reads once within maxAge and again on forceRefresh', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'sk-test-old-0001' })
      .resolves({ SecretString: 'sk-test-rotated-0002' });
    const source = new SecretsManagerSource({ client });

    assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-old-0001' });
    assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-old-0001' });
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 1);

    assert.deepEqual(await source.get('openai', { forceRefresh: true }), { api_key: 'sk-test-rotated-0002' });
    assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-rotated-0002' });
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 2);
  });

  it('decodes a binary secret as UTF-8', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode('{"api_key":"sk-test-bin-0003"}') });
    const source = new SecretsManagerSource({ client });

    assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-bin-0003' });
  });

  it('answers undefined for a missing secret, without logging, and remembers it for missingMaxAge', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(notFound()).resolves({ SecretString: 'sk-test-late-0004' });
    const logger = recordingLogger();
    const clock = fakeClock();
    const source = new SecretsManagerSource({ client, logger, clock, missingMaxAge: 60 });

    assert.equal(await source.get('openai'), undefined);
    assert.equal(await source.get('openai'), undefined);
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 1);
    clock.advance(60_001);
    assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-late-0004' });
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 2);
    assert.deepEqual(logger.warnings, []);
  });

  it('forceRefresh looks again for a secret remembered as missing', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(notFound()).resolves({ SecretString: 'sk-test-late-0004' });
    const source = new SecretsManagerSource({ client, clock: fakeClock() });

    assert.equal(await source.get('openai'), undefined);
    assert.deepEqual(await source.get('openai', { forceRefresh: true }), { api_key: 'sk-test-late-0004' });
  });

  it('answers undefined for any other failure and logs the name and error, never a value', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new DecryptionFailure({ message: 'cannot decrypt with the KMS key', $metadata: { httpStatusCode: 400 } }),
    );
    const logger = recordingLogger();
    const source = new SecretsManagerSource({ client, logger });

    assert.equal(await source.get('openai'), undefined);

    assert.deepEqual(logger.warnings, [
      {
        message: 'secret could not be read; targets using it are unavailable',
        extra: {
          secret: 'openai',
          error_name: 'DecryptionFailure',
          status: 400,
          error_message: 'cannot decrypt with the KMS key',
        },
      },
    ]);
  });

  it('does not log the message of a client-side error, which could quote the body', async () => {
    sm.on(GetSecretValueCommand).rejects(new SyntaxError('Unexpected token in {"api_key":"sk-test-leak-0005"'));
    const logger = recordingLogger();
    const source = new SecretsManagerSource({ client, logger });

    assert.equal(await source.get('openai'), undefined);

    assert.equal(logger.warnings.length, 1);
    assert.doesNotMatch(JSON.stringify(logger.warnings), /sk-test-leak-0005/);
    assert.deepEqual(logger.warnings[0]?.extra, {
      secret: 'openai',
      error_name: 'SyntaxError',
      status: undefined,
      error_message: undefined,
    });
  });

  it('prefetch reads each name once, in parallel, and the reads that follow hit the cache', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    sm.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string }) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      if (input.SecretId === 'missing') throw notFound();
      return { SecretString: `sk-test-${input.SecretId}-0006` };
    });
    const source = new SecretsManagerSource({ client });

    await source.prefetch(['openai', 'anthropic', 'openai', 'missing']);

    assert.equal(maxInFlight, 3);
    assert.deepEqual(
      sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
      ['openai', 'anthropic', 'missing'],
    );
    assert.deepEqual(await source.get('anthropic'), { api_key: 'sk-test-anthropic-0006' });
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 3);
  });

  it('a read while the same secret is in flight joins it instead of calling again', async () => {
    sm.on(GetSecretValueCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { SecretString: 'sk-test-joined-0007' };
    });
    const source = new SecretsManagerSource({ client });

    const [first, second] = await Promise.all([source.prefetch(['openai']), source.get('openai')]);

    assert.equal(first, undefined);
    assert.deepEqual(second, { api_key: 'sk-test-joined-0007' });
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 1);
  });
});
