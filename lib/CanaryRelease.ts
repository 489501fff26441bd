import { LambdaApplication, LambdaDeploymentConfig, LambdaDeploymentGroup, type ILambdaDeploymentConfig } from 'aws-cdk-lib/aws-codedeploy';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Alias } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/**
 * 'canary': 10% of traffic on the new version for 5 minutes, then all of it, unless an alarm
 * fires first. 'allAtOnce': shifted at once (quick dev deploys), still rolled back by an alarm.
 */
export type ReleaseStyle = 'canary' | 'allAtOnce';

export const RELEASE_CONFIGS: Readonly<Record<ReleaseStyle, ILambdaDeploymentConfig>> = {
  canary: LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  allAtOnce: LambdaDeploymentConfig.ALL_AT_ONCE,
};

export interface ReleasedFunction {
  /** The alias CodeDeploy shifts. */
  readonly alias: Alias;
  /** Any of these in ALARM stops the function's release and shifts its alias back. */
  readonly rollbackAlarms: readonly IAlarm[];
}

export interface CanaryReleaseProps {
  /** Deployment group id → the function it releases. */
  readonly functions: Readonly<Record<string, ReleasedFunction>>;
  readonly style: ReleaseStyle;
}

/**
 * CodeDeploy traffic shifting for each function's `live` alias: a release publishes a version,
 * shifts traffic to it as {@link ReleaseStyle} says, and rolls back automatically when the
 * deployment fails, is stopped, or a rollback alarm fires.
 */
export class CanaryRelease extends Construct {
  readonly groups: Readonly<Record<string, LambdaDeploymentGroup>>;

  constructor(scope: Construct, id: string, props: CanaryReleaseProps) {
    super(scope, id);
    const application = new LambdaApplication(this, 'Application');
    this.groups = Object.fromEntries(
      Object.entries(props.functions).map(([groupId, { alias, rollbackAlarms }]) => [
        groupId,
        new LambdaDeploymentGroup(this, groupId, {
          application,
          alias,
          deploymentConfig: RELEASE_CONFIGS[props.style],
          alarms: [...rollbackAlarms],
          autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
        }),
      ]),
    );
  }
}
