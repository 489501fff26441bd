import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { HTTP_ERROR_CODES, HttpClientError, headerRecord, startRequest, toHttpClientError, type HttpRequest } from './httpClient';

/**
 * The streaming half of the upstream HTTP client: the same pools, error codes and timeout
 * rules as {@link httpRequest}, but it resolves at the response head and hands over the body
 * unread, so an answer is passed on as it arrives instead of after its last byte.
 */

export type HttpStreamRequest = Omit<HttpRequest, 'maxResponseBytes'>;

export interface HttpStreamResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body, unread. The caller reads it to its end or calls `abort`. */
  body: ResponseBody;
  /** Closes the connection at once (the socket is destroyed, not returned to the pool). */
  abort(): void;
}

/** Unread bytes queued before the socket is paused: far more than a reader keeping up needs. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * A response body as it arrives, for one reader. It is read from the moment the head arrives,
 * in flowing mode, into a queue of its own: when a socket dies node drops whatever sits unread
 * in the message's buffer, and the bytes an upstream did send before a cut are part of the
 * answer. Iterating yields every byte received, then throws the socket's error (node's code,
 * ECONNRESET for a close before the end) or ends at the body's end. Past `HIGH_WATER_BYTES`
 * queued the socket is paused, so a slow reader holds the upstream back instead of memory.
 */
export class ResponseBody implements AsyncIterable<Buffer> {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(private readonly message: IncomingMessage) {
    message.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued >= HIGH_WATER_BYTES) message.pause();
      this.notify();
    });
    message.on('end', () => {
      this.ended = true;
      this.notify();
    });
    message.on('error', (error) => {
      this.failure ??= error;
      this.notify();
    });
    message.on('close', () => {
      if (!this.ended) {
        this.failure ??= Object.assign(new Error('connection closed before the body ended'), { code: 'ECONNRESET' });
      }
      this.notify();
    });
  }

  /** Whether the whole body arrived. */
  get complete(): boolean {
    return this.ended;
  }

  /** Stops reading: the connection is closed, and a waiting reader wakes to a failure. */
  destroy(): void {
    if (!this.ended) this.failure ??= Object.assign(new Error('body read stopped'), { code: 'ECONNRESET' });
    this.message.destroy();
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      while (true) {
        const chunk = this.queue.shift();
        if (chunk !== undefined) {
          this.queued -= chunk.length;
          if (this.message.isPaused() && this.queued < HIGH_WATER_BYTES / 2) this.message.resume();
          yield chunk;
        } else if (this.failure !== undefined) {
          throw this.failure;
        } else if (this.ended) {
          return;
        } else {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      }
    } finally {
      // A reader that stops early leaves nothing behind it: the connection closes.
      if (!this.ended) this.destroy();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Sends one request and resolves once the status and headers are in. `timeoutMs` bounds only
 * that wait: a stream may then run for minutes, and its pace is the caller's to police.
 * Rejects with an {@link HttpClientError} (`ATTEMPT_TIMEOUT`, or node's socket code) that says
 * whether a connection was ever made (`connected`). Redirects are never followed (node does not).
 */
export function httpStream(request: HttpStreamRequest): Promise<HttpStreamResponse> {
  const { body, timeoutMs } = request;
  return new Promise((resolve, reject) => {
    // Whether any byte may have left: a failure before a connection is a write safe to resend.
    let connected = false;
    const fail = (error: unknown) => reject(Object.assign(toHttpClientError(error), { connected }));
    let req: http.ClientRequest;
    try {
      req = startRequest(request);
    } catch (error) {
      return fail(error);
    }
    req.on('socket', (socket) => {
      // A pooled socket was connected before; a new one is once it says so.
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });

    const timer = setTimeout(() => {
      req.destroy(new HttpClientError(HTTP_ERROR_CODES.TIMEOUT, `no response head within ${timeoutMs} ms`));
    }, timeoutMs);

    const beforeHead = (error: unknown) => {
      clearTimeout(timer);
      fail(error);
    };
    req.on('error', beforeHead);
    req.once('response', (res) => {
      clearTimeout(timer);
      // From here on, socket failures surface on the body; the request's own `error` still
      // needs a listener, or node would throw it.
      req.off('error', beforeHead);
      req.on('error', () => undefined);
      // Synchronously, before this tick ends: bytes that came with the head must not be lost.
      const responseBody = new ResponseBody(res);
      resolve({
        status: res.statusCode ?? 0,
        headers: headerRecord(res.headers),
        body: responseBody,
        abort: () => {
          responseBody.destroy();
          req.destroy();
        },
      });
    });
    req.end(body);
  });
}

export interface ReadBodyOptions {
  /** @default 1 MiB — an error body is for its message; past this it is cut. */
  maxBytes?: number;
  /** Give up after this long and keep what came (a trickling error page must not hang a call). */
  timeoutMs?: number;
}

/** The default cap of {@link readBodyText}: an error message never needs more. */
export const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/**
 * Reads a (non-2xx) body to its end as UTF-8, never more than `maxBytes` and never longer than
 * `timeoutMs`. Never rejects: it is read for a message, and a body cut short still has one.
 * Stopping early closes the connection rather than draining an unbounded body.
 */
export async function readBodyText(body: ResponseBody, options: ReadBodyOptions = {}): Promise<string> {
  const { maxBytes = MAX_ERROR_BODY_BYTES, timeoutMs } = options;
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => body.destroy(), Math.max(0, timeoutMs));
  try {
    for await (const chunk of body) {
      const room = maxBytes - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size >= maxBytes) break;
    }
  } catch {
    // Cut short (a reset, the timeout): what came is the message.
  } finally {
    if (timer) clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
