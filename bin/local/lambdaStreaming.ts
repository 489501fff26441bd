/**
 * What the Lambda Node.js runtime gives a response-streaming function, emulated for `npm start`,
 * the tests and the bundle test, and what API Gateway makes of the bytes such a function sends.
 *
 * On Lambda the runtime defines the global `awslambda` before it loads the handler module:
 * `awslambda.streamifyResponse(fn)` marks `fn` as a streaming handler (a symbol property), the
 * runtime then calls it as `fn(event, responseStream, context)`, and
 * `awslambda.HttpResponseStream.from(responseStream, prelude)` sets the stream's content type to
 * `application/vnd.awslambda.http-integration-response` and, just before the first body byte,
 * writes the prelude as JSON followed by 8 NUL bytes. API Gateway's streaming Lambda proxy
 * integration reads the prelude (status, headers, cookies) and streams the rest to the client.
 *
 * {@link installAwsLambdaGlobal} never replaces a `streamifyResponse` that already exists, so
 * the deployed bundle always runs on the real runtime's.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { Context, StreamifyHandler } from 'aws-lambda';

/** The property the runtime reads to tell a streaming handler from a buffered one. */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
export const STREAM_RESPONSE = 'response';
/** Content type of a stream that starts with an HTTP prelude (what API Gateway expects). */
export const HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
/** The runtime's content type for a stream nobody typed. */
export const DEFAULT_STREAM_CONTENT_TYPE = 'application/octet-stream';
/** The prelude and the body are separated by this many NUL bytes. */
export const PRELUDE_DELIMITER_LENGTH = 8;
/** API Gateway wants the prelude and its delimiter within the first 16 KB of the stream. */
export const MAX_PRELUDE_BYTES = 16 * 1024;

const DELIMITER = Buffer.alloc(PRELUDE_DELIMITER_LENGTH);

/** The JSON written before the body: API Gateway's streaming proxy response format. */
export interface HttpResponsePrelude {
  statusCode?: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, Array<string | number | boolean>>;
  cookies?: string[];
}

/** A handler as the runtime calls it once `streamifyResponse` has marked it. */
export type StreamingHandler<TEvent = unknown> = StreamifyHandler<TEvent, unknown>;

/** True when `handler` went through `awslambda.streamifyResponse` (the real one or ours). */
export function isStreamingHandler<TEvent>(handler: unknown): handler is StreamingHandler<TEvent> {
  return typeof handler === 'function' && (handler as { [HANDLER_STREAMING]?: unknown })[HANDLER_STREAMING] === STREAM_RESPONSE;
}

/**
 * The `responseStream` a streaming handler writes to, as the runtime's: a writable with
 * `setContentType` (only before the first write) and the `_onBeforeFirstWrite` hook that
 * `HttpResponseStream.from` uses to put the prelude first. What it sends to the Runtime API
 * comes out of {@link wire}, byte for byte, with backpressure: a write completes only once the
 * reader of `wire` has taken it.
 *
 * Destroying it is what this emulation does when the HTTP client goes away (see
 * {@link invokeStreamingHandler}); Middy's `pipeline(body, responseStream)` then destroys the
 * handler's body stream.
 */
export class LambdaResponseStream extends Writable {
  /** Set by `HttpResponseStream.from`; called once, with a raw write, before the first chunk. */
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  /** The bytes as the function sends them, prelude included. */
  readonly wire: PassThrough;
  #contentType = DEFAULT_STREAM_CONTENT_TYPE;
  #started = false;

