import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it, mock } from 'node:test';
import * as z from 'zod';
import { BUNDLED_CONFIG_FILE, breakwaterBundling } from '../../../lib/BreakwaterNodejsFunction';
import { REPO_ROOT } from '../../../lib/paths';
import { circuitBreakerConfigSchema } from '../../../shared/breaker/config';
import { pricesSchema } from '../../../shared/budget/prices';
import { cacheConfigSchema } from '../../../shared/cache/cacheConfig';
import {
  compileConfig,
  ConfigError,
  configSchema,
  loadConfigFile,
  providerSchema,
  retrySchema,
  settingsSchema,
  strategySchema,
  targetSchema,
  tenantSchema,
  validateConfig,
  type BreakwaterConfigInput,
} from '../../../shared/config';
import { parsedConfigFileText, parsedConfigMarker, parsedConfigPath } from '../../../shared/config/parsedConfig';
import { keyPolicySchema } from '../../../shared/keys/keyPolicy';
import { mcpServerSchema } from '../../../shared/mcp/mcpConfig';
import { restToolSchema } from '../../../shared/mcp/restToolConfig';
import { highStakesSchema, serviceAuthSchema, servicePermissionSchema, serviceSchema } from '../../../shared/tools/serviceConfig';

/** A config touching every part of the schema: defaults, unions, records, nested targets. */
const fullConfig = (): BreakwaterConfigInput => ({
  providers: {
    primary: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1', credential: 'openai', headers: { 'api-version': '1' } },
    backup: { type: 'anthropic', credential: 'anthropic' },
    sim: { type: 'simulated', failure_rate: 0.1, status_mix: { '429': 1, timeout: 2 } },
    aws: { type: 'bedrock', region: 'eu-west-1' },
  },
  routes: {
    default: {
      strategy: { mode: 'fallback', on_status_codes: [429, 503] },
      retry: { attempts: 2, backoff: 'equal' },
      circuit_breaker: { failure_threshold: 3, cooldown_interval: 1_000 },
      cache: { mode: 'simple' },
      stream_recovery: 'continue',
      targets: [
        { provider: 'primary', override_params: { model: 'gpt-4o-mini', temperature: 0 } },
        { strategy: { mode: 'loadbalance' }, targets: [{ provider: 'sim', weight: 2 }, { provider: 'backup', weight: 1 }] },
        { provider: 'openai', custom_host: 'http://127.0.0.1:9002/v1' },
      ],
    },
    other: { provider: 'aws', override_params: { model: 'anthropic.claude-3-haiku' } },
  },
  services: {
    weather: {
      base_url: 'https://api.weather.test',
      auth: { type: 'api_key', secret: 'weather-key' },
      high_stakes: [{ method: 'POST', path: '/alerts/**', amount_field: 'n', threshold: 5 }],
      tools: [{ name: 'forecast', description: 'The forecast', method: 'GET', path: '/forecast/{city}' }],
      loop_detection: {},
    },
    calendar: {
      base_url: 'https://calendar.test',
      auth: { type: 'oauth_user', secret: 'cal-app', authorize_url: 'https://calendar.test/auth', token_url: 'https://calendar.test/token' },
    },
  },
  mcp_servers: { docs: { url: 'https://mcp.docs.test/mcp', auth: { type: 'bearer', secret: 'docs-token' } } },
  tenants: {
    demo: {
      route: 'default',
      allowed_routes: ['other'],
      keys: ['bw_test_demo_key_0001_local_only_x'],
      rpm_limit: 60,
      daily_budget_usd: 5,
      service_permissions: { weather: { methods: ['GET'], paths: ['/forecast/*'] } },
      credential_overrides: { primary: 'demo-openai' },
    },
  },
  prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
  settings: { retry_budget: { ratio: 0.2 } },
});

