import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors';
import type { SecretValue } from '../../credentials/SecretSource';

/** AES-256 wants 32 bytes. */
const KEY_BYTES = 32;
/** A key given as text rather than base64 bytes: long enough to carry 256 bits from a generator of letters and digits. */
const MIN_TEXT_KEY_LENGTH = 40;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** One data key: its id (kept with every item it encrypted) and its 32 bytes. */
export interface DataKey {
  id: string;
  key: Buffer;
}

/**
 * The data keys that encrypt end users' OAuth tokens, read from one Secrets Manager secret:
 *
 * ```json
 * { "key_id": "2026-11", "key": "<base64 of 32 random bytes>",
 *   "previous_keys": "2026-10:<base64>,2026-09:<base64>" }
 * ```
 *
 * `key` may also be any random text of at least 40 characters (what CloudFormation's generated
 * secrets give: `generateSecretString` with `generateStringKey: "key"`), hashed with SHA-256
 * into the 32 bytes. New writes use `key_id`/`key`; an item keeps the id of the key that encrypted it, so after a
 * rotation (the old pair moved to `previous_keys`) older items still decrypt and are re-encrypted
 * under the current key at their next refresh. `previous_keys` is one string because a secret's
 * fields are strings (see SecretValue).
 */
export class TokenKeyRing {
  private constructor(
    readonly current: DataKey,
    private readonly byId: ReadonlyMap<string, Buffer>,
  ) {}

  /** Throws a GatewayError naming the secret's field at fault (never its value). */
  static fromSecret(secretName: string, value: SecretValue): TokenKeyRing {
    const current = parseKey(secretName, 'key', value.key_id, value.key);
    const byId = new Map<string, Buffer>([[current.id, current.key]]);
    for (const entry of (value.previous_keys ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
      const colon = entry.indexOf(':');
      const previous = parseKey(secretName, 'previous_keys', colon > 0 ? entry.slice(0, colon) : undefined, colon > 0 ? entry.slice(colon + 1) : undefined);
      if (!byId.has(previous.id)) byId.set(previous.id, previous.key);
    }
    return new TokenKeyRing(current, byId);
  }

  /** The key an item names, or undefined when this ring does not hold it (yet: a rotation elsewhere). */
  key(id: string): Buffer | undefined {
    return this.byId.get(id);
  }
}

function parseKey(secretName: string, field: string, id: string | undefined, encoded: string | undefined): DataKey {
  const misconfigured = (what: string) =>
    new GatewayError('tool_state_unavailable', `the token encryption secret "${secretName}" is misconfigured: ${what}`);
  if (!id || !KEY_ID.test(id)) throw misconfigured(`${field} needs a key id (letters, digits, . _ -)`);
  const text = encoded ?? '';
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === KEY_BYTES) return { id, key: bytes };
  if (text.length >= MIN_TEXT_KEY_LENGTH) return { id, key: createHash('sha256').update(text, 'utf8').digest() };
  throw misconfigured(`${field} "${id}" must be ${KEY_BYTES} bytes base64-encoded, or random text of at least ${MIN_TEXT_KEY_LENGTH} characters`);
}
