import { readFileSync } from 'node:fs';
import { Duration, Stack } from 'aws-cdk-lib';
import {
  Application,
  ConfigurationContent,
  DeploymentStrategy,
  Environment,
  HostedConfiguration,
  JsonSchemaValidator,
  Monitor,
  RolloutStrategy,
} from 'aws-cdk-lib/aws-appconfig';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Policy, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { z } from 'zod';
import { APPCONFIG_ENV } from '../shared/config/appConfigEnv.js';
import { compileConfig } from '../shared/config/compileConfig.js';
import { configSchema } from '../shared/config/schema.js';

/** How a new config version reaches the functions. */
export interface AppConfigRollout {
  /**
   * Percent of the functions' config sessions that get the new version at each step (linear).
   * 20: five steps, so a bad config reaches a fifth of the fleet before an alarm can stop it.
   * @default 20
   */
  readonly growthFactor: number;
  /** Time over which every step is taken: 5 minutes at 20% is one step a minute. @default Duration.minutes(5) */
  readonly deploymentDuration: Duration;
  /**
   * Time the alarms keep watching after the last step before the deployment counts as done
   * (and can no longer roll back). 5 minutes: one period of the SLO alarms.
   * @default Duration.minutes(5)
   */
  readonly finalBakeTime: Duration;
}

export const DEFAULT_APPCONFIG_ROLLOUT: AppConfigRollout = {
  growthFactor: 20,
  deploymentDuration: Duration.minutes(5),
  finalBakeTime: Duration.minutes(5),
};

export interface AppConfigDeliveryProps {
  /** The routing config file (absolute path): its content is the first hosted version. */
  readonly configPath: string;
  /** AppConfig application name, e.g. the stack's name. */
  readonly applicationName: string;
  /** AppConfig environment name: the stage, e.g. 'dev' or 'prod'. */
  readonly environmentName: string;
  /** Alarms that roll a config deployment back while it rolls out or bakes. */
  readonly rollbackAlarms: readonly IAlarm[];
  /** Functions that read the config: granted the read and given the env vars that locate it. */
  readonly functions: readonly LambdaFunction[];
  /** @default {@link DEFAULT_APPCONFIG_ROLLOUT} */
  readonly rollout?: Partial<AppConfigRollout>;
}

/** The configuration profile's name (what `BREAKWATER_APPCONFIG_PROFILE` holds). */
export const APPCONFIG_PROFILE_NAME = 'routing';

/**
 * The routing config delivered through AWS AppConfig: an application, an environment per stage
 * watched by the stage's rollback alarms, a hosted JSON configuration profile whose versions
 * are checked by a JSON Schema generated from the same zod schema the functions compile with,
 * and a first version (the config file) deployed with a linear strategy. A later version is
 * uploaded and deployed with AppConfig (console or CLI) and reaches the functions without a
 * redeploy; if an alarm fires meanwhile, AppConfig rolls it back.
 *
 * The JSON Schema checks shape and types; the cross-references zod's refinements and
 * compileConfig check (a route naming an unknown provider...) cannot be expressed in it. So
 * the file is also compiled here, at synth, and a version that passes the schema but not
 * compileConfig is refused by the functions, which keep the config they have (logged).
 */
export class AppConfigDelivery extends Construct {
  readonly application: Application;
  readonly environment: Environment;
  readonly configuration: HostedConfiguration;
  readonly deploymentStrategy: DeploymentStrategy;
  /** The configuration profile in the environment, as IAM names it: what the functions (and operators) may read. */
  readonly configurationArn: string;

  constructor(scope: Construct, id: string, props: AppConfigDeliveryProps) {
    super(scope, id);
    const content = readFileSync(props.configPath, 'utf8');
    // A config the functions would refuse never becomes a deployment.
    compileConfig(JSON.parse(content), props.configPath);
    const rollout = { ...DEFAULT_APPCONFIG_ROLLOUT, ...props.rollout };

    this.application = new Application(this, 'Application', {
      applicationName: props.applicationName,
      description: 'Breakwater routing config (routes, tenants, settings)',
    });
    // AppConfig reads the alarms' state with this role: only these alarms, nothing else.
    const monitorRole = new Role(this, 'MonitorRole', {
      assumedBy: new ServicePrincipal('appconfig.amazonaws.com'),
      description: 'Lets AppConfig read the alarms that roll a config deployment back',
    });
    monitorRole.addToPolicy(new PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: props.rollbackAlarms.map((alarm) => alarm.alarmArn) }));
    this.environment = new Environment(this, 'Environment', {
      application: this.application,
      environmentName: props.environmentName,
      monitors: props.rollbackAlarms.map((alarm) => Monitor.fromCloudWatchAlarm(alarm, monitorRole)),
    });
    this.deploymentStrategy = new DeploymentStrategy(this, 'DeploymentStrategy', {
      description: `Linear ${rollout.growthFactor}% over ${rollout.deploymentDuration.toMinutes()} min, baked ${rollout.finalBakeTime.toMinutes()} min under the rollback alarms`,
      rolloutStrategy: RolloutStrategy.linear({
        growthFactor: rollout.growthFactor,
        deploymentDuration: rollout.deploymentDuration,
        finalBakeTime: rollout.finalBakeTime,
      }),
    });
    this.configuration = new HostedConfiguration(this, 'Configuration', {
      application: this.application,
      name: APPCONFIG_PROFILE_NAME,
      description: 'breakwater.config.json',
      content: ConfigurationContent.fromInlineJson(content),
      validators: [JsonSchemaValidator.fromInline(configJsonSchema())],
      deploymentStrategy: this.deploymentStrategy,
      deployTo: [this.environment],
    });

    // The environment depends on the alarms and the alarms on the functions: a function naming
    // the environment's id, or its role's default policy (which the function waits for) naming
    // its ARN, would close a dependency cycle. So the functions get names (unique inside the
    // application) and the grant is a policy of its own, which nothing in the function waits for.
    // Until it exists, on the very first deploy, the functions run on the bundled file.
    const configurationArn = (this.configurationArn = Stack.of(this).formatArn({
      service: 'appconfig',
      resource: 'application',
      resourceName: `${this.application.applicationId}/environment/${this.environment.environmentId}/configuration/${this.configuration.configurationProfileId}`,
    }));
    new Policy(this, 'ReadConfigPolicy', {
      roles: props.functions.map((fn) => fn.role).filter((role): role is IRole => role !== undefined),
      statements: [new PolicyStatement({ actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'], resources: [configurationArn] })],
    });
    for (const fn of props.functions) {
      fn.addEnvironment(APPCONFIG_ENV.APPLICATION, this.application.applicationId);
      fn.addEnvironment(APPCONFIG_ENV.ENVIRONMENT, props.environmentName);
      fn.addEnvironment(APPCONFIG_ENV.PROFILE, APPCONFIG_PROFILE_NAME);
    }
  }
}

/**
 * The config's JSON Schema, from the zod schema itself: draft-04 (what AppConfig's validator
 * reads), for the input side (defaults make fields optional). About 16 KB, under AppConfig's
 * 32 KB limit for a validator.
 */
export function configJsonSchema(): string {
  return JSON.stringify(z.toJSONSchema(configSchema, { target: 'draft-4', io: 'input' }));
}