  constructor(options: { highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark });
    this.wire = new PassThrough({ highWaterMark: options.highWaterMark });
  }

  get contentType(): string {
    return this.#contentType;
  }

  setContentType(contentType: string): void {
    if (this.#started) throw new Error('Cannot set content-type, too late.');
    this.#contentType = contentType;
  }

  override write(chunk: unknown, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    // As the runtime: anything but text and bytes is sent as JSON.
    let data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    const prelude = this.#beforeFirstWrite();
    if (prelude.length > 0) {
      // The prelude and the first chunk in one write: a buffered answer crosses the wire, and is
      // parsed on the other side, in one piece instead of three.
      const first = typeof data === 'string' ? Buffer.from(data, typeof encoding === 'string' ? encoding : 'utf8') : data;
      data = Buffer.concat([...prelude, first]);
    }
    return typeof encoding === 'function' ? super.write(data, encoding) : super.write(data, encoding as BufferEncoding, callback);
  }

  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    // Writable.end(chunk) would skip write(), and with it the prelude.
    if (typeof chunk === 'function') return super.end(chunk as () => void);
    if (chunk !== undefined && chunk !== null) {
      if (typeof encoding === 'function') {
        this.write(chunk);
        return super.end(encoding as () => void);
      }
      this.write(chunk, encoding as BufferEncoding);
    }
    return super.end(callback as (() => void) | undefined);
  }

  /** What the `_onBeforeFirstWrite` hook writes, once: the runtime writes it before the first chunk. */
  #beforeFirstWrite(): Uint8Array[] {
    if (this.#started) return [];
    this.#started = true;
    const written: Uint8Array[] = [];
    const hook = this._onBeforeFirstWrite;
    if (typeof hook === 'function') hook((chunk) => void written.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    return written;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.wire.write(chunk, (error) => callback(error ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.wire.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.wire.destroy(error);
    else if (!this.wire.writableEnded) this.wire.destroy();
    callback(error);
  }
}

/** `awslambda.HttpResponseStream`, as the runtime implements it. */
export class LocalHttpResponseStream {
  static from<T extends Writable>(underlyingStream: T, prelude: HttpResponsePrelude | Record<string, unknown>): T {
    const stream = underlyingStream as T & Partial<Pick<LambdaResponseStream, 'setContentType' | '_onBeforeFirstWrite'>>;
    stream.setContentType?.(HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE);
    // JSON.stringify escapes NUL, so the prelude can never contain the delimiter.
    const metadataPrelude = JSON.stringify(prelude);
    stream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(PRELUDE_DELIMITER_LENGTH));
    };
    return underlyingStream;
  }
}

/** The `awslambda` global this module installs off Lambda. */
export const localAwsLambda = {
  streamifyResponse<T extends (...args: never[]) => unknown>(handler: T, options?: { highWaterMark?: number }): T {
    const marked = handler as T & { [HANDLER_STREAMING]?: string; [HANDLER_HIGHWATERMARK]?: number };
    marked[HANDLER_STREAMING] = STREAM_RESPONSE;
    if (options?.highWaterMark) marked[HANDLER_HIGHWATERMARK] = Number(options.highWaterMark);
    return handler;
  },
  HttpResponseStream: LocalHttpResponseStream,
};

/**
 * Gives `globalThis.awslambda` the streaming API of the Lambda Node.js runtime,
 * `streamifyResponse` and `HttpResponseStream`, unless it has them already (on Lambda, the real
 * runtime's). An `awslambda` object that exists without them is kept and completed: Powertools'
 * `@aws/lambda-invoke-store` creates an empty one at import to hang its `InvokeStore` on.
 * Call it before anything calls `middy({ streamifyResponse: true })`, which reads the global at
 * creation.
 * @returns true when it installed the local emulation.
 */
export function installAwsLambdaGlobal(): boolean {
  const scope = globalThis as { awslambda?: Record<string, unknown> };
  const existing = scope.awslambda;
  if (typeof existing?.['streamifyResponse'] === 'function') return false;
  if (existing === undefined || existing === null) {
    scope.awslambda = { ...localAwsLambda };
  } else {
    existing['streamifyResponse'] = localAwsLambda.streamifyResponse;
    existing['HttpResponseStream'] ??= localAwsLambda.HttpResponseStream;
  }
  return true;
}

/** What API Gateway sends the client: status and headers from the prelude, the rest as the body. */
export interface StreamedHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  cookies: string[];
  /** The bytes after the delimiter, as they come (not buffered). */
  body: Readable;
}

