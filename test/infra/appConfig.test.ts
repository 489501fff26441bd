import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { APPCONFIG_PROFILE_NAME, configJsonSchema } from '../../lib/AppConfigDelivery.js';
import { addBreakwaterStage } from '../../lib/BreakwaterStage.js';
import { stageFor } from '../../lib/stage.js';
import { APPCONFIG_ENV } from '../../shared/config/appConfigEnv.js';
import { BEDROCK_GRANT_ENV } from '../../shared/config/bedrockGrant.js';
import { REFUSE_INSECURE_CONFIG_ENV } from '../../shared/config/insecureConfigFindings.js';
import {
  actionsOnResource,
  cdkJsonContext,
  environmentOf,
  gatewayFunction,
  gatewayRoleId,
  nagFindings,
  onlyResource,
  resourcesOfType,
  synth,
  useScratch,
  workerFunction,
  workerRoleId,
  writeConfig,
  type CfnTemplate,
} from './synthStack.js';

const scratch = useScratch();

const VALID_CONFIG = {
  providers: { openai: { type: 'openai', credential: 'openai' } },
  routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'openai' }] } },
  tenants: { acme: { route: 'default' } },
};

const synthWithAppConfig = (configName = 'valid.json', config: unknown = VALID_CONFIG) =>
  synth(scratch, { appConfig: true, apiStageName: 'dev', configPath: writeConfig(scratch, configName, config) });

/** Logical id of the alarm whose description starts with `prefix`. */
function alarmId(json: CfnTemplate, prefix: string): string {
  const found = resourcesOfType(json, 'AWS::CloudWatch::Alarm').filter(([, r]) => String(r.Properties?.['AlarmDescription']).startsWith(prefix));
  assert.equal(found.length, 1, `one alarm described "${prefix}..."`);
  return found[0]![0];
}

