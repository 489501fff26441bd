import { GetLatestConfigurationCommand, StartConfigurationSessionCommand, type AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GATEWAY_OUTPUTS } from '../../lib/gatewayOutputs';
import { compileConfig } from '../../shared/config';
import { isConfigError } from '../../shared/config/ConfigError';
import { gatewayStackName, stackOutputs } from './stackTables';
import { UsageError } from './UsageError';

/** The tenants a config has, and where they were read (for the refusal's message). */
export interface ConfigTenants {
  readonly path: string;
  readonly tenants: ReadonlySet<string>;
}

export interface DeployedTenantsDeps {
  readonly cloudFormation: CloudFormationClient;
  /** Opened only when the stage delivers its config through AppConfig. */
  appConfigData(): AppConfigDataClient;
}

/**
 * The tenants of the config a deployed stage serves with, from its gateway stack: the version
 * AppConfig has deployed when the stage delivers its config through AppConfig (a version
 * pushed after the deploy may have added tenants), else the bundled config's tenants, which the
 * stack outputs. A local file could be another stage's, or older than what was deployed.
 */
export async function deployedTenants(deps: DeployedTenantsDeps, stage: string): Promise<ConfigTenants> {
  const { stackName, region, values } = await stackOutputs(deps.cloudFormation, stage, gatewayStackName(stage));
  const application = values.get(GATEWAY_OUTPUTS.APPCONFIG_APPLICATION_ID);
  const environment = values.get(GATEWAY_OUTPUTS.APPCONFIG_ENVIRONMENT_ID);
  const profile = values.get(GATEWAY_OUTPUTS.APPCONFIG_PROFILE_ID);
  if (application && environment && profile) {
    const where = `the AppConfig config of ${stackName} (${region})`;
    const content = await latestConfiguration(deps.appConfigData(), application, environment, profile);
    try {
      return { path: where, tenants: new Set(compileConfig(JSON.parse(content), where).tenants.keys()) };
    } catch (error) {
      if (!isConfigError(error) && !(error instanceof SyntaxError)) throw error;
      throw new UsageError(`the tenant cannot be checked: ${where} does not compile (${(error as Error).message}); pass --config <file> to check against a file`);
    }
  }
  const tenants = values.get(GATEWAY_OUTPUTS.CONFIG_TENANTS);
  if (tenants === undefined) {
    throw new UsageError(
      `stack ${stackName} in ${region} has no ${GATEWAY_OUTPUTS.CONFIG_TENANTS} output (deploy the stage again with this version), ` +
        'or pass --config <file> with the config it was deployed with',
    );
  }
  return { path: `the config deployed with ${stackName} (${region})`, tenants: new Set(tenants.split(',').filter(Boolean)) };
}

/** AppConfig's deployed version, as the functions read it (a new session's first configuration). */
async function latestConfiguration(client: AppConfigDataClient, application: string, environment: string, profile: string): Promise<string> {
  const session = await client.send(
    new StartConfigurationSessionCommand({
      ApplicationIdentifier: application,
      EnvironmentIdentifier: environment,
      ConfigurationProfileIdentifier: profile,
    }),
  );
  const latest = await client.send(new GetLatestConfigurationCommand({ ConfigurationToken: session.InitialConfigurationToken }));
  const content = new TextDecoder().decode(latest.Configuration ?? new Uint8Array());
  if (content.trim() === '') throw new UsageError(`AppConfig has no deployed config for ${application}/${environment}/${profile} yet; pass --config <file>`);
  return content;
}
