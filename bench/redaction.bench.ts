/**
 * `npx tsx bench/redaction.bench.ts`: the CPU the secret redaction (shared/redaction) adds per
 * request, in-process, no I/O. Measures, for 3 (a typical deployment: a few provider keys and
 * the config's keys), 100 (the default bound) and 256 registered secrets:
 *
 *  - a buffered answer: `redact` of a 2 KB and a 64 KB chat completion JSON, and `redactDeep`
 *    of the same answer as an object (what the adapter does before the cache and the client);
 *  - a streamed answer: a 200-event stream through `redactStreamEvents` (4-character deltas)
 *    and the SSE bytes of it through a `StreamScanner`, per event;
 *  - a log line: the redacting JSON replacer over a 15-field audit line;
 *  - the matcher rebuild after a new secret is registered.
 *
 * Each figure is the median of 7 rounds of N operations after a warm-up. Nothing is asserted:
 * numbers are for the report, targets live in the README.
 */
import { redactingJsonReplacer } from '../shared/logging';
import { redactStreamEvents, SecretRedactor } from '../shared/redaction';
import type { StreamEvent } from '../shared/stream';

const ROUNDS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** µs per operation, the median over rounds of `n` calls. */
async function time(n: number, op: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await op();
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) await op();
    rounds.push(((performance.now() - start) * 1000) / n);
  }
  return median(rounds);
}

const words = 'the quick brown fox jumps over the lazy dog while a model writes its answer token by token '.split(' ');
const prose = (chars: number) => {
  let out = '';
  for (let i = 0; out.length < chars; i++) out += `${words[i % words.length]} `;
  return out.slice(0, chars);
};
const completion = (chars: number) => ({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: prose(chars) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 120, completion_tokens: 480, total_tokens: 600 },
});

function redactorWith(count: number): SecretRedactor {
  const redactor = new SecretRedactor({ maxSecrets: count });
  for (let i = 0; i < count; i++) redactor.register(`sk-test-bench-${String(i).padStart(6, '0')}-${'x'.repeat(24)}`);
  return redactor;
}

async function bench(count: number) {
  const redactor = redactorWith(count);
  redactor.redact('warm the matcher');
  const small = completion(2_000);
  const large = completion(64_000);
  const smallText = JSON.stringify(small);
  const largeText = JSON.stringify(large);
  const deltas: StreamEvent[] = Array.from({ length: 200 }, (_, i) => ({ type: 'text', text: prose(4 + (i % 3)) }));
  const sseFrames = deltas.map((event) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: (event as { text: string }).text } }] })}\n\n`);
  const audit = {
    level: 'INFO', message: 'audit', timestamp: new Date(0).toISOString(), service: 'breakwater-gateway', tenant: 'acme', key_prefix: 'bw_live_AbCd',
    route: 'default', operation: 'chat', provider: 'openai', target: 'openai/gpt-4o-mini', attempts: 1, status: 200, cost_usd: 0.000135, latency_ms: 412, cache: 'MISS',
  };
  const replacer = redactingJsonReplacer(redactor);

  const results = {
    secrets: count,
    'redact 2 KB answer (µs)': await time(2_000, () => redactor.redact(smallText)),
    'redact 64 KB answer (µs)': await time(200, () => redactor.redact(largeText)),
    'redactDeep 2 KB answer (µs)': await time(2_000, () => redactor.redactDeep(small)),
    '200-event stream, per event (µs)': (await time(50, async () => {
      async function* source() {
        yield* deltas;
      }
      for await (const _ of redactStreamEvents(source(), redactor)) void _;
    })) / deltas.length,
    'SSE bytes scanner, per frame (µs)': (await time(200, () => {
      const scanner = redactor.scanner();
      for (const frame of sseFrames) scanner.push(frame);
      scanner.end();
    })) / sseFrames.length,
    'audit log line (µs)': await time(5_000, () => JSON.stringify(audit, replacer)),
    'audit log line, no redaction (µs)': await time(5_000, () => JSON.stringify(audit)),
    'register + rebuild matcher (µs)': await time(count >= 256 ? 1 : 5, () => {
      redactor.register(`sk-test-new-${Math.random()}`);
      redactor.redact('');
    }),
  };
  return Object.fromEntries(Object.entries(results).map(([name, value]) => [name, typeof value === 'number' && name !== 'secrets' ? Number(value.toFixed(2)) : value]));
}

const rows = [];
for (const count of [3, 100, 256]) rows.push(await bench(count));
console.log(`node ${process.version}, ${ROUNDS} rounds, median µs per operation`);
console.table(rows);
