import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer; anything left out gets a sensible OpenAI-compatible default. */
export interface ScriptedResponse {
  /** @default 200 */
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is (use it for malformed bodies). */
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the socket instead of answering (ECONNRESET on the client). */
  reset?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface MockUpstream {
  /** Base URL for an `openai` provider: `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Queue answers, used in order; when the queue is empty the default answer is sent. */
  script(...responses: ScriptedResponse[]): void;
  setDefault(response: ScriptedResponse): void;
  reset(): void;
  close(): Promise<void>;
}

export function chatCompletion(content = 'hello from the mock', model = 'mock-model') {
  return {
    id: 'chatcmpl-mock',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
  };
}

const embeddingList = (model: string) => ({
  object: 'list',
  model,
  data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }],
  usage: { prompt_tokens: 2, total_tokens: 2 },
});

/** A loopback OpenAI-compatible upstream whose answers a test scripts one by one. */
export async function startMockUpstream(): Promise<MockUpstream> {
  const queue: ScriptedResponse[] = [];
  let fallback: ScriptedResponse = {};
  const requests: RecordedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Keep the raw text.
      }
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, at: Date.now() });
      const scripted = queue.shift() ?? fallback;
      const answer = () => {
        if (scripted.reset) {
          req.socket.destroy();
          return;
        }
        const model = (body as { model?: string } | undefined)?.model ?? 'mock-model';
        const payload =
          scripted.body ?? (req.url?.endsWith('/embeddings') ? embeddingList(model) : chatCompletion(undefined, model));
        res.writeHead(scripted.status ?? 200, { 'content-type': 'application/json', ...scripted.headers });
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      };
      if (scripted.delayMs) setTimeout(answer, scripted.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...responses) => queue.push(...responses),
    setDefault: (response) => {
      fallback = response;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      fallback = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
