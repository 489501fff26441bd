/**
 * `npm run bench:stream`: what the gateway adds to a streamed chat completion, end to end.
 *
 *  1. A streaming mock OpenAI-compatible upstream (bench/streamingMockUpstream.ts: CHUNKS content
 *     chunks of "tok ", a finish chunk, a usage chunk and `data: [DONE]`, written with no delay,
 *     Nagle off) and dynalite (bench/countingDynamo.ts), each in a process of its own.
 *  2. The gateway as `npm start` runs it (`node --import tsx bin/start.ts`; a temp config: one
 *     `openai` provider at the mock, a single-target route with no retries, a tenant without
 *     caps; its secret from BREAKWATER_SECRET_BENCH; stdout to /dev/null; log level WARN).
 *  3. A raw node:http client on a keep-alive agent (no SDK), straight at the mock and through the
 *     gateway: TTFB (request start to the first body chunk holding `data:`) and time to last
 *     byte over sequential streams, then chunks/s (`data:` frames received over wall time) and
 *     streams/s at concurrency. Every stream is checked: 200, CHUNKS content chunks, `[DONE]` last.
 *  4. Where a sequential stream's TTFB goes: the mock stamps each stream's arrival and first write
 *     (epoch ms from performance.timeOrigin, comparable across processes on one machine), so
 *     client start -> upstream request -> upstream first write -> client's first `data:` splits
 *     the gateway's added TTFB into "before the upstream call" and "relaying the first chunk".
 *
 * Targets are reported as PASS/MISS; the exit code is 0 either way (1 only if the bench broke).
 *
 * Environment knobs:
 *   BENCH_STREAM_WARMUP        warm-up streams per target, at concurrency        (default 50)
 *   BENCH_STREAM_SEQ           sequential streams per target                     (default 300)
 *   BENCH_STREAM_CONC_N        streams at concurrency per target                 (default 500)
 *   BENCH_STREAM_CONC          concurrency                                       (default 16)
 *   BENCH_STREAM_CHUNKS        content chunks per stream                         (default 200)
 *   BENCH_LOG_LEVEL            the gateway's POWERTOOLS_LOG_LEVEL                (default WARN)
 *   BENCH_STREAM_FIRST_GAP_MS  diagnostic: the mock pauses after its first chunk (default 0)
 *   BENCH_CPU_PROF=1           run the gateway under `node --cpu-prof` and print where its CPU went
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { summarizeProfileFile } from './cpuProfileSummary';
import { percentile } from './loadgen';
import { failOnEarlyExit, guardBenchProcess, freePort, killAll, processCpuMs, spawnTracked, stopChild, tail, waitForHttpOk } from './processes';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHAT = '/v1/chat/completions';
const env = process.env;
const WARMUP = Number(env.BENCH_STREAM_WARMUP ?? 50);
const SEQ = Number(env.BENCH_STREAM_SEQ ?? 300);
const CONC_N = Number(env.BENCH_STREAM_CONC_N ?? 500);
const CONC = Number(env.BENCH_STREAM_CONC ?? 16);
const CHUNKS = Number(env.BENCH_STREAM_CHUNKS ?? 200);
const LOG_LEVEL = (env.BENCH_LOG_LEVEL ?? 'WARN').toUpperCase();
const CPU_PROF = env.BENCH_CPU_PROF === '1';
const FIRST_GAP_MS = Number(env.BENCH_STREAM_FIRST_GAP_MS ?? 0);
const WATCHDOG_MS = 240_000;
const KEY = 'bw_test_bench_stream_key_0001_xx';

const TARGETS = { addedTtfbP50Ms: 1 };

// Whatever happens, no child outlives the bench, and its temp dir goes with it.
let tmpDir: string | undefined;
const watchdog = guardBenchProcess(WATCHDOG_MS, () => tmpDir);

const f3 = (value: number) => value.toFixed(3);
const log = (line = '') => console.log(line);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

interface Target {
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
}

function streamTarget(baseUrl: string, key?: string): Target {
  const body = Buffer.from(
    JSON.stringify({
      model: 'bench-model',
      messages: [{ role: 'user', content: 'Say hello in many words.' }],
      max_tokens: CHUNKS + 10,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'content-length': String(body.length),
  };
  if (key) headers.authorization = `Bearer ${key}`;
  return { url: new URL(CHAT, baseUrl), headers, body };
}

/** One stream as the client saw it. */
interface StreamResult {
  ttfbMs: number;
  ttlbMs: number;
  /** Epoch ms (performance.timeOrigin + now()) of the request's start, for the TTFB breakdown. */
  startedAt: number;
  /** `data:` frames received, `[DONE]` included. */
  frames: number;
  /** Why the stream is not a whole, correct answer; undefined when it is. */
  failure?: string;
}