describe('AppConfig config delivery', () => {
  it('is off by default: no AppConfig resources, no AppConfig env vars', () => {
    const { json } = synth(scratch);
    assert.deepEqual(
      Object.values(json.Resources).filter((r) => r.Type.startsWith('AWS::AppConfig::')),
      [],
    );
    for (const fn of [gatewayFunction(json)[1], workerFunction(json)[1]]) {
      for (const name of Object.values(APPCONFIG_ENV)) assert.equal(environmentOf(fn)[name], undefined, name);
    }
  });

  it('creates an application, a stage environment and a hosted JSON profile validated by the zod-generated JSON Schema', () => {
    const { json } = synthWithAppConfig();
    const [appId] = onlyResource(json, 'AWS::AppConfig::Application');
    const [, environment] = onlyResource(json, 'AWS::AppConfig::Environment');
    assert.equal(environment.Properties?.['Name'], 'dev');
    assert.deepEqual(environment.Properties?.['ApplicationId'], { Ref: appId });

    const [profileId, profile] = onlyResource(json, 'AWS::AppConfig::ConfigurationProfile');
    assert.equal(profile.Properties?.['Name'], APPCONFIG_PROFILE_NAME);
    assert.equal(profile.Properties?.['LocationUri'], 'hosted');
    const validators = profile.Properties?.['Validators'] as Array<{ Type: string; Content: string }>;
    assert.equal(validators.length, 1);
    assert.equal(validators[0]!.Type, 'JSON_SCHEMA');
    assert.equal(validators[0]!.Content, configJsonSchema());
    assert.ok(validators[0]!.Content.length < 32_768, 'AppConfig takes validators up to 32 KB');
    assert.match(validators[0]!.Content, /draft-04/);

    const [, version] = onlyResource(json, 'AWS::AppConfig::HostedConfigurationVersion');
    assert.deepEqual(version.Properties?.['ConfigurationProfileId'], { Ref: profileId });
    assert.equal(version.Properties?.['ContentType'], 'application/json');
    assert.deepEqual(JSON.parse(String(version.Properties?.['Content'])), VALID_CONFIG);
  });

  it('deploys the first version linearly, 20% a minute, then bakes 5 minutes', () => {
    const { json } = synthWithAppConfig();
    const [strategyId, strategy] = onlyResource(json, 'AWS::AppConfig::DeploymentStrategy');
    assert.equal(strategy.Properties?.['GrowthType'], 'LINEAR');
    assert.equal(strategy.Properties?.['GrowthFactor'], 20);
    assert.equal(strategy.Properties?.['DeploymentDurationInMinutes'], 5);
    assert.equal(strategy.Properties?.['FinalBakeTimeInMinutes'], 5);
    const [, deployment] = onlyResource(json, 'AWS::AppConfig::Deployment');
    assert.deepEqual(deployment.Properties?.['DeploymentStrategyId'], { Ref: strategyId });
  });

  it('rolls a deployment back on the gateway\'s and the worker\'s rollback alarms, read through a role scoped to them', () => {
    const { json } = synthWithAppConfig();
    const [, environment] = onlyResource(json, 'AWS::AppConfig::Environment');
    const monitors = environment.Properties?.['Monitors'] as Array<{ AlarmArn: unknown; AlarmRoleArn: unknown }>;
    const expected = ['5xx above', 'p99 latency above', 'gateway Lambda errors', 'worker Lambda errors'].map((prefix) => alarmId(json, prefix));
    assert.deepEqual(
      monitors.map((m) => (m.AlarmArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]).sort(),
      expected.sort(),
    );
    const roleIds = new Set(monitors.map((m) => (m.AlarmRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]));
    assert.equal(roleIds.size, 1);
    const [roleId] = [...roleIds];
    for (const alarm of expected) assert.deepEqual(actionsOnResource(json, roleId!, alarm), ['cloudwatch:DescribeAlarms']);
  });

  it('lets both functions read the config, and tells them where it is', () => {
    const { json } = synthWithAppConfig();
    const [appId] = onlyResource(json, 'AWS::AppConfig::Application');
    const [envId] = onlyResource(json, 'AWS::AppConfig::Environment');
    const [profileId] = onlyResource(json, 'AWS::AppConfig::ConfigurationProfile');
    for (const [fn, roleId] of [
      [gatewayFunction(json)[1], gatewayRoleId(json)],
      [workerFunction(json)[1], workerRoleId(json)],
    ] as const) {
      for (const scope of [appId, envId, profileId]) {
        assert.deepEqual(actionsOnResource(json, roleId, scope), ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession']);
      }
      const env = environmentOf(fn);
      assert.deepEqual(env[APPCONFIG_ENV.APPLICATION], { Ref: appId });
      assert.equal(env[APPCONFIG_ENV.ENVIRONMENT], 'dev');
      assert.equal(env[APPCONFIG_ENV.PROFILE], APPCONFIG_PROFILE_NAME);
      // The bundled file stays: the fallback when AppConfig fails at cold start.
      assert.equal(env['BREAKWATER_CONFIG'], '/var/task/breakwater.config.json');
    }
  });

  it("outputs the ids the deploy guide's push of a new version uses: application, environment, profile, the stack's strategy", () => {
    const { json } = synthWithAppConfig();
    const outputs = (json as { Outputs?: Record<string, { Value: unknown }> }).Outputs ?? {};
    for (const [output, type] of [
      ['AppConfigApplicationId', 'AWS::AppConfig::Application'],
      ['AppConfigEnvironmentId', 'AWS::AppConfig::Environment'],
      ['AppConfigProfileId', 'AWS::AppConfig::ConfigurationProfile'],
      ['AppConfigDeploymentStrategyId', 'AWS::AppConfig::DeploymentStrategy'],
    ] as const) {
      const [id] = onlyResource(json, type);
      assert.deepEqual(outputs[output]?.Value, { Ref: id }, output);
    }
  });

  it('fails synth on a config the functions would refuse, before any deployment', () => {
    const unknownProvider = { ...VALID_CONFIG, routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'nope' }] } } };
    assert.throws(() => synthWithAppConfig('unknown-provider.json', unknownProvider), /nope/);
  });

  describe('what a version pushed later is held to', () => {
    const BEDROCK_CONFIG = {
      providers: { aws: { type: 'bedrock', region: 'eu-west-1' } },
      routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'aws', override_params: { model: 'amazon.nova-lite-v1:0' } }] } },
      tenants: { acme: { route: 'default' } },
    };
    function functionEnvs(stage: string, options: { allowInsecureConfig?: boolean; appConfig?: boolean; config?: unknown } = {}) {
      const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')) });
      const { gateway } = addBreakwaterStage(app, {
        stage: stageFor(stage),
        configPath: writeConfig(scratch, `guard-${stage}-${options.allowInsecureConfig ?? false}.json`, options.config ?? VALID_CONFIG),
        allowInsecureConfig: options.allowInsecureConfig,
        gateway: { entry: scratch.entry, workerEntry: scratch.workerEntry, appConfig: options.appConfig ?? true },
      });
      const json = Template.fromStack(gateway).toJSON() as CfnTemplate;
      return [gatewayFunction(json)[1], workerFunction(json)[1]].map(environmentOf);
    }

    it('tells both functions of a production stage to refuse insecure versions', () => {
      for (const env of functionEnvs('prod')) assert.equal(env[REFUSE_INSECURE_CONFIG_ENV], 'true');
    });

    it('does not in dev, with allowInsecureConfig, or without AppConfig', () => {
      for (const env of [...functionEnvs('dev'), ...functionEnvs('prod', { allowInsecureConfig: true }), ...functionEnvs('prod', { appConfig: false })]) {
        assert.equal(env[REFUSE_INSECURE_CONFIG_ENV], undefined);
      }
    });

    it('tells both functions which Bedrock models IAM allows them', () => {
      for (const env of functionEnvs('dev', { config: BEDROCK_CONFIG })) assert.equal(env[BEDROCK_GRANT_ENV], 'amazon.nova-lite-v1:0@eu-west-1');
      for (const env of functionEnvs('dev')) assert.equal(env[BEDROCK_GRANT_ENV], 'none');
    });
  });

  it('adds no unacknowledged cdk-nag finding', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')) });
    addBreakwaterStage(app, {
      stage: stageFor('dev'),
      configPath: writeConfig(scratch, 'nag.json', VALID_CONFIG),
      gateway: { entry: scratch.entry, workerEntry: scratch.workerEntry, appConfig: true },
    });
    assert.deepEqual(nagFindings(app), []);
  });
});
