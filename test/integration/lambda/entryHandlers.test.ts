/**
 * The production entry files, `functions/gateway/handler.ts` and `functions/worker/handler.ts`,
 * imported as Lambda imports them, with the environment the synthesized CDK template gives each
 * function: its literal values as they are (secret prefix, receive count, log level), and each
 * table and queue it names replaced by one on the local emulators (DynamoDB Local, fauxqs, the
 * local Secrets Manager endpoint). A variable the stack adds that this test cannot stand anything
 * for fails it, so the handlers never run on an environment nobody tried.
 *
 * One request through the gateway (a chat completion whose credential is read from Secrets
 * Manager under the stack's prefix), one task submitted through it, and the SQS batch carrying
 * that task through the worker.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { installAwsLambdaGlobal, invokeStreamingHandler, isStreamingHandler, type StreamingHandler } from '../../../bin/local/lambdaStreaming';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../../bin/local/localSecretsManager';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { toSqsRecord } from '../../../bin/local/sqsPoller';
import { BUNDLED_CONFIG_FILE } from '../../../lib/BreakwaterNodejsFunction';
import { compileConfig } from '../../../shared/config';
import { secretEnvVarName } from '../../../shared/credentials';
import { DynamoKeyStore, seedKeys } from '../../../shared/keys';
import { QUEUE_ENV } from '../../../shared/queue/queueEnv';
import { TABLES, type TableId } from '../../../shared/stores/dynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { lambdaContext, proxyEvent, readText, type ProxyRequest } from '../../support/proxyEvent';
import { environmentOf, gatewayFunction, synth, useScratch, workerFunction } from '../../infra/synthStack';

const KEY = 'bw_test_entry_handlers_key_0000000000001';
const UPSTREAM_KEY = 'sk-test-entry-handlers-0001';
/** Lambda's task root: the stack points BREAKWATER_CONFIG at the config bundled there. */
const LAMBDA_TASK_ROOT = '/var/task';

type Environment = Record<string, string>;

/**
 * A function's environment from the template with every non-literal value (a `Ref`, or an
 * `Fn::ImportValue` once the state lives in its own stack) replaced by the local resource
 * `locals` has under the variable's name; a variable this test cannot stand anything for throws.
 */
function resolveEnvironment(variables: Record<string, unknown>, locals: ReadonlyMap<string, string>): Environment {
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      if (typeof value === 'string') return [name, value];
      const local = locals.get(name);
      assert.ok(local !== undefined, `${name} = ${JSON.stringify(value)}: nothing local stands for it; teach this test`);
      return [name, local];
    }),
  );
}

/**
 * Keeps the handlers' log lines (Powertools writes JSON lines to stdout, warnings to stderr, at
 * the template's INFO level) out of the test output, and keeps them for the scan below.
 * Anything else passes through.
 */
function captureLogLines() {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, index) => {
    const original = originals[index]!;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.startsWith('{"level"')) {
        lines.push(...text.split('\n').filter((line) => line !== ''));
        return true;
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
  });
  return {
    lines,
    restore: () => streams.forEach((stream, index) => (stream.write = originals[index]!)),
  };
}

/** The handler's JSON answer, read as API Gateway's streaming integration reads it. */
async function call(handler: StreamingHandler<APIGatewayProxyEvent>, request: ProxyRequest) {
  const invocation = invokeStreamingHandler(handler, proxyEvent(request), lambdaContext(30_000));
  const response = await invocation.response;
  const body = await readText(response.body);
  await invocation.done;
  return { status: response.statusCode, headers: response.headers, json: JSON.parse(body) as Record<string, unknown> };
}

