import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addBreakwaterStage, PRODUCTION_RESERVED_CONCURRENCY, type BreakwaterStageProps } from '../../lib/BreakwaterStage.js';
import { environmentFrom, stageFor, stageFrom } from '../../lib/stage.js';
import { TABLES } from '../../shared/stores/dynamo/tables.js';
import {
  cdkJsonContext,
  environmentOf,
  gatewayFunction,
  linkTemplates,
  resourcesOfType,
  useScratch,
  workerFunction,
  type CfnTemplate,
} from './synthStack.js';

const scratch = useScratch();

/** A stage synthesized as bin/app.ts builds it (without bundling). */
function synthStage(stage: string, props: Partial<BreakwaterStageProps> = {}) {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')),
  });
  const stacks = addBreakwaterStage(app, {
    stage: stageFor(stage),
    // The repo config is the local demo's (simulated providers, a plain key): see productionConfig.test.ts.
    allowInsecureConfig: true,
    ...props,
    gateway: { entry: scratch.entry, workerEntry: scratch.workerEntry, ...props.gateway },
  });
  const state = Template.fromStack(stacks.state).toJSON() as CfnTemplate;
  const gateway = Template.fromStack(stacks.gateway).toJSON() as CfnTemplate;
  return { ...stacks, stateJson: state, gatewayJson: gateway, linked: linkTemplates(state, gateway, stacks.state.stackName) };
}

const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

describe('stages', () => {
  it('derives every stage-scoped name from the stage', () => {
    assert.deepEqual(stageFor('prod'), {
      name: 'prod',
      production: true,
      stackPrefix: 'Breakwater-Prod',
      secretPrefix: 'breakwater/prod/',
      tablePrefix: 'breakwater-prod-',
      metricsNamespace: 'Breakwater/prod',
      tags: { application: 'breakwater', stage: 'prod' },
    });
    assert.equal(stageFor('eu-staging').stackPrefix, 'Breakwater-EuStaging');
    assert.equal(stageFor('dev').production, false);
  });

  it('reads the stage from context: dev by default, production overridable', () => {
    assert.equal(stageFrom(context({})).name, 'dev');
    assert.equal(stageFrom(context({ stage: 'prod' })).production, true);
    assert.equal(stageFrom(context({ stage: 'prod', production: 'false' })).production, false);
    assert.equal(stageFrom(context({ stage: 'perf', production: true })).production, true);
  });

  it('refuses a stage that cannot be part of table, secret and stack names', () => {
    for (const bad of ['Prod', '1st', 'a_b', 'x'.repeat(21), 'a/b']) {
      assert.throws(() => stageFor(bad), /must be 1-20 characters/, bad);
    }
    assert.throws(() => stageFrom(context({ stage: 'prod', production: 'yes' })), /true or false/);
  });

  it('takes account and region from context, else the CLI defaults, and never invents a region', () => {
    assert.deepEqual(environmentFrom(context({ account: '111111111111', region: 'eu-west-1' }), {}), {
      account: '111111111111',
      region: 'eu-west-1',
    });
    assert.deepEqual(environmentFrom(context({}), { CDK_DEFAULT_ACCOUNT: '222222222222', CDK_DEFAULT_REGION: 'us-east-2' }), {
      account: '222222222222',
      region: 'us-east-2',
    });
    assert.equal(environmentFrom(context({}), {}), undefined);
  });
});

