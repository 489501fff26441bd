import type { SecretSource } from '../../credentials/SecretSource';
import { GatewayError } from '../../errors';
import type { ServiceAuthConfig, ServiceConfig } from '../serviceConfig';
import type { OAuthApp } from './tokenEndpoint';

export type OAuthUserAuth = Extract<ServiceAuthConfig, { type: 'oauth_user' }>;

/** The `oauth_user` auth of a configured service: 404 `unknown_service`, or 400 when it connects otherwise. */
export function oauthUserAuth(services: ReadonlyMap<string, ServiceConfig>, service: string): OAuthUserAuth {
  const auth = services.get(service)?.auth;
  if (!auth) throw new GatewayError('unknown_service', `no service named "${service}"`, { details: { param: 'service' } });
  if (auth.type !== 'oauth_user') {
    throw new GatewayError('invalid_request', `service "${service}" does not connect on behalf of users (its auth is ${auth.type})`, {
      details: { param: 'service' },
    });
  }
  return auth;
}

/** The names of the services users connect to, in config order. */
export const oauthUserServices = (services: ReadonlyMap<string, ServiceConfig>): string[] =>
  [...services].filter(([, service]) => service.auth.type === 'oauth_user').map(([name]) => name);

/** The service's OAuth app from its secret and config; a secret without both fields is the operator's to fix (502). */
export async function oauthApp(secrets: SecretSource, service: string, auth: OAuthUserAuth): Promise<OAuthApp> {
  let value;
  try {
    value = await secrets.get(auth.secret);
  } catch (cause) {
    throw new GatewayError('upstream_auth_failed', `the OAuth app secret of service "${service}" cannot be read`, { cause });
  }
  if (!value?.client_id || !value.client_secret) {
    throw new GatewayError('upstream_auth_failed', `the OAuth app secret of service "${service}" needs client_id and client_secret`);
  }
  // `client_secret_post` unless configured: what user connections have always sent.
  return { clientId: value.client_id, clientSecret: value.client_secret, authMethod: auth.token_endpoint_auth_method ?? 'client_secret_post' };
}

/** A token response's `scope` (space-separated; GitHub and others use commas), else what was asked for. */
export function grantedScopesOf(scope: string | undefined, requested: readonly string[]): string[] {
  if (scope === undefined) return [...requested];
  return [...new Set(scope.split(/[\s,]+/).filter(Boolean))];
}

/** Where a user (re)connects: `POST <base>/v1/connections/<service>`. */
export function connectUrl(service: string, publicBaseUrl?: string): string {
  const path = `/v1/connections/${encodeURIComponent(service)}`;
  return publicBaseUrl ? `${publicBaseUrl.replace(/\/+$/, '')}${path}` : path;
}

/** 401 `reauthorization_required`, naming the service and where to connect again. */
export function reauthorizationRequired(service: string, reason: string, publicBaseUrl?: string): GatewayError {
  const url = connectUrl(service, publicBaseUrl);
  return new GatewayError('reauthorization_required', `${reason}: the user must connect "${service}" again with POST ${url}`, {
    details: { service, connect_url: url, connect_method: 'POST' },
  });
}
