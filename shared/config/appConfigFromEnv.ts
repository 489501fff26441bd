import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clock } from '../resilience/clock';
import { appConfigLocationFromEnv } from './appConfigEnv';
import { AppConfigSource } from './appConfigSource';
import { bedrockGrantFromEnv } from './bedrockGrant';
import { REFUSE_INSECURE_CONFIG_ENV } from './insecureConfigFindings';

/**
 * An {@link AppConfigSource} reading through Powertools Parameters' AppConfigProvider when the
 * stack set the AppConfig env vars, else undefined (the bundled file, as before). The provider
 * and its SDK client are imported only then, so a function without AppConfig never loads them.
 */
export async function appConfigSourceFromEnv(options: {
  fallbackPath: string;
  clock: Pick<Clock, 'now'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  env?: NodeJS.ProcessEnv;
}): Promise<AppConfigSource | undefined> {
  const env = options.env ?? process.env;
  const location = appConfigLocationFromEnv(env);
  if (!location) return undefined;
  const { AppConfigProvider } = await import('@aws-lambda-powertools/parameters/appconfig');
  const provider = new AppConfigProvider({ application: location.application, environment: location.environment });
  return new AppConfigSource({
    // The source decides when to ask (once per maxAge, on the injected clock), so the provider's
    // own cache is bypassed; the provider keeps the session token and answers "unchanged"
    // (AppConfig's empty body) with the last content.
    provider: { get: (profile, { maxAge }) => provider.get(profile, { maxAge, forceFetch: true }) },
    profile: location.profile,
    fallbackPath: options.fallbackPath,
    clock: options.clock,
    logger: options.logger,
    // The stack's word on what this stage accepts and what IAM allows (lib/GatewayStack.ts).
    refuseInsecure: env[REFUSE_INSECURE_CONFIG_ENV] === 'true',
    bedrockGrant: bedrockGrantFromEnv(env),
    defaultRegion: env.AWS_REGION,
  });
}