/** Checks a whole SSE body: CHUNKS chunks of "tok ", then `[DONE]` as the last frame, and no error object. */
function checkBody(text: string): { frames: number; failure?: string } {
  let frames = 0;
  let contentChunks = 0;
  let content = '';
  let last = '';
  for (const event of text.split('\n\n')) {
    for (const line of event.split('\n')) {
      if (!line.startsWith('data:')) continue;
      frames++;
      const data = line.slice(5).trim();
      last = data;
      if (data === '[DONE]') continue;
      let chunk: { error?: unknown; choices?: Array<{ delta?: { content?: string | null } }> };
      try {
        chunk = JSON.parse(data);
      } catch {
        return { frames, failure: `frame ${frames} is not JSON: ${data.slice(0, 120)}` };
      }
      if (chunk.error) return { frames, failure: `error frame: ${data.slice(0, 300)}` };
      const piece = chunk.choices?.[0]?.delta?.content;
      if (piece) {
        contentChunks++;
        content += piece;
      }
    }
  }
  if (last !== '[DONE]') return { frames, failure: `does not end with data: [DONE] (last frame: ${last.slice(0, 200) || 'none'})` };
  if (contentChunks !== CHUNKS) return { frames, failure: `${contentChunks} content chunks, expected ${CHUNKS}` };
  if (content !== 'tok '.repeat(CHUNKS)) return { frames, failure: 'content differs from the upstream\'s' };
  return { frames };
}

function streamOnce(agent: http.Agent, target: Target): Promise<StreamResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const startedAt = performance.timeOrigin + started;
    let ttfbMs = Number.NaN;
    let settled = false;
    const fail = (failure: string) => {
      if (settled) return;
      settled = true;
      resolve({ ttfbMs, ttlbMs: performance.now() - started, startedAt, frames: 0, failure });
    };
    const req = http.request(target.url, { method: 'POST', agent, headers: target.headers }, (res) => {
      const status = res.statusCode ?? 0;
      const parts: Buffer[] = [];
      // Until `data:` is seen, the text so far (a chunk may cut "data:" in two).
      let head = '';
      res.on('data', (chunk: Buffer) => {
        if (Number.isNaN(ttfbMs)) {
          head += chunk.toString('latin1');
          if (head.includes('data:')) ttfbMs = performance.now() - started;
        }
        parts.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const ttlbMs = performance.now() - started;
        const text = Buffer.concat(parts).toString('utf8');
        if (status !== 200) {
          resolve({ ttfbMs, ttlbMs, startedAt, frames: 0, failure: `HTTP ${status}: ${text.slice(0, 300)}` });
          return;
        }
        const type = res.headers['content-type'] ?? '';
        if (!type.startsWith('text/event-stream')) {
          resolve({ ttfbMs, ttlbMs, startedAt, frames: 0, failure: `content-type ${type}: ${text.slice(0, 200)}` });
          return;
        }
        resolve({ ttfbMs, ttlbMs, startedAt, ...checkBody(text) });
      });
      res.on('error', (error) => fail(String(error)));
      res.on('aborted', () => fail('response aborted'));
    });
    req.on('error', (error) => fail(String(error)));
    req.end(target.body);
  });
}

interface RunResult {
  count: number;
  concurrency: number;
  wallMs: number;
  ttfb: Float64Array;
  ttlb: Float64Array;
  /** Every stream in the order it finished (sequentially: the order it was sent). */
  streams: StreamResult[];
  frames: number;
  failures: string[];
  /** CPU ms per stream of the gateway (or the mock, direct) and of the mock, from /proc. */
  middleCpuMs?: number;
  mockCpuMs?: number;
  loadgenCpuMs: number;
}

async function run(agent: http.Agent, target: Target, count: number, concurrency: number, pids: { middle?: number; mock?: number }): Promise<RunResult> {
  const ttfb: number[] = [];
  const ttlb: number[] = [];
  const failures: string[] = [];
  const streams: StreamResult[] = [];
  let frames = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const result = await streamOnce(agent, target);
      streams.push(result);
      frames += result.frames;
      if (result.failure) failures.push(result.failure);
      else {
        ttfb.push(result.ttfbMs);
        ttlb.push(result.ttlbMs);
      }
    }
  };
  const cpu = () => {
    const self = process.cpuUsage();
    return { loadgen: (self.user + self.system) / 1000, middle: processCpuMs(pids.middle), mock: processCpuMs(pids.mock) };
  };
  const before = cpu();
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const wallMs = performance.now() - started;
  const after = cpu();
  const perStream = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (b - a) / count);
  return {
    count,
    concurrency,
    wallMs,
    ttfb: Float64Array.from(ttfb).sort(),
    ttlb: Float64Array.from(ttlb).sort(),
    streams,
    frames,
    failures,
    middleCpuMs: perStream(before.middle, after.middle),
    mockCpuMs: perStream(before.mock, after.mock),
    loadgenCpuMs: (after.loadgen - before.loadgen) / count,
  };
}

