export { cacheConfigSchema, type CacheConfig } from './cacheConfig';
export { CACHE_KEY_IGNORED_FIELDS, cacheKey, canonicalJson, type CacheKeyInput } from './cacheKey';
export { ResponseCache, type CachedResponse, type ResponseCacheOptions } from './ResponseCache';
