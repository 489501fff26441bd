/**
 * A fast streaming OpenAI-compatible upstream for `npm run bench:stream`, run as its own process
 * so it shares no event loop with the gateway or the load generator. Every POST with
 * `"stream": true` gets the same pre-serialised SSE answer: CHUNKS chunks whose delta.content is
 * "tok ", a finish chunk, a usage chunk (`choices: []`) and `data: [DONE]`, each written (and,
 * with Nagle off, sent) as soon as the previous write returns: no delays. Any other POST gets a
 * small buffered chat completion. The port goes back to the parent over IPC (or stdout without IPC).
 *
 * For the bench's TTFB breakdown, each stream's arrival (request head parsed) and first write
 * are kept as epoch ms (performance.timeOrigin + now(): comparable across processes on one
 * machine); the IPC message 'timings' is answered with `{ timings }` and clears them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

const CHUNKS = Number(process.env.STREAM_CHUNKS ?? 200);
/** Diagnostic (BENCH_STREAM_FIRST_GAP_MS): a pause after the first chunk, so it arrives on its own. */
const FIRST_GAP_MS = Number(process.env.STREAM_FIRST_GAP_MS ?? 0);
const CONTENT = 'tok ';

const base = { id: 'chatcmpl-bench-stream', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-model' };
const frame = (payload: unknown) => Buffer.from(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);

const FIRST = frame({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: CONTENT }, finish_reason: null }] });
const CONTENT_FRAME = frame({ ...base, choices: [{ index: 0, delta: { content: CONTENT }, finish_reason: null }] });
const FINISH = frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
const USAGE = frame({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: CHUNKS, total_tokens: 5 + CHUNKS } });
const DONE = frame('[DONE]');
const FRAMES: Buffer[] = [FIRST, ...Array.from({ length: CHUNKS - 1 }, () => CONTENT_FRAME), FINISH, USAGE, DONE];

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

const JSON_BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hello from the bench mock' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
  }),
);

const now = () => performance.timeOrigin + performance.now();
const timings: Array<{ arrivedAt: number; bodyAt: number; firstWriteAt: number }> = [];

const server = http.createServer((req, res) => {
  const arrivedAt = now();
  const parts: Buffer[] = [];
  req.on('data', (chunk: Buffer) => parts.push(chunk));
  req.on('end', () => {
    const bodyAt = now();
    let stream = false;
    try {
      stream = (JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: unknown }).stream === true;
    } catch {
      // Not JSON: answered as a buffered completion.
    }
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) });
      res.end(JSON_BODY);
      return;
    }
    res.socket?.setNoDelay(true);
    res.writeHead(200, SSE_HEADERS);
    if (process.send) timings.push({ arrivedAt, bodyAt, firstWriteAt: now() });
    // Headers go out with the first chunk (chunked encoding); each frame is its own write.
    const rest = () => {
      for (let i = 1; i < FRAMES.length - 1; i++) res.write(FRAMES[i]);
      res.end(FRAMES[FRAMES.length - 1]);
    };
    res.write(FRAMES[0]);
    if (FIRST_GAP_MS > 0) setTimeout(rest, FIRST_GAP_MS);
    else rest();
  });
});
// Longer than any pause between bench phases: an idle pooled socket is never closed under us.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  if (process.send) process.send({ port });
  else console.log(JSON.stringify({ port }));
});

process.on('message', (message) => {
  if (message === 'timings') process.send?.({ timings: timings.splice(0) });
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
