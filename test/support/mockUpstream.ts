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
  /**
   * Answer as a `text/event-stream`: each entry is one raw SSE frame WITHOUT its trailing blank
   * line (`data: {...}`, or `event: x\ndata: {...}`); the mock writes each followed by "\n\n".
   * `body` is ignored. See {@link openAiStreamFrames} and {@link anthropicStreamFrames}.
   */
  sse?: string[];
  /** Wait this long before each SSE frame. */
  frameDelayMs?: number;
  /** Destroy the socket after writing this many SSE frames (a stream cut mid-answer). */
  cutAfterFrames?: number;
  /** Stop writing after this many SSE frames but keep the socket open until the client closes it. */
  hangAfterFrames?: number;
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
  /**
   * How many answers the client left before the mock had finished writing them (the request's
   * connection closed early: an abort, a timeout). Cuts the mock makes itself do not count.
   */
  readonly closedEarly: number;
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

  let closedEarly = 0;
  const writeFrames = (req: http.IncomingMessage, res: http.ServerResponse, scripted: ScriptedResponse, frames: string[]) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      if (!done && !res.writableFinished) closedEarly += 1;
    });
    res.writeHead(scripted.status ?? 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...scripted.headers });
    res.flushHeaders();
    const next = (i: number) => {
      timer = undefined;
      if (res.destroyed) return;
      if (scripted.cutAfterFrames !== undefined && i >= scripted.cutAfterFrames) {
        done = true;
        // Once the frames written are on the wire (node corks a response's writes until the
        // next tick): a cut loses what comes after it, not what came before.
        res.write('', () => req.socket.destroy());
        return;
      }
      // Hanging: nothing more is written; the socket stays open until the client closes it.
      if (scripted.hangAfterFrames !== undefined && i >= scripted.hangAfterFrames) return;
      if (i >= frames.length) {
        done = true;
        res.end();
        return;
      }
      const write = () => {
        timer = undefined;
        if (res.destroyed) return;
        res.write(`${frames[i]}\n\n`);
        next(i + 1);
      };
      if (scripted.frameDelayMs) timer = setTimeout(write, scripted.frameDelayMs);
      else write();
    };
    next(0);
  };

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
        if (scripted.sse) {
          writeFrames(req, res, scripted, scripted.sse);
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
  // Idle keep-alive sockets are kept as long as a real provider's load balancer keeps them (Node's
  // own 5 s would close them under a client that pauses, e.g. while a test freezes a store, and
  // the client's next request on one then races the close and is reset).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get closedEarly() {
      return closedEarly;
    },
    script: (...responses) => queue.push(...responses),
    setDefault: (response) => {
      fallback = response;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      fallback = {};
      closedEarly = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One streamed tool call: its id and name, and its arguments in the fragments they arrive in. */
export interface StreamedToolCall {
  id: string;
  name: string;
  arguments: string[];
}

/** The usage an OpenAI stream reports in its last chunk. */
export interface StreamedUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

export interface OpenAiStreamOptions {
  /** The content deltas, one chunk each. */
  text?: string[];
  /** Tool calls, sent one after the other: a chunk with id and name, then one per fragment. */
  toolCalls?: StreamedToolCall[];
  /** @default 'tool_calls' with tool calls, else 'stop'; null sends no finish_reason. */
  finishReason?: string | null;
  /** @default 5 prompt tokens, one completion token per chunk; null sends no usage chunk. */
  usage?: StreamedUsage | null;
  /** @default 'mock-model' */
  model?: string;
}

/**
 * A realistic OpenAI Chat Completions stream as {@link ScriptedResponse.sse} frames: a role
 * chunk, the content chunks, the tool-call chunks, the finish_reason chunk, the usage chunk
 * (`choices: []`, as `include_usage` sends it) and `data: [DONE]`. One frame per element, so
 * `cutAfterFrames: n` cuts after the first n of them (the role chunk counts).
 */
export function openAiStreamFrames(options: OpenAiStreamOptions = {}): string[] {
  const { text = [], toolCalls = [], model = 'mock-model' } = options;
  const chunk = (choices: unknown[], usage: StreamedUsage | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices, usage })}`;
  const delta = (value: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: value, logprobs: null, finish_reason: finishReason }]);

  const frames = [delta({ role: 'assistant', content: '' })];
  for (const piece of text) frames.push(delta({ content: piece }));
  toolCalls.forEach((call, index) => {
    frames.push(delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const fragment of call.arguments) frames.push(delta({ tool_calls: [{ index, function: { arguments: fragment } }] }));
  });
  const finishReason = options.finishReason === undefined ? (toolCalls.length > 0 ? 'tool_calls' : 'stop') : options.finishReason;
  if (finishReason !== null) frames.push(delta({}, finishReason));
  const completion = Math.max(1, text.length + toolCalls.reduce((sum, call) => sum + call.arguments.length, 0));
  const usage = options.usage === undefined ? { prompt_tokens: 5, completion_tokens: completion, total_tokens: 5 + completion } : options.usage;
  if (usage !== null) frames.push(chunk([], usage));
  frames.push('data: [DONE]');
  return frames;
}

/** One streamed tool_use block: its id and name, and its input JSON in the fragments it arrives in. */
export interface StreamedToolUse {
  id: string;
  name: string;
  inputJson: string[];
}

export interface AnthropicStreamOptions {
  /** The text deltas of one text block (no text block when empty). */
  text?: string[];
  /** A thinking block sent before the text (its deltas, then its signature). */
  thinking?: string[];
  /** tool_use blocks after the text, each with its input_json_delta fragments. */
  toolUse?: StreamedToolUse | StreamedToolUse[];
  /** @default 'tool_use' with a tool use, else 'end_turn' */
  stopReason?: string;
  /** Uncached input tokens, in message_start. @default 10 */
  inputTokens?: number;
  /** In message_delta. @default one per delta */
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** @default 'claude-sonnet-4-5' */
  model?: string;
}

/**
 * A realistic Anthropic Messages stream as {@link ScriptedResponse.sse} frames (`event:` and
 * `data:` lines): message_start, a ping, each content block (start, deltas, stop), a ping,
 * message_delta with the stop reason and usage, message_stop. One frame per element.
 */
export function anthropicStreamFrames(options: AnthropicStreamOptions = {}): string[] {
  const { text = [], thinking = [], model = 'claude-sonnet-4-5', inputTokens = 10 } = options;
  const toolUses = options.toolUse === undefined ? [] : Array.isArray(options.toolUse) ? options.toolUse : [options.toolUse];
  const frame = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}`;
  const startUsage = {
    input_tokens: inputTokens,
    cache_creation_input_tokens: options.cacheWriteTokens ?? 0,
    cache_read_input_tokens: options.cacheReadTokens ?? 0,
    output_tokens: 1,
  };
  const frames = [
    frame('message_start', {
      message: { id: 'msg_mock', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage },
    }),
    frame('ping', {}),
  ];
  let index = 0;
  let deltas = 0;
  if (thinking.length > 0) {
    frames.push(frame('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    for (const piece of thinking) frames.push(frame('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } }));
    frames.push(frame('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'c2lnbmF0dXJl' } }));
    frames.push(frame('content_block_stop', { index }));
    index += 1;
  }
  if (text.length > 0) {
    frames.push(frame('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const piece of text) frames.push(frame('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
    frames.push(frame('content_block_stop', { index }));
    deltas += text.length;
    index += 1;
  }
  for (const use of toolUses) {
    frames.push(frame('content_block_start', { index, content_block: { type: 'tool_use', id: use.id, name: use.name, input: {} } }));
    for (const piece of use.inputJson) {
      frames.push(frame('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
    }
    frames.push(frame('content_block_stop', { index }));
    deltas += use.inputJson.length;
    index += 1;
  }
  frames.push(frame('ping', {}));
  const stopReason = options.stopReason ?? (toolUses.length > 0 ? 'tool_use' : 'end_turn');
  frames.push(
    frame('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: options.outputTokens ?? Math.max(1, deltas) },
    }),
  );
  frames.push(frame('message_stop', {}));
  return frames;
}