/** Thrown (as a rejection) when the stream ends or fails before a valid prelude. */
export class MalformedStreamingResponseError extends Error {
  override readonly name = 'MalformedStreamingResponseError';
}

function fromPrelude(raw: unknown, body: Readable): StreamedHttpResponse {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MalformedStreamingResponseError('the response prelude is not a JSON object');
  }
  const prelude = raw as HttpResponsePrelude;
  const statusCode = prelude.statusCode ?? 200;
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedStreamingResponseError(`the response prelude has an invalid statusCode: ${String(prelude.statusCode)}`);
  }
  const headers = Object.fromEntries(Object.entries(prelude.headers ?? {}).map(([name, value]) => [name, String(value)]));
  const multiValueHeaders = Object.fromEntries(
    Object.entries(prelude.multiValueHeaders ?? {}).map(([name, values]) => [name, [values].flat().map(String)]),
  );
  return { statusCode, headers, multiValueHeaders, cookies: (prelude.cookies ?? []).map(String), body };
}

/**
 * Reads a streaming function's output as API Gateway's streaming Lambda proxy integration does:
 * when `contentType()` is {@link HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE}, the JSON prelude up to
 * the 8 NUL bytes gives status, headers and cookies, and everything after is the body; any other
 * content type is a 200 whose body is the whole stream (what a function URL does). Resolves as
 * soon as the prelude is parsed; the body keeps streaming, with backpressure, and is destroyed
 * with the stream's error if the function fails midway.
 *
 * Rejects with {@link MalformedStreamingResponseError} when the stream ends without a prelude,
 * the prelude is not JSON or is not within {@link MAX_PRELUDE_BYTES}, and with the stream's own
 * error when it fails before the prelude.
 */
export function readHttpIntegrationResponse(wire: Readable, contentType: () => string): Promise<StreamedHttpResponse> {
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    let settled = false;

    const detach = () => {
      settled = true;
      // Read in paused mode ('readable'), so once this listener is gone the body starts as a new
      // stream does: flowing as soon as its reader attaches 'data' or pipes it.
      wire.off('readable', onReadable);
      wire.off('end', onEnd);
      wire.off('error', onError);
      wire.off('close', onClose);
    };
    const fail = (error: Error) => {
      detach();
      wire.destroy();
      reject(error);
    };
    /** Resolves with the rest of the stream as the body. */
    const start = (build: (body: Readable) => StreamedHttpResponse, rest: Buffer) => {
      let response: StreamedHttpResponse;
      try {
        response = build(wire);
      } catch (error) {
        fail(error as Error);
        return;
      }
      detach();
      // The body is the wire itself from the delimiter on, not a copy through a second stream.
      // Errors travel: a function that fails midway destroys the wire, so the client's body, with
      // its error; never an uncaught one before the reader attaches its own listeners.
      wire.on('error', () => {});
      if (rest.length > 0) wire.unshift(rest);
      resolve(response);
    };

    const onData = (chunk: Buffer) => {
      if (settled) return;
      if (contentType() !== HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE) {
        const type = contentType();
        start((body) => ({ statusCode: 200, headers: { 'content-type': type }, multiValueHeaders: {}, cookies: [], body }), chunk);
        return;
      }
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const at = head.indexOf(DELIMITER);
      if (at < 0) {
        if (head.length > MAX_PRELUDE_BYTES) fail(new MalformedStreamingResponseError(`no prelude delimiter within the first ${MAX_PRELUDE_BYTES} bytes`));
        return;
      }
      if (at + PRELUDE_DELIMITER_LENGTH > MAX_PRELUDE_BYTES) {
        fail(new MalformedStreamingResponseError(`the prelude is over ${MAX_PRELUDE_BYTES} bytes`));
        return;
      }
      let prelude: unknown;
      try {
        prelude = JSON.parse(head.subarray(0, at).toString('utf8'));
      } catch {
        fail(new MalformedStreamingResponseError('the response prelude is not valid JSON'));
        return;
      }
      start((body) => fromPrelude(prelude, body), head.subarray(at + PRELUDE_DELIMITER_LENGTH));
    };
    const onEnd = () => {
      if (settled) return;
      if (contentType() !== HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE && head.length === 0) {
        const type = contentType();
        start((body) => ({ statusCode: 200, headers: { 'content-type': type }, multiValueHeaders: {}, cookies: [], body }), Buffer.alloc(0));
        return;
      }
      fail(new MalformedStreamingResponseError('the function ended its response stream before the prelude delimiter'));
    };
    const onError = (error: Error) => {
      if (!settled) fail(error);
    };
    const onClose = () => {
      if (!settled) fail(new MalformedStreamingResponseError('the response stream closed before the prelude delimiter'));
    };

    const onReadable = () => {
      let chunk: Buffer | null;
      while (!settled && (chunk = wire.read() as Buffer | null) !== null) onData(chunk);
    };
    wire.on('readable', onReadable);
    wire.on('end', onEnd);
    wire.on('error', onError);
    wire.on('close', onClose);
  });
}

