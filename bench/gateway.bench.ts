/**
 * `npm run bench`: the gateway's own overhead, measured end to end the way a user runs it.
 *
 *  1. A fast mock OpenAI-compatible upstream, in its own process (bench/mockUpstream.ts).
 *  2. Load straight at the mock (the baseline); through a bare node:http proxy (bench/bareProxy.ts:
 *     the floor any node proxy pays on this machine, for reference); then through the gateway
 *     (`node --import tsx bin/start.ts`, stdout to /dev/null) at the default INFO log level and
 *     at WARN. CPU time per request of every process is read from /proc for each run.
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
 *   BENCH_BARE=0      skip the bare node:http proxy reference run
 *   BENCH_CPU_PROF=1  run the gateway under `node --cpu-prof` and print where its CPU went
 *   BENCH_ABLATION=1  also run bench/gatewayVariant.ts with parts of the handler left out
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildGatewayBundle, coldImport, median, type ColdImport } from './bundle';
import { summarizeProfileFile } from './cpuProfileSummary';
import { chatTarget, run, summarize, type RunResult, type Summary, type Target } from './loadgen';
import {
  failOnEarlyExit,
  freePort,
  killAll,
  killAllSync,
  machineBusyCpuMs,
  processCpuMs,
  spawnTracked,
  stopChild,
  tail,
  waitForHttpOk,
} from './processes';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_KEY = 'bw_test_bench_key_0001';
const env = process.env;
const WARMUP = Number(env.BENCH_WARMUP ?? 500);
const SEQ = Number(env.BENCH_SEQ ?? 2_000);
const CONC_N = Number(env.BENCH_CONC_N ?? 10_000);
const CONC = Number(env.BENCH_CONC ?? 16);
const LOG_LEVELS = (env.BENCH_LOG_LEVELS ?? 'INFO,WARN')
  .split(',')
  .map((level) => level.trim().toUpperCase())
  .filter(Boolean);
const CPU_PROF = env.BENCH_CPU_PROF === '1';
const BARE = env.BENCH_BARE !== '0';
const ABLATION = env.BENCH_ABLATION === '1';
const ABLATION_VARIANTS = ['full', 'no-tracer', 'no-tracer-silent', 'no-tracer-no-log', 'app-only'];
const COLD_RUNS = 5;
const WATCHDOG_MS = ABLATION ? 300_000 : 180_000;

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
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/** CPU ms per request of each process during one run; undefined where it could not be read. */
interface CpuPerRequest {
  loadgen: number;
  middle?: number;
  mock?: number;
  /** The middle process's CPU time over the run's wall time: ~100% means it ran out of core. */
  middleUtilisation?: number;
  /** Share of the machine (all CPUs) that processes other than the bench's used during the run. */
  othersShare?: number;
}

interface Measured {
  result: RunResult;
  summary: Summary;
  cpu: CpuPerRequest;
}

interface Phase {
  name: string;
  seq: Measured;
  conc: Measured;
}

/** Starts one of the bench's own servers (it reports its port over IPC) in a process of its own. */
async function startBenchServer(
  file: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; baseUrl: string; message: Record<string, unknown> }> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', file)], {
    cwd: REPO_ROOT,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stderr = tail(child.stderr);
  const message = await Promise.race([
    new Promise<Record<string, unknown>>((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>))),
    failOnEarlyExit(child, file, stderr),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${file} did not start in 15 s`)), 15_000).unref()),
  ]);
  return { child, baseUrl: `http://127.0.0.1:${message.port as number}`, message };
}

/** The gateway as a user starts it: `node --import tsx bin/start.ts`, config and port from the environment. */
async function startGateway(
  configPath: string,
  logLevel: string,
  profileDir: string | undefined,
): Promise<{ child: ChildProcess; baseUrl: string }> {
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
  return { child, baseUrl };
}