describe('stateful and stateless stacks', () => {
  it('names both stacks after the stage; termination protection only in production', () => {
    const dev = synthStage('dev');
    assert.equal(dev.state.stackName, 'Breakwater-Dev-State');
    assert.equal(dev.gateway.stackName, 'Breakwater-Dev-Gateway');
    assert.equal(dev.state.terminationProtection, false);
    assert.equal(dev.gateway.terminationProtection, false);
    const prod = synthStage('prod');
    assert.equal(prod.state.stackName, 'Breakwater-Prod-State');
    assert.equal(prod.state.terminationProtection, true);
    assert.equal(prod.gateway.terminationProtection, true);
    assert.ok(prod.gateway.dependencies.includes(prod.state), 'the gateway stack deploys after the state stack');
  });

  it('keeps tables, queues, secrets and the alarm topic in the state stack, and none of them in the gateway stack', () => {
    const { stateJson, gatewayJson } = synthStage('dev');
    const types = (json: CfnTemplate) => new Set(Object.values(json.Resources).map((r) => r.Type));
    const stateful = ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::SecretsManager::Secret', 'AWS::SNS::Topic'];
    for (const type of stateful) {
      assert.ok(types(stateJson).has(type), `state stack has ${type}`);
      assert.ok(!types(gatewayJson).has(type), `gateway stack has no ${type}`);
    }
    assert.equal(resourcesOfType(stateJson, 'AWS::DynamoDB::Table').length, Object.keys(TABLES).length);
    for (const type of ['AWS::Lambda::Function', 'AWS::ApiGateway::RestApi', 'AWS::CloudWatch::Dashboard', 'AWS::WAFv2::WebACL']) {
      assert.ok(!types(stateJson).has(type), `state stack has no ${type}`);
      assert.ok(types(gatewayJson).has(type), `gateway stack has ${type}`);
    }
  });

  it('reaches the state only through cross-stack references to its outputs', () => {
    const { stateJson, gatewayJson, state } = synthStage('dev');
    const references: Array<{ StackName: unknown; OutputName: string }> = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(walk);
      if (value === null || typeof value !== 'object') return;
      const reference = (value as Record<string, unknown>)['Fn::GetStackOutput'];
      if (reference) references.push(reference as { StackName: unknown; OutputName: string });
      Object.values(value).forEach(walk);
    };
    walk(gatewayJson);
    assert.ok(references.length > 10, `${references.length} references`);
    for (const reference of references) {
      assert.equal(reference.StackName, state.stackName);
      assert.ok(stateJson.Outputs?.[reference.OutputName], reference.OutputName);
    }
    const keysEnv = environmentOf(gatewayFunction(gatewayJson)[1])[TABLES.keys.envVar];
    assert.ok(JSON.stringify(keysEnv).includes('Fn::GetStackOutput'), JSON.stringify(keysEnv));
  });

  it('scopes secrets, tables, the API, the metrics and the tags by stage', () => {
    const { linked, stateJson } = synthStage('qa');
    const secretNames = resourcesOfType(stateJson, 'AWS::SecretsManager::Secret').map(([, r]) => String(r.Properties?.['Name']));
    assert.ok(secretNames.length > 0);
    for (const name of secretNames) assert.match(name, /^breakwater\/qa\//);
    const tableNames = resourcesOfType(stateJson, 'AWS::DynamoDB::Table').map(([, r]) => String(r.Properties?.['TableName']));
    assert.ok(tableNames.includes('breakwater-qa-keys'), tableNames.join(', '));
    for (const name of tableNames) assert.match(name, /^breakwater-qa-/);
    for (const [, fn] of [gatewayFunction(linked), workerFunction(linked)]) {
      assert.equal(environmentOf(fn)['BREAKWATER_SECRET_PREFIX'], 'breakwater/qa/');
      assert.equal(environmentOf(fn)['POWERTOOLS_METRICS_NAMESPACE'], 'Breakwater/qa');
    }
    const [, stage] = resourcesOfType(linked, 'AWS::ApiGateway::Stage')[0]!;
    assert.equal(stage.Properties?.['StageName'], 'qa');
    assert.equal(resourcesOfType(linked, 'AWS::ApiGateway::RestApi')[0]![1].Properties?.['Name'], 'breakwater-qa-gateway');
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Lambda::Function', 'AWS::SQS::Queue']) {
      for (const [id, resource] of resourcesOfType(linked, type)) {
        const tags = (resource.Properties?.['Tags'] ?? []) as Array<{ Key: string; Value: string }>;
        assert.ok(tags.some((t) => t.Key === 'stage' && t.Value === 'qa'), `${id} has no stage tag`);
      }
    }
  });

  it('hard-codes no region or account into either template', () => {
    const { stateJson, gatewayJson } = synthStage('prod');
    for (const json of [stateJson, gatewayJson]) {
      const text = JSON.stringify(json);
      assert.doesNotMatch(text, /\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b/);
      assert.doesNotMatch(text, /\b\d{12}\b/);
    }
  });
});

describe('functions per stage', () => {
  it('reserves concurrency in production (gateway and worker apart), none in dev', () => {
    const reserved = (json: CfnTemplate) => [gatewayFunction(json), workerFunction(json)].map(([, fn]) => fn.Properties?.['ReservedConcurrentExecutions']);
    assert.deepEqual(reserved(synthStage('prod').gatewayJson), [PRODUCTION_RESERVED_CONCURRENCY.gateway, PRODUCTION_RESERVED_CONCURRENCY.worker]);
    assert.deepEqual(reserved(synthStage('dev').gatewayJson), [undefined, undefined]);
    assert.deepEqual(reserved(synthStage('dev', { gatewayReservedConcurrency: 50, workerReservedConcurrency: 30 }).gatewayJson), [50, 30]);
  });

  it('refuses a worker reservation below what its queues may drive', () => {
    assert.throws(() => synthStage('dev', { workerReservedConcurrency: 24 }), /at least the queues' maximum concurrencies together \(20 \+ 5\)/);
  });

  it('takes memory from the stage props, 512 MB by default', () => {
    const memory = (json: CfnTemplate) => [gatewayFunction(json), workerFunction(json)].map(([, fn]) => fn.Properties?.['MemorySize']);
    assert.deepEqual(memory(synthStage('dev').gatewayJson), [512, 512]);
    assert.deepEqual(memory(synthStage('dev', { gatewayMemoryMb: 1024, workerMemoryMb: 768 }).gatewayJson), [1024, 768]);
  });

  it('subscribes the alarm email, when given, to the alarm topic', () => {
    const { stateJson } = synthStage('dev', { alarmEmail: 'oncall@example.com' });
    const subscriptions = resourcesOfType(stateJson, 'AWS::SNS::Subscription');
    assert.equal(subscriptions.length, 1);
    assert.equal(subscriptions[0]![1].Properties?.['Protocol'], 'email');
    assert.equal(subscriptions[0]![1].Properties?.['Endpoint'], 'oncall@example.com');
    assert.equal(resourcesOfType(synthStage('dev').stateJson, 'AWS::SNS::Subscription').length, 0);
  });
});
