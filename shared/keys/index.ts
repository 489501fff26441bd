export {
  DynamoKeyStore,
  type CreateKeyInput,
  type DynamoKeyStoreOptions,
  type KeyStore,
  type RotatedKey,
} from './DynamoKeyStore';
export { KeyResolver, keyChangeHonouredBy, MAX_KEY_CACHE_TTL_MS, type KeyResolverOptions, type ResolvedKey } from './KeyResolver';
export { KEY_STATES, keyState, type CreatedKey, type KeyRecord, type KeyState } from './KeyRecord';
export { INPUT_SCREENING_MODES, keyPolicySchema, type KeyPolicy } from './keyPolicy';
export { isKeyStoreError, KEY_STORE_ERRORS, KeyStoreError, type KeyStoreErrorCode } from './KeyStoreError';
export { seedKeys, type SeedResult, type SeedTenant } from './seedKeys';
export {
  BASE62_ALPHABET,
  DISPLAY_PREFIX_LENGTH,
  displayPrefix,
  HIDDEN_KEY_CHARS,
  MIN_KEY_LENGTH,
  generateVirtualKey,
  hashesEqual,
  hashKey,
  KEY_PREFIX,
  KEY_RANDOM_CHARS,
  keyRefFromInput,
  randomBase62,
  systemRandomBytes,
  type KeyRef,
  type RandomBytes,
  virtualKeyProblem,
} from './virtualKey';
