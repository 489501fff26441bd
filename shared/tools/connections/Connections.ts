import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SecretSource } from '../../credentials/SecretSource';
import { GatewayError } from '../../errors';
import type { Clock } from '../../resilience';
import type { ServiceConfig } from '../serviceConfig';
import type { ConnectionRef } from '../types';
import { connectionKey, pendingKey, type ConnectionRecord, type ConnectionRecords } from './ConnectionRecords';
import type { ConnectionTokens } from './ConnectionTokens';
import { signState, verifyState } from './oauthState';
import { grantedScopesOf, oauthApp, oauthUserAuth, oauthUserServices } from './oauthServices';
import { createPkcePair } from './pkce';
import { exchangeCode, isTokenEndpointError, revokeToken, TOKEN_FAILURES } from './tokenEndpoint';
import type { TokenVault } from './TokenVault';

export interface ConnectionsOptions {
  records: ConnectionRecords;
  vault: TokenVault;
  tokens: ConnectionTokens;
  services: ReadonlyMap<string, ServiceConfig>;
  /** Where the services' OAuth app secrets are read. */
  secrets: SecretSource;
  clock: Pick<Clock, 'now'>;
  /** @default node:crypto's randomBytes */
  randomBytes?: (size: number) => Buffer;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** How long a user has to consent before the state expires. @default 600_000 (10 minutes) */
  stateTtlMs?: number;
  /** One call to a token or revocation endpoint. @default 10_000 */
  endpointTimeoutMs?: number;
}

/** A connection as the API shows it: never a token. */
export interface ConnectionView {
  object: 'breakwater.connection';
  service: string;
  user: string;
  scopes: string[];
  status: string;
  /** Epoch seconds. */
  connected_at: number;
}

const view = (record: ConnectionRecord): ConnectionView => ({
  object: 'breakwater.connection',
  service: record.service,
  user: record.user,
  scopes: record.scopes,
  status: record.status,
  connected_at: Math.floor(record.connectedAt / 1000),
});

/**
 * End users' OAuth connections to `oauth_user` services: the authorization-code flow with PKCE
 * (RFC 7636, S256) and a signed, expiring, single-use `state`; the connections a user has; and
 * their removal (revoked at the provider, RFC 7009, when it has an endpoint for it).
 */
export class Connections {
  private readonly randomBytes: (size: number) => Buffer;
  private readonly stateTtlMs: number;
  private readonly endpointTimeoutMs: number;

  constructor(private readonly options: ConnectionsOptions) {
    this.randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.stateTtlMs = options.stateTtlMs ?? 600_000;
    this.endpointTimeoutMs = options.endpointTimeoutMs ?? 10_000;
  }

  /** The tokens of the connections, for the tool proxy. */
  get tokens(): ConnectionTokens {
    return this.options.tokens;
  }

