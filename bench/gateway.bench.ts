/**
 * `npm run bench`: the gateway's own overhead, measured end to end the way a user runs it.
 *
 *  1. A fast mock OpenAI-compatible upstream (bench/mockUpstream.ts) and a DynamoDB that counts
 *     the calls it serves (bench/countingDynamo.ts: dynalite), each in a process of its own.
 *  2. Load straight at the mock (the baseline); through a bare node:http proxy (bench/bareProxy.ts:
 *     the floor any node proxy pays on this machine, for reference); then through the gateway
 *     (`node --import tsx bin/start.ts` with AWS_ENDPOINT_URL_DYNAMODB on the counting store,
 *     stdout to /dev/null) at each log level, as a tenant without caps. On the first log level's
 *     gateway, two more tenants: one with a daily budget and an rpm limit, one with a tpm limit
 *     too (shorter runs: each request writes to DynamoDB). CPU time per request of every process
 *     is read from /proc; DynamoDB calls per request, by operation, from the store's counters.
 *  3. The Lambda bundle built as CDK builds it: size, and the cold import time in a fresh node.
 *
 * Targets are reported as PASS/MISS; the exit code is 0 either way (1 only if the bench broke).
 *
 * Environment knobs:
 *   BENCH_LOG_LEVELS  gateway log levels to run, comma-separated   (default "INFO,WARN")
 *   BENCH_WARMUP      warm-up requests per target                  (default 500; capped tenants: at most 100)
 *   BENCH_SEQ         sequential requests                          (default 2000; capped tenants: at most 500)
 *   BENCH_CONC_N      requests at concurrency                      (default 10000; capped tenants: at most 1500)
 *   BENCH_CONC        concurrency                                  (default 16)
 *   BENCH_BARE=0      skip the bare node:http proxy reference run
 *   BENCH_CPU_PROF=1  run the gateway under `node --cpu-prof` and print where its CPU went
 *   BENCH_TENANTS     tenants on the first log level's gateway     (default "open,capped,capped_tpm";
 *                     "open" alone: a profile of the gateway's own overhead, no DynamoDB writes in it)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunctionBundle, median, timeColdImport, type ColdImportTiming } from './coldBundle';
import { summarizeProfileFile } from './cpuProfileSummary';
import { chatTarget } from './loadgen';
import { measure, type Measured, type OpCounts, type Phase, type Plan } from './measure';
import { failOnEarlyExit, guardBenchProcess, freePort, killAll, spawnTracked, stopChild, tail, waitForHttpOk } from './processes';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHAT = '/v1/chat/completions';
const env = process.env;
const CONC = Number(env.BENCH_CONC ?? 16);
const PLAN: Plan = {
  warmup: Number(env.BENCH_WARMUP ?? 500),
  seq: Number(env.BENCH_SEQ ?? 2_000),
  concN: Number(env.BENCH_CONC_N ?? 10_000),
  concurrency: CONC,
};
// Each capped request makes DynamoDB writes (dynalite: ~1-2 ms of CPU each), so fewer requests.
const CAPPED_PLAN: Plan = {
  warmup: Math.min(PLAN.warmup, 100),
  seq: Math.min(PLAN.seq, 500),
  concN: Math.min(PLAN.concN, 1_500),
  concurrency: CONC,
};
const LOG_LEVELS = (env.BENCH_LOG_LEVELS ?? 'INFO,WARN')
  .split(',')
  .map((level) => level.trim().toUpperCase())
  .filter(Boolean);
const CPU_PROF = env.BENCH_CPU_PROF === '1';
const BARE = env.BENCH_BARE !== '0';
const COLD_RUNS = 5;
const WATCHDOG_MS = 180_000;

const TARGETS = {
  overheadP50Ms: 0.5,
  overheadP99Ms: 3,
  concRps: 2_500,
  bundleKB: 1024,
  /** Issue 3: on the happy path with no idempotency and no cache, a capped request costs at most 3 calls. */
  cappedDynamoCalls: 3,
  /**
   * Cached reads come per container per interval, not per request (breaker state: one GetItem per
   * target per second; keys: one per 30 s): at the bench's ~100 capped req/s, about 0.01 a request.
   */
  cachedReadsAllowance: 0.05,
};

/**
 * One tenant per scenario in the same config. The limits are far above what the bench sends, so
 * nothing is refused: what is measured is the cost of checking them, not of hitting them.
 */
