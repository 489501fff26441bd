import { createHash } from 'node:crypto';
import type { ToolCall } from './types';

/**
 * What makes two tool calls "the same call": the service, method, path, query and body, the body
 * compared as JSON with its keys sorted (`{"a":1,"b":2}` and `{"b":2,"a":1}` are one call), or
 * byte for byte when it is not JSON. The loop guard counts repeats of this fingerprint.
 */
export function callFingerprint(call: Pick<ToolCall, 'service' | 'method' | 'path' | 'query' | 'body'>): string {
  const hash = createHash('sha256').update([call.service, call.method, call.path, call.query].join('\u0000')).update('\u0000');
  if (call.body && call.body.length > 0) hash.update(canonicalBody(call.body));
  return hash.digest('hex');
}

/**
 * Where a GET's last good answer is kept for the breaker-open fallback: per service, credential
 * (so one user's answer is never served to another) and request, with the `accept` header since
 * an API may answer the same URL in several formats.
 */
export function staleResponseKey(call: Pick<ToolCall, 'service' | 'path' | 'query' | 'headers'>, credentialId: string, tenant: string): string {
  const digest = createHash('sha256')
    .update([tenant, call.service, credentialId, call.path, call.query, call.headers.accept ?? ''].join('\u0000'))
    .digest('hex');
  return `tool:${call.service}:${digest}`;
}

function canonicalBody(body: Buffer): Buffer | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  try {
    return stableStringify(parsed);
  } catch {
    // Nesting too deep to walk: the bytes still tell calls apart.
    return body;
  }
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}
