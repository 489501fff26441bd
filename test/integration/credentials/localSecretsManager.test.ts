import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../../bin/local/localSecretsManager';
import { createSecretsManagerClient, SecretsManagerSource } from '../../../shared/credentials';

const realClient = (endpoint: string) =>
  new SecretsManagerClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

/** Counts the calls that reach the wire, to tell a cached read from a fetch. */
function countSends(client: SecretsManagerClient): { count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.count++;
      return next(args);
    },
    { step: 'initialize' },
  );
  return counter;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local Secrets Manager endpoint', () => {
  let dir: string;
  let secretsFile: string;
  let env: NodeJS.ProcessEnv;
  let local: LocalSecretsManager;
  let client: SecretsManagerClient;

  const writeSecrets = (secrets: unknown) => writeFile(secretsFile, JSON.stringify(secrets));

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'breakwater-secrets-'));
    secretsFile = path.join(dir, 'secrets.json');
    env = {};
    local = await startLocalSecretsManager({ env, secretsFile });
    client = realClient(local.endpoint);
  });
  after(async () => {
    client.destroy();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const key of Object.keys(env)) delete env[key];
    await writeSecrets({});
  });

  describe('wire format, through the real SecretsManagerClient', () => {
    it('answers GetSecretValue for a JSON secret from the file', async () => {
      await writeSecrets({ openai: { api_key: 'sk-test-file-0001' } });

      const answer = await client.send(new GetSecretValueCommand({ SecretId: 'openai' }));

      assert.equal(answer.$metadata.httpStatusCode, 200);
      assert.equal(answer.Name, 'openai');
      assert.equal(answer.ARN, 'arn:aws:secretsmanager:local:000000000000:secret:openai');
      assert.equal(answer.SecretString, '{"api_key":"sk-test-file-0001"}');
      assert.match(answer.VersionId ?? '', /^[0-9a-f]{32}$/);
      assert.ok(answer.CreatedDate instanceof Date);
    });

    it('answers a bare-string secret as is, and accepts the ARN as SecretId', async () => {
      await writeSecrets({ anthropic: 'sk-test-bare-0002' });

      const answer = await client.send(
        new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:local:000000000000:secret:anthropic' }),
      );

      assert.equal(answer.Name, 'anthropic');
      assert.equal(answer.SecretString, 'sk-test-bare-0002');
    });

    it('takes BREAKWATER_SECRET_* over the file', async () => {
      await writeSecrets({ 'tenant-acme': 'sk-test-file-0003' });
      env.BREAKWATER_SECRET_TENANT_ACME = 'sk-test-env-0003';

      const answer = await client.send(new GetSecretValueCommand({ SecretId: 'tenant-acme' }));

      assert.equal(answer.SecretString, 'sk-test-env-0003');
    });

    it('a new value is a new VersionId, as after a rotation', async () => {
      await writeSecrets({ openai: 'sk-test-old-0001' });
      const before = await client.send(new GetSecretValueCommand({ SecretId: 'openai' }));
      await writeSecrets({ openai: 'sk-test-rotated-0002' });
      const afterRotation = await client.send(new GetSecretValueCommand({ SecretId: 'openai' }));

      assert.notEqual(before.VersionId, afterRotation.VersionId);
      assert.equal(afterRotation.SecretString, 'sk-test-rotated-0002');
    });

    it('raises ResourceNotFoundException for an unknown secret', async () => {
      const error = await client.send(new GetSecretValueCommand({ SecretId: 'nope' })).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );

      assert.ok(error instanceof ResourceNotFoundException);
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.match(error.message, /BREAKWATER_SECRET_NOPE/);
    });

    it('answers an unknown secret with 400, __type and x-amzn-errortype', async () => {
      const response = await fetch(local.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
        body: JSON.stringify({ SecretId: 'nope' }),
      });

      assert.equal(response.status, 400);
      assert.equal(response.headers.get('x-amzn-errortype'), 'ResourceNotFoundException');
      assert.equal(response.headers.get('content-type'), 'application/x-amz-json-1.1');
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body.__type, 'ResourceNotFoundException');
      assert.equal(typeof body.message, 'string');
    });

    it('answers any other operation with 400 UnknownOperationException', async () => {
      const response = await fetch(local.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
        body: '{}',
      });

      assert.equal(response.status, 400);
      assert.equal(response.headers.get('x-amzn-errortype'), 'UnknownOperationException');
      assert.equal(((await response.json()) as { __type: string }).__type, 'UnknownOperationException');
    });

    it('never sends back the content of an unreadable secrets file', async () => {
      await writeFile(secretsFile, '{"openai": "sk-test-broken-0004"');

      const response = await fetch(local.endpoint, {
        method: 'POST',
        headers: { 'x-amz-target': 'secretsmanager.GetSecretValue' },
        body: JSON.stringify({ SecretId: 'openai' }),
      });

      assert.equal(response.status, 500);
      const text = await response.text();
      assert.doesNotMatch(text, /sk-test-broken-0004/);
      assert.deepEqual(JSON.parse(text), { __type: 'InternalServiceError', message: `${secretsFile} is not valid JSON` });
    });

    it('is found through AWS_ENDPOINT_URL_SECRETS_MANAGER by a client given no endpoint', async () => {
      await writeSecrets({ openai: 'sk-test-envurl-0005' });
      const saved = { ...process.env };
      Object.assign(process.env, {
        AWS_ENDPOINT_URL_SECRETS_MANAGER: local.endpoint,
        AWS_REGION: 'local',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      });
      const fromEnv = createSecretsManagerClient();
      try {
        const answer = await fromEnv.send(new GetSecretValueCommand({ SecretId: 'openai' }));
        assert.equal(answer.SecretString, 'sk-test-envurl-0005');
      } finally {
        fromEnv.destroy();
        for (const key of ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
          if (saved[key] === undefined) delete process.env[key];
          else process.env[key] = saved[key];
        }
      }
    });
  });

  describe('through SecretsManagerSource (Powertools Parameters)', () => {
    let sourceClient: SecretsManagerClient;
    let sends: { count: number };

    beforeEach(() => {
      sourceClient = realClient(local.endpoint);
      sends = countSends(sourceClient);
    });
    afterEach(() => sourceClient.destroy());

    it('reads a JSON secret and a bare-string secret', async () => {
      await writeSecrets({ openai: { api_key: 'sk-test-json-0006', organization: 'org-test' }, anthropic: 'sk-test-bare-0006' });
      const source = new SecretsManagerSource({ client: sourceClient });

      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-json-0006', organization: 'org-test' });
      assert.deepEqual(await source.get('anthropic'), { api_key: 'sk-test-bare-0006' });
    });

    it('answers undefined for a missing secret', async () => {
      const source = new SecretsManagerSource({ client: sourceClient });

      assert.equal(await source.get('nope'), undefined);
    });

    it('serves a cached value after the file changes, and the new one on forceRefresh', async () => {
      await writeSecrets({ openai: 'sk-test-old-0001' });
      const source = new SecretsManagerSource({ client: sourceClient });
      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-old-0001' });

      await writeSecrets({ openai: 'sk-test-rotated-0002' });

      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-old-0001' });
      assert.equal(sends.count, 1);
      assert.deepEqual(await source.get('openai', { forceRefresh: true }), { api_key: 'sk-test-rotated-0002' });
      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-rotated-0002' });
      assert.equal(sends.count, 2);
    });

    it('fetches again once maxAge has passed', async () => {
      await writeSecrets({ openai: 'sk-test-old-0001' });
      const source = new SecretsManagerSource({ client: sourceClient, maxAge: 1 });
      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-old-0001' });
      await writeSecrets({ openai: 'sk-test-rotated-0002' });
      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-old-0001' });

      await sleep(1_100); // Powertools' cache runs on the wall clock, in whole seconds.

      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-rotated-0002' });
      assert.equal(sends.count, 2);
    });

    it('prefetch caches every named secret, ignoring the missing ones', async () => {
      await writeSecrets({ openai: 'sk-test-pre-0007', anthropic: 'sk-test-pre-0008' });
      const source = new SecretsManagerSource({ client: sourceClient });

      await source.prefetch(['openai', 'anthropic', 'nope']);
      await writeSecrets({});

      assert.equal(sends.count, 3);
      assert.deepEqual(await source.get('openai'), { api_key: 'sk-test-pre-0007' });
      assert.deepEqual(await source.get('anthropic'), { api_key: 'sk-test-pre-0008' });
      assert.equal(await source.get('nope'), undefined);
      assert.equal(sends.count, 3);
    });

    it('logs an unreadable secrets file by name and error only', async () => {
      await writeFile(secretsFile, '{"openai": "sk-test-broken-0004"');
      const warnings: unknown[] = [];
      const source = new SecretsManagerSource({ client: sourceClient, logger: { warn: (...args: unknown[]) => warnings.push(args) } });

      assert.equal(await source.get('openai'), undefined);

      assert.deepEqual(warnings, [
        [
          'secret could not be read; targets using it are unavailable',
          { secret: 'openai', error_name: 'InternalServiceError', status: 500, error_message: `${secretsFile} is not valid JSON` },
        ],
      ]);
    });
  });
});
