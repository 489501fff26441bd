import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../lib/paths.js';
import { lazySqsClient } from '../../shared/queue/lazySqsClient.js';
import { SqsTaskQueue } from '../../shared/queue/SqsTaskQueue.js';

/**
 * The AWS SDK clients a request may never need are loaded when first used, not at cold start:
 * checked on the bundle esbuild makes (as CDK runs it, the SDK left external so its imports show).
 */
async function bundleImports(entry: string): Promise<{ static: Set<string>; dynamic: Set<string> }> {
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(entry)};`, resolveDir: REPO_ROOT, loader: 'ts' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
  const sdk = (kind: string) => new Set(imports.filter((i) => i.external && i.kind === kind && i.path.startsWith('@aws-sdk/')).map((i) => i.path));
  return { static: sdk('import-statement'), dynamic: sdk('dynamic-import') };
}

describe('cold start: SDK clients loaded on first use', () => {
  it('the Bedrock SDK is imported only dynamically by the gateway (on the first Bedrock call)', async () => {
    const imports = await bundleImports('./functions/gateway/handler.ts');
    assert.ok(!imports.static.has('@aws-sdk/client-bedrock-runtime'), `static: ${[...imports.static].join(', ')}`);
    assert.ok(imports.dynamic.has('@aws-sdk/client-bedrock-runtime'), `dynamic: ${[...imports.dynamic].join(', ')}`);
  });

  it('the task queue and its lazy client import the SQS SDK only dynamically', async () => {
    for (const entry of ['./shared/queue/lazySqsClient.ts', './shared/queue/SqsTaskQueue.ts']) {
      const imports = await bundleImports(entry);
      assert.deepEqual([...imports.static], [], entry);
      assert.deepEqual([...imports.dynamic], ['@aws-sdk/client-sqs'], entry);
    }
  });

  it('a lazy SQS client sends through the real client once loaded', async () => {
    const sqs = mockClient(SQSClient);
    try {
      sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
      const queue = new SqsTaskQueue(lazySqsClient({ region: 'us-east-1' }), { high: 'https://sqs.test/high', normal: 'https://sqs.test/normal' });
      await queue.send({ tenant: 'acme', taskId: 'task_1' }, 'high');
      await queue.send({ tenant: 'acme', taskId: 'task_2' }, 'normal');
      const calls = sqs.commandCalls(SendMessageCommand).map((c) => [c.args[0].input.QueueUrl, c.args[0].input.MessageBody]);
      assert.deepEqual(calls, [
        ['https://sqs.test/high', '{"tenant":"acme","taskId":"task_1"}'],
        ['https://sqs.test/normal', '{"tenant":"acme","taskId":"task_2"}'],
      ]);
    } finally {
      sqs.restore();
    }
  });
});
