/**
 * Secret redaction, one process-wide registry fed by every credential source:
 *
 * - `defaultSecretRedactor.register(value)` (or `registeringSecretSource(source, redactor)`
 *   around a SecretSource): the value is cut from everything below from then on, in plain,
 *   JSON-escaped and base64 forms. A tool proxy registers the service credentials it reads.
 * - `redactor.redact(text)` for answers and headers; `redactor.redactCredentials(text)` for
 *   error messages and logs (adds credential shapes); `redactor.redactDeep(json)` for bodies;
 *   `redactor.scanner()` / `redactingStream(redactor)` / `redactStreamEvents(events, redactor)`
 *   for streams, across chunk boundaries.
 * - Wired: loggers from shared/logging/createLogger.ts, the `redactResponses` middleware on
 *   every gateway answer, and `redactingAdapter` on every provider outcome.
 */
export { base64Forms, toUrlSafe } from './base64Forms';
export { BROAD_CREDENTIAL_SHAPES, GENERATED_KEY_SHAPES, REDACTED } from './credentialShapes';
export { redactingStream } from './redactingStream';
export { redactStreamEvents } from './redactStreamEvents';
export { registeringSecretSource } from './registeringSecretSource';
export { defaultSecretRedactor, SecretRedactor, type SecretRedactorOptions } from './SecretRedactor';
export { MIN_HELD_CHARS, StreamScanner } from './StreamScanner';
export { buildTrie, trieRegExpSource, type TrieNode } from './trieRegExpSource';
