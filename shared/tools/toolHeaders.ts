/**
 * Which headers cross the proxy, each way. The client's credentials (its virtual key), the
 * gateway's own `x-breakwater-*` controls and what the front door adds never reach the API; the
 * API's cookies, credential headers and connection-level headers never reach the agent.
 */

/** RFC 9110 §7.6.1 connection-specific headers, plus the de-facto ones (keep-alive, proxy-connection). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Headers that carry a credential, in either direction. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'proxy-authenticate',
  'cookie',
  'cookie2',
  'set-cookie',
  'set-cookie2',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-amz-security-token',
  'x-goog-api-key',
]);

/**
 * Request headers set here, or by the front door, which the API must not get from the client:
 * the host and length are the proxy's; SigV4's own headers are signed here; `accept-encoding`
 * goes so the API answers in plain bytes, which the credential scan of every answer can read;
 * the idempotency key is forwarded by the proxy itself, under its canonical name.
 */
const REQUEST_DROPPED = new Set([
  'host',
  'content-length',
  'expect',
  'accept-encoding',
  'idempotency-key',
  'forwarded',
  'via',
  'x-real-ip',
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-cf-id',
  'x-request-id',
]);
const REQUEST_DROPPED_PREFIXES = ['x-breakwater-', 'x-forwarded-', 'x-amzn-', 'cloudfront-', 'cf-'];

/** Response headers the gateway sets itself. */
const RESPONSE_DROPPED = new Set(['content-length', 'x-request-id', 'www-authenticate']);

/** Names listed in `Connection` are hop-by-hop for this message too. */
function connectionListed(headers: Readonly<Record<string, string | undefined>>): Set<string> {
  const value = headers.connection;
  return new Set(value ? value.split(',').map((name) => name.trim().toLowerCase()) : []);
}

/** Virtual keys have a recognisable shape; one pasted into any header stays here. */
const VIRTUAL_KEY_SHAPE = /\bbw_(?:live|test)_[A-Za-z0-9_]{4,}/;

/**
 * The client's headers that may go to the API, lower-cased. `extraDropped` names more (the
 * service's own credential header, which the injection sets).
 */
export function forwardableRequestHeaders(
  headers: Readonly<Record<string, string | undefined>>,
  extraDropped: readonly string[] = [],
): Record<string, string> {
  const lower = lowerCased(headers);
  const listed = connectionListed(lower);
  const extra = new Set(extraDropped.map((name) => name.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(lower)) {
    if (HOP_BY_HOP.has(name) || listed.has(name) || CREDENTIAL_HEADERS.has(name) || REQUEST_DROPPED.has(name) || extra.has(name)) continue;
    if (REQUEST_DROPPED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    if (VIRTUAL_KEY_SHAPE.test(value)) continue;
    out[name] = value;
  }
  return out;
}

/** The API's headers that may go to the agent. `extraDropped` names the service's credential header. */
export function relayableResponseHeaders(headers: Readonly<Record<string, string>>, extraDropped: readonly string[] = []): Record<string, string> {
  const listed = connectionListed(headers);
  const extra = new Set(extraDropped.map((name) => name.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || CREDENTIAL_HEADERS.has(lower) || RESPONSE_DROPPED.has(lower) || extra.has(lower)) continue;
    // An API cannot speak for the gateway.
    if (lower.startsWith('x-breakwater-')) continue;
    out[lower] = value;
  }
  return out;
}

function lowerCased(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') out[name.toLowerCase()] = value;
  return out;
}
