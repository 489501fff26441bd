import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../../shared/credentials';
import { StoreTimeoutError } from '../../../shared/stores/boundedCalls';
import { loadTracing } from '../../../shared/telemetry/loadTracing';

/** As the handlers do: the Secrets Manager client is captured by X-Ray like DynamoDB's and SQS's. */
describe('Secrets Manager client tracing', () => {
  const saved = { ...process.env };
  let hung: Server;
  let endpoint: string;
  before(async () => {
    // Powertools' Tracer records only in Lambda: make this process look like one.
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'breakwater-test';
    process.env.AWS_REGION = process.env.AWS_REGION ?? 'us-east-1';
    process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'sk-test-secret';
    // A Secrets Manager that never answers: the captured client must still be bounded.
    hung = createServer(() => {});
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
  });
  after(async () => {
    process.env = saved;
    hung.closeAllConnections();
    await new Promise((resolve) => hung.close(resolve));
  });

  it("adds X-Ray's middleware to the client, captured after it was built (in place, as the handlers do)", async () => {
    const tracing = await loadTracing('breakwater-test', { AWS_LAMBDA_FUNCTION_NAME: 'breakwater-test' });
    assert.ok(tracing);
    const plain = createSecretsManagerClient({ region: 'us-east-1' });
    const client = createSecretsManagerClient({ region: 'us-east-1' });
    const returned = tracing.captureClient(client);
    assert.equal(returned, client, 'captured in place: the SecretsManagerSource already holding it is traced too');
    const names = client.middlewareStack.identify();
    assert.ok(names.some((name) => /xray|capture|segment/i.test(name)), names.join(', '));
    assert.ok(!plain.middlewareStack.identify().some((name) => /xray|capture|segment/i.test(name)));
  });

  it('keeps the 2 s bound on a captured client', async () => {
    const tracing = await loadTracing('breakwater-test', { AWS_LAMBDA_FUNCTION_NAME: 'breakwater-test' });
    const client = createSecretsManagerClient({ endpoint, region: 'us-east-1' });
    tracing!.captureClient(client);
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: 'openai' })), (error: unknown) => error instanceof StoreTimeoutError);
    client.destroy();
  });
});
