import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { SecretSource } from '../../credentials/SecretSource';
import { GatewayError } from '../../errors';
import type { SecretRedactor } from '../../redaction/SecretRedactor';
import { decryptToken, encryptToken } from './tokenCipher';
import { TokenKeyRing } from './TokenKeyRing';

/** The secret holding the data keys, when the options name none. */
export const DEFAULT_TOKEN_KEY_SECRET = 'tool-token-key';

/** An end user's tokens, decrypted. */
export interface UserTokens {
  access: string;
  refresh?: string;
}

export interface TokenVaultOptions {
  secrets: SecretSource;
  /** @default {@link DEFAULT_TOKEN_KEY_SECRET} */
  secretName?: string;
  /** Every token sealed or opened is registered, so no answer or log line can carry it. */
  redactor: Pick<SecretRedactor, 'register'>;
  /** @default node:crypto's randomBytes */
  randomBytes?: (size: number) => Buffer;
}

/**
 * Seals and opens what the connections table keeps secret (tokens, PKCE verifiers) with the
 * data keys of one Secrets Manager secret ({@link TokenKeyRing}): sealed under the current key,
 * opened under the key the item names, so the key can rotate with items of both ages in the table.
 */
export class TokenVault {
  readonly secretName: string;
  private readonly randomBytes: (size: number) => Buffer;

  constructor(private readonly options: TokenVaultOptions) {
    this.secretName = options.secretName ?? DEFAULT_TOKEN_KEY_SECRET;
    this.randomBytes = options.randomBytes ?? cryptoRandomBytes;
  }

  /** The key ring, as the secret source has it (cached there). */
  async ring(forceRefresh = false): Promise<TokenKeyRing> {
    let value;
    try {
      value = await this.options.secrets.get(this.secretName, forceRefresh ? { forceRefresh } : undefined);
    } catch (cause) {
      throw new GatewayError('tool_state_unavailable', `the token encryption secret "${this.secretName}" cannot be read`, { cause });
    }
    if (!value) throw new GatewayError('tool_state_unavailable', `the token encryption secret "${this.secretName}" does not exist`);
    return TokenKeyRing.fromSecret(this.secretName, value);
  }

  async seal(aad: string, tokens: UserTokens): Promise<{ keyId: string; sealed: string }> {
    this.register(tokens);
    return this.sealText(aad, JSON.stringify(tokens.refresh ? { a: tokens.access, r: tokens.refresh } : { a: tokens.access }));
  }

  async open(aad: string, keyId: string, sealed: string): Promise<UserTokens> {
    const parsed = JSON.parse(await this.openText(aad, keyId, sealed)) as { a: string; r?: string };
    const tokens = parsed.r ? { access: parsed.a, refresh: parsed.r } : { access: parsed.a };
    this.register(tokens);
    return tokens;
  }

  async sealText(aad: string, text: string): Promise<{ keyId: string; sealed: string }> {
    const { current } = await this.ring();
    return { keyId: current.id, sealed: encryptToken(current, text, aad, this.randomBytes) };
  }

  /**
   * Opens with the key the item names; a key this container does not know yet (rotated
   * elsewhere a moment ago) is looked up once more past the secret source's cache.
   */
  async openText(aad: string, keyId: string, sealed: string): Promise<string> {
    const key = (await this.ring()).key(keyId) ?? (await this.ring(true)).key(keyId);
    if (!key) throw new GatewayError('tool_state_unavailable', `the token encryption key "${keyId}" is no longer in "${this.secretName}"`);
    try {
      return decryptToken(key, sealed, aad);
    } catch (cause) {
      throw new GatewayError('tool_state_unavailable', 'a stored connection could not be decrypted', { cause });
    }
  }

  private register(tokens: UserTokens): void {
    this.options.redactor.register(tokens.access);
    if (tokens.refresh) this.options.redactor.register(tokens.refresh);
  }
}
