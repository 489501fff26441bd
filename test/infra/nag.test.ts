import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations, type Environment } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { addBreakwaterStage } from '../../lib/BreakwaterStage.js';
import { stageFor } from '../../lib/stage.js';
import { cdkJsonContext, nagFindings as findings, nagPacks, useScratch, writeConfig } from './synthStack.js';

const scratch = useScratch();

function stageApp(stage: string, configPath?: string, env?: Environment): App {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')),
  });
  addBreakwaterStage(app, {
    stage: stageFor(stage),
    env,
    configPath,
    // The repo config is the local demo's (simulated providers, a plain key): see productionConfig.test.ts.
    allowInsecureConfig: configPath === undefined,
    alarmEmail: 'oncall@example.com',
    gateway: { entry: scratch.entry, workerEntry: scratch.workerEntry },
  });
  return app;
}

/** Bedrock (named and inline), several credentials, tenants with callback secrets. */
const EVERYTHING_CONFIG = {
  providers: {
    openai: { type: 'openai', credential: 'openai-prod' },
    aws: { type: 'bedrock', region: 'us-east-1' },
  },
  routes: { default: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'aws' }] } },
  tenants: { acme: { route: 'default' }, globex: { route: 'default' } },
};

describe('cdk-nag (AwsSolutions and Serverless)', () => {
  for (const stage of ['dev', 'prod']) {
    it(`finds nothing unacknowledged in the ${stage} stage with the repo config`, () => {
      assert.deepEqual(findings(stageApp(stage)), []);
    });
  }

  it('finds nothing unacknowledged with Bedrock scoped to named models and an inference profile', () => {
    const scoped = {
      providers: { aws: { type: 'bedrock', region: 'us-east-1' } },
      routes: {
        default: {
          strategy: { mode: 'fallback' },
          targets: [
            { provider: 'aws', override_params: { model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' } },
            { provider: 'aws', override_params: { model: 'amazon.nova-lite-v1:0' } },
          ],
        },
      },
      tenants: { acme: { route: 'default' } },
    };
    assert.deepEqual(findings(stageApp('prod', writeConfig(scratch, 'bedrock-scoped.json', scoped))), []);
  });

  it('finds nothing unacknowledged with Bedrock, several credentials and tenants', () => {
    assert.deepEqual(findings(stageApp('prod', writeConfig(scratch, 'everything.json', EVERYTHING_CONFIG))), []);
  });

  // As `cdk synth` runs it (bin/app.ts): a validation plugin, after cross-stack references are
  // resolved, with and without a known account and region (which turn ARNs literal).
  for (const env of [undefined, { account: '123456789012', region: 'eu-west-1' }]) {
    it(`passes a whole synth of the prod stage ${env ? 'with' : 'without'} a known account and region`, () => {
      const app = stageApp('prod', writeConfig(scratch, `everything-${env ? 'env' : 'agnostic'}.json`, EVERYTHING_CONFIG), env);
      Validations.of(app).addPlugins(...nagPacks(app));
      assert.doesNotThrow(() => app.synth());
    });
  }

  it('acknowledges every accepted finding with a written reason', () => {
    const app = stageApp('prod', writeConfig(scratch, 'everything-reasons.json', EVERYTHING_CONFIG));
    const acknowledgements = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>));
    assert.ok(acknowledgements.length > 5, `${acknowledgements.length} acknowledgements`);
    assert.ok(acknowledgements.some(([id]) => id.includes('Serverless-')), 'the Serverless pack is acknowledged too');
    for (const [id, value] of acknowledgements) {
      assert.match(id, /(AwsSolutions|Serverless)-/);
      assert.ok(JSON.stringify(value).length > 60, `${id}: a reason, not a shrug: ${JSON.stringify(value)}`);
    }
  });

  it('does report what nobody acknowledged, and fails the synth (the check is live)', () => {
    const app = new App({ outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')) });
    const stack = new Stack(app, 'Unreviewed');
    new Secret(stack, 'Plain');
    // A queue with no dead-letter queue: a Serverless-pack finding (AwsSolutions has no such rule).
    new Queue(stack, 'NoRedrive', { enforceSSL: true });
    const unacknowledged = findings(app);
    assert.ok(unacknowledged.some((f) => f.startsWith('AwsSolutions-SMG4')), unacknowledged.join('\n'));
    assert.ok(unacknowledged.some((f) => f.startsWith('Serverless-SQSRedrivePolicy @ Unreviewed/NoRedrive')), unacknowledged.join('\n'));
    Validations.of(app).addPlugins(...nagPacks(app));
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
