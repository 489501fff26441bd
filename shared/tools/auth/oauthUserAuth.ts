import { GatewayError } from '../../errors';
import { defaultSecretRedactor } from '../../redaction/SecretRedactor';
import type { ConnectionRef, UserTokenSource } from '../types';
import { credentialIdOf, type ServiceAuth } from './ServiceAuth';

export interface OAuthUserAuthOptions {
  service: string;
  /** The scopes the service is configured to request: a connection lacking one is refused. */
  scopes: readonly string[];
  /** The connections part (shared/tools/connections/); absent: no `oauth_user` call can run. */
  userTokens?: UserTokenSource;
}

/**
 * OAuth 2.0 on behalf of the end user named by `x-breakwater-user`: the access token comes from
 * the user's connection (cached and refreshed under a fleet-wide lock by the token source). After
 * a 401 the token is refreshed once and the call retried once. The credential is the user's, so
 * its id (for the breaker and the rate bucket) names tenant and user.
 */
export function oauthUserAuth(options: OAuthUserAuthOptions): ServiceAuth {
  return {
    forCall: (context) => {
      const { service, tenant, endUser, deadline } = context;
      const ref: ConnectionRef | undefined = endUser ? { tenant, user: endUser, service } : undefined;
      let used: string | undefined;
      /** The token a refresh after a 401 gave: the retry uses it, whatever the source's cache says. */
      let renewed: string | undefined;
      const source = (): UserTokenSource => {
        if (!options.userTokens) {
          throw new GatewayError('tool_state_unavailable', `service "${service}" acts on behalf of users, and user connections are not enabled on this gateway`);
        }
        return options.userTokens;
      };
      const connection = (): ConnectionRef => {
        if (!ref) {
          throw new GatewayError('invalid_request', `service "${service}" acts on behalf of a user: name them with the x-breakwater-user header`, {
            details: { param: 'x-breakwater-user' },
          });
        }
        return ref;
      };
      return {
        id: credentialIdOf('user', tenant, endUser ?? '', service),
        apply: async (request) => {
          const tokens = source();
          if (used === undefined && options.scopes.length > 0) {
            const granted = await tokens.grantedScopes(connection(), deadline);
            const missing = options.scopes.filter((scope) => !granted.includes(scope));
            if (missing.length > 0) {
              throw new GatewayError('scope_not_granted', `the user's connection to "${service}" was not granted: ${missing.join(' ')}`, {
                details: { service, missing_scopes: missing },
              });
            }
          }
          used = renewed ?? (await tokens.accessToken(connection(), deadline));
          defaultSecretRedactor.register(used);
          request.headers.authorization = `Bearer ${used}`;
        },
        renew: async () => {
          if (used === undefined) return false;
          renewed = await source().refreshAfterUnauthorized(connection(), used, deadline);
          defaultSecretRedactor.register(renewed);
          return true;
        },
      };
    },
  };
}
