import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SecretSource } from '../../credentials/SecretSource';
import { GatewayError } from '../../errors';
import { LruMap, type Clock, type Deadline, type RandomSource } from '../../resilience';
import type { ServiceConfig } from '../serviceConfig';
import type { ConnectionRef, UserTokenSource } from '../types';
import { CONNECTION_STATUS, connectionKey, type ConnectionRecord, type ConnectionRecords } from './ConnectionRecords';
import { grantedScopesOf, oauthApp, oauthUserAuth, reauthorizationRequired } from './oauthServices';
import { isTokenEndpointError, refreshGrant, TOKEN_FAILURES } from './tokenEndpoint';
import type { TokenVault } from './TokenVault';

export interface ConnectionTokensOptions {
  records: ConnectionRecords;
  vault: TokenVault;
  /** The config's services: each connection's token URL and requested scopes. */
  services: ReadonlyMap<string, ServiceConfig>;
  /** Where the services' OAuth app secrets are read. */
  secrets: SecretSource;
  clock: Clock;
  /** Jitter of the waits for another container's refresh. @default Math.random */
  random?: RandomSource;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Names this container in refresh leases. @default a random UUID */
  owner?: string;
  /**
   * A token is refreshed this long before it expires: a call started on a token about to
   * expire would otherwise reach the API with an expired one. @default 60_000
   */
  refreshEarlyMs?: number;
  /**
   * How long a refresh lease holds. Longer than the token call's timeout, so a lease never
   * expires under a live refresh (which would let a second container spend the same refresh
   * token); short enough that a container that died holding it delays the others little. @default 15_000
   */
  leaseMs?: number;
  /** One token-endpoint call. @default 5_000 */
  tokenTimeoutMs?: number;
  /** Access tokens cached per container. @default 10_000 */
  cacheSize?: number;
  /** Named in `reauthorization_required` errors' connect URL. */
  publicBaseUrl?: string;
}

interface CachedToken {
  access: string;
  /** Epoch ms; undefined when the provider gave no lifetime. */
  expiresAt?: number;
  scopes: readonly string[];
}

/** Polls for another container's refresh: short at first (a refresh takes ~100 ms), then backing off. */
const FIRST_WAIT_MS = 25;
const MAX_WAIT_MS = 400;

/**
 * The access tokens of end users' connections ({@link UserTokenSource}). A token is cached in the
 * container until {@link ConnectionTokensOptions.refreshEarlyMs} before it expires. A refresh
 * runs under a fleet-wide lease on the connection's item (one conditional write): the holder
 * calls the token endpoint and saves access and refresh token in one write; every other caller,
 * in this container (they share one in-flight promise) or another (they poll the item), waits
 * and reuses the new token. So a refresh token is spent once, and a provider that rotates
 * refresh tokens never sees a reused one from us.
 */
