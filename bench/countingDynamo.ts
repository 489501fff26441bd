/**
 * The bench's DynamoDB: dynalite (the store `npm start` embeds) in a process of its own, so its
 * CPU is counted apart from the gateway's and the load generator's, and counting every call it
 * serves by operation (the `X-Amz-Target` header: `DynamoDB_20120810.UpdateItem` → `UpdateItem`).
 * The gateway reaches it through AWS_ENDPOINT_URL_DYNAMODB; no product code knows it is counted.
 * The port goes to the parent over IPC; the message 'counts' is answered with `{ counts }`.
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

const counts: Record<string, number> = {};
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
// Runs before dynalite's own handler on the same request: counting costs no extra hop, where
// a proxy in front would add one to every call and so to the gateway's measured latency.
server.prependListener('request', (req) => {
  const target = req.headers['x-amz-target'];
  const operation = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : '(no X-Amz-Target)';
  counts[operation] = (counts[operation] ?? 0) + 1;
});
// Longer than any pause between bench phases, as in mockUpstream.ts.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message) => {
  if (message === 'counts') process.send?.({ counts: { ...counts } });
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
