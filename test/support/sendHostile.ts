import { monitorEventLoopDelay } from 'node:perf_hooks';
import { invokeStreamingHandler } from '../../bin/local/lambdaStreaming';
import type { GatewayStreamingHandler } from '../../functions/gateway/createHandler';
import { lambdaContext, proxyEvent, readText } from './proxyEvent';

/** One hostile request, sent exactly as written: no client library normalises it first. */
export interface HostileRequest {
  method: string;
  /** Path and query as they go on the wire, percent-encodings and all. */
  path: string;
  headers?: Record<string, string>;
  /** A string or bytes are sent as they are; `undefined` sends no body. */
  body?: string | Buffer;
  /**
   * `http` sends it over loopback through the local API Gateway server (the real path);
   * `event` hands the Lambda handler the proxy event directly, for what no HTTP client will
   * send (control characters or code points above U+00FF in a header value) but a proxy event
   * can carry.
   * @default 'http'
   */
  via?: 'http' | 'event';
}

export interface HostileResponse {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Sends one {@link HostileRequest} to the gateway at `url` (or to its `handler`, for `via: 'event'`). */
export async function sendHostile(target: { url: string; handler: GatewayStreamingHandler }, request: HostileRequest): Promise<HostileResponse> {
  if (request.via === 'event') {
    const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body.toString('utf8') : request.body;
    const event = proxyEvent({ method: request.method, path: '/', headers: request.headers, body });
    // proxyEvent parses the path with URL (which would normalise it): the raw path goes in as API Gateway passes it.
    const [path = '/', query] = request.path.split('?', 2);
    event.path = path;
    // As API Gateway's greedy resource sees it (the gateway routes on the matched resource).
    event.pathParameters = { proxy: path.replace(/^\/+/, '') };
    event.requestContext.path = `/prod${path}`;
    event.queryStringParameters = query ? Object.fromEntries(new URLSearchParams(query)) : null;
    const { response } = invokeStreamingHandler(target.handler, event, lambdaContext(30_000));
    const { statusCode, headers, body: stream } = await response;
    const text = await readText(stream);
    const contentType = String(Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '');
    return { status: statusCode ?? 200, contentType, text, json: parse(text) };
  }
  const response = await fetch(`${target.url}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, json: parse(text) };
}

/** How often the event loop is sampled. */
const SAMPLE_MS = 10;

/**
 * The longest the event loop was blocked while `work` ran, in ms: `monitorEventLoopDelay`
 * samples every 10 ms and records how late each sample fired. On a shared machine the OS may
 * deschedule the process too, so a caller that finds a long stall runs the work again (see
 * {@link leastStall}): the gateway's own synchronous work stalls every run, the machine's noise
 * does not.
 */
export async function stallDuring<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: SAMPLE_MS });
  histogram.enable();
  try {
    // The histogram records nothing until its first sample: a block in its first 10 ms would go unseen.
    await new Promise((resolve) => setTimeout(resolve, 2 * SAMPLE_MS));
    const result = await work();
    // A block just before `work` settled shows in the sample after it: wait for that sample.
    await new Promise((resolve) => setTimeout(resolve, 2 * SAMPLE_MS));
    // Each sample records the whole interval since the last one, the 10 ms period included.
    return { result, stallMs: Math.max(0, histogram.max / 1e6 - SAMPLE_MS) };
  } finally {
    histogram.disable();
  }
}

/**
 * Runs `work` until a run stalls the event loop less than `limitMs` (at most `runs` times) and
 * returns the smallest stall seen with that run's result.
 */
export async function leastStall<T>(work: () => Promise<T>, limitMs: number, runs = 3): Promise<{ result: T; stallMs: number; runs: number }> {
  let best: { result: T; stallMs: number } | undefined;
  for (let run = 1; run <= runs; run++) {
    const measured = await stallDuring(work);
    if (!best || measured.stallMs < best.stallMs) best = measured;
    if (best.stallMs < limitMs) return { ...best, runs: run };
  }
  return { ...best!, runs };
}
