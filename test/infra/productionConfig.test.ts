import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { addBreakwaterStage } from '../../lib/BreakwaterStage.js';
import { insecureConfigFindings } from '../../lib/productionConfig.js';
import { stageFor } from '../../lib/stage.js';
import { cdkJsonContext, useScratch, writeConfig } from './synthStack.js';

const scratch = useScratch();
const PLAIN_KEY = 'bw_test_acme_key_0001_local_only_xyz';

const SECURE_CONFIG = {
  providers: { openai: { type: 'openai', credential: 'openai' } },
  routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'openai' }] } },
  tenants: { acme: { route: 'default' } },
};
const SIMULATED_CONFIG = {
  providers: { sim: { type: 'simulated' } },
  routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
  tenants: { acme: { route: 'default' } },
};
const INLINE_SIMULATED_CONFIG = {
  providers: {},
  routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'simulated' }] } },
  tenants: { acme: { route: 'default' } },
};
const PLAIN_KEYS_CONFIG = { ...SECURE_CONFIG, tenants: { acme: { route: 'default', keys: [PLAIN_KEY] } } };

function synthStage(stage: string, config: unknown, allowInsecureConfig?: boolean): void {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')),
  });
  addBreakwaterStage(app, {
    stage: stageFor(stage),
    configPath: writeConfig(scratch, `${stage}-${Math.random().toString(36).slice(2)}.json`, config),
    allowInsecureConfig,
    gateway: { entry: scratch.entry, workerEntry: scratch.workerEntry },
  });
}

describe('production config check', () => {
  it('names simulated providers, named or inline, and tenants with plain keys, never the key', () => {
    assert.deepEqual(insecureConfigFindings(SECURE_CONFIG), []);
    assert.deepEqual(insecureConfigFindings(SIMULATED_CONFIG), ['providers.sim is a simulated provider', 'routes.default sends to a simulated provider']);
    assert.deepEqual(insecureConfigFindings(INLINE_SIMULATED_CONFIG), ['routes.default sends to a simulated provider']);
    const findings = insecureConfigFindings(PLAIN_KEYS_CONFIG);
    assert.deepEqual(findings, ['tenants.acme.keys holds 1 plain virtual key(s)']);
    assert.ok(!findings.join().includes(PLAIN_KEY));
  });

  for (const [what, config] of [
    ['a simulated provider', SIMULATED_CONFIG],
    ['an inline simulated target', INLINE_SIMULATED_CONFIG],
    ['plain tenant keys', PLAIN_KEYS_CONFIG],
  ] as const) {
    it(`fails a prod synth of a config with ${what}, with a message saying what and how to override`, () => {
      assert.throws(
        () => synthStage('prod', config),
        (error: Error) => {
          assert.match(error.message, /not fit for a production stage/);
          assert.match(error.message, /allowInsecureConfig=true/);
          assert.ok(!error.message.includes(PLAIN_KEY), 'the key itself never reaches the deploy log');
          return true;
        },
      );
    });
  }

  it('synthesizes it when explicitly allowed, and in a non-production stage', () => {
    assert.doesNotThrow(() => synthStage('prod', PLAIN_KEYS_CONFIG, true));
    assert.doesNotThrow(() => synthStage('dev', SIMULATED_CONFIG));
  });

  it('synthesizes a prod stage from a config with real providers and no plain keys', () => {
    assert.doesNotThrow(() => synthStage('prod', SECURE_CONFIG));
  });
});
