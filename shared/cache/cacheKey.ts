import { createHash } from 'node:crypto';

/**
 * Top-level request fields that never change the answer, so they are left out of the key:
 * - `user`, `safety_identifier`: who is asking (abuse tracking), not what;
 * - `metadata`, `store`: what the provider records about the call, not what it answers;
 * - `stream`, `stream_options`: how the answer is delivered;
 * - `prompt_cache_key`: a provider-side caching hint;
 * - `request_id`, `idempotency_key`, `timestamp`, `created`: per-call ids and times some
 *   clients add, which would make every key unique.
 * Everything else (messages, model, temperature, tools, n, seed...) is in the key.
 */
export const CACHE_KEY_IGNORED_FIELDS: readonly string[] = [
  'user',
  'safety_identifier',
  'metadata',
  'store',
  'stream',
  'stream_options',
  'prompt_cache_key',
  'request_id',
  'idempotency_key',
  'timestamp',
  'created',
];

/**
 * A copy with object keys sorted at every depth; arrays keep their order (it is meaningful), and
 * an array with no object inside is reused as is. The copy is then stringified natively: a
 * `JSON.stringify` replacer is called once per value, 200 ms for an embeddings body of two
 * million token ids, where this walk is one typeof check per element.
 */
function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object') {
        copy ??= value.slice();
        copy[i] = sortKeys(item);
      }
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortKeys(record[key])]),
  );
}

/** JSON with object keys sorted at every depth (arrays keep their order: it is meaningful). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export interface CacheKeyInput {
  tenant: string;
  /** The route's name: two routes may send the same body to different models. */
  route: string;
  /** `chat`, `embeddings`...: part of the hash so two endpoints never share an entry. */
  operation: string;
  /** The request body as the client sent it (parsed). */
  body: unknown;
}

/**
 * The cache item's partition key: `cache#<tenant>#<route>#<sha256 hex>`, the hash taken over
 * the canonical request without {@link CACHE_KEY_IGNORED_FIELDS}. Tenant and route are
 * URI-encoded so a `#` in a name cannot make two tenants' keys collide.
 */
export function cacheKey(input: CacheKeyInput): string {
  const body =
    input.body !== null && typeof input.body === 'object' && !Array.isArray(input.body)
      ? Object.fromEntries(
          Object.entries(input.body as Record<string, unknown>).filter(([key]) => !CACHE_KEY_IGNORED_FIELDS.includes(key)),
        )
      : input.body;
  const hash = createHash('sha256')
    .update(canonicalJson({ operation: input.operation, body }))
    .digest('hex');
  return `cache#${encodeURIComponent(input.tenant)}#${encodeURIComponent(input.route)}#${hash}`;
}