describe('the production entry files with the CDK template environment', () => {
  const scratch = useScratch();
  const savedEnv = { ...process.env };
  let dynamo: DynamoLocal;
  let sqs: LocalSqs;
  let secretsManager: LocalSecretsManager;
  let upstream: MockUpstream;
  let gatewayEnv: Environment;
  let workerEnv: Environment;
  let gateway: StreamingHandler<APIGatewayProxyEvent>;
  let worker: (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse | void>;
  const logs = captureLogLines();

  before(async () => {
    upstream = await startMockUpstream();
    const config = {
      providers: { upstream: { type: 'openai', base_url: upstream.baseUrl, credential: 'upstream' } },
      routes: { default: { strategy: { mode: 'single' }, retry: { attempts: 0 }, targets: [{ provider: 'upstream', override_params: { model: 'mock-model' } }] } },
      tenants: { entry: { route: 'default', keys: [KEY] } },
    };
    const taskRoot = join(scratch.dir, 'task-root');
    mkdirSync(taskRoot);
    const configPath = join(taskRoot, BUNDLED_CONFIG_FILE);
    writeFileSync(configPath, JSON.stringify(config));

    const { json } = synth(scratch, { configPath });
    [dynamo, sqs] = await Promise.all([startDynamoLocal(), startLocalSqs({ env: {}, prefix: `entry-${Date.now().toString(36)}` })]);

    const locals = new Map<string, string>([
      [QUEUE_ENV.HIGH_URL, sqs.queues.high.url],
      [QUEUE_ENV.NORMAL_URL, sqs.queues.normal.url],
      // One local DLQ stands for both priorities' dead-letter queues.
      ['BREAKWATER_QUEUE_DLQ_HIGH_URL', sqs.queues.dlq.url],
      ['BREAKWATER_QUEUE_DLQ_NORMAL_URL', sqs.queues.dlq.url],
    ]);
    for (const id of Object.keys(TABLES) as TableId[]) locals.set(TABLES[id].envVar, dynamo.tables[id]);
    gatewayEnv = resolveEnvironment(environmentOf(gatewayFunction(json)[1]), locals);
    workerEnv = resolveEnvironment(environmentOf(workerFunction(json)[1]), locals);

    const secretPrefix = gatewayEnv.BREAKWATER_SECRET_PREFIX;
    assert.ok(secretPrefix, 'the template gives the gateway its secret prefix');
    secretsManager = await startLocalSecretsManager({
      env: { [secretEnvVarName(`${secretPrefix}upstream`)]: JSON.stringify({ api_key: UPSTREAM_KEY }) },
      secretsFile: join(scratch.dir, 'no-secrets.json'),
    });

    for (const env of [gatewayEnv, workerEnv]) {
      assert.equal(env.BREAKWATER_CONFIG, `${LAMBDA_TASK_ROOT}/${BUNDLED_CONFIG_FILE}`);
      env.BREAKWATER_CONFIG = configPath;
    }
    // What the Lambda runtime adds, with the endpoints pointed at the emulators. No
    // AWS_LAMBDA_FUNCTION_NAME: off Lambda, tracing stays off.
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    const runtime: Environment = {
      // DynamoDB Local keeps one database per region and access key: the one its tables are in.
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
      LAMBDA_TASK_ROOT: taskRoot,
      // Not Lambda's: off Lambda, the SDK's Node 20 notice and the metrics' EMF lines are noise.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    await seedKeys(new DynamoKeyStore({ doc: dynamo.doc, tableName: gatewayEnv.BREAKWATER_TABLE_KEYS! }), compileConfig(config).tenants.values());

    // Each module reads process.env once, at import: one after the other, each with its own.
    installAwsLambdaGlobal();
    Object.assign(process.env, gatewayEnv, runtime);
    const gatewayModule = (await import('../../../functions/gateway/handler')) as { handler: unknown };
    assert.ok(isStreamingHandler<APIGatewayProxyEvent>(gatewayModule.handler), 'the gateway exports a response-streaming handler');
    gateway = gatewayModule.handler;
    for (const name of Object.keys(gatewayEnv)) delete process.env[name];
    Object.assign(process.env, workerEnv, runtime);
    worker = ((await import('../../../functions/worker/handler')) as { handler: typeof worker }).handler;
  });

  after(async () => {
    logs.restore();
    process.env = savedEnv;
    await secretsManager?.close();
    await sqs?.close();
    await upstream?.close();
    await dynamo?.stop();
  });

  it('the gateway handler serves a chat completion with the credential stored under the stack prefix', async () => {
    upstream.script({ body: chatCompletion('hello from the entry file') });
    const response = await call(gateway, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: { model: 'any', messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(response.status, 200, JSON.stringify(response.json));
    assert.equal(response.headers['x-breakwater-target'], 'upstream/mock-model');
    const choices = response.json.choices as Array<{ message: { content: string } }>;
    assert.equal(choices[0]?.message.content, 'hello from the entry file');
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0]?.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });

  it('a task submitted through the gateway handler is run by the worker handler from its SQS batch', async () => {
    upstream.script({ body: chatCompletion('the task answer') });
    const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const submitted = await call(gateway, {
      method: 'POST',
      path: '/v1/tasks',
      headers: auth,
      body: { request: { model: 'any', messages: [{ role: 'user', content: 'later' }] }, priority: 'high' },
    });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.json));
    const taskId = submitted.json.id as string;

    // The message is on the queue the template names, as the event source mapping receives it.
    const { Messages = [] } = await sqs.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: workerEnv.BREAKWATER_QUEUE_HIGH_URL, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );
    assert.equal(Messages.length, 1);
    const batch = await worker({ Records: Messages.map((message) => toSqsRecord(message, sqs.queues.high.arn)) }, lambdaContext(120_000));
    assert.deepEqual(batch?.batchItemFailures ?? [], []);

    const task = await call(gateway, { method: 'GET', path: `/v1/tasks/${taskId}`, headers: auth });
    assert.equal(task.status, 200);
    assert.equal(task.json.status, 'succeeded');
    const result = task.json.result as { choices: Array<{ message: { content: string } }> };
    assert.equal(result.choices[0]?.message.content, 'the task answer');
    assert.equal(upstream.requests.length, 2);
  });

  it("the handlers' log lines are JSON, with an audit line per request, and carry neither the virtual key nor the provider key", () => {
    const lines = logs.lines.map((line) => JSON.parse(line) as { message: string; service: string });
    assert.ok(lines.filter((line) => line.message === 'audit').length >= 2, 'an audit line per request');
    assert.ok(lines.some((line) => line.service === 'breakwater-worker'), 'the worker logs too');
    const secrets = [KEY, UPSTREAM_KEY].flatMap((secret) => [secret, Buffer.from(secret).toString('base64')]);
    for (const secret of secrets) assert.ok(!logs.lines.some((line) => line.includes(secret)), 'a key reached a log line');
  });
});
