import * as z from 'zod';

/**
 * A route's `"cache"` object, as in Portkey's config: `{"mode": "simple", "max_age": 3600}`.
 * Opt-in per route. Only exact-match ("simple") caching exists; Portkey's "semantic" mode is
 * refused rather than silently treated as simple.
 */
// z.lazy: built on first use, not at import (cold-start CPU).
export const cacheConfigSchema = z.lazy(() =>
  z.strictObject({
  mode: z.literal('simple', { error: 'cache.mode must be "simple" (semantic caching is not supported)' }),
  /**
   * Seconds a stored response is served as fresh. Older ones are kept (at least a day) as a
   * stale last resort when every target fails.
   * @default 3600
   */
  max_age: z.number().int().positive().max(365 * 86_400).default(3600),
  }),
);

export type CacheConfig = z.infer<typeof cacheConfigSchema>;
