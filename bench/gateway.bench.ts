/**
 * `npm run bench`: the gateway's own overhead, measured end to end the way a user runs it.
 *
 *  1. A fast mock OpenAI-compatible upstream, in its own process.
 *  2. Load straight at the mock (the baseline), through a bare node:http proxy (the floor any
 *     node proxy pays on this machine, for reference), then through the gateway (`node --import tsx
 *     bin/start.ts`, stdout to /dev/null) with the default INFO log level and with WARN.
 *  3. The Lambda bundle built as CDK builds it: size, and the cold import time in a fresh node.
 *
 * Targets are reported as PASS/MISS; the exit code is 0 either way (1 only if the bench broke).
 *
 * Environment knobs:
 *   BENCH_LOG_LEVELS  gateway log levels to run, comma-separated   (default "INFO,WARN")
 *   BENCH_WARMUP      warm-up requests per target                  (default 500)
 *   BENCH_SEQ         sequential requests                          (default 2000)
 *   BENCH_CONC_N      requests at concurrency                      (default 10000)
 *   BENCH_CONC        concurrency                                  (default 16)
 *   BENCH_CPU_PROF=1  run the gateway under `node --cpu-prof` and print where its CPU went
 *   BENCH_BARE=0      skip the reference run through a bare node:http proxy (bench/bareProxy.ts)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGatewayBundle, coldImport, median, type ColdImport } from './bundle';
import { summarizeProfileFile } from './cpuProfileSummary';
import { chatTarget, run, summarize, type RunResult, type Summary, type Target } from './loadgen';
import { failOnEarlyExit, freePort, killAll, killAllSync, spawnTracked, stopChild, tail, waitForHttpOk } from './processes';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_KEY = 'bw_test_bench_key_0001';
const env = process.env;
const WARMUP = Number(env.BENCH_WARMUP ?? 500);
const SEQ = Number(env.BENCH_SEQ ?? 2_000);
const CONC_N = Number(env.BENCH_CONC_N ?? 10_000);
const CONC = Number(env.BENCH_CONC ?? 16);
const LOG_LEVELS = (env.BENCH_LOG_LEVELS ?? 'INFO,WARN').split(',').map((level) => level.trim().toUpperCase()).filter(Boolean);
const CPU_PROF = env.BENCH_CPU_PROF === '1';
const BARE = env.BENCH_BARE !== '0';
const COLD_RUNS = 5;
const WATCHDOG_MS = 180_000;

const TARGETS = {
  overheadP50Ms: 0.5,
  overheadP99Ms: 3,
  concRps: 2_500,
  bundleKB: 1024,
};

// Whatever happens, no child outlives the bench.
process.once('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping children`);
    killAllSync();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  console.error(`bench still running after ${WATCHDOG_MS / 1000} s: giving up`);
  killAllSync();
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

const f3 = (value: number) => value.toFixed(3);
const log = (line = '') => console.log(line);

interface Phase {
  seq: Summary;
  conc: Summary;
  results: RunResult[];
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
    new Promise<number>((resolve) => child.once('message', (message) => resolve((message as { port: number }).port))),
    failOnEarlyExit(child, file, stderr),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${file} did not start in 15 s`)), 15_000).unref()),
  ]);
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}

async function startGateway(
  configPath: string,
  logLevel: string,
  profileDir: string | undefined,
): Promise<{ child: ChildProcess; baseUrl: string; stderr: () => string }> {
  const port = await freePort();
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawnTracked(process.execPath, [...nodeArgs, '--import', 'tsx', 'bin/start.ts'], {
    cwd: REPO_ROOT,
    env: { ...env, PORT: String(port), BREAKWATER_CONFIG: configPath, POWERTOOLS_LOG_LEVEL: logLevel },
    // stdout (the JSON logs) to /dev/null; stderr kept for start-up errors.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = tail(child.stderr);
  const baseUrl = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttpOk(`${baseUrl}/health`, 30_000), failOnEarlyExit(child, 'gateway', stderr)]);
  return { child, baseUrl, stderr };
}

/** Warm-up (at the bench's concurrency, so every pooled socket exists), then the two measured runs. */
async function measure(name: string, target: Target): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true });
  try {
    const warm = await run(`${name} warm-up`, agent, target, WARMUP, CONC);
    if (warm.errors > 0) throw new Error(`${name}: ${warm.errors} of ${WARMUP} warm-up requests failed; first: ${warm.firstError}`);
    const seq = await run(`${name} sequential`, agent, target, SEQ, 1);
    const conc = await run(`${name} c=${CONC}`, agent, target, CONC_N, CONC);
    for (const result of [seq, conc]) {
      if (result.errors > 0) console.error(`!! ${result.label}: ${result.errors} failed requests; first: ${result.firstError}`);
    }
    return { seq: summarize(seq), conc: summarize(conc), results: [seq, conc] };
  } finally {
    agent.destroy();
  }
}

