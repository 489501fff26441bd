/**
 * The deployed artefact, run as Lambda runs it: the gateway bundle built with the stack's own
 * esbuild settings (lib/BreakwaterNodejsFunction.ts), its config copied next to it as the stack
 * does, imported with a runtime-like `awslambda` global, invoked as a response-streaming handler
 * `handler(event, responseStream, context)`, and its output read as API Gateway's streaming
 * integration reads it: the JSON prelude, 8 NUL bytes, then the body.
 *
 * State lives in an in-process dynalite, as under `npm start`; the route's provider is the
 * built-in `simulated` one, so no secret is fetched.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build } from 'esbuild';
import { startLocalDynamo, type LocalDynamo } from '../../../bin/local/localDynamo';
import {
  LambdaResponseStream,
  PRELUDE_DELIMITER_LENGTH,
  installAwsLambdaGlobal,
  invokeStreamingHandler,
  isStreamingHandler,
  type StreamingHandler,
} from '../../../bin/local/lambdaStreaming';
import { BUNDLED_CONFIG_FILE, breakwaterBundling, CHUNKS_DIR } from '../../../lib/BreakwaterNodejsFunction';
import { DEFAULT_GATEWAY_ENTRY, REPO_ROOT } from '../../../lib/paths';
import { DynamoKeyStore, seedKeys } from '../../../shared/keys';
import { compileConfig } from '../../../shared/config';
import { createDynamoClients, tableNamesFromEnv } from '../../../shared/stores/dynamo';
import { lambdaContext, proxyEvent, readText, type ProxyRequest } from '../../support/proxyEvent';

const KEY = 'bw_test_bundle_key_0001_xxxxxxxx';
const CONFIG = {
  providers: {
    sim: { type: 'simulated', latency_ms: 5, failure_rate: 0, stream_chunk_delay_ms: 1 },
    // A slow stream (200 ms a word), for a client that leaves halfway.
    slow: { type: 'simulated', latency_ms: 5, failure_rate: 0, stream_chunk_delay_ms: 200 },
  },
  routes: {
    default: { strategy: { mode: 'single' }, targets: [{ provider: 'sim', override_params: { model: 'sim-model' } }] },
    slow: { strategy: { mode: 'single' }, targets: [{ provider: 'slow', override_params: { model: 'slow-model' } }] },
  },
  tenants: { bundle: { route: 'default', allowed_routes: ['slow'], keys: [KEY] } },
};

/**
 * esbuild with the options CDK's NodejsFunction gets from `breakwaterBundling` (same entry, same
 * output name), code-split as the stack's after-bundling step splits it (`codeSplittingCommand`).
 */
async function buildLikeTheStack(outDir: string, configPath: string): Promise<string> {
  const options = breakwaterBundling(configPath);
  const outfile = join(outDir, 'index.mjs');
  await build({
    entryPoints: [DEFAULT_GATEWAY_ENTRY],
    outdir: outDir,
    splitting: true,
    entryNames: 'index',
    chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
    outExtension: { '.js': '.mjs' },
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    format: options.format === OutputFormat.ESM ? 'esm' : 'cjs',
    target: options.target,
    minify: options.minify,
    mainFields: options.mainFields,
    banner: options.banner ? { js: options.banner } : undefined,
    external: options.externalModules,
    sourcemap: options.sourceMap,
    sourcesContent: options.sourcesContent,
    logLevel: 'error',
  });
  assert.ok(readdirSync(join(outDir, CHUNKS_DIR)).length > 0, 'the lazily loaded code is in chunks of its own');
  // The stack's afterBundling hook: the config lands next to index.mjs.
  copyFileSync(configPath, join(outDir, BUNDLED_CONFIG_FILE));
  // @aws-sdk/* stays external, as on Lambda where the runtime ships it: here from the repo.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  return outfile;
}

/** Invokes the handler as the runtime does and reads the answer as API Gateway does, body included. */
async function call(handler: StreamingHandler<APIGatewayProxyEvent>, request: ProxyRequest) {
  const event = proxyEvent(request);
  const invocation = invokeStreamingHandler(handler, event, lambdaContext(30_000));
  const response = await invocation.response;
  const body = await readText(response.body);
  await invocation.done;
  return { ...response, body, requestId: event.requestContext.requestId };
}

/** The raw bytes the function writes to its response stream, for one request. */
async function rawOutput(handler: StreamingHandler<APIGatewayProxyEvent>, request: ProxyRequest): Promise<Buffer> {
  const responseStream = new LambdaResponseStream();
  const chunks: Buffer[] = [];
  responseStream.wire.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => responseStream.wire.once('end', resolve));
  await handler(proxyEvent(request), responseStream as never, lambdaContext(30_000));
  await ended;
  return Buffer.concat(chunks);
}

function splitRaw(raw: Buffer): { prelude: unknown; delimiter: Buffer; body: string } {
  const at = raw.indexOf(0);
  assert.ok(at > 0, 'no NUL byte in the output');
  return {
    prelude: JSON.parse(raw.subarray(0, at).toString('utf8')),
    delimiter: raw.subarray(at, at + PRELUDE_DELIMITER_LENGTH),
    body: raw.subarray(at + PRELUDE_DELIMITER_LENGTH).toString('utf8'),
  };
}

const chatRequest = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }): ProxyRequest => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

