import http from 'node:http';
import https from 'node:https';

/**
 * A small upstream HTTP client on node's own http module: keep-alive pools, one timeout per
 * attempt, a cap on response size, and node's socket error codes (ECONNRESET, ENOTFOUND...)
 * kept intact so the engine can classify them. No retries here: there is one retry layer,
 * the engine's.
 */

export interface HttpRequest {
  url: string;
  /** Providers send GET and POST; the tool proxy relays any method. */
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  /** @default 32 MiB — an upstream answer larger than this is a failure, not an OOM. */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export const HTTP_ERROR_CODES = {
  TIMEOUT: 'ATTEMPT_TIMEOUT',
  TOO_LARGE: 'RESPONSE_TOO_LARGE',
} as const;

/** A failure below HTTP: the socket, DNS, the attempt's timeout. `code` is node's error code. */
export class HttpClientError extends Error {
  readonly isHttpClientError = true;
  /**
   * Set by {@link startRequest}'s callers that track it: false only when no connection was ever
   * made, so not one byte of the request left (a write may then be sent again safely).
   */
  connected?: boolean;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpClientError';
  }
}

export const isHttpClientError = (error: unknown): error is HttpClientError =>
  typeof error === 'object' && error !== null && (error as { isHttpClientError?: unknown }).isHttpClientError === true;

// Reusing connections is most of the gateway's latency budget: a TLS handshake costs more than
// everything else Breakwater does per request.
// Shared with httpStream, so buffered and streamed calls draw on the same pools.
export const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });
export const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

/** Node's header object → lower-cased names, repeated headers joined with ", ". */
export function headerRecord(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** A failure thrown by node's sockets → {@link HttpClientError}, keeping node's code. */
export function toHttpClientError(error: unknown): HttpClientError {
  if (isHttpClientError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'ENETWORK';
  return new HttpClientError(code, error instanceof Error ? error.message : 'network failure', { cause: error });
}

const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * A request on the shared keep-alive agents, with its content-length set; not yet ended.
 * Throws an {@link HttpClientError} `EINVALIDURL` for a URL node cannot parse.
 */
export function startRequest(request: Pick<HttpRequest, 'url' | 'method' | 'headers' | 'body'>): http.ClientRequest {
  const { url, method, headers, body } = request;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new HttpClientError('EINVALIDURL', 'invalid upstream URL', { cause });
  }
  const isHttps = parsed.protocol === 'https:';
  const requestHeaders: Record<string, string | number> = { ...headers };
  if (body !== undefined) requestHeaders['content-length'] = Buffer.byteLength(body);
  // A write with no body still says so, or some servers wait for one.
  else if (!BODILESS_METHODS.has(method)) requestHeaders['content-length'] = 0;
  return (isHttps ? https : http).request(parsed, { method, headers: requestHeaders, agent: isHttps ? httpsAgent : httpAgent });
}

export function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const { body, timeoutMs, maxResponseBytes = 32 * 1024 * 1024 } = request;
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = startRequest(request);
    } catch (error) {
      return reject(error);
    }

    const timer = setTimeout(() => {
      req.destroy(new HttpClientError(HTTP_ERROR_CODES.TIMEOUT, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);

    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(toHttpClientError(error));
    };

    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) {
          req.destroy(new HttpClientError(HTTP_ERROR_CODES.TOO_LARGE, `upstream answer over ${maxResponseBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: headerRecord(res.headers), body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}
