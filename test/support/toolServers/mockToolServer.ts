import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a mock tool API received it: the raw path and query, as sent on the wire. */
export interface ToolRequestRecord {
  method: string;
  /** Path and query exactly as in the request line. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type ToolHandler = (request: ToolRequestRecord, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export interface MockToolServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  requests: ToolRequestRecord[];
  /** Swapped per test; the default echoes the request as JSON. */
  handler: ToolHandler;
  reset(): void;
  close(): Promise<void>;
}

/** Answers JSON with a status. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export const echo: ToolHandler = (request, res) =>
  sendJson(res, 200, { method: request.method, url: request.url, body: request.body.toString('utf8') });

/**
 * A third-party API on loopback for the tool proxy's tests: every request recorded with its raw
 * path, headers and body; answers scripted by a handler (check a credential, fail, reset, stream).
 */
export async function startMockToolServer(handler: ToolHandler = echo): Promise<MockToolServer> {
  const requests: ToolRequestRecord[] = [];
  const mock: MockToolServer = {
    url: '',
    requests,
    handler,
    reset: () => {
      requests.length = 0;
      mock.handler = handler;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(record);
      Promise.resolve(mock.handler(record, res, req)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  mock.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mock;
}

/** Cuts the connection after the request arrived: the client sees ECONNRESET, the work may be done. */
export const resetConnection: ToolHandler = (_request, res) => {
  res.socket?.destroy();
};