async function measuredRun(
  label: string,
  agent: http.Agent,
  target: Target,
  count: number,
  concurrency: number,
  pids: { middle?: number; mock?: number },
): Promise<Measured> {
  const before = {
    self: process.cpuUsage(),
    middle: processCpuMs(pids.middle),
    mock: processCpuMs(pids.mock),
    machine: machineBusyCpuMs(),
  };
  const started = performance.now();
  const result = await run(label, agent, target, count, concurrency);
  const wallMs = performance.now() - started;
  const self = process.cpuUsage(before.self);
  const middle = processCpuMs(pids.middle);
  const mock = processCpuMs(pids.mock);
  const machine = machineBusyCpuMs();
  const perRequest = (end: number | undefined, start: number | undefined) =>
    end !== undefined && start !== undefined ? (end - start) / count : undefined;
  const middleMs = middle !== undefined && before.middle !== undefined ? middle - before.middle : undefined;
  const mockMs = mock !== undefined && before.mock !== undefined ? mock - before.mock : 0;
  const selfMs = (self.user + self.system) / 1000;
  const othersMs =
    machine !== undefined && before.machine !== undefined ? machine - before.machine - selfMs - (middleMs ?? 0) - mockMs : undefined;
  if (result.errors > 0) console.error(`!! ${label}: ${result.errors} failed requests; first: ${result.firstError}`);
  return {
    result,
    summary: summarize(result),
    cpu: {
      loadgen: selfMs / count,
      middle: perRequest(middle, before.middle),
      mock: perRequest(mock, before.mock),
      middleUtilisation: middleMs !== undefined ? middleMs / wallMs : undefined,
      othersShare: othersMs !== undefined ? Math.max(0, othersMs) / (wallMs * os.cpus().length) : undefined,
    },
  };
}

/** Warm-up (at the bench's concurrency, so every pooled socket exists), then the two measured runs. */
async function measure(name: string, target: Target, pids: { middle?: number; mock?: number }): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true });
  try {
    const warm = await run(`${name} warm-up`, agent, target, WARMUP, CONC);
    if (warm.errors > 0) throw new Error(`${name}: ${warm.errors} of ${WARMUP} warm-up requests failed; first: ${warm.firstError}`);
    const seq = await measuredRun(`${name} sequential`, agent, target, SEQ, 1, pids);
    const conc = await measuredRun(`${name} c=${CONC}`, agent, target, CONC_N, CONC, pids);
    return { name, seq, conc };
  } finally {
    agent.destroy();
  }
}

