import type { APIGatewayProxyEvent } from 'aws-lambda';
import { GatewayError } from '../../errors';
import { parseIdempotencyKey } from '../../idempotency/parseIdempotencyKey';
import { forwardableRequestHeaders } from '../../tools/toolHeaders';
import { TOOL_PRIORITIES, type ToolCall, type ToolPriority } from '../../tools/types';

export const TOOL_HEADERS = {
  USER: 'x-breakwater-user',
  PRIORITY: 'x-breakwater-priority',
} as const;

/** The query parameter naming the end user, for clients that cannot set a header; never forwarded. */
export const USER_QUERY_PARAMETER = 'breakwater_user';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const TOOL_PATH = /^\/v1\/tools\/([^/]+)(\/.*)?$/;
const VIRTUAL_KEY_SHAPE = /\bbw_(?:live|test)_[A-Za-z0-9_]{4,}/;

/**
 * A proxy event as the tool call it asks for. The path tail is read from the raw `event.path`
 * (the router drops trailing slashes, which some APIs tell apart); the query is rebuilt from the
 * event's parameters without the gateway's own (`breakwater_*`) and without anything holding a
 * virtual key; headers are filtered (see toolHeaders.ts); a base64 body is decoded.
 */
export function toolCallFromEvent(event: APIGatewayProxyEvent, service: string): ToolCall {
  const method = event.httpMethod.toUpperCase();
  if (!METHODS.has(method)) {
    throw new GatewayError('method_not_allowed', `the tool proxy relays ${[...METHODS].join(', ')}`, { headers: { allow: [...METHODS].join(', ') } });
  }
  const headers = lowerCased(event.headers);
  const { query, user: queryUser } = forwardableQuery(event);
  return {
    service,
    method,
    path: TOOL_PATH.exec(event.path)?.[2] ?? '',
    query,
    headers: forwardableRequestHeaders(headers),
    body: bodyOf(event),
    endUser: endUserOf(headers[TOOL_HEADERS.USER] ?? queryUser),
    idempotencyKey: parseIdempotencyKey(headers['idempotency-key']),
    priority: priorityOf(headers[TOOL_HEADERS.PRIORITY]),
  };
}

function forwardableQuery(event: APIGatewayProxyEvent): { query: string; user?: string } {
  const multi = event.multiValueQueryStringParameters ?? {};
  const single = event.queryStringParameters ?? {};
  const names = new Set([...Object.keys(multi), ...Object.keys(single)]);
  const pairs: string[] = [];
  let user: string | undefined;
  for (const name of names) {
    const values = multi[name] ?? (single[name] !== undefined ? [single[name]!] : []);
    if (name === USER_QUERY_PARAMETER) {
      user = values[0];
      continue;
    }
    if (name.startsWith('breakwater_')) continue;
    for (const value of values) {
      // A virtual key in a query (an agent's mistake) goes no further than here.
      if (VIRTUAL_KEY_SHAPE.test(value)) continue;
      pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    }
  }
  return { query: pairs.join('&'), user };
}

function bodyOf(event: APIGatewayProxyEvent): Buffer | undefined {
  const body: unknown = event.body;
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') {
    if (body === '') return undefined;
    return event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  }
  // A JSON body parser ran before us (it should skip tool paths): its object is still the body.
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function endUserOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const user = value.trim();
  if (user === '') return undefined;
  if (user.length > 256 || !/^[\x21-\x7e]+$/.test(user)) {
    throw new GatewayError('invalid_request', `${TOOL_HEADERS.USER} must be 1 to 256 visible ASCII characters`, { details: { param: TOOL_HEADERS.USER } });
  }
  return user;
}

function priorityOf(value: string | undefined): ToolPriority {
  const priority = value?.trim().toLowerCase();
  if (priority === undefined || priority === '') return TOOL_PRIORITIES.INTERACTIVE;
  if (priority === TOOL_PRIORITIES.INTERACTIVE || priority === TOOL_PRIORITIES.BACKGROUND) return priority;
  throw new GatewayError('invalid_request', `${TOOL_HEADERS.PRIORITY} is \`interactive\` or \`background\``, { details: { param: TOOL_HEADERS.PRIORITY } });
}

function lowerCased(headers: APIGatewayProxyEvent['headers'] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (typeof value === 'string') out[name.toLowerCase()] = value;
  return out;
}

/** Whether a path is the tool proxy's: its bodies are relayed as bytes, never parsed as JSON. */
export const isToolPath = (path: string | undefined): boolean => typeof path === 'string' && path.startsWith('/v1/tools/');