/** HTTP response headers from a parsed prelude: multi-value headers, then headers, then cookies. */
export function toHttpHeaders(response: Pick<StreamedHttpResponse, 'headers' | 'multiValueHeaders' | 'cookies'>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(response.multiValueHeaders)) out[name] = values;
  for (const [name, value] of Object.entries(response.headers)) out[name] = value;
  if (response.cookies.length > 0) {
    const existing = Object.keys(out).find((name) => name.toLowerCase() === 'set-cookie');
    const previous = existing === undefined ? [] : [out[existing]!].flat();
    if (existing !== undefined) delete out[existing];
    out['set-cookie'] = [...previous, ...response.cookies];
  }
  return out;
}

export interface StreamingInvocation {
  /** The stream handed to the handler. */
  responseStream: LambdaResponseStream;
  /** What API Gateway would send: resolves once the prelude is parsed; see {@link readHttpIntegrationResponse}. */
  response: Promise<StreamedHttpResponse>;
  /**
   * Settles with the handler: resolves with its result, rejects with its error (a handler that
   * fails after the prelude has its body destroyed with that error). Already handled: leaving it
   * unobserved raises no unhandled rejection.
   */
  done: Promise<unknown>;
  /**
   * The client went away: destroys {@link responseStream}, so Middy's pipeline destroys the
   * handler's body stream. The deployed runtime is not known to do this: its response stream
   * emits nothing when the client disconnects (aws/aws-lambda-nodejs-runtime-interface-client
   * issue #145), so on AWS a stream runs to its end or its deadline. The local server does it by
   * default so the engine's abort path runs; `onClientDisconnect: 'ignore'` there mimics AWS.
   */
  abort(reason?: Error): void;
}

/**
 * Calls a streaming handler as the runtime does, `handler(event, responseStream, context)`, and
 * reads its output as API Gateway would. A handler that returns without ending its stream has
 * it ended for it; one that throws has it destroyed with the error.
 */
export function invokeStreamingHandler<TEvent>(
  handler: StreamingHandler<TEvent>,
  event: TEvent,
  context: Context,
): StreamingInvocation {
  const highWaterMark = (handler as { [HANDLER_HIGHWATERMARK]?: number })[HANDLER_HIGHWATERMARK];
  const responseStream = new LambdaResponseStream({ highWaterMark });
  // Its errors are the handler's own (or the client leaving), reported through `done`.
  responseStream.on('error', () => {});
  const response = readHttpIntegrationResponse(responseStream.wire, () => responseStream.contentType);
  // Observed here so a handler failure never surfaces as an unhandled rejection; callers still see it.
  response.catch(() => {});
  const done = (async () => {
    try {
      const result = await handler(event, responseStream, context);
      if (!responseStream.writableEnded && !responseStream.destroyed) responseStream.end();
      return result;
    } catch (error) {
      if (!responseStream.destroyed) responseStream.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  })();
  done.catch(() => {});
  return {
    responseStream,
    response,
    done,
    abort: (reason) => {
      if (!responseStream.destroyed) responseStream.destroy(reason);
    },
  };
}
