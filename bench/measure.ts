/**
 * One bench target measured: a warm-up, then a sequential and a concurrent run, each with the
 * CPU every watched process spent on it, and the DynamoDB calls the two runs caused.
 */
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { run, summarize, type RunResult, type Summary, type Target } from './loadgen';
import { machineBusyCpuMs, processCpuMs } from './processes';

/** The processes whose CPU is read from /proc: the proxy or gateway under test, the mock upstream, the DynamoDB store. */
export interface Pids {
  middle?: number;
  mock?: number;
  store?: number;
}

/** CPU ms per request of each process during one run; undefined where it could not be read. */
export interface CpuPerRequest {
  /** The bench process itself: the load generator. */
  loadgen?: number;
  middle?: number;
  mock?: number;
  store?: number;
  /** The middle process's CPU time over the run's wall time: ~100% means it ran out of core. */
  middleBusy?: number;
  /** Share of the machine (all CPUs) that processes other than the bench's used during the run. */
  othersShare?: number;
}

export interface Measured {
  result: RunResult;
  summary: Summary;
  cpu: CpuPerRequest;
}

/** DynamoDB calls by operation (`GetItem`, `UpdateItem`...). */
export type OpCounts = Record<string, number>;

export interface Phase {
  name: string;
  seq: Measured;
  conc: Measured;
  /** DynamoDB calls per request by operation over both measured runs, when a store was watched. */
  dynamoPerRequest?: OpCounts;
}

export interface Plan {
  warmup: number;
  seq: number;
  concN: number;
  concurrency: number;
}

export interface Watch {
  pids: Pids;
  /** The store's call counts so far (bench/countingDynamo.ts). */
  dynamoCounts?: () => Promise<OpCounts>;
}

type CpuReading = Partial<Record<'loadgen' | 'machine' | keyof Pids, number>>;

function readCpu(pids: Pids): CpuReading {
  const self = process.cpuUsage();
  return {
    loadgen: (self.user + self.system) / 1000,
    machine: machineBusyCpuMs(),
    middle: processCpuMs(pids.middle),
    mock: processCpuMs(pids.mock),
    store: processCpuMs(pids.store),
  };
}

async function measuredRun(label: string, agent: http.Agent, target: Target, count: number, concurrency: number, pids: Pids): Promise<Measured> {
  const before = readCpu(pids);
  const started = performance.now();
  const result = await run(label, agent, target, count, concurrency);
  const wallMs = performance.now() - started;
  const after = readCpu(pids);
  const spent = (key: keyof CpuReading) => {
    const [start, end] = [before[key], after[key]];
    return start !== undefined && end !== undefined ? end - start : undefined;
  };
  const perRequest = (ms: number | undefined) => (ms === undefined ? undefined : ms / count);
  const [loadgen, middle, mock, store, machine] = (['loadgen', 'middle', 'mock', 'store', 'machine'] as const).map(spent);
  const ours = (loadgen ?? 0) + (middle ?? 0) + (mock ?? 0) + (store ?? 0);
  if (result.errors > 0) console.error(`!! ${label}: ${result.errors} failed requests; first: ${result.firstError}`);
  return {
    result,
    summary: summarize(result),
    cpu: {
      loadgen: perRequest(loadgen),
      middle: perRequest(middle),
      mock: perRequest(mock),
      store: perRequest(store),
      middleBusy: middle === undefined ? undefined : middle / wallMs,
      othersShare: machine === undefined ? undefined : Math.max(0, machine - ours) / (wallMs * os.cpus().length),
    },
  };
}

/** Calls per request by operation between two snapshots of the store's counters. */
export function callsPerRequest(before: OpCounts, after: OpCounts, requests: number): OpCounts {
  const calls = Object.entries(after).map(([op, n]) => [op, (n - (before[op] ?? 0)) / requests] as const);
  return Object.fromEntries(calls.filter(([, perRequest]) => perRequest !== 0));
}

/** Lets calls a handler makes after answering (if any) land in the counts of the run that caused them. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

/** Warm-up (at the plan's concurrency, so every pooled socket exists), then the two measured runs. */
export async function measure(name: string, target: Target, plan: Plan, watch: Watch): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true });
  try {
    const warm = await run(`${name} warm-up`, agent, target, plan.warmup, plan.concurrency);
    if (warm.errors > 0) throw new Error(`${name}: ${warm.errors} of ${plan.warmup} warm-up requests failed; first: ${warm.firstError}`);
    const counts = async () => {
      if (!watch.dynamoCounts) return undefined;
      await settle();
      return watch.dynamoCounts();
    };
    const countsBefore = await counts();
    const seq = await measuredRun(`${name} sequential`, agent, target, plan.seq, 1, watch.pids);
    const conc = await measuredRun(`${name} c=${plan.concurrency}`, agent, target, plan.concN, plan.concurrency, watch.pids);
    const countsAfter = await counts();
    const dynamoPerRequest = countsBefore && countsAfter && callsPerRequest(countsBefore, countsAfter, plan.seq + plan.concN);
    return { name, seq, conc, dynamoPerRequest };
  } finally {
    agent.destroy();
  }
}
