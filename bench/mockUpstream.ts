/**
 * A fast OpenAI-compatible upstream for the benchmark, run as its own process so it shares no
 * event loop with the gateway or the load generator. Every POST gets the same pre-serialised
 * chat completion; the port goes back to the parent over IPC (or stdout without IPC).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hello from the bench mock' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
  }),
);
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

const server = http.createServer((req, res) => {
  // Read the request to its end before answering, so the keep-alive connection stays usable.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, HEADERS);
    res.end(BODY);
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

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