const TENANTS = {
  open: { key: 'bw_test_bench_open_key_0001_xxxx', caps: 'no caps', policy: {} },
  capped: {
    key: 'bw_test_bench_capped_key_0001_xx',
    caps: 'daily_budget_usd + rpm_limit',
    policy: { daily_budget_usd: 1_000, rpm_limit: 10_000_000 },
  },
  capped_tpm: {
    key: 'bw_test_bench_capped_tpm_key_0001',
    caps: 'daily_budget_usd + rpm_limit + tpm_limit',
    policy: { daily_budget_usd: 1_000, rpm_limit: 10_000_000, tpm_limit: 1_000_000_000 },
  },
} as const;
type TenantId = keyof typeof TENANTS;
const FIRST_LEVEL_TENANTS = (env.BENCH_TENANTS ?? 'open,capped,capped_tpm')
  .split(',')
  .map((tenant) => tenant.trim())
  .filter((tenant): tenant is TenantId => tenant in TENANTS);

// Whatever happens, no child outlives the bench, and its temp dir goes with it.
let tmpDir: string | undefined;
const watchdog = guardBenchProcess(WATCHDOG_MS, () => tmpDir);

const f3 = (value: number) => value.toFixed(3);
const log = (line = '') => console.log(line);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const pct = (share: number | undefined) => (share === undefined ? '-' : `${(100 * share).toFixed(0)}%`);
const ms = (value: number | undefined) => (value === undefined ? '-' : f3(value));

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

/** Asks bench/countingDynamo.ts for its call counts so far. */
function storeCounts(store: ChildProcess): Promise<OpCounts> {
  return new Promise((resolve) => {
    store.once('message', (m) => resolve((m as { counts: OpCounts }).counts));
    store.send('counts');
  });
}

/** The gateway as a user starts it: `node --import tsx bin/start.ts`, config, port and store from the environment. */
async function startGateway(configPath: string, dynamoUrl: string, logLevel: string, profileDir?: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const port = await freePort();
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawnTracked(process.execPath, [...nodeArgs, '--import', 'tsx', 'bin/start.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...env,
      PORT: String(port),
      BREAKWATER_CONFIG: configPath,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      POWERTOOLS_LOG_LEVEL: logLevel,
      // As `npm start` defaults it: EMF lines are CloudWatch's, not a laptop's (and not the bench's).
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

/** The main thread's profile: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0 (tsx's loader writes one too). */
async function mainThreadProfile(dir: string): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.cpuprofile'));
  const file = names.find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name)) ?? names[0];
  return file && path.join(dir, file);
}

