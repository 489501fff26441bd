import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AppConfigSource, type AppConfigSourceOptions, type ConfigContentProvider } from '../../../shared/config/appConfigSource';
import { BEDROCK_GRANT_ENV, bedrockGrantFromEnv, type BedrockGrant } from '../../../shared/config/bedrockGrant';
import { capturingLogger } from '../../support/capturingLogger';
import { fakeClock } from '../../support/fakeClock';

// A config version pushed through AppConfig after the deploy, held to the rules the stack
// applied to the bundled file at synth (lib/productionConfig.ts, lib/bedrockAccess.ts).

const PLAIN_KEY = 'bw_test_acme_key_0001_local_only_xyz';
const openaiConfig = (route: string, extra: Record<string, unknown> = {}) => ({
  providers: { primary: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1', credential: 'openai' } },
  routes: { [route]: { strategy: { mode: 'single' }, targets: [{ provider: 'primary' }] } },
  tenants: { demo: { route, ...extra } },
});
const simulatedConfig = {
  providers: { sim: { type: 'simulated' } },
  routes: { sim: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
  tenants: { demo: { route: 'sim' } },
};
const bedrockConfig = (targets: unknown[]) => ({
  providers: { aws: { type: 'bedrock', region: 'us-east-1' } },
  routes: { default: { strategy: { mode: 'fallback' }, targets } },
  tenants: { demo: { route: 'default' } },
});

const dir = mkdtempSync(join(tmpdir(), 'breakwater-appconfig-guards-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bundledPath = join(dir, 'breakwater.config.json');
writeFileSync(bundledPath, JSON.stringify(openaiConfig('bundled')));

function sourceWith(content: unknown, options: Partial<AppConfigSourceOptions> = {}) {
  const state = { content: JSON.stringify(content) };
  const provider: ConfigContentProvider = { get: async () => new TextEncoder().encode(state.content) };
  const clock = fakeClock();
  const logs = capturingLogger();
  const source = new AppConfigSource({ provider, profile: 'routing', fallbackPath: bundledPath, clock, logger: logs.logger, ...options });
  /** Pushes a new version and lets maxAge pass, so the next `current()` takes it up (or not). */
  const push = (next: unknown) => {
    state.content = JSON.stringify(next);
    clock.advance(60_000);
  };
  return { source, logs, push };
}

describe('AppConfig versions in a production stage', () => {
  it('refuses a pushed version with a simulated provider, logs why, and keeps the config in use', async () => {
    const { source, logs, push } = sourceWith(openaiConfig('first'), { refuseInsecure: true });
    const first = await source.current();
    push(simulatedConfig);

    const after = await source.current();

    assert.equal(after, first);
    assert.deepEqual([...after.config.routes.keys()], ['first']);
    const record = logs.records().find((r) => r['level'] === 'ERROR');
    assert.match(String(record?.['message']), /refused in production; keeping the config in use/);
    assert.deepEqual(record?.['findings'], ['providers.sim is a simulated provider', 'routes.sim sends to a simulated provider']);
  });

  it('refuses plain tenant keys without logging the key, and takes up the next fit version', async () => {
    const { source, logs, push } = sourceWith(openaiConfig('first'), { refuseInsecure: true });
    await source.current();
    push(openaiConfig('with-key', { keys: [PLAIN_KEY] }));
    assert.deepEqual([...(await source.current()).config.routes.keys()], ['first']);
    assert.ok(!logs.text().includes(PLAIN_KEY), 'the key itself is never logged');
    assert.match(logs.text(), /tenants\.demo\.keys holds 1 plain virtual key/);

    push(openaiConfig('fixed'));
    const fixed = await source.current();
    assert.deepEqual([...fixed.config.routes.keys()], ['fixed']);
    assert.equal(fixed.version, 2);
  });

  it('serves the bundled file when the version AppConfig has at cold start is refused', async () => {
    const { source, logs } = sourceWith(simulatedConfig, { refuseInsecure: true });

    const snapshot = await source.current();

    assert.equal(snapshot.origin, 'bundled');
    assert.deepEqual([...snapshot.config.routes.keys()], ['bundled']);
    assert.match(String(logs.records().find((r) => r['level'] === 'ERROR')?.['message']), /refused in production; using the bundled config/);
  });

  it('takes the same version up outside production (or with allowInsecureConfig)', async () => {
    const { source, push } = sourceWith(openaiConfig('first'));
    await source.current();
    push(simulatedConfig);
    assert.deepEqual([...(await source.current()).config.routes.keys()], ['sim']);
  });
});

describe('AppConfig versions naming Bedrock models the stack did not grant', () => {
  const granted: BedrockGrant = { anyModel: false, entries: new Set(['amazon.nova-lite-v1:0@us-east-1']) };
  const warnings = (logs: ReturnType<typeof capturingLogger>) => logs.records().filter((r) => r['level'] === 'WARN');

  it('takes the version up with a warning naming the model and region', async () => {
    const { source, logs, push } = sourceWith(bedrockConfig([{ provider: 'aws', override_params: { model: 'amazon.nova-lite-v1:0' } }]), { bedrockGrant: granted });
    await source.current();
    assert.deepEqual(warnings(logs), [], 'the granted model warns nothing');
    push(bedrockConfig([{ provider: 'aws', override_params: { model: 'anthropic.claude-3-haiku-20240307-v1:0' } }]));

    const snapshot = await source.current();

    assert.equal(snapshot.version, 2, 'taken up: its other routes work, and IAM is not the function to widen');
    const [warning] = warnings(logs);
    assert.match(String(warning?.['message']), /not granted/);
    assert.deepEqual(warning?.['ungrantedBedrockModels'], ['routes.default: model anthropic.claude-3-haiku-20240307-v1:0 in us-east-1']);
  });

  it("warns about a target passing the client's model through unless the grant is broad", async () => {
    const passThrough = bedrockConfig([{ provider: 'aws' }]);
    const narrow = sourceWith(passThrough, { bedrockGrant: granted });
    await narrow.source.current();
    assert.match(JSON.stringify(warnings(narrow.logs)[0]?.['ungrantedBedrockModels']), /the client's model in us-east-1/);

    const broad = sourceWith(passThrough, { bedrockGrant: { anyModel: true } });
    await broad.source.current();
    assert.deepEqual(warnings(broad.logs), []);
  });

  it('reads the grant the stack sets', () => {
    assert.equal(bedrockGrantFromEnv({}), undefined);
    assert.deepEqual(bedrockGrantFromEnv({ [BEDROCK_GRANT_ENV]: '*' }), { anyModel: true });
    assert.deepEqual(bedrockGrantFromEnv({ [BEDROCK_GRANT_ENV]: 'none' }), { anyModel: false, entries: new Set() });
    assert.deepEqual(bedrockGrantFromEnv({ [BEDROCK_GRANT_ENV]: 'a.b-v1:0@us-east-1,c.d@eu-west-1' }), {
      anyModel: false,
      entries: new Set(['a.b-v1:0@us-east-1', 'c.d@eu-west-1']),
    });
  });
});