  /**
   * Starts a connect: the URL to send the user to. The PKCE verifier is kept in the store
   * (sealed) under the state's nonce, which the callback claims once.
   */
  async start(input: ConnectionRef & { redirectUri: string }) {
    const { tenant, user, service, redirectUri } = input;
    const auth = oauthUserAuth(this.options.services, service);
    const app = await oauthApp(this.options.secrets, service, auth);
    const ring = await this.options.vault.ring();
    const nonce = this.randomBytes(24).toString('base64url');
    const pkce = createPkcePair(this.randomBytes);
    const expiresAt = this.options.clock.now() + this.stateTtlMs;
    const { keyId, sealed } = await this.options.vault.sealText(pendingKey(nonce), pkce.verifier);
    await this.options.records.putPending({ tenant, user, service, nonce, keyId, verifier: sealed, redirectUri, expiresAt });

    const url = new URL(auth.authorize_url);
    // The provider's extras first: the flow's own parameters always win.
    for (const [name, value] of Object.entries(auth.authorize_params ?? {})) url.searchParams.set(name, value);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', app.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    if (auth.scopes.length > 0) url.searchParams.set('scope', auth.scopes.join(' '));
    url.searchParams.set('state', signState({ tenant, user, service, nonce, expiresAt }, ring));
    url.searchParams.set('code_challenge', pkce.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    return {
      object: 'breakwater.connection_request' as const,
      service,
      user,
      authorization_url: url.toString(),
      /** Epoch seconds. */
      state_expires_at: Math.floor(expiresAt / 1000),
    };
  }

  /**
   * The provider's redirect back: the state is checked (signature, expiry) and claimed (once),
   * then the code is exchanged with the PKCE verifier and the tokens are stored, sealed.
   */
  async complete(query: { state?: string; code?: string; error?: string }): Promise<ConnectionView> {
    const { clock, records, vault, tokens } = this.options;
    const state = verifyState(query.state, await vault.ring(), clock.now());
    const pending = await records.claimPending(state.nonce, clock.now());
    if (!pending || pending.tenant !== state.tenant || pending.user !== state.user || pending.service !== state.service) {
      throw new GatewayError('invalid_request', 'this `state` was already used or has expired: start again with POST /v1/connections/{service}', {
        details: { param: 'state', reason: 'used' },
      });
    }
    if (query.error !== undefined) {
      const providerError = /^[A-Za-z0-9_.-]{1,64}$/.test(query.error) ? query.error : 'unknown';
      throw new GatewayError('invalid_request', `the provider did not authorize the connection (${providerError})`, {
        details: { param: 'error', provider_error: providerError },
      });
    }
    if (!query.code) throw new GatewayError('invalid_request', 'the callback has no `code`', { details: { param: 'code' } });

    const ref = { tenant: pending.tenant, user: pending.user, service: pending.service };
    const auth = oauthUserAuth(this.options.services, ref.service);
    const verifier = await vault.openText(pendingKey(pending.nonce), pending.keyId, pending.verifier);
    let grant;
    try {
      const app = await oauthApp(this.options.secrets, ref.service, auth);
      grant = await exchangeCode(auth.token_url, app, { code: query.code, redirectUri: pending.redirectUri, verifier }, this.endpointTimeoutMs);
    } catch (error) {
      if (!isTokenEndpointError(error)) throw error;
      if (error.failure === TOKEN_FAILURES.INVALID_GRANT) {
        throw new GatewayError('invalid_request', 'the provider refused the authorization code: start again with POST /v1/connections/{service}', {
          details: { param: 'code', provider_error: error.oauthError },
        });
      }
      const code = error.failure === TOKEN_FAILURES.UNAVAILABLE ? 'service_failed' : 'upstream_auth_failed';
      throw new GatewayError(code, `exchanging the code of "${ref.service}" failed: ${error.message}`, { cause: error });
    }
    const now = clock.now();
    const { keyId, sealed } = await vault.seal(connectionKey(ref), { access: grant.accessToken, refresh: grant.refreshToken });
    const record = await records.connect(
      ref,
      {
        keyId,
        tokens: sealed,
        accessExpiresAt: grant.expiresInSeconds !== undefined ? now + grant.expiresInSeconds * 1000 : undefined,
        scopes: grantedScopesOf(grant.scope, auth.scopes),
      },
      now,
    );
    tokens.forget(ref);
    this.options.logger?.info('tool connection made', { event: 'connection_made', tenant: ref.tenant, service: ref.service });
    return view(record);
  }

  /** The user's connections within the tenant, one per configured `oauth_user` service at most. */
  async list(tenant: string, user: string): Promise<{ object: 'list'; data: ConnectionView[] }> {
    const services = oauthUserServices(this.options.services);
    const records = await this.options.records.getMany(services.map((service) => ({ tenant, user, service })));
    const data = records
      .filter((record) => record.tenant === tenant && record.user === user)
      .sort((a, b) => services.indexOf(a.service) - services.indexOf(b.service))
      .map(view);
    return { object: 'list', data };
  }

  /**
   * Deletes the connection, then revokes its refresh token (or its access token when it has
   * none) where the provider has a revocation endpoint: best effort, since the connection is
   * gone from Breakwater either way. `revoked` says whether the provider confirmed.
   */
  async remove(ref: ConnectionRef) {
    const auth = oauthUserAuth(this.options.services, ref.service);
    const record = await this.options.records.delete(ref);
    if (!record || record.tenant !== ref.tenant) {
      throw new GatewayError('connection_not_found', `user has no connection to "${ref.service}"`, { details: { param: 'service' } });
    }
    this.options.tokens.forget(ref);
    let revoked = false;
    if (auth.revoke_url) {
      try {
        const stored = await this.options.vault.open(connectionKey(ref), record.keyId, record.tokens);
        const app = await oauthApp(this.options.secrets, ref.service, auth);
        const token = stored.refresh ? { value: stored.refresh, hint: 'refresh_token' as const } : { value: stored.access, hint: 'access_token' as const };
        await revokeToken(auth.revoke_url, app, token, this.endpointTimeoutMs);
        revoked = true;
      } catch (error) {
        this.options.logger?.warn('tool connection deleted but not revoked', {
          event: 'connection_revoke_failed',
          tenant: ref.tenant,
          service: ref.service,
          error_name: (error as Error | undefined)?.name,
        });
      }
    }
    return { object: 'breakwater.connection.deleted' as const, service: ref.service, user: ref.user, deleted: true, revoked };
  }
}
