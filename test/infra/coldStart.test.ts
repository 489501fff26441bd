import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build, type Metafile } from 'esbuild';
import * as z from 'zod';
import { staticClosure } from '../../bench/coldBundle.js';
import { CHUNKS_DIR, codeSplittingCommand } from '../../lib/BreakwaterNodejsFunction.js';
import { GatewayFunction } from '../../lib/GatewayFunction.js';
import { DEFAULT_GATEWAY_ENTRY, DEFAULT_WORKER_ENTRY, REPO_ROOT } from '../../lib/paths.js';
import { capTodayBody, createKeyBody, forceBreakerBody, reasonBody, rotateKeyBody } from '../../shared/api/admin/adminInput.js';
import { countTokensRequestSchema, messagesRequestSchema } from '../../shared/api/messages/messagesRequestSchema.js';
import { inputItemSchema, responsesRequestSchema } from '../../shared/api/responses/requestSchema.js';
import { chatCompletionRequestSchema, embeddingsRequestSchema } from '../../shared/gateway/requestSchemas.js';
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

  it('a lazy SQS client is instrumented (X-Ray capture) once, when first built, and sends through the instrumented client', async () => {
    const sqs = mockClient(SQSClient);
    try {
      sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
      const instrumented: SQSClient[] = [];
      const client = lazySqsClient({
        region: 'us-east-1',
        instrument: (raw) => {
          instrumented.push(raw);
          return raw;
        },
      });
      assert.equal(instrumented.length, 0, 'nothing built before the first send');
      const queue = new SqsTaskQueue(client, { high: 'https://sqs.test/high', normal: 'https://sqs.test/normal' });
      await queue.send({ tenant: 'acme', taskId: 'task_1' }, 'high');
      await queue.send({ tenant: 'acme', taskId: 'task_2' }, 'high');
      assert.equal(instrumented.length, 1);
      assert.ok(instrumented[0] instanceof SQSClient);
      assert.equal(sqs.commandCalls(SendMessageCommand).length, 2);
    } finally {
      sqs.restore();
    }
  });
});

/** The gateway's bundle as the stack builds it (SDK bundled, code splitting), and what its cold import loads. */
async function gatewayStartupInputs(): Promise<string[]> {
  const result = await build({
    entryPoints: [DEFAULT_GATEWAY_ENTRY],
    absWorkingDir: REPO_ROOT,
    outdir: 'out',
    entryNames: 'index',
    chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    write: false,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
  });
  const outputs: Metafile['outputs'] = result.metafile.outputs;
  return staticClosure(outputs, 'out/index.mjs').flatMap((name) => Object.keys(outputs[name]!.inputs));
}

const packageOf = (input: string) => {
  const parts = input.slice(input.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
};

describe('cold start: what the gateway parses and runs at import', () => {
  it('leaves the code only some requests need to chunks loaded on first use', async () => {
    const loaded = new Set((await gatewayStartupInputs()).filter((input) => input.includes('node_modules/')).map(packageOf));
    assert.ok(loaded.has('@aws-sdk/client-dynamodb'), `the closure is the real one: ${[...loaded].join(', ')}`);
    // MCP (with ajv, its JSON Schema validator), Bedrock, tasks (SQS), AppConfig delivery, and
    // X-Ray (loaded by loadTracing on Lambda only): each behind an `import()` of its own.
    for (const lazy of ['@modelcontextprotocol/sdk', 'ajv', '@aws-sdk/client-bedrock-runtime', '@aws-sdk/client-sqs', '@aws-sdk/client-appconfigdata', 'aws-xray-sdk-core']) {
      assert.ok(!loaded.has(lazy), `${lazy} is in the gateway's startup chunks`);
    }
  });

  it("bundles only the parts of zod in use (`import * as z from 'zod'`, never `import { z }`)", async () => {
    // `{ z }` is one namespace object holding all of zod: esbuild then keeps every module of it
    // (its locales, JSON Schema conversion: 443 KB of the gateway's 1.1 MB at the time).
    const zod = (await gatewayStartupInputs()).filter((input) => input.includes('node_modules/zod/'));
    assert.ok(zod.length > 0, 'zod is bundled');
    const unused = zod.filter((input) => /\/locales\/(?!en\.js$)|from-json-schema/.test(input));
    assert.deepEqual(unused, [], 'a module imports `{ z }` from zod (or uses z.locales or z.fromJSONSchema) at startup');
  });

  it("builds each door's request schemas on its first request, not at import", () => {
    const schemas = {
      chatCompletionRequestSchema,
      embeddingsRequestSchema,
      responsesRequestSchema,
      inputItemSchema,
      messagesRequestSchema,
      countTokensRequestSchema,
      createKeyBody,
      rotateKeyBody,
      forceBreakerBody,
      capTodayBody,
      reasonBody,
    };
    for (const [name, schema] of Object.entries(schemas)) assert.ok(schema instanceof z.ZodLazy, `${name} is built at import`);
  });

  it("the stack's bundling command splits each function's bundle: index.mjs imports its chunks", () => {
    const out = mkdtempSync(join(REPO_ROOT, 'node_modules', '.cold-split-'));
    try {
      for (const entry of [DEFAULT_GATEWAY_ENTRY, DEFAULT_WORKER_ENTRY]) {
        const dir = join(out, relative(REPO_ROOT, entry).replaceAll('/', '-'));
        execFileSync('bash', ['-c', codeSplittingCommand(REPO_ROOT.replace(/\/$/, ''), dir, entry)], { stdio: 'pipe' });
        const index = readFileSync(join(dir, 'index.mjs'), 'utf8');
        assert.ok(existsSync(join(dir, 'index.mjs.map')), 'with its source map');
        const chunks = readdirSync(join(dir, CHUNKS_DIR)).filter((file) => file.endsWith('.mjs'));
        assert.ok(chunks.length > 1, `chunks: ${chunks.join(', ')}`);
        assert.match(index, new RegExp(`from"\\./${CHUNKS_DIR}/chunk-[A-Z0-9]+\\.mjs"`), 'index.mjs imports its chunks');
        assert.match(index, /import\(/, 'and loads some only on first use');
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('cold start: source-mapped stack traces', () => {
  const nodeOptions = (props: { sourceMapStackTraces?: boolean }) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'SourceMaps');
    new GatewayFunction(stack, 'Gateway', props);
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    return Object.values(functions).map((fn) => (fn['Properties'] as { Environment: { Variables: Record<string, string> } }).Environment.Variables['NODE_OPTIONS']);
  };

  it('are off by default (Node would index every source map at import) and on when asked', () => {
    assert.deepEqual(nodeOptions({}), [undefined]);
    assert.deepEqual(nodeOptions({ sourceMapStackTraces: true }), ['--enable-source-maps']);
  });
});
