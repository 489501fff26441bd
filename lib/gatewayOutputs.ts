/**
 * Output names of a stage's gateway stack that the CLI reads (`--stage`): kept free of CDK
 * imports so bin/cli/ loads them without aws-cdk-lib.
 */
export const GATEWAY_OUTPUTS = {
  /** The managed policy operators attach to run `breakwater keys`, `approvals` and `dlq`. */
  OPERATOR_POLICY_ARN: 'OperatorPolicyArn',
  /** The bundled config's tenants, comma-separated: what `keys create --stage` checks without AppConfig. */
  CONFIG_TENANTS: 'ConfigTenants',
  APPCONFIG_APPLICATION_ID: 'AppConfigApplicationId',
  APPCONFIG_ENVIRONMENT_ID: 'AppConfigEnvironmentId',
  APPCONFIG_PROFILE_ID: 'AppConfigProfileId',
  /** The stack's rollout (linear, baked, rolled back on the alarms): what a hand-pushed version deploys with. */
  APPCONFIG_DEPLOYMENT_STRATEGY_ID: 'AppConfigDeploymentStrategyId',
} as const;

/** CloudFormation's limit on an output's value; a longer tenant list is left out (the CLI then asks for --config). */
export const MAX_OUTPUT_VALUE_CHARS = 4096;