export class ConnectionTokens implements UserTokenSource {
  private readonly owner: string;
  private readonly refreshEarlyMs: number;
  private readonly leaseMs: number;
  private readonly tokenTimeoutMs: number;
  private readonly random: RandomSource;
  private readonly cache: LruMap<string, CachedToken>;
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly options: ConnectionTokensOptions) {
    this.owner = options.owner ?? randomUUID();
    this.refreshEarlyMs = options.refreshEarlyMs ?? 60_000;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.tokenTimeoutMs = options.tokenTimeoutMs ?? 5_000;
    this.random = options.random ?? Math.random;
    this.cache = new LruMap(options.cacheSize ?? 10_000);
  }

  async accessToken(ref: ConnectionRef, deadline: Deadline): Promise<string> {
    const cached = this.cache.get(connectionKey(ref));
    if (cached && this.fresh(cached.expiresAt)) return cached.access;
    return this.once(`${connectionKey(ref)}\nfresh`, () => this.obtain(ref, undefined), deadline);
  }

  async refreshAfterUnauthorized(ref: ConnectionRef, rejected: string, deadline: Deadline): Promise<string> {
    const key = connectionKey(ref);
    const cached = this.cache.get(key);
    if (cached && cached.access !== rejected && this.fresh(cached.expiresAt)) return cached.access;
    this.cache.delete(key);
    return this.once(`${key}\nrejected\n${rejected}`, () => this.obtain(ref, rejected), deadline);
  }

  async grantedScopes(ref: ConnectionRef, deadline: Deadline): Promise<readonly string[]> {
    const cached = this.cache.get(connectionKey(ref));
    if (cached) return cached.scopes;
    if (deadline.expired) throw new GatewayError('deadline_exceeded', 'the request ran out of time reading the user connection');
    return this.usable(ref, await this.options.records.get(ref)).scopes;
  }

  /** Drops what this container cached about a connection (after a connect or a delete here). */
  forget(ref: ConnectionRef): void {
    this.cache.delete(connectionKey(ref));
  }

  /**
   * One run per key in this container, shared by every caller; each caller waits at most until
   * its own deadline, while the run itself goes on (a refresh cut short could lose a rotated
   * refresh token the provider already issued).
   */
  private once(key: string, run: () => Promise<string>, deadline: Deadline): Promise<string> {
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = run().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    return withinDeadline(flight, deadline);
  }

  /** The stored token when it is still good (and not `rejected`), else a refresh by whoever gets the lease. */
  private async obtain(ref: ConnectionRef, rejected: string | undefined): Promise<string> {
    const { records, vault, clock } = this.options;
    const auth = oauthUserAuth(this.options.services, ref.service);
    // A holder that died frees the lease after leaseMs; waiting much past that means the store is in trouble.
    const giveUpAt = clock.now() + 2 * this.leaseMs;
    for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
      if (clock.now() > giveUpAt) {
        throw new GatewayError('tool_state_unavailable', `the refresh of the user's token for "${ref.service}" did not finish in time`);
      }
      const record = this.usable(ref, await records.get(ref));
      const tokens = await vault.open(connectionKey(ref), record.keyId, record.tokens);
      const now = clock.now();
      const stale = rejected !== undefined ? tokens.access === rejected : !this.fresh(record.accessExpiresAt);
      if (!stale) return this.remember(record, tokens.access);
      if (!tokens.refresh) throw this.reauthorization(ref, 'the access token expired and the provider gave no refresh token');

      const leaseFree = record.leaseUntil === undefined || record.leaseUntil < now;
      if (leaseFree && (await records.claimLease(ref, this.owner, record.version, now, now + this.leaseMs))) {
        return this.refreshHolding(ref, auth.token_url, auth.scopes, tokens.refresh);
      }
      // Another container is refreshing (or just did): read again shortly and take its token.
      await clock.sleep(Math.round(wait * (0.5 + this.random() * 0.5)));
    }
  }

  /** Run only by the lease holder: spends the refresh token and saves both new tokens at once. */
  private async refreshHolding(ref: ConnectionRef, tokenUrl: string, requested: readonly string[], refreshToken: string): Promise<string> {
    const { records, vault, clock, secrets, logger } = this.options;
    let grant;
    try {
      const app = await oauthApp(secrets, ref.service, oauthUserAuth(this.options.services, ref.service));
      grant = await refreshGrant(tokenUrl, app, refreshToken, Math.min(this.tokenTimeoutMs, this.leaseMs));
    } catch (error) {
      if (isTokenEndpointError(error) && error.failure === TOKEN_FAILURES.INVALID_GRANT) {
        await records.markReauthorizationRequired(ref, this.owner, clock.now());
        this.forget(ref);
        logger?.warn('tool connection needs reauthorization', { event: 'connection_reauthorization_required', tenant: ref.tenant, service: ref.service });
        throw this.reauthorization(ref, 'the provider no longer accepts the connection refresh token');
      }
      await records.releaseLease(ref, this.owner).catch(() => undefined);
      if (!isTokenEndpointError(error)) throw error;
      const code = error.failure === TOKEN_FAILURES.UNAVAILABLE ? 'service_failed' : 'upstream_auth_failed';
      throw new GatewayError(code, `refreshing the user's token for "${ref.service}" failed: ${error.message}`, { cause: error });
    }
    const next = { access: grant.accessToken, refresh: grant.refreshToken ?? refreshToken };
    const { keyId, sealed } = await vault.seal(connectionKey(ref), next);
    const now = clock.now();
    const saved = await records.saveRefreshed(
      ref,
      this.owner,
      {
        keyId,
        tokens: sealed,
        accessExpiresAt: grant.expiresInSeconds !== undefined ? now + grant.expiresInSeconds * 1000 : undefined,
        scopes: grant.scope !== undefined ? grantedScopesOf(grant.scope, requested) : undefined,
      },
      now,
    );
    logger?.info('tool connection refreshed', { event: 'connection_refreshed', tenant: ref.tenant, service: ref.service, saved: saved !== undefined });
    // Not saved: the lease ran out under us and another container took over. The token we
    // hold was issued and works; it is just not cached, so the next call reads the stored one.
    return saved ? this.remember(saved, next.access) : next.access;
  }

  /** The record, when it exists and is not waiting for the user to connect again. */
  private usable(ref: ConnectionRef, record: ConnectionRecord | undefined): ConnectionRecord {
    if (!record) throw this.reauthorization(ref, 'this user has not connected the service');
    if (record.status === CONNECTION_STATUS.REAUTHORIZATION_REQUIRED) {
      throw this.reauthorization(ref, 'the provider no longer accepts the connection refresh token');
    }
    return record;
  }

  private remember(record: ConnectionRecord, access: string): string {
    this.cache.set(connectionKey(record), { access, expiresAt: record.accessExpiresAt, scopes: record.scopes });
    return access;
  }

  private fresh(expiresAt: number | undefined): boolean {
    return expiresAt === undefined || expiresAt - this.refreshEarlyMs > this.options.clock.now();
  }

  private reauthorization(ref: ConnectionRef, reason: string): GatewayError {
    return reauthorizationRequired(ref.service, reason, this.options.publicBaseUrl);
  }
}

/** The flight's result, or `deadline_exceeded` once this caller's deadline passes (the flight goes on). */
function withinDeadline<T>(flight: Promise<T>, deadline: Deadline): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new GatewayError('deadline_exceeded', "the request ran out of time waiting for the user's access token")),
      deadline.remainingMs(),
    );
  });
  return Promise.race([flight, late]).finally(() => clearTimeout(timer));
}
