/**
 * `npx tsx bench/toolProxy.bench.ts`: what the tool proxy adds to a call, in one process.
 *
 * A loopback API answering 1 KB of JSON, called straight and through the gateway's real handler
 * behind the local API Gateway server (`/v1/tools/api/...`, an `api_key` service: secret read,
 * policy, path checks, breaker, credential injection, header filtering, audit line, relay).
 * Then a 4 MiB body sent in 64 KiB chunks 5 ms apart: time to the first byte through the proxy
 * against the time to the last, which shows the body is streamed, not buffered.
 *
 *   BENCH_TOOL_N  sequential calls per target (default 2000)
 */
import { Logger } from '@aws-lambda-powertools/logger';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startApiGatewayServer } from '../bin/local/apiGatewayServer';
import { installAwsLambdaGlobal } from '../bin/local/lambdaStreaming';
import { createGatewayHandler } from '../functions/gateway/createHandler';
import { compileConfig } from '../shared/config';

const N = Number(process.env.BENCH_TOOL_N ?? 2_000);
const KEY = 'bw_test_bench_tools_key_00000000001';
const payload = JSON.stringify({ data: 'x'.repeat(1_000) });
const chunk = Buffer.alloc(64 * 1024, 'b');

const api = http.createServer((req, res) => {
  if (req.url?.startsWith('/big')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(chunk);
      if (++sent === 64) {
        clearInterval(timer);
        res.end();
      }
    }, 5);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
});
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

installAwsLambdaGlobal();
const handler = createGatewayHandler({
  config: compileConfig({
    providers: { sim: { type: 'simulated' } },
    routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
    services: { api: { base_url: apiUrl, auth: { type: 'api_key', secret: 'bench' } } },
    tenants: { bench: { route: 'main', keys: [KEY] } },
  }),
  secrets: { get: async () => ({ api_key: 'sk-test-bench-tool-key-0001' }) },
  logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
});
const gateway = await startApiGatewayServer({ handler, port: 0 });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url: string, headers: Record<string, string> = {}): Promise<{ firstByteMs: number; totalMs: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        let firstByteMs = -1;
        let bytes = 0;
        res.on('data', (data: Buffer) => {
          if (firstByteMs < 0) firstByteMs = performance.now() - started;
          bytes += data.length;
        });
        res.on('end', () => resolve({ firstByteMs, totalMs: performance.now() - started, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function run(name: string, url: string, headers?: Record<string, string>): Promise<number> {
  for (let i = 0; i < 200; i++) await get(url, headers);
  const times: number[] = [];
  for (let i = 0; i < N; i++) times.push((await get(url, headers)).totalMs);
  const p50 = percentile(times, 0.5);
  console.log(`${name.padEnd(22)} p50 ${p50.toFixed(3)} ms  p99 ${percentile(times, 0.99).toFixed(3)} ms  (${N} sequential)`);
  return p50;
}

const auth = { authorization: `Bearer ${KEY}` };
const direct = await run('direct to the API', `${apiUrl}/v1/items/1`);
const proxied = await run('through /v1/tools', `${gateway.url}/v1/tools/api/v1/items/1`, auth);
console.log(`proxy overhead p50: ${(proxied - direct).toFixed(3)} ms`);

const big = await get(`${gateway.url}/v1/tools/api/big`, auth);
console.log(`4 MiB streamed body: first byte ${big.firstByteMs.toFixed(1)} ms, last byte ${big.totalMs.toFixed(1)} ms, ${big.bytes} bytes`);

agent.destroy();
await gateway.close();
api.close();