const dir = mkdtempSync(join(tmpdir(), 'breakwater-parsed-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => mock.restoreAll());

let caseNumber = 0;
/** Writes `raw` as a config file in a directory of its own; with `parsed`, the parsed file beside it too. */
function configFiles(raw: unknown, parsed?: (rawText: string) => string): string {
  const caseDir = join(dir, `case-${++caseNumber}`);
  mkdirSync(caseDir);
  const path = join(caseDir, BUNDLED_CONFIG_FILE);
  const rawText = JSON.stringify(raw, null, 2);
  writeFileSync(path, rawText);
  if (parsed) writeFileSync(parsedConfigPath(path), parsed(rawText));
  return path;
}

/** The parsed file as the bundling step writes it. */
const asBundled = (rawText: string) => parsedConfigFileText(rawText, validateConfig(JSON.parse(rawText)));

/** Counts the config schema's runs, whichever of parse/safeParse starts them (a pre-parsed file must need none). */
function countSchemaRuns(): () => number {
  const run = mock.method(configSchema._zod, 'run');
  return () => run.mock.callCount();
}

describe('the config pre-validated at synth (parsed file beside the bundled one)', () => {
  it('is used when its marker matches: no schema run, the same compiled config', async () => {
    const expected = compileConfig(fullConfig());
    const path = configFiles(fullConfig(), asBundled);
    const schemaRuns = countSchemaRuns();

    const config = await loadConfigFile(path);

    assert.equal(schemaRuns(), 0);
    assert.deepEqual(config, expected);
  });

  it('falls back to full validation when the raw file changed after the parsed one was written', async () => {
    const edited = fullConfig();
    edited.settings = { max_request_ms: 5_000 };
    const path = configFiles(edited, () => asBundled(JSON.stringify(fullConfig(), null, 2)));
    const schemaRuns = countSchemaRuns();

    const config = await loadConfigFile(path);

    assert.equal(schemaRuns(), 1);
    assert.equal(config.settings.max_request_ms, 5_000);
  });

  it('falls back to full validation on a wrong, missing or unreadable marker, or no parsed file', async () => {
    const rewrap = (marker: unknown) => (rawText: string) => JSON.stringify({ ...JSON.parse(asBundled(rawText)), breakwater_parsed: marker });
    const variants: Array<[string, ((rawText: string) => string) | undefined]> = [
      ['no parsed file', undefined],
      ['a wrong marker', rewrap('0'.repeat(64))],
      ['no marker', rewrap(undefined)],
      ['a marker of another format', rewrap(parsedConfigMarker('{}'))],
      ['not JSON', () => '{"breakwater_parsed":'],
      ['JSON null', () => 'null'],
    ];
    for (const [name, parsed] of variants) {
      const path = configFiles(fullConfig(), parsed);
      const schemaRuns = countSchemaRuns();
      const config = await loadConfigFile(path);
      assert.equal(schemaRuns(), 1, name);
      mock.restoreAll();
      assert.deepEqual(config, compileConfig(fullConfig()), name);
    }
  });

  it('still runs the checks across fields (routes, providers, keys) on a pre-parsed config', async () => {
    const path = configFiles(fullConfig(), (rawText) => {
      const config = validateConfig(JSON.parse(rawText));
      return parsedConfigFileText(rawText, { ...config, tenants: { demo: { ...config.tenants['demo']!, route: 'nowhere' } } });
    });
    await assert.rejects(loadConfigFile(path), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues, [{ path: 'tenants.demo.route', message: 'unknown route "nowhere"' }]);
      return true;
    });
  });

  it('an invalid file without a matching parsed form fails with the schema’s messages, as before', async () => {
    const path = configFiles({ routes: { r: { provider: 'openai', retry: { attempts: 11 } } }, tenants: {}, extra: 1 });
    await assert.rejects(loadConfigFile(path), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ['routes.r.retry.attempts', ''],
      );
      assert.match(error.message, /routes\.r\.retry\.attempts: Too big: expected number to be <=10/);
      assert.match(error.message, /\(root\): Unrecognized key: "extra"/);
      return true;
    });
  });

  it("the schema's output is plain JSON (it survives the parsed file unchanged)", () => {
    for (const raw of [fullConfig(), JSON.parse(readFileSync(join(REPO_ROOT, 'breakwater.config.json'), 'utf8'))]) {
      const config = validateConfig(raw);
      assert.deepStrictEqual(JSON.parse(JSON.stringify(config)), config);
    }
  });
});

describe('the bundling step writes the parsed config beside the bundled one', () => {
  const configPath = join(dir, 'source.json');
  writeFileSync(configPath, JSON.stringify(fullConfig()));
  const afterBundling = (outputDir: string) => breakwaterBundling(configPath).commandHooks!.afterBundling(REPO_ROOT, outputDir);

  it('with the marker of the copy, which the cold start then uses without the schema', async () => {
    const outputDir = mkdtempSync(join(dir, 'asset-'));
    for (const command of afterBundling(outputDir)) execFileSync('bash', ['-c', command], { stdio: 'pipe' });

    const bundled = join(outputDir, BUNDLED_CONFIG_FILE);
    const file = JSON.parse(readFileSync(parsedConfigPath(bundled), 'utf8'));
    assert.equal(file.breakwater_parsed, parsedConfigMarker(readFileSync(bundled, 'utf8')));
    assert.deepEqual(file.config, validateConfig(fullConfig()));
    const expected = compileConfig(fullConfig());
    const schemaRuns = countSchemaRuns();
    assert.deepEqual(await loadConfigFile(bundled), expected);
    assert.equal(schemaRuns(), 0);
  });

  it('fails the bundling on an invalid config, naming the field (never its value)', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ routes: {}, tenants: { t: { route: 'r', keys: ['sk-test-not-a-virtual-key'] } } }));
    const outputDir = mkdtempSync(join(dir, 'asset-'));
    const command = breakwaterBundling(bad).commandHooks!.afterBundling(REPO_ROOT, outputDir).find((c) => c.includes('writeParsedConfig'));
    assert.ok(command);
    const result = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /tenants\.t\.keys\[0\]/);
    assert.doesNotMatch(result.stderr, /sk-test-not-a-virtual-key/);
  });
});

describe('config schemas are built on first use, not at import', () => {
  it('every schema the config composes is lazy', () => {
    const schemas = {
      configSchema,
      providerSchema,
      targetSchema,
      retrySchema,
      strategySchema,
      tenantSchema,
      settingsSchema,
      serviceSchema,
      serviceAuthSchema,
      servicePermissionSchema,
      highStakesSchema,
      mcpServerSchema,
      restToolSchema,
      keyPolicySchema,
      circuitBreakerConfigSchema,
      cacheConfigSchema,
      pricesSchema,
    };
    for (const [name, schema] of Object.entries(schemas)) assert.ok(schema instanceof z.ZodLazy, `${name} is built at import`);
  });
});
