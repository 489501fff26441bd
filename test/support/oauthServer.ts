import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockOAuthServerOptions {
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of the access tokens it issues (short-lived, as providers' are). @default 3600 */
  accessTtlSeconds?: number;
  /** The `scope` of token answers; `null` leaves it out (the requested scopes stand). @default the requested scope */
  grantedScope?: string | null;
  /** Each refresh answers after this long: other callers then really wait on it. @default 0 */
  refreshDelayMs?: number;
  /** Every refresh issues a new refresh token and retires the old one. @default true */
  rotateRefreshTokens?: boolean;
  /**
   * The client authentication methods `/token` and `/revoke` accept (RFC 6749 §2.3.1); a request
   * authenticating otherwise is a 401 `invalid_client`, one using two at once a 400 `invalid_request`.
   * @default ['client_secret_post']
   */
  clientAuthMethods?: readonly ClientAuthMethod[];
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

interface IssuedCode {
  challenge: string;
  redirectUri: string;
  scope: string;
  used: boolean;
}

/**
 * An OAuth 2.0 provider and the API it protects, on loopback:
 * - `GET /authorize`: the consent screen, consenting at once (or refusing, see {@link denyNextConsent}):
 *   a 302 back to `redirect_uri` with `code` and `state`;
 * - `POST /token`: the authorization-code grant, checking the PKCE verifier (S256) and the
 *   redirect URI, and the refresh grant, rotating refresh tokens (a retired or revoked one is
 *   `invalid_grant`) and counting refreshes, and the client credentials grant (an access token only);
 * - `POST /revoke`: RFC 7009;
 * - `ANY /api/...`: the protected API: 200 with an access token that is live, 401 otherwise.
 * Client authentication is `client_secret_post` unless {@link MockOAuthServerOptions.clientAuthMethods}
 * says otherwise; HTTP Basic is decoded per RFC 6749 §2.3.1 (each part form-urldecoded). Every
 * token it issues is recorded, so tests can look for them where they must not be.
 */
export interface MockOAuthServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string;
  /** The protected API's base URL (`<url>/api`). */
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  /** Refresh-token grants answered with new tokens. */
  readonly refreshes: number;
  /** Refresh-token grants refused (retired, revoked or unknown refresh token). */
  readonly refusedRefreshes: number;
  /** Every access and refresh token ever issued. */
  readonly issued: readonly string[];
  /** Tokens revoked through `/revoke`. */
  readonly revoked: readonly string[];
  /** API calls by the status answered. */
  readonly apiStatuses: readonly number[];
  /** How each `/token` and `/revoke` request authenticated the client (`both` and `none` are refused). */
  readonly clientAuthSeen: ReadonlyArray<ClientAuthMethod | 'both' | 'none'>;
  /** The next consent is refused (`error=access_denied`). */
  denyNextConsent(): void;
  /** Every access token issued so far stops working (the API answers 401). */
  expireAccessTokens(): void;
  /** Every live refresh token stops working (`invalid_grant`), as when the user revokes the app. */
  revokeRefreshTokens(): void;
  close(): Promise<void>;
}

export async function startMockOAuthServer(options: MockOAuthServerOptions = {}): Promise<MockOAuthServer> {
  const clientId = options.clientId ?? 'mock-client-id';
  const clientSecret = options.clientSecret ?? 'sk-test-oauth-client-secret-0001';
  const accessTtlSeconds = options.accessTtlSeconds ?? 3600;
  const rotate = options.rotateRefreshTokens ?? true;
  const acceptedAuth = options.clientAuthMethods ?? ['client_secret_post'];
  const clientAuthSeen: Array<ClientAuthMethod | 'both' | 'none'> = [];
  const codes = new Map<string, IssuedCode>();
  /** Access token → epoch ms it expires. */
  const accessTokens = new Map<string, number>();
  /** Live refresh tokens → the scope they grant. */
  const refreshTokens = new Map<string, string>();
  const issued: string[] = [];
  const revoked: string[] = [];
  const apiStatuses: number[] = [];
  let refreshes = 0;
  let refusedRefreshes = 0;
  let denyNext = false;

  const token = (kind: string) => {
    const value = `${kind}-${randomBytes(18).toString('base64url')}`;
    issued.push(value);
    return value;
  };
  const grant = (scope: string, keepRefresh?: string) => {
    const access = token('at');
    accessTokens.set(access, Date.now() + accessTtlSeconds * 1000);
    const refresh = keepRefresh ?? token('rt');
    refreshTokens.set(refresh, scope);
    const granted = options.grantedScope === undefined ? scope : options.grantedScope;
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: accessTtlSeconds,
      ...(keepRefresh ? {} : { refresh_token: refresh }),
      ...(granted === null ? {} : { scope: granted }),
    };
  };
  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: http.ServerResponse, error: string, status = 400) => send(res, status, { error });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (req.method === 'GET' && url.pathname === '/authorize') {
          const q = url.searchParams;
          const redirect = q.get('redirect_uri');
          if (q.get('client_id') !== clientId || !redirect) return send(res, 400, { error: 'invalid_client' });
          const back = new URL(redirect);
          back.searchParams.set('state', q.get('state') ?? '');
          if (denyNext) {
            denyNext = false;
            back.searchParams.set('error', 'access_denied');
          } else if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
            back.searchParams.set('error', 'invalid_request');
          } else {
            const code = randomBytes(12).toString('base64url');
            codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: redirect, scope: q.get('scope') ?? '', used: false });
            back.searchParams.set('code', code);
          }
          res.writeHead(302, { location: back.toString() });
          return res.end();
        }
        if (req.method === 'POST' && (url.pathname === '/token' || url.pathname === '/revoke')) {
          const basic = basicCredentials(req.headers.authorization);
          const posted = form.has('client_secret') ? { id: form.get('client_id'), secret: form.get('client_secret') } : undefined;
          const method = basic && posted ? 'both' : basic ? 'client_secret_basic' : posted ? 'client_secret_post' : 'none';
          clientAuthSeen.push(method);
          if (method === 'both') return oauthError(res, 'invalid_request');
          const presented = method === 'client_secret_basic' ? basic : posted;
          if (method === 'none' || !acceptedAuth.includes(method)) return oauthError(res, 'invalid_client', 401);
          if (presented?.id !== clientId || presented.secret !== clientSecret) return oauthError(res, 'invalid_client', 401);
        }
        if (req.method === 'POST' && url.pathname === '/token') {
          if (form.get('grant_type') === 'client_credentials') {
            const access = token('at');
            accessTokens.set(access, Date.now() + accessTtlSeconds * 1000);
            return send(res, 200, { access_token: access, token_type: 'Bearer', expires_in: accessTtlSeconds });
          }
          if (form.get('grant_type') === 'authorization_code') {
            const code = codes.get(form.get('code') ?? '');
            if (!code || code.used || code.redirectUri !== form.get('redirect_uri')) return oauthError(res, 'invalid_grant');
            const verifier = form.get('code_verifier') ?? '';
            if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge) return oauthError(res, 'invalid_grant');
            code.used = true;
            return send(res, 200, grant(code.scope));
          }
          if (form.get('grant_type') === 'refresh_token') {
            const presented = form.get('refresh_token') ?? '';
            if (options.refreshDelayMs) await new Promise((resolve) => setTimeout(resolve, options.refreshDelayMs));
            const scope = refreshTokens.get(presented);
            if (scope === undefined) {
              refusedRefreshes++;
              return oauthError(res, 'invalid_grant');
            }
            refreshes++;
            if (rotate) refreshTokens.delete(presented);
            return send(res, 200, grant(scope, rotate ? undefined : presented));
          }
          return oauthError(res, 'unsupported_grant_type');
        }
        if (req.method === 'POST' && url.pathname === '/revoke') {
          const value = form.get('token') ?? '';
          revoked.push(value);
          refreshTokens.delete(value);
          accessTokens.delete(value);
          return send(res, 200, {});
        }
        if (url.pathname.startsWith('/api/')) {
          const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          const expiresAt = bearer ? accessTokens.get(bearer) : undefined;
          const live = expiresAt !== undefined && expiresAt > Date.now();
          apiStatuses.push(live ? 200 : 401);
          if (!live) return send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
          return send(res, 200, { ok: true, method: req.method, path: url.pathname });
        }
        send(res, 404, { error: 'not_found' });
      })().catch(() => {
        res.destroy();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    authorizeUrl: `${base}/authorize`,
    tokenUrl: `${base}/token`,
    revokeUrl: `${base}/revoke`,
    apiUrl: `${base}/api`,
    clientId,
    clientSecret,
    get refreshes() {
      return refreshes;
    },
    get refusedRefreshes() {
      return refusedRefreshes;
    },
    issued,
    revoked,
    apiStatuses,
    clientAuthSeen,
    denyNextConsent: () => {
      denyNext = true;
    },
    expireAccessTokens: () => {
      for (const access of accessTokens.keys()) accessTokens.set(access, 0);
    },
    revokeRefreshTokens: () => refreshTokens.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `Authorization: Basic` per RFC 6749 §2.3.1: base64 of `id:secret`, each form-urlencoded; else undefined. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const encoded = /^Basic (.+)$/i.exec(header ?? '')?.[1];
  if (!encoded) return undefined;
  const pair = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  if (colon < 0) return { id: '', secret: '' };
  const decode = (part: string) => new URLSearchParams(`v=${part}`).get('v') ?? '';
  return { id: decode(pair.slice(0, colon)), secret: decode(pair.slice(colon + 1)) };
}