interface Phase {
  name: string;
  seq: RunResult;
  conc: RunResult;
  warmFailures: string[];
  /** The mock's stamps of the sequential streams, one per stream in order; undefined if they do not pair up. */
  upstreamTimings?: UpstreamTiming[];
}

/** bench/streamingMockUpstream.ts's stamps of one stream, epoch ms. */
interface UpstreamTiming {
  arrivedAt: number;
  bodyAt: number;
  firstWriteAt: number;
}

/** The mock's stamps since the last call (and clears them). */
function upstreamTimings(mock: ChildProcess): Promise<UpstreamTiming[]> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (m && typeof m === 'object' && 'timings' in m) {
        mock.off('message', onMessage);
        resolve((m as { timings: UpstreamTiming[] }).timings);
      }
    };
    mock.on('message', onMessage);
    mock.send('timings');
  });
}

/** Asks bench/countingDynamo.ts for its call counts so far, by operation. */
function storeCounts(store: ChildProcess): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    store.once('message', (m) => resolve((m as { counts: Record<string, number> }).counts));
    store.send('counts');
  });
}

async function measure(name: string, target: Target, pids: { middle?: number; mock?: number }, mock: ChildProcess): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true });
  try {
    // At the run's concurrency, so every pooled socket exists before anything is timed.
    const warm = await run(agent, target, WARMUP, CONC, pids);
    if (warm.failures.length === WARMUP) throw new Error(`${name}: all ${WARMUP} warm-up streams failed; first: ${warm.failures[0]}`);
    await upstreamTimings(mock);
    const seq = await run(agent, target, SEQ, 1, pids);
    const stamps = await upstreamTimings(mock);
    const conc = await run(agent, target, CONC_N, CONC, pids);
    await upstreamTimings(mock);
    return { name, seq, conc, warmFailures: warm.failures, upstreamTimings: stamps.length === seq.count ? stamps : undefined };
  } finally {
    agent.destroy();
  }
}

