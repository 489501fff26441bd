/**
 * Reference floor for the bench: the least a node:http proxy can do per request (read the body,
 * POST it upstream over a keep-alive pool, send the answer back), with none of the gateway's
 * work. Gateway minus this is the cost of Breakwater's own code; this minus direct is the cost
 * of an extra node:http hop on this machine. UPSTREAM is the mock's base URL.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = new URL('/v1/chat/completions', process.env.UPSTREAM ?? 'http://127.0.0.1:1');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const out = http.request(upstream, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    out.on('response', (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => parts.push(chunk));
      answer.on('end', () => {
        res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
        res.end(Buffer.concat(parts).toString('utf8'));
      });
    });
    out.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(0, '127.0.0.1', () => {
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
