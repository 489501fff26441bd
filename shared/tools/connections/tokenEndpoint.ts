import { httpRequest, type HttpResponse } from '../../http/httpClient';
import { tokenRequest, type OAuthClient, type TokenEndpointAuthMethod } from '../auth/tokenEndpointAuth';

/** The service's OAuth app: its secret (`{"client_id", "client_secret"}`) and how it authenticates. */
export interface OAuthApp extends OAuthClient {
  /** The service's `token_endpoint_auth_method`, for token and revocation requests alike. */
  authMethod: TokenEndpointAuthMethod;
}

/** What a token endpoint granted (RFC 6749 §5.1). */
export interface TokenGrant {
  accessToken: string;
  /** Absent when the provider keeps the old one (no rotation) or issues none. */
  refreshToken?: string;
  expiresInSeconds?: number;
  /** Space-separated (some providers use commas), as granted; absent when the request's scopes were granted. */
  scope?: string;
}

export const TOKEN_FAILURES = {
  /** The code or refresh token is no good any more (`invalid_grant`): only the user can fix it. */
  INVALID_GRANT: 'invalid_grant',
  /** Any other refusal (a bad client secret, a malformed answer): an operator's problem. */
  REJECTED: 'rejected',
  /** The endpoint could not be reached or failed (5xx, timeout): worth trying again later. */
  UNAVAILABLE: 'unavailable',
} as const;
export type TokenFailure = (typeof TOKEN_FAILURES)[keyof typeof TOKEN_FAILURES];

/** A token endpoint's failure. The message never holds the endpoint's body: it may echo a token. */
export class TokenEndpointError extends Error {
  readonly isTokenEndpointError = true;
  constructor(
    readonly failure: TokenFailure,
    /** The OAuth `error` code, when the endpoint sent one (letters and `_` only). */
    readonly oauthError: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TokenEndpointError';
  }
}

export const isTokenEndpointError = (error: unknown): error is TokenEndpointError =>
  typeof error === 'object' && error !== null && (error as { isTokenEndpointError?: unknown }).isTokenEndpointError === true;

/**
 * The authorization-code grant with its PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5). The
 * client authenticates by the app's `authMethod`, as for every request here.
 */
export function exchangeCode(
  tokenUrl: string,
  app: OAuthApp,
  grant: { code: string; redirectUri: string; verifier: string },
  timeoutMs: number,
): Promise<TokenGrant> {
  return requestToken(tokenUrl, app, { grant_type: 'authorization_code', code: grant.code, redirect_uri: grant.redirectUri, code_verifier: grant.verifier }, timeoutMs);
}

/** The refresh-token grant (RFC 6749 §6); the answer may carry a new refresh token (rotation). */
export function refreshGrant(tokenUrl: string, app: OAuthApp, refreshToken: string, timeoutMs: number): Promise<TokenGrant> {
  return requestToken(tokenUrl, app, { grant_type: 'refresh_token', refresh_token: refreshToken }, timeoutMs);
}

/** RFC 7009: revokes a token; a 200 means done (also for a token already invalid). */
export async function revokeToken(
  revokeUrl: string,
  app: OAuthApp,
  token: { value: string; hint: 'refresh_token' | 'access_token' },
  timeoutMs: number,
): Promise<void> {
  const response = await post(revokeUrl, app, { token: token.value, token_type_hint: token.hint }, timeoutMs);
  if (response.status !== 200) throw failureOf(response);
}

async function requestToken(tokenUrl: string, app: OAuthApp, form: Record<string, string>, timeoutMs: number): Promise<TokenGrant> {
  const response = await post(tokenUrl, app, form, timeoutMs);
  if (response.status !== 200) throw failureOf(response);
  const body = parseJson(response.body);
  const accessToken = body?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new TokenEndpointError(TOKEN_FAILURES.REJECTED, undefined, 'the token endpoint answered 200 without an access_token');
  }
  const expiresIn = Number(body!.expires_in);
  return {
    accessToken,
    refreshToken: typeof body!.refresh_token === 'string' && body!.refresh_token !== '' ? body!.refresh_token : undefined,
    expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
    scope: typeof body!.scope === 'string' ? body!.scope : undefined,
  };
}

async function post(url: string, app: OAuthApp, form: Record<string, string>, timeoutMs: number): Promise<HttpResponse> {
  const { headers, body } = tokenRequest(app.authMethod, app, form);
  try {
    return await httpRequest({
      url,
      method: 'POST',
      headers,
      body,
      timeoutMs,
      maxResponseBytes: 256 * 1024,
    });
  } catch (cause) {
    throw new TokenEndpointError(TOKEN_FAILURES.UNAVAILABLE, undefined, `the token endpoint could not be reached (${(cause as { code?: string }).code ?? 'network'})`, { cause });
  }
}

function failureOf(response: HttpResponse): TokenEndpointError {
  const raw = parseJson(response.body)?.error;
  const oauthError = typeof raw === 'string' && /^[A-Za-z_]{1,64}$/.test(raw) ? raw : undefined;
  if (response.status >= 500 || response.status === 429) {
    return new TokenEndpointError(TOKEN_FAILURES.UNAVAILABLE, oauthError, `the token endpoint answered ${response.status}`);
  }
  const failure = oauthError === 'invalid_grant' ? TOKEN_FAILURES.INVALID_GRANT : TOKEN_FAILURES.REJECTED;
  return new TokenEndpointError(failure, oauthError, `the token endpoint answered ${response.status}${oauthError ? ` (${oauthError})` : ''}`);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
