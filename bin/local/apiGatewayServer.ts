import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { isBinaryMediaType } from '../../shared/api/binaryMediaTypes';
import { installAwsLambdaGlobal, invokeStreamingHandler, isStreamingHandler, toHttpHeaders, type StreamingHandler } from './lambdaStreaming';

// Whoever serves the gateway through this module creates its handler afterwards: Middy's
// streaming mode reads `awslambda` when the handler is created, as on Lambda.
installAwsLambdaGlobal();

/** A buffered Lambda proxy handler: the result is the whole response. */
export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface ApiGatewayServerOptions {
  /**
   * The function behind every route. A streaming handler (marked by `awslambda.streamifyResponse`)
   * is served as API Gateway's STREAM transfer mode does; any other as a buffered proxy integration.
   */
  handler: ProxyHandler | StreamingHandler<APIGatewayProxyEvent>;
  /** @default 8787; 0 picks a free port. */
  port?: number;
  /** @default '127.0.0.1' — a local gateway holding real keys is not for the network. */
  host?: string;
  /** What Lambda would give the function, so deadlines behave as deployed. @default 30_000 */
  functionTimeoutMs?: number;
  /**
   * Streaming handlers: what a client that disconnects mid-response does to the function.
   * 'destroy' (default) destroys the response stream the handler writes to, so its body stream
   * is destroyed and the upstream call aborted; 'ignore' lets the function run to its end with
   * its output discarded, which is what the deployed Lambda runtime does today.
   * @default 'destroy'
   */
  onClientDisconnect?: 'destroy' | 'ignore';
}

/** API Gateway's own payload limit; it answers 413 itself before Lambda sees the request. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** An oversized body is read (and dropped) up to this much before the connection is cut. */
const DRAIN_AT_MOST_BYTES = 4 * API_GATEWAY_MAX_BODY_BYTES;

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The body as API Gateway passes it: base64 for the stack's binary media types (the bytes
 * intact), else a UTF-8 string (JSON, text: what the OpenAI doors parse).
 */
function toEventBody(req: IncomingMessage, chunks: readonly Buffer[], size: number): { body: string | null; isBase64Encoded: boolean } {
  if (size === 0) return { body: null, isBase64Encoded: false };
  const bytes = Buffer.concat(chunks);
  return isBinaryMediaType(req.headers['content-type'])
    ? { body: bytes.toString('base64'), isBase64Encoded: true }
    : { body: bytes.toString('utf8'), isBase64Encoded: false };
}

function toEvent(req: IncomingMessage, url: URL, { body, isBase64Encoded }: ReturnType<typeof toEventBody>, requestId: string): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query = url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : null;
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) (multiQuery[name] ??= []).push(value);
  const method = req.method ?? 'GET';
  return {
    resource: '/{proxy+}',
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? multiQuery : null,
    pathParameters: { proxy: url.pathname.slice(1) },
    stageVariables: null,
    body,
    isBase64Encoded,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      identity: { sourceIp: req.socket.remoteAddress ?? '127.0.0.1' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
    },
  };
}

function toContext(requestId: string, timeoutMs: number): Context {
  const expiresAt = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'breakwater-gateway-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:breakwater-gateway-local',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, expiresAt - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** What API Gateway answers when the function itself fails (before it sent anything). */
function internalServerError(res: ServerResponse, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 502, { message: 'Internal server error' }, { 'x-request-id': requestId });
}

/**
 * API Gateway's streaming Lambda proxy integration: the head goes out as soon as the prelude is
 * parsed, then each body chunk as it comes (no buffering, Nagle off). A client that disconnects
 * early has the function's response stream destroyed (see `onClientDisconnect`); a function
 * that fails before its prelude gets a 502, one that fails midway has the connection cut.
 */
async function serveStreaming(
  handler: StreamingHandler<APIGatewayProxyEvent>,
  event: APIGatewayProxyEvent,
  context: Context,
  res: ServerResponse,
  requestId: string,
  onClientDisconnect: 'destroy' | 'ignore',
): Promise<void> {
  const invocation = invokeStreamingHandler(handler, event, context);
  let body: Readable | undefined;
  res.once('close', () => {
    if (res.writableFinished) return;
    if (onClientDisconnect === 'destroy') invocation.abort();
    // 'ignore': the function streams on into the void, as on Lambda; never let it stall on backpressure.
    else body?.unpipe(res).resume();
  });
  let response;
  try {
    response = await invocation.response;
  } catch {
    if (!res.destroyed) internalServerError(res, requestId);
    return;
  }
  body = response.body;
  body.on('error', () => res.destroy());
  if (res.destroyed) {
    // The client left while the function was still deciding.
    if (onClientDisconnect === 'ignore') body.resume();
    return;
  }
  res.socket?.setNoDelay(true);
  res.writeHead(response.statusCode, toHttpHeaders(response));
  res.flushHeaders();
  body.pipe(res);
}

/**
 * Serves a Lambda proxy handler over HTTP the way API Gateway's REST API does: each request
 * becomes a proxy event (v1 format), the result becomes the response. `npm start` runs the
 * deployed handler through this, so local behaviour is the deployed behaviour.
 */
export async function startApiGatewayServer(options: ApiGatewayServerOptions): Promise<RunningServer> {
  const { handler, port = 8787, host = '127.0.0.1', functionTimeoutMs = 30_000, onClientDisconnect = 'destroy' } = options;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit nothing is buffered: the rest is read and dropped, so a client still
      // sending gets its 413 instead of a reset mid-upload; one that sends far more is cut off.
      if (size > DRAIN_AT_MOST_BYTES) req.destroy();
      if (size > API_GATEWAY_MAX_BODY_BYTES) {
        rejected = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', async () => {
      if (rejected) {
        const error = { message: `the request body is over ${API_GATEWAY_MAX_BODY_BYTES} bytes`, type: 'invalid_request_error', code: 'payload_too_large' };
        sendJson(res, 413, { error }, { connection: 'close' });
        return;
      }
      const requestId = randomUUID();
      const url = new URL(req.url ?? '/', 'http://localhost');
      const event = toEvent(req, url, toEventBody(req, chunks, size), requestId);
      const context = toContext(requestId, functionTimeoutMs);
      if (isStreamingHandler<APIGatewayProxyEvent>(handler)) {
        await serveStreaming(handler, event, context, res, requestId, onClientDisconnect);
        return;
      }
      try {
        const result = await handler(event, context);
        const headers: Record<string, string | string[]> = { ...result.multiValueHeaders } as Record<string, string[]>;
        for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
        res.writeHead(result.statusCode, headers);
        res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
      } catch {
        internalServerError(res, requestId);
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  // A request Node's parser refuses (headers over 16 KB, a control character in a header) never
  // reaches the handler; API Gateway answers such requests itself, in the OpenAI shape the stack
  // gives its own errors (lib/GatewayApi.ts), so this does too instead of Node's empty reply.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request_header_fields_too_large', 'the request headers are too large']
        : [400, 'Bad Request', 'invalid_request', 'the request is not valid HTTP'];
    const body = JSON.stringify({ error: { message, type: 'invalid_request_error', code } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then the rest are cut.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}
