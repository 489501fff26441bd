import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadTracing } from '../../../shared/telemetry/loadTracing';
import { createDynamoClients } from '../../../shared/stores/dynamo';

describe('loadTracing', () => {
  const saved = { ...process.env };
  before(() => {
    // Powertools' Tracer records only in Lambda: make this process look like one.
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'breakwater-test';
    process.env.AWS_REGION = process.env.AWS_REGION ?? 'us-east-1';
    process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
  });
  after(() => {
    process.env = saved;
  });

  it('is off outside Lambda: nothing is imported or returned', async () => {
    assert.equal(await loadTracing('breakwater-test', {}), undefined);
  });

  it("captures an AWS SDK client's calls: X-Ray's middleware is added to the client the document client is built on", async () => {
    const tracing = await loadTracing('breakwater-test', { AWS_LAMBDA_FUNCTION_NAME: 'breakwater-test' });
    assert.ok(tracing);
    const plain = new DynamoDBClient({ region: 'us-east-1' });
    const captured = tracing.captureClient(new DynamoDBClient({ region: 'us-east-1' }));
    assert.ok(captured.middlewareStack.identify().length > plain.middlewareStack.identify().length, captured.middlewareStack.identify().join(', '));
    const { client } = createDynamoClients({ region: 'us-east-1', instrument: tracing.captureClient });
    assert.ok(client.middlewareStack.identify().some((name) => /xray|capture|segment/i.test(name)), client.middlewareStack.identify().join(', '));
  });
});