/** Starts one of the bench's own servers (it reports its port over IPC) in a process of its own. */
async function startBenchServer(file: string, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', file)], {
    cwd: REPO_ROOT,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stderr = tail(child.stderr);
  const port = await Promise.race([
    new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port))),
    failOnEarlyExit(child, file, stderr),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${file} did not start in 15 s`)), 15_000).unref()),
  ]);
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}

/** The gateway as a user starts it: `node --import tsx bin/start.ts`, config, port, store and secret from the environment. */
async function startGateway(configPath: string, dynamoUrl: string, profileDir?: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const port = await freePort();
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawnTracked(process.execPath, [...nodeArgs, '--import', 'tsx', 'bin/start.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...env,
      PORT: String(port),
      BREAKWATER_CONFIG: configPath,
      BREAKWATER_SECRET_BENCH: 'sk-test-bench',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      POWERTOOLS_LOG_LEVEL: LOG_LEVEL,
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    // stdout (the JSON logs) to /dev/null; stderr kept for start-up errors.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = tail(child.stderr);
  const baseUrl = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttpOk(`${baseUrl}/health`, 30_000), failOnEarlyExit(child, 'gateway', stderr)]);
  return { child, baseUrl };
}

function printTable(header: string[], body: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  log(fmt(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) log(fmt(row));
}

const p = (sorted: Float64Array, q: number) => percentile(sorted, q);
const sorted = (values: number[]) => Float64Array.from(values).sort();

/** The main thread's profile: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0 (tsx's loader writes one too). */
async function mainThreadProfile(dir: string): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.cpuprofile'));
  const file = names.find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name)) ?? names[0];
  return file && path.join(dir, file);
}

/**
 * Per sequential stream, from the client's and the mock's stamps: client start -> upstream
 * request head, upstream head -> body read, body read -> first write (the mock's own time), and
 * first write -> the client's first `data:` (the relay of the first chunk). Medians and p99s.
 */
function ttfbBreakdown(phase: Phase): Array<[string, Float64Array]> | undefined {
  const stamps = phase.upstreamTimings;
  if (!stamps) return undefined;
  const ok = phase.seq.streams.map((s, i) => [s, stamps[i]!] as const).filter(([s]) => !s.failure && !Number.isNaN(s.ttfbMs));
  return [
    ['client start -> upstream request arrives', sorted(ok.map(([s, t]) => t.arrivedAt - s.startedAt))],
    ['upstream reads the request body', sorted(ok.map(([, t]) => t.bodyAt - t.arrivedAt))],
    ['upstream body read -> its first write', sorted(ok.map(([, t]) => t.firstWriteAt - t.bodyAt))],
    ['upstream first write -> client first data:', sorted(ok.map(([s, t]) => s.startedAt + s.ttfbMs - t.firstWriteAt))],
    ['total (TTFB)', sorted(ok.map(([s]) => s.ttfbMs))],
  ];
}

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-stream-'));
  tmpDir = tmp;
  try {
    log(`Breakwater streaming bench — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    log(
      `streams of ${CHUNKS} content chunks + finish + usage + [DONE]; warm-up ${WARMUP} (c=${CONC}), sequential ${SEQ}, ` +
        `concurrent ${CONC_N} at c=${CONC}; gateway log level ${LOG_LEVEL}; raw node:http client, keep-alive` +
        (FIRST_GAP_MS > 0 ? `; DIAGNOSTIC: the mock pauses ${FIRST_GAP_MS} ms after its first chunk` : ''),
    );
    log();

    const [mock, store] = await Promise.all([
      startBenchServer('streamingMockUpstream.ts', { STREAM_CHUNKS: String(CHUNKS), STREAM_FIRST_GAP_MS: String(FIRST_GAP_MS) }),
      startBenchServer('countingDynamo.ts'),
    ]);
    const configPath = path.join(tmp, 'breakwater.bench-stream.config.json');
    const config = {
      providers: { mock: { type: 'openai', base_url: `${mock.baseUrl}/v1`, credential: 'bench' } },
      routes: { bench: { provider: 'mock', retry: { attempts: 0 } } },
      tenants: { open: { route: 'bench', keys: [KEY] } },
    };
    await writeFile(configPath, JSON.stringify(config, null, 2));

    const direct = await measure('direct', streamTarget(mock.baseUrl), { mock: mock.child.pid }, mock.child);
    const profileDir = CPU_PROF ? path.join(tmp, 'profile') : undefined;
    const gateway = await startGateway(configPath, store.baseUrl, profileDir);
    let through: Phase;
    const countsBefore = await storeCounts(store.child);
    try {
      through = await measure('gateway', streamTarget(gateway.baseUrl, KEY), { middle: gateway.child.pid, mock: mock.child.pid }, mock.child);
    } finally {
      // SIGTERM first: a profiled gateway writes its profile on the way out.
      await stopChild(gateway.child, 10_000);
    }
    const countsAfter = await storeCounts(store.child);
    await stopChild(mock.child);
    await stopChild(store.child);

    const phases = [direct, through];
    log(`Sequential streams (POST ${CHAT}, stream: true), ms; TTFB = request start to the first body chunk holding "data:", TTLB = to the last byte`);
    printTable(
      ['run', 'streams', 'TTFB p50', 'TTFB p99', 'TTLB p50', 'TTLB p99', 'failures'],
      phases.map(({ name, seq }) => [
        name,
        String(seq.count),
        f3(p(seq.ttfb, 50)),
        f3(p(seq.ttfb, 99)),
        f3(p(seq.ttlb, 50)),
        f3(p(seq.ttlb, 99)),
        String(seq.failures.length),
      ]),
    );
    log();
    log(`Throughput at c=${CONC} ("data:" frames received by the clients over wall time); CPU ms per stream from /proc`);
    printTable(
      ['run', 'streams', 'wall s', 'chunks/s', 'streams/s', 'frames/stream', 'TTFB p50', 'TTFB p99', 'TTLB p50', 'TTLB p99', 'gateway CPU', 'mock CPU', 'client CPU', 'failures'],
      phases.map(({ name, conc }) => [
        name,
        String(conc.count),
        (conc.wallMs / 1000).toFixed(2),
        (conc.frames / (conc.wallMs / 1000)).toFixed(0),
        (conc.count / (conc.wallMs / 1000)).toFixed(1),
        (conc.frames / conc.count).toFixed(1),
        f3(p(conc.ttfb, 50)),
        f3(p(conc.ttfb, 99)),
        f3(p(conc.ttlb, 50)),
        f3(p(conc.ttlb, 99)),
        name === 'gateway' && conc.middleCpuMs !== undefined ? f3(conc.middleCpuMs) : '-',
        conc.mockCpuMs !== undefined ? f3(conc.mockCpuMs) : '-',
        f3(conc.loadgenCpuMs),
        String(conc.failures.length),
      ]),
    );
    log();

    const addedP50 = p(through.seq.ttfb, 50) - p(direct.seq.ttfb, 50);
    const addedP99 = p(through.seq.ttfb, 99) - p(direct.seq.ttfb, 99);
    log('Added by the gateway (gateway minus direct), sequential');
    log(`  TTFB p50 added   ${f3(addedP50).padStart(8)} ms    target <= ${TARGETS.addedTtfbP50Ms} ms   ${verdict(addedP50 <= TARGETS.addedTtfbP50Ms)}`);
    log(`  TTFB p99 added   ${f3(addedP99).padStart(8)} ms    (info)`);
    log(`  TTLB p50 added   ${f3(p(through.seq.ttlb, 50) - p(direct.seq.ttlb, 50)).padStart(8)} ms    (info)`);
    log(`  TTLB p99 added   ${f3(p(through.seq.ttlb, 99) - p(direct.seq.ttlb, 99)).padStart(8)} ms    (info)`);
    const chunkRatio = through.conc.frames / through.conc.wallMs / (direct.conc.frames / direct.conc.wallMs);
    log(`  chunks/s at c=${CONC}: gateway ${(100 * chunkRatio).toFixed(0)}% of direct (info)`);
    log();

    const breakdowns = phases.map((phase) => [phase.name, ttfbBreakdown(phase)] as const);
    const [directParts, gatewayParts] = breakdowns.map(([, parts]) => parts);
    if (directParts && gatewayParts) {
      log('Where a sequential TTFB goes, ms (client and mock stamps, epoch ms from performance.timeOrigin; p50 of each step, so steps need not add up)');
      printTable(
        ['step', 'direct p50', 'gateway p50', 'added p50', 'gateway p99'],
        gatewayParts.map(([step, values], i) => {
          const base = directParts[i]![1];
          return [step, f3(p(base, 50)), f3(p(values, 50)), f3(p(values, 50) - p(base, 50)), f3(p(values, 99))];
        }),
      );
      const seqCpu = through.seq.middleCpuMs;
      if (seqCpu !== undefined) log(`  gateway CPU per sequential stream (all ${CHUNKS} chunks and the after-work included): ${f3(seqCpu)} ms`);
      const calls = Object.entries(countsAfter)
        .map(([op, n]) => [op, (n - (countsBefore[op] ?? 0)) / (WARMUP + SEQ + CONC_N)] as const)
        .filter(([, perStream]) => perStream > 0);
      log(`  DynamoDB calls per gateway stream (all runs): ${calls.map(([op, n]) => `${op} ${f3(n)}`).join(', ') || 'none'}`);
    } else {
      log('(TTFB breakdown unavailable: the mock\'s stamps did not pair up with the sequential streams)');
    }
    log();

    const allFailures = phases.flatMap(({ name, seq, conc, warmFailures }) => [
      ...warmFailures.map((f) => `${name} warm-up: ${f}`),
      ...seq.failures.map((f) => `${name} sequential: ${f}`),
      ...conc.failures.map((f) => `${name} c=${CONC}: ${f}`),
    ]);
    const gatewayStreams = WARMUP + SEQ + CONC_N;
    const gatewayFailures = allFailures.filter((f) => f.startsWith('gateway')).length;
    log(`Correctness: every stream 200, text/event-stream, ${CHUNKS} content chunks of "tok ", no error frame, data: [DONE] last`);
    log(`  gateway: ${gatewayFailures} of ${gatewayStreams} streams failed    ${verdict(gatewayFailures === 0)}`);
    log(`  direct:  ${allFailures.length - gatewayFailures} of ${gatewayStreams} streams failed`);
    if (allFailures.length > 0) {
      // The distinct failures, each with how often it happened.
      const byMessage = new Map<string, number>();
      for (const f of allFailures) byMessage.set(f, (byMessage.get(f) ?? 0) + 1);
      for (const [message, n] of [...byMessage].slice(0, 20)) log(`  ${n} x ${message}`);
    }

    const profile = profileDir && (await mainThreadProfile(profileDir));
    if (profile) {
      log();
      log(`CPU profile of the gateway, all its streams (${WARMUP + SEQ + CONC_N})`);
      const summary = await summarizeProfileFile(profile, 25, WARMUP + SEQ + CONC_N);
      for (const line of summary.lines) log(`  ${line}`);
    }
  } finally {
    await killAll();
    await rm(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
  process.exitCode = 0;
} catch (error) {
  console.error('bench failed:', error);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