function printTable(rows: Array<{ name: string; result: RunResult; summary: Summary }>) {
  const header = ['run', 'requests', 'conc', 'p50 ms', 'p99 ms', 'mean ms', 'req/s', 'errors'];
  const body = rows.map(({ name, result, summary }) => [
    name,
    String(result.count),
    String(result.concurrency),
    f3(summary.p50),
    f3(summary.p99),
    f3(summary.mean),
    summary.rps.toFixed(0),
    String(result.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  log(fmt(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) log(fmt(row));
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-'));
  const profileRoot = CPU_PROF ? await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-prof-')) : undefined;
  try {
    log(`Breakwater gateway bench — node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? ''}`);
    log(`warm-up ${WARMUP} (c=${CONC}), sequential ${SEQ}, concurrent ${CONC_N} at c=${CONC}; log levels: ${LOG_LEVELS.join(', ')}${CPU_PROF ? '; gateway under --cpu-prof' : ''}`);
    log();

    const mock = await startBenchServer('mockUpstream.ts');
    const configPath = path.join(tmp, 'breakwater.bench.config.json');
    await writeFile(
      configPath,
      JSON.stringify(
        {
          providers: { mock: { type: 'openai', base_url: `${mock.baseUrl}/v1` } },
          routes: { bench: { provider: 'mock' } },
          tenants: { bench: { route: 'bench', keys: [BENCH_KEY] } },
        },
        null,
        2,
      ),
    );

    const direct = await measure('direct', chatTarget(mock.baseUrl, '/v1/chat/completions'));
    let bare: Phase | undefined;
    if (BARE) {
      const proxy = await startBenchServer('bareProxy.ts', { UPSTREAM: mock.baseUrl });
      try {
        bare = await measure('bare proxy', chatTarget(proxy.baseUrl, '/v1/chat/completions'));
      } finally {
        await stopChild(proxy.child);
      }
    }
    const gateways = new Map<string, Phase>();
    const profiles = new Map<string, string>();
    for (const level of LOG_LEVELS) {
      const profileDir = profileRoot ? path.join(profileRoot, level) : undefined;
      const gateway = await startGateway(configPath, level, profileDir);
      try {
        gateways.set(level, await measure(`gateway ${level}`, chatTarget(gateway.baseUrl, '/v1/chat/completions', BENCH_KEY)));
      } finally {
        await stopChild(gateway.child, 10_000);
      }
      if (profileDir) {
        const file = (await readdir(profileDir).catch(() => [])).find((name) => name.endsWith('.cpuprofile'));
        if (file) profiles.set(level, path.join(profileDir, file));
      }
    }
    await stopChild(mock.child);

    log('Latency and throughput (POST /v1/chat/completions, keep-alive)');
    printTable([
      ...direct.results.map((result, i) => ({ name: `direct ${i ? `c=${CONC}` : 'sequential'}`, result, summary: i ? direct.conc : direct.seq })),
      ...(bare?.results ?? []).map((result, i) => ({
        name: `bare node proxy ${i ? `c=${CONC}` : 'sequential'} (ref)`,
        result,
        summary: i ? bare!.conc : bare!.seq,
      })),
      ...[...gateways].flatMap(([level, phase]) =>
        phase.results.map((result, i) => ({
          name: `gateway[${level}] ${i ? `c=${CONC}` : 'sequential'}`,
          result,
          summary: i ? phase.conc : phase.seq,
        })),
      ),
    ]);
    log();

    log('Gateway overhead (gateway minus direct) vs targets');
    if (bare) {
      log(`  [reference: bare node:http proxy, no gateway code]`);
      log(`    sequential p50 / p99 / mean overhead ${f3(bare.seq.p50 - direct.seq.p50)} / ${f3(bare.seq.p99 - direct.seq.p99)} / ${f3(bare.seq.mean - direct.seq.mean)} ms; c=${CONC}: ${bare.conc.rps.toFixed(0)} req/s`);
    }
    for (const [level, phase] of gateways) {
      const p50 = phase.seq.p50 - direct.seq.p50;
      const p99 = phase.seq.p99 - direct.seq.p99;
      const meanOver = phase.seq.mean - direct.seq.mean;
      const rps = phase.conc.rps;
      const tag = level === 'INFO' ? `${level} (default)` : level;
      log(`  [${tag}]`);
      log(`    sequential p50 overhead   ${f3(p50).padStart(8)} ms   target <= ${TARGETS.overheadP50Ms} ms     ${verdict(p50 <= TARGETS.overheadP50Ms)}`);
      log(`    sequential p99 overhead   ${f3(p99).padStart(8)} ms   target <= ${TARGETS.overheadP99Ms} ms       ${verdict(p99 <= TARGETS.overheadP99Ms)}`);
      log(`    sequential mean overhead  ${f3(meanOver).padStart(8)} ms   (info)`);
      log(`    throughput at c=${CONC}      ${rps.toFixed(0).padStart(8)} req/s target >= ${TARGETS.concRps} req/s ${verdict(rps >= TARGETS.concRps)}`);
      log(`    c=${CONC} p50 / p99 overhead ${f3(phase.conc.p50 - direct.conc.p50)} / ${f3(phase.conc.p99 - direct.conc.p99)} ms (info; direct c=${CONC}: ${direct.conc.rps.toFixed(0)} req/s)`);
    }
    log();

    log('Lambda bundle (esbuild as in lib/GatewayFunction.ts: esm, node22, minify, ESM require banner, @aws-sdk/* external)');
    const bundleDir = path.join(tmp, 'bundle');
    const bundle = await buildGatewayBundle(REPO_ROOT, bundleDir);
    const kb = bundle.bytes / 1024;
    log(`  ${bundle.file}: ${kb.toFixed(1)} KB (built in ${bundle.buildMs.toFixed(0)} ms)   target <= ${TARGETS.bundleKB} KB (1 MB)   ${verdict(kb <= TARGETS.bundleKB)}`);
    const runs: ColdImport[] = [];
    const coldEnv = { PATH: env.PATH ?? '', HOME: env.HOME ?? '', BREAKWATER_CONFIG: configPath };
    for (let i = 0; i < COLD_RUNS; i++) runs.push(await coldImport(bundle.file, coldEnv));
    log(
      `  cold import in a fresh node (median of ${COLD_RUNS}): ${f3(median(runs.map((r) => r.importMs)))} ms ` +
        `[${runs.map((r) => r.importMs.toFixed(1)).join(', ')}]; whole process spawn-to-exit ${median(runs.map((r) => r.processMs)).toFixed(1)} ms`,
    );

    for (const [level, file] of profiles) {
      log();
      log(`CPU profile of the gateway [${level}] (${file})`);
      const summary = await summarizeProfileFile(file, 20);
      for (const line of summary.lines) log(`  ${line}`);
    }
  } finally {
    await killAll();
    await rm(tmp, { recursive: true, force: true });
    if (profileRoot) log(`\n(profiles kept in ${profileRoot})`);
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
