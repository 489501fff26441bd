import type { SecretSource } from '../../credentials/SecretSource';
import { GatewayError } from '../../errors';
import { httpRequest } from '../../http/httpClient';
import { defaultSecretRedactor } from '../../redaction/SecretRedactor';
import type { Clock } from '../../resilience/clock';
import type { Deadline } from '../../resilience/deadline';
import { credentialIdOf, type ServiceAuth } from './ServiceAuth';
import { readServiceSecret, secretField } from './readSecret';
import { tokenRequest, type TokenEndpointAuthMethod } from './tokenEndpointAuth';

export interface ClientCredentialsAuthOptions {
  service: string;
  secret: string;
  tokenUrl: string;
  scopes: readonly string[];
  tokenParams?: Readonly<Record<string, string>>;
  /** How the client authenticates to `tokenUrl`. @default 'client_secret_basic' */
  authMethod?: TokenEndpointAuthMethod;
  secrets: SecretSource;
  clock: Clock;
  /**
   * A token is renewed this long before it expires, so a call never leaves with one that dies on
   * the way. @default 60_000
   */
  refreshMarginMs?: number;
  /** A token endpoint gets at most this long (within the request's deadline). @default 10_000 */
  tokenTimeoutMs?: number;
}

interface CachedToken {
  token: string;
  /** Epoch ms after which it is not used. */
  usableUntil: number;
}

/** Without `expires_in` a token is trusted this long. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): the service account's token is fetched from
 * `token_url` with the secret's `client_id` and `client_secret` (HTTP Basic, the method every
 * server must support, unless `authMethod` says otherwise), cached in the container until
 * shortly before it expires, and fetched by one request at a time: concurrent calls wait for
 * the fetch in flight instead of each asking.
 */
export function clientCredentialsAuth(options: ClientCredentialsAuthOptions): ServiceAuth {
  const id = credentialIdOf('secret', options.secret);
  const refreshMarginMs = options.refreshMarginMs ?? 60_000;
  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;

  const fetchToken = async (deadline: Deadline): Promise<CachedToken> => {
    const secret = await readServiceSecret(options.secrets, options.secret, options.service);
    const clientId = secretField(secret, ['client_id'], options.service);
    const clientSecret = secretField(secret, ['client_secret'], options.service);
    const form: Record<string, string> = { grant_type: 'client_credentials', ...options.tokenParams };
    if (options.scopes.length > 0) form.scope = options.scopes.join(' ');
    const request = tokenRequest(options.authMethod ?? 'client_secret_basic', { clientId, clientSecret }, form);
    const startedAt = options.clock.now();
    let response;
    try {
      response = await httpRequest({
        url: options.tokenUrl,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        timeoutMs: Math.max(1, Math.min(options.tokenTimeoutMs ?? 10_000, deadline.remainingMs())),
        maxResponseBytes: 64 * 1024,
      });
    } catch (cause) {
      throw new GatewayError('service_failed', `the token endpoint of service "${options.service}" could not be reached`, { cause });
    }
    const body = parseJson(response.body);
    const token = typeof body?.access_token === 'string' ? body.access_token : undefined;
    if (response.status < 200 || response.status >= 300 || !token) {
      throw new GatewayError('service_failed', `the token endpoint of service "${options.service}" refused the client credentials (status ${response.status})`);
    }
    defaultSecretRedactor.register(token);
    const lifetimeMs = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1_000 : DEFAULT_LIFETIME_MS;
    // A short-lived token is renewed at half its life rather than never used at all.
    const margin = Math.min(refreshMarginMs, lifetimeMs / 2);
    return { token, usableUntil: startedAt + lifetimeMs - margin };
  };

  const token = (deadline: Deadline): Promise<CachedToken> => {
    if (cached && options.clock.now() < cached.usableUntil) return Promise.resolve(cached);
    inFlight ??= fetchToken(deadline)
      .then((fresh) => (cached = fresh))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    forCall: (context) => {
      let used: string | undefined;
      return {
        id,
        apply: async (request) => {
          used = (await token(context.deadline)).token;
          request.headers.authorization = `Bearer ${used}`;
        },
        renew: async () => {
          // Another call may have renewed it already; only the token that was refused is dropped.
          if (cached?.token === used) cached = undefined;
          await token(context.deadline);
          return true;
        },
      };
    },
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