describe('the gateway Lambda bundle under the response-streaming runtime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-bundle-'));
  const savedEnv = { ...process.env };
  let dynamo: LocalDynamo;
  let handler: StreamingHandler<APIGatewayProxyEvent>;

  before(async () => {
    const configPath = join(dir, 'source.config.json');
    writeFileSync(configPath, JSON.stringify(CONFIG));
    const bundle = await buildLikeTheStack(join(dir, 'asset'), configPath);

    // What the stack's environment and npm start's emulators give the function.
    Object.assign(process.env, {
      BREAKWATER_CONFIG: join(dir, 'asset', BUNDLED_CONFIG_FILE),
      POWERTOOLS_SERVICE_NAME: 'breakwater-gateway',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    delete process.env.AWS_LAMBDA_FUNCTION_NAME; // no X-Ray off Lambda
    dynamo = await startLocalDynamo(process.env);
    const { doc, client } = createDynamoClients({ endpoint: dynamo.endpoint });
    await seedKeys(new DynamoKeyStore({ doc, tableName: tableNamesFromEnv().keys }), compileConfig(CONFIG).tenants.values());
    client.destroy();

    // As the runtime: the global first, then the handler module.
    installAwsLambdaGlobal();
    const loaded = (await import(pathToFileURL(bundle).href)) as { handler: unknown };
    assert.ok(isStreamingHandler<APIGatewayProxyEvent>(loaded.handler), 'the bundle exports no streamifyResponse-marked handler');
    handler = loaded.handler;
  });

  after(async () => {
    await dynamo?.close();
    process.env = savedEnv;
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /health: the prelude carries status and headers, then 8 NUL bytes, then the JSON body', async () => {
    const raw = await rawOutput(handler, { method: 'GET', path: '/health' });
    const { prelude, delimiter, body } = splitRaw(raw);
    assert.deepEqual(delimiter, Buffer.alloc(PRELUDE_DELIMITER_LENGTH));
    assert.equal((prelude as { statusCode: number }).statusCode, 200);
    assert.equal((prelude as { headers: Record<string, string> }).headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(body), { status: 'ok' });

    const response = await call(handler, { method: 'GET', path: '/health' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.headers['x-request-id'], response.requestId);
    assert.deepEqual(JSON.parse(response.body), { status: 'ok' });
  });

  it('POST /v1/chat/completions with a malformed body: the 400 JSON error, byte for byte', async () => {
    const request = { ...chatRequest('{"model": "x", "messages": ['), requestId: 'req-bad-json' };
    const { prelude, delimiter, body } = splitRaw(await rawOutput(handler, request));
    assert.deepEqual(prelude, { statusCode: 400, headers: { 'content-type': 'application/json', 'x-request-id': 'req-bad-json' } });
    assert.deepEqual(delimiter, Buffer.alloc(PRELUDE_DELIMITER_LENGTH));
    assert.equal(
      body,
      '{"error":{"message":"the request body is not valid JSON","type":"invalid_request_error","code":"invalid_request"}}',
    );
  });

  it('POST /v1/chat/completions that fails validation: 400 naming the field', async () => {
    const response = await call(handler, chatRequest({ model: 'x', messages: 'hi' }));
    assert.equal(response.statusCode, 400);
    assert.equal(response.headers['content-type'], 'application/json');
    const error = (JSON.parse(response.body) as { error: { type: string; message: string } }).error;
    assert.equal(error.type, 'invalid_request_error');
    assert.match(error.message, /messages/);
  });

  it('without a virtual key: 401, as JSON', async () => {
    const response = await call(handler, chatRequest({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, {}));
    assert.equal(response.statusCode, 401);
    assert.equal((JSON.parse(response.body) as { error: { type: string } }).error.type, 'authentication_error');
  });

  it('a chat completion through the key store and the simulated provider: 200 with the Breakwater headers', async () => {
    const response = await call(
      handler,
      chatRequest({ model: 'any', messages: [{ role: 'user', content: 'hello bundle' }] }),
    );
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.headers['x-breakwater-target'], 'sim/sim-model');
    assert.equal(response.headers['x-breakwater-attempts'], '1');
    const completion = JSON.parse(response.body) as { object: string; model: string; choices: Array<{ message: { content: string } }> };
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'sim-model');
    assert.match(completion.choices[0]!.message.content, /hello bundle/);
  });

  it('a streamed chat completion: an SSE head from the prelude, then `data:` events and [DONE]', async () => {
    const response = await call(handler, chatRequest({ model: 'any', stream: true, messages: [{ role: 'user', content: 'stream me' }] }));
    assert.equal(response.statusCode, 200, response.body);
    assert.match(response.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(response.headers['x-breakwater-target'], 'sim/sim-model');
    const events = response.body.split('\n\n').filter(Boolean);
    assert.ok(events.every((event) => event.startsWith('data: ')), response.body);
    assert.equal(events.at(-1), 'data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)) as { object: string; choices: Array<{ delta?: { content?: string } }> });
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk'));
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    assert.match(text, /stream me/);
  });

  it('a client that leaves mid-stream ends the invocation at once, not when the answer would have', async () => {
    const words = 'one two three four five six seven eight nine ten';
    const invocation = invokeStreamingHandler(
      handler,
      proxyEvent(chatRequest({ model: 'any', stream: true, messages: [{ role: 'user', content: words }] }, { authorization: `Bearer ${KEY}`, 'x-breakwater-route': 'slow' })),
      lambdaContext(30_000),
    );
    const response = await invocation.response;
    assert.equal(response.statusCode, 200);
    await new Promise((resolve) => response.body.once('data', resolve));
    const leftAt = Date.now();
    invocation.abort();
    // Middy's pipeline fails with the destroyed response stream; the engine's body is destroyed.
    await assert.rejects(invocation.done);
    // Ten-odd words at 200 ms each would take seconds.
    assert.ok(Date.now() - leftAt < 1_000, `the invocation ran on for ${Date.now() - leftAt} ms`);
  });
});