function printTable(header: string[], body: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  log(fmt(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) log(fmt(row));
}

/** Each phase's two measured runs, labelled. */
const runsOf = (phases: Phase[]): Array<[string, Measured]> =>
  phases.flatMap((phase): Array<[string, Measured]> => [
    [`${phase.name} sequential`, phase.seq],
    [`${phase.name} c=${CONC}`, phase.conc],
  ]);

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-'));
  tmpDir = tmp;
  const profileRoot = CPU_PROF ? await mkdtemp(path.join(os.tmpdir(), 'breakwater-bench-prof-')) : undefined;
  try {
    log(`Breakwater gateway bench — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    log(
      `warm-up ${PLAN.warmup} (c=${CONC}), sequential ${PLAN.seq}, concurrent ${PLAN.concN} at c=${CONC}; gateway log levels: ${LOG_LEVELS.join(', ')}; ` +
        `capped tenants: warm-up ${CAPPED_PLAN.warmup}, sequential ${CAPPED_PLAN.seq}, concurrent ${CAPPED_PLAN.concN}${CPU_PROF ? '; gateway under --cpu-prof' : ''}`,
    );
    log();

    const [mock, store] = await Promise.all([startBenchServer('mockUpstream.ts'), startBenchServer('countingDynamo.ts')]);
    const configPath = path.join(tmp, 'breakwater.bench.config.json');
    const config = {
      providers: { mock: { type: 'openai', base_url: `${mock.baseUrl}/v1` } },
      routes: { bench: { provider: 'mock' } },
      tenants: Object.fromEntries(Object.entries(TENANTS).map(([id, t]) => [id, { route: 'bench', keys: [t.key], ...t.policy }])),
      // Priced, so the budget's reserve and settle work on known costs (the mock answers 5 + 6 tokens).
      prices: { 'bench-model': { input: 1, output: 2 } },
    };
    await writeFile(configPath, JSON.stringify(config, null, 2));

    const direct = await measure('direct', chatTarget(mock.baseUrl, CHAT), PLAN, { pids: { mock: mock.child.pid } });
    let bare: Phase | undefined;
    if (BARE) {
      const proxy = await startBenchServer('bareProxy.ts', { UPSTREAM: mock.baseUrl });
      try {
        bare = await measure('bare node proxy (ref)', chatTarget(proxy.baseUrl, CHAT), PLAN, { pids: { middle: proxy.child.pid, mock: mock.child.pid } });
      } finally {
        await stopChild(proxy.child);
      }
    }

    const gateways: Array<{ level: string; phase: Phase }> = [];
    const withDynamo: Array<{ phase: Phase; tenant: TenantId }> = [];
    const profiles: Array<{ level: string; file: string; requests: number }> = [];
    for (const [index, level] of LOG_LEVELS.entries()) {
      const profileDir = profileRoot && path.join(profileRoot, level);
      const gateway = await startGateway(configPath, store.baseUrl, level, profileDir);
      const watch = { pids: { middle: gateway.child.pid, mock: mock.child.pid, store: store.child.pid }, dynamoCounts: () => storeCounts(store.child) };
      const tenants: TenantId[] = index === 0 ? FIRST_LEVEL_TENANTS : ['open'];
      let requests = 0;
      try {
        for (const tenant of tenants) {
          const plan = tenant === 'open' ? PLAN : CAPPED_PLAN;
          const name = tenant === 'open' ? `gateway[${level}]` : `gateway[${level}] ${tenant}`;
          const phase = await measure(name, chatTarget(gateway.baseUrl, CHAT, TENANTS[tenant].key), plan, watch);
          requests += plan.warmup + plan.seq + plan.concN;
          if (tenant === 'open') gateways.push({ level, phase });
          withDynamo.push({ phase, tenant });
        }
      } finally {
        await stopChild(gateway.child, 10_000);
      }
      const file = profileDir && (await mainThreadProfile(profileDir));
      if (file) profiles.push({ level, file, requests });
    }
    await stopChild(mock.child);
    await stopChild(store.child);

    const phases = [direct, ...(bare ? [bare] : []), ...withDynamo.map((row) => row.phase)];
    log(`Latency and throughput (POST ${CHAT}, keep-alive)`);
    printTable(
      ['run', 'requests', 'conc', 'p50 ms', 'p99 ms', 'mean ms', 'req/s', 'errors'],
      runsOf(phases).map(([label, { result, summary }]) => [
        label,
        String(result.count),
        String(result.concurrency),
        f3(summary.p50),
        f3(summary.p99),
        f3(summary.mean),
        summary.rps.toFixed(0),
        String(result.errors),
      ]),
    );
    log();
    log('CPU ms per request, by process (from /proc and process.cpuUsage); "busy" is CPU time over wall time;');
    log('"other processes" is the share of all CPUs used by processes outside the bench: high means noisy numbers');
    printTable(
      ['run', 'bench (load gen)', 'proxy/gateway', 'mock', 'dynalite', 'proxy/gateway busy', 'other processes'],
      runsOf(phases).map(([label, { cpu }]) => [label, ms(cpu.loadgen), ms(cpu.middle), ms(cpu.mock), ms(cpu.store), pct(cpu.middleBusy), pct(cpu.othersShare)]),
    );
    log();

    log('Gateway overhead (gateway minus direct) vs targets');
    if (bare) {
      log('  [reference: bare node:http proxy, no gateway code]');
      if (bare.conc.cpu.middle !== undefined) {
        log(`    CPU-bound ceiling at c=${CONC}: ${(1000 / bare.conc.cpu.middle).toFixed(0)} req/s (${f3(bare.conc.cpu.middle)} ms CPU per request)`);
      }
      log(
        `    sequential p50 / p99 / mean overhead ${f3(bare.seq.summary.p50 - direct.seq.summary.p50)} / ` +
          `${f3(bare.seq.summary.p99 - direct.seq.summary.p99)} / ${f3(bare.seq.summary.mean - direct.seq.summary.mean)} ms; ` +
          `c=${CONC}: ${bare.conc.summary.rps.toFixed(0)} req/s`,
      );
    }
    for (const { level, phase } of gateways) {
      const p50 = phase.seq.summary.p50 - direct.seq.summary.p50;
      const p99 = phase.seq.summary.p99 - direct.seq.summary.p99;
      const rps = phase.conc.summary.rps;
      log(`  [${level === 'INFO' ? 'INFO (default)' : level}, tenant without caps]`);
      log(`    sequential p50 overhead   ${f3(p50).padStart(8)} ms    target <= ${TARGETS.overheadP50Ms} ms      ${verdict(p50 <= TARGETS.overheadP50Ms)}`);
      log(`    sequential p99 overhead   ${f3(p99).padStart(8)} ms    target <= ${TARGETS.overheadP99Ms} ms        ${verdict(p99 <= TARGETS.overheadP99Ms)}`);
      log(`    sequential mean overhead  ${f3(phase.seq.summary.mean - direct.seq.summary.mean).padStart(8)} ms    (info)`);
      log(`    throughput at c=${CONC}      ${rps.toFixed(0).padStart(8)} req/s target >= ${TARGETS.concRps} req/s ${verdict(rps >= TARGETS.concRps)}`);
      const cpuMs = phase.conc.cpu.middle;
      if (cpuMs !== undefined) {
        // One event loop: the gateway cannot serve faster than one core's worth of its CPU per request.
        log(`    CPU-bound ceiling at c=${CONC}  ${(1000 / cpuMs).toFixed(0).padStart(8)} req/s (1000 / ${f3(cpuMs)} ms of gateway CPU per request; info, insensitive to other load)`);
      }
      log(
        `    c=${CONC} p50 / p99 overhead   ${f3(phase.conc.summary.p50 - direct.conc.summary.p50)} / ` +
          `${f3(phase.conc.summary.p99 - direct.conc.summary.p99)} ms (info; direct c=${CONC}: ${direct.conc.summary.rps.toFixed(0)} req/s)`,
      );
    }
    log();

    log('DynamoDB calls per gateway request, by operation, counted at the store over the measured requests (after warm-up), with the');
    log('overhead they come with. Idempotency and cache are off; key look-ups are cached 30 s and breaker reads 1 s per target, so');
    log(`reads come per second, not per request ("GetItem/s"); the target allows them ${TARGETS.cachedReadsAllowance} per request on top of the ${TARGETS.cappedDynamoCalls} calls.`);
    const ops = [...new Set(withDynamo.flatMap(({ phase }) => Object.keys(phase.dynamoPerRequest ?? {})))].sort();
    printTable(
      ['run', 'tenant', ...ops, 'total', 'GetItem/s', `seq p50 / p99 overhead ms`, `c=${CONC} req/s`, 'target'],
      withDynamo.map(({ phase, tenant }) => {
        const calls = phase.dynamoPerRequest ?? {};
        const total = Object.values(calls).reduce((sum, n) => sum + n, 0);
        const requests = phase.seq.result.count + phase.conc.result.count;
        const seconds = (phase.seq.result.wallMs + phase.conc.result.wallMs) / 1000;
        const limit = TARGETS.cappedDynamoCalls + TARGETS.cachedReadsAllowance;
        const target = tenant === 'capped' ? `<= ${TARGETS.cappedDynamoCalls} ${verdict(total <= limit)}` : 'info';
        return [
          phase.name,
          TENANTS[tenant].caps,
          ...ops.map((op) => f3(calls[op] ?? 0)),
          f3(total),
          (((calls.GetItem ?? 0) * requests) / seconds).toFixed(2),
          `${f3(phase.seq.summary.p50 - direct.seq.summary.p50)} / ${f3(phase.seq.summary.p99 - direct.seq.summary.p99)}`,
          phase.conc.summary.rps.toFixed(0),
          target,
        ];
      }),
    );
    log();

    log('Lambda bundle (built as the stack ships it: bench/coldBundle.ts; `npm run bench:cold` for more runs and the worker)');
    const bundle = await buildFunctionBundle(REPO_ROOT, 'gateway', path.join(tmp, 'bundle'), { bundleAwsSdk: true });
    const kb = bundle.bytes / 1024;
    log(`  loaded at import  ${kb.toFixed(1)} KB  target <= ${TARGETS.bundleKB} KB (1 MB)  ${verdict(kb <= TARGETS.bundleKB)}   (${(bundle.totalBytes / 1024).toFixed(0)} KB with its lazy chunks)`);
    log(`  largest parts loaded at import: ${bundle.topInputs.map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`).join(', ')}`);
    const coldEnv = { PATH: env.PATH ?? '', HOME: env.HOME ?? '', BREAKWATER_CONFIG: configPath };
    const runs: ColdImportTiming[] = [];
    for (let i = 0; i < COLD_RUNS; i++) runs.push(await timeColdImport(bundle.file, coldEnv));
    log(
      `  cold import in a fresh node, median of ${COLD_RUNS}: CPU ${f3(median(runs.map((r) => r.cpuMs)))} ms, wall ${f3(median(runs.map((r) => r.importMs)))} ms ` +
        `[${runs.map((r) => r.importMs.toFixed(1)).join(', ')}]`,
    );

    for (const { level, file, requests } of profiles) {
      log();
      log(`CPU profile of the gateway [${level}], all its tenants (${file})`);
      const summary = await summarizeProfileFile(file, 20, requests);
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