function printTable(header: string[], body: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  log(fmt(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) log(fmt(row));
}

const runRows = (phases: Phase[]) =>
  phases.flatMap((phase) =>
    (['seq', 'conc'] as const).map((kind) => {
      const { result, summary } = phase[kind];
      return [
        `${phase.name} ${kind === 'seq' ? 'sequential' : `c=${CONC}`}`,
        String(result.count),
        String(result.concurrency),
        f3(summary.p50),
        f3(summary.p99),
        f3(summary.mean),
        summary.rps.toFixed(0),
        String(result.errors),
      ];
    }),
  );
const RUN_HEADER = ['run', 'requests', 'conc', 'p50 ms', 'p99 ms', 'mean ms', 'req/s', 'errors'];

const cpuCell = (value: number | undefined) => (value === undefined ? '-' : f3(value));
const cpuRows = (phases: Phase[]) =>
  phases.flatMap((phase) =>
    (['seq', 'conc'] as const).map((kind) => {
      const { cpu } = phase[kind];
      return [
        `${phase.name} ${kind === 'seq' ? 'sequential' : `c=${CONC}`}`,
        cpuCell(cpu.loadgen),
        cpuCell(cpu.middle),
        cpuCell(cpu.mock),
        cpu.middleUtilisation === undefined ? '-' : `${(100 * cpu.middleUtilisation).toFixed(0)}%`,
        cpu.othersShare === undefined ? '-' : `${(100 * cpu.othersShare).toFixed(0)}%`,
      ];
    }),
  );
const CPU_HEADER = ['run', 'bench (load gen)', 'proxy/gateway', 'mock', 'proxy/gateway busy', 'other processes'];

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-'));
  const profileRoot = CPU_PROF ? await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-prof-')) : undefined;
  try {
    log(`Breakwater gateway bench — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    log(
      `warm-up ${WARMUP} (c=${CONC}), sequential ${SEQ}, concurrent ${CONC_N} at c=${CONC}; gateway log levels: ${LOG_LEVELS.join(', ')}` +
        `${CPU_PROF ? '; gateway under --cpu-prof' : ''}${ABLATION ? '; with ablation variants' : ''}`,
    );
    log();

    const mock = await startBenchServer('mockUpstream.ts');
    const mockPid = mock.child.pid;
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

    const direct = await measure('direct', chatTarget(mock.baseUrl, '/v1/chat/completions'), { mock: mockPid });
    let bare: Phase | undefined;
    if (BARE) {
      const proxy = await startBenchServer('bareProxy.ts', { UPSTREAM: mock.baseUrl });
      try {
        bare = await measure('bare node proxy (ref)', chatTarget(proxy.baseUrl, '/v1/chat/completions'), {
          middle: proxy.child.pid,
          mock: mockPid,
        });
      } finally {
        await stopChild(proxy.child);
      }
    }

    const gateways: Array<{ level: string; phase: Phase }> = [];
    const profiles = new Map<string, string>();
    for (const level of LOG_LEVELS) {
      const profileDir = profileRoot ? path.join(profileRoot, level) : undefined;
      const gateway = await startGateway(configPath, level, profileDir);
      try {
        const phase = await measure(`gateway[${level}]`, chatTarget(gateway.baseUrl, '/v1/chat/completions', BENCH_KEY), {
          middle: gateway.child.pid,
          mock: mockPid,
        });
        gateways.push({ level, phase });
      } finally {
        await stopChild(gateway.child, 10_000);
      }
      if (profileDir) {
        const file = (await readdir(profileDir).catch(() => [])).find((name) => name.endsWith('.cpuprofile'));
        if (file) profiles.set(level, path.join(profileDir, file));
      }
    }

    const variants: Array<{ phase: Phase; clsHookedLoaded: boolean }> = [];
    if (ABLATION) {
      for (const variant of ABLATION_VARIANTS) {
        const server = await startBenchServer('gatewayVariant.ts', {
          VARIANT: variant,
          BREAKWATER_CONFIG: configPath,
          POWERTOOLS_LOG_LEVEL: 'INFO',
        });
        try {
          const phase = await measure(`variant ${variant}`, chatTarget(server.baseUrl, '/v1/chat/completions', BENCH_KEY), {
            middle: server.child.pid,
            mock: mockPid,
          });
          variants.push({ phase, clsHookedLoaded: server.message.clsHookedLoaded === true });
        } finally {
          await stopChild(server.child, 10_000);
        }
      }
    }
    await stopChild(mock.child);

    const phases = [direct, ...(bare ? [bare] : []), ...gateways.map((g) => g.phase)];
    log('Latency and throughput (POST /v1/chat/completions, keep-alive)');
    printTable(RUN_HEADER, runRows(phases));
    log();
    log('CPU ms per request, by process (from /proc and process.cpuUsage); "busy" is CPU time over wall time;');
    log('"other processes" is the share of all CPUs used by processes outside the bench: high means noisy numbers');
    printTable(CPU_HEADER, cpuRows(phases));
    log();

    log('Gateway overhead (gateway minus direct) vs targets');
    if (bare) {
      log('  [reference: bare node:http proxy, no gateway code]');
      log(
        `    sequential p50 / p99 / mean overhead ${f3(bare.seq.summary.p50 - direct.seq.summary.p50)} / ` +
          `${f3(bare.seq.summary.p99 - direct.seq.summary.p99)} / ${f3(bare.seq.summary.mean - direct.seq.summary.mean)} ms; ` +
          `c=${CONC}: ${bare.conc.summary.rps.toFixed(0)} req/s`,
      );
    }
    for (const { level, phase } of gateways) {
      const p50 = phase.seq.summary.p50 - direct.seq.summary.p50;
      const p99 = phase.seq.summary.p99 - direct.seq.summary.p99;
      const meanOver = phase.seq.summary.mean - direct.seq.summary.mean;
      const rps = phase.conc.summary.rps;
      log(`  [${level === 'INFO' ? 'INFO (default)' : level}]`);
      log(`    sequential p50 overhead   ${f3(p50).padStart(8)} ms    target <= ${TARGETS.overheadP50Ms} ms      ${verdict(p50 <= TARGETS.overheadP50Ms)}`);
      log(`    sequential p99 overhead   ${f3(p99).padStart(8)} ms    target <= ${TARGETS.overheadP99Ms} ms        ${verdict(p99 <= TARGETS.overheadP99Ms)}`);
      log(`    sequential mean overhead  ${f3(meanOver).padStart(8)} ms    (info)`);
      log(`    throughput at c=${CONC}      ${rps.toFixed(0).padStart(8)} req/s target >= ${TARGETS.concRps} req/s ${verdict(rps >= TARGETS.concRps)}`);
      log(
        `    c=${CONC} p50 / p99 overhead   ${f3(phase.conc.summary.p50 - direct.conc.summary.p50)} / ` +
          `${f3(phase.conc.summary.p99 - direct.conc.summary.p99)} ms (info; direct c=${CONC}: ${direct.conc.summary.rps.toFixed(0)} req/s)`,
      );
    }
    log();

    if (variants.length > 0) {
      log('Ablation (bench/gatewayVariant.ts: the handler rebuilt with parts left out; INFO unless SILENT)');
      printTable(
        ['variant', 'cls-hooked', 'seq p50 ms', 'seq overhead p50', `c=${CONC} req/s`, 'gateway CPU ms/req', 'other processes'],
        variants.map(({ phase, clsHookedLoaded }) => [
          phase.name.replace('variant ', ''),
          clsHookedLoaded ? 'loaded' : 'no',
          f3(phase.seq.summary.p50),
          f3(phase.seq.summary.p50 - direct.seq.summary.p50),
          phase.conc.summary.rps.toFixed(0),
          cpuCell(phase.conc.cpu.middle),
          phase.conc.cpu.othersShare === undefined ? '-' : `${(100 * phase.conc.cpu.othersShare).toFixed(0)}%`,
        ]),
      );
      log();
    }

    log('Lambda bundle (esbuild as lib/GatewayFunction.ts has CDK run it: esm, node22, minify, ESM require banner, @aws-sdk/* external)');
    const bundle = await buildGatewayBundle(REPO_ROOT, path.join(tmp, 'bundle'));
    const kb = bundle.bytes / 1024;
    log(`  bundle size  ${kb.toFixed(1)} KB  target <= ${TARGETS.bundleKB} KB (1 MB)  ${verdict(kb <= TARGETS.bundleKB)}   (built in ${bundle.buildMs.toFixed(0)} ms)`);
    log(`  largest parts: ${bundle.topInputs.map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`).join(', ')}`);
    log(`  packages left external (from the repo's node_modules here, the runtime's copy on Lambda): ${bundle.externals.join(', ') || 'none'}`);
    const coldEnv = { PATH: env.PATH ?? '', HOME: env.HOME ?? '', BREAKWATER_CONFIG: configPath };
    const timeImports = async (file: string) => {
      const runs: ColdImport[] = [];
      for (let i = 0; i < COLD_RUNS; i++) runs.push(await coldImport(file, coldEnv));
      return runs;
    };
    const runs = await timeImports(bundle.file);
    log(
      `  cold import in a fresh node, median of ${COLD_RUNS}: ${f3(median(runs.map((r) => r.importMs)))} ms ` +
        `[${runs.map((r) => r.importMs.toFixed(1)).join(', ')}]; whole process spawn-to-exit ${median(runs.map((r) => r.processMs)).toFixed(1)} ms`,
    );
    if (bundle.externals.length > 0) {
      const externalRuns = await timeImports(bundle.externalsFile);
      log(
        `    of which the external packages alone (imported by themselves, median of ${COLD_RUNS}): ` +
          `${f3(median(externalRuns.map((r) => r.importMs)))} ms [${externalRuns.map((r) => r.importMs.toFixed(1)).join(', ')}]`,
      );
    }

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
