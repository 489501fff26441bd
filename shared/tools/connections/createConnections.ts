import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretSource } from '../../credentials/SecretSource';
import { defaultSecretRedactor } from '../../redaction/SecretRedactor';
import type { SecretRedactor } from '../../redaction/SecretRedactor';
import type { Clock, RandomSource } from '../../resilience';
import type { ServiceConfig } from '../serviceConfig';
import { ConnectionRecords } from './ConnectionRecords';
import { Connections } from './Connections';
import { ConnectionTokens } from './ConnectionTokens';
import { TokenVault } from './TokenVault';

export interface CreateConnectionsInput {
  doc: DynamoDBDocumentClient;
  tableName: string;
  services: ReadonlyMap<string, ServiceConfig>;
  secrets: SecretSource;
  clock: Clock;
  random?: RandomSource;
  randomBytes?: (size: number) => Buffer;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** The secret holding the token data keys. @default 'tool-token-key' (or BREAKWATER_TOOL_TOKEN_KEY_SECRET) */
  keySecretName?: string;
  /** `settings.public_base_url`, named in reauthorization errors. */
  publicBaseUrl?: string;
  /** Tokens are registered here so no answer or log carries one. @default the process-wide redactor */
  redactor?: Pick<SecretRedactor, 'register'>;
  /** Overrides for the token source (lease length, refresh margin, owner name...). */
  tokens?: Partial<Pick<ConstructorParameters<typeof ConnectionTokens>[0], 'owner' | 'leaseMs' | 'refreshEarlyMs' | 'tokenTimeoutMs'>>;
}

/** The connections service and its token source, wired on one table and one secret source (one per container). */
export function createConnections(input: CreateConnectionsInput): Connections {
  const records = new ConnectionRecords(input.doc, input.tableName);
  const vault = new TokenVault({
    secrets: input.secrets,
    secretName: input.keySecretName ?? process.env.BREAKWATER_TOOL_TOKEN_KEY_SECRET,
    redactor: input.redactor ?? defaultSecretRedactor,
    randomBytes: input.randomBytes,
  });
  const tokens = new ConnectionTokens({
    records,
    vault,
    services: input.services,
    secrets: input.secrets,
    clock: input.clock,
    random: input.random,
    logger: input.logger,
    publicBaseUrl: input.publicBaseUrl,
    ...input.tokens,
  });
  return new Connections({
    records,
    vault,
    tokens,
    services: input.services,
    secrets: input.secrets,
    clock: input.clock,
    randomBytes: input.randomBytes,
    logger: input.logger,
  });
}
