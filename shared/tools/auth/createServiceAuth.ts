import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { SecretSource } from '../../credentials/SecretSource';
import type { Clock } from '../../resilience/clock';
import type { ServiceAuthConfig } from '../serviceConfig';
import type { UserTokenSource } from '../types';
import { apiKeyAuth } from './apiKeyAuth';
import { basicAuth } from './basicAuth';
import { bearerAuth } from './bearerAuth';
import { clientCredentialsAuth } from './clientCredentialsAuth';
import { noAuth } from './noAuth';
import { oauthUserAuth } from './oauthUserAuth';
import type { ServiceAuth } from './ServiceAuth';
import { sigv4Auth } from './sigv4Auth';

export interface ServiceAuthDeps {
  secrets: SecretSource;
  clock: Clock;
  /** The connections part, for `oauth_user` services. */
  userTokens?: UserTokenSource;
  /** For `sigv4` services. @default the AWS SDK's default provider chain (the function's role) */
  awsCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** For `sigv4` services without a `region`. @default process.env.AWS_REGION, else us-east-1 */
  awsRegion?: string;
}

/** The credential injector of one service's `auth` config. Built once per service per container. */
export function createServiceAuth(service: string, auth: ServiceAuthConfig, deps: ServiceAuthDeps): ServiceAuth {
  const { secrets } = deps;
  switch (auth.type) {
    case 'api_key':
      return apiKeyAuth({ service, secret: auth.secret, in: auth.in, name: auth.name, secrets });
    case 'bearer':
      return bearerAuth({ service, secret: auth.secret, secrets });
    case 'basic':
      return basicAuth({ service, secret: auth.secret, secrets });
    case 'oauth_client_credentials':
      return clientCredentialsAuth({
        service,
        secret: auth.secret,
        tokenUrl: auth.token_url,
        scopes: auth.scopes,
        tokenParams: auth.token_params,
        authMethod: auth.token_endpoint_auth_method,
        secrets,
        clock: deps.clock,
      });
    case 'oauth_user':
      return oauthUserAuth({ service, scopes: auth.scopes, userTokens: deps.userTokens });
    case 'sigv4':
      return sigv4Auth({
        service,
        signingName: auth.service,
        region: auth.region ?? deps.awsRegion ?? process.env.AWS_REGION ?? 'us-east-1',
        credentials: deps.awsCredentials,
      });
    case 'none':
      return noAuth;
  }
}
