/** A small keep-alive HTTP load generator: fixed request, sequential or N-way concurrent. */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Target {
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RunResult {
  label: string;
  count: number;
  concurrency: number;
  errors: number;
  firstError?: string;
  wallMs: number;
  /** Per-request latencies in ms, sorted ascending. */
  latencies: Float64Array;
}

export interface Summary {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
}

export function chatTarget(baseUrl: string, path: string, key?: string): Target {
  const body = Buffer.from(
    JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Say hello in one word.' }], max_tokens: 8 }),
  );
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    'content-length': String(body.length),
  };
  if (key) headers.authorization = `Bearer ${key}`;
  return { url: new URL(path, baseUrl), headers, body };
}

function once(agent: http.Agent, target: Target): Promise<{ status: number; body?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(target.url, { method: 'POST', agent, headers: target.headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status === 200) {
        res.resume();
        res.on('end', () => resolve({ status }));
      } else {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8').slice(0, 500) }));
      }
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(target.body);
  });
}

/** Sends `count` requests, `concurrency` at a time, each worker waiting for its answer before the next. */
export async function run(
  label: string,
  agent: http.Agent,
  target: Target,
  count: number,
  concurrency: number,
): Promise<RunResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;

  const worker = async () => {
    while (next < count) {
      const index = next++;
      const started = performance.now();
      try {
        const { status, body } = await once(agent, target);
        if (status !== 200) {
          errors++;
          firstError ??= `HTTP ${status}: ${body ?? ''}`;
        }
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
      latencies[index] = performance.now() - started;
    }
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const wallMs = performance.now() - started;
  latencies.sort();
  return { label, count, concurrency, errors, firstError, wallMs, latencies };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(result: RunResult): Summary {
  let total = 0;
  for (const value of result.latencies) total += value;
  return {
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    mean: total / result.count,
    rps: result.count / (result.wallMs / 1000),
  };
}
