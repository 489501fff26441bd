import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { GatewayError } from '../../errors';
import { NodeSha256 } from './nodeSha256';
import { credentialIdOf, type OutgoingToolRequest, type ServiceAuth } from './ServiceAuth';

export interface SigV4AuthOptions {
  service: string;
  /** The signing name (`execute-api`, `lambda`...). */
  signingName: string;
  region: string;
  /**
   * The function's own IAM role. @default the AWS SDK's default provider chain
   * (`@aws-sdk/credential-provider-node`), loaded on first use; tests inject fixed credentials.
   */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/** The SDK's default chain, loaded only when a SigV4 service is called (it pulls in SSO, INI...). */
let defaultChain: AwsCredentialIdentityProvider | undefined;
const defaultCredentials: AwsCredentialIdentityProvider = async () => {
  if (!defaultChain) {
    const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
    defaultChain = defaultProvider();
  }
  return defaultChain();
};

/**
 * AWS Signature Version 4 with the function's own IAM role, for internal AWS endpoints (an API
 * Gateway with IAM auth, a Lambda function URL): no stored secret at all. Every attempt is signed
 * afresh (the signature carries the time), over exactly the headers, query and body that go out.
 */
export function sigv4Auth(options: SigV4AuthOptions): ServiceAuth {
  const signer = new SignatureV4({
    service: options.signingName,
    region: options.region,
    credentials: options.credentials ?? defaultCredentials,
    sha256: NodeSha256,
  });
  const id = credentialIdOf('sigv4', options.signingName, options.region);
  return {
    forCall: () => ({
      id,
      apply: async (request) => {
        let signed;
        try {
          signed = await signer.sign(toSignable(request));
        } catch (cause) {
          throw new GatewayError('service_failed', `the function's AWS credentials for service "${options.service}" are not available`, { cause });
        }
        for (const [name, value] of Object.entries(signed.headers)) request.headers[name.toLowerCase()] = value;
      },
    }),
  };
}

/** The request in the signer's shape: decoded query pairs (it encodes them its own canonical way). */
function toSignable(request: OutgoingToolRequest) {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    port: request.url.port ? Number(request.url.port) : undefined,
    path: request.url.pathname,
    query,
    headers: { ...request.headers, host: request.url.host },
    body: request.body,
  };
}
