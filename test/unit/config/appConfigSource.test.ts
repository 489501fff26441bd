import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { APPCONFIG_ENV, appConfigLocationFromEnv } from '../../../shared/config/appConfigEnv';
import { appConfigSourceFromEnv } from '../../../shared/config/appConfigFromEnv';
import { AppConfigSource, type ConfigContentProvider } from '../../../shared/config/appConfigSource';
import { rebuildOnChange } from '../../../shared/config/rebuildOnChange';
import { capturingLogger } from '../../support/capturingLogger';
import { fakeClock } from '../../support/fakeClock';

// There is no AppConfig emulator: the provider is a fake standing in for Powertools'
// AppConfigProvider (its `get(profile, { maxAge })`), answering with bytes as AppConfig does.

const configWith = (route: string): BreakwaterConfigInput => ({
  providers: { primary: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1', credential: 'openai' } },
  routes: { [route]: { strategy: { mode: 'single' }, targets: [{ provider: 'primary' }] } },
  tenants: { demo: { route } },
});
const bytes = (config: unknown) => new TextEncoder().encode(JSON.stringify(config));

/** A fake AppConfig: answers with `content` (or throws `failure`), counting calls. */
function fakeAppConfig(initial: Uint8Array | undefined) {
  const state = { content: initial, failure: undefined as Error | undefined, calls: 0, maxAges: [] as number[] };
  const provider: ConfigContentProvider = {
    get: async (profile, { maxAge }) => {
      assert.equal(profile, 'routing');
      state.calls += 1;
      state.maxAges.push(maxAge);
      if (state.failure) throw state.failure;
      return state.content;
    },
  };
  return { state, provider };
}

const dir = mkdtempSync(join(tmpdir(), 'breakwater-appconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bundledPath = join(dir, 'breakwater.config.json');
writeFileSync(bundledPath, JSON.stringify(configWith('bundled')));

function sourceWith(provider: ConfigContentProvider, options: { fallbackPath?: string } = {}) {
  const clock = fakeClock();
  const logs = capturingLogger();
  const source = new AppConfigSource({ provider, profile: 'routing', fallbackPath: options.fallbackPath ?? bundledPath, clock, logger: logs.logger });
  return { source, clock, logs };
}

describe('AppConfigSource', () => {
  it('compiles AppConfig\'s content at cold start', async () => {
    const { provider } = fakeAppConfig(bytes(configWith('from-appconfig')));
    const { source } = sourceWith(provider);

    const snapshot = await source.current();

    assert.equal(snapshot.origin, 'appconfig');
    assert.equal(snapshot.version, 1);
    assert.deepEqual([...snapshot.config.routes.keys()], ['from-appconfig']);
  });

  it('falls back to the bundled file when AppConfig fails at cold start, and logs it', async () => {
    const { state, provider } = fakeAppConfig(undefined);
    state.failure = new Error('AccessDeniedException: not authorized');
    const { source, logs } = sourceWith(provider);

    const snapshot = await source.current();

    assert.equal(snapshot.origin, 'bundled');
    assert.deepEqual([...snapshot.config.routes.keys()], ['bundled']);
    const record = logs.records().find((r) => r['level'] === 'ERROR');
    assert.match(String(record?.['message']), /using the bundled config/);
    assert.match(String(record?.['error']), /AccessDeniedException/);
  });

  it('falls back to the bundled file when AppConfig\'s content does not compile', async () => {
    const { provider } = fakeAppConfig(bytes({ routes: { x: { targets: [{ provider: 'missing' }] } } }));
    const { source } = sourceWith(provider);

    assert.equal((await source.current()).origin, 'bundled');
  });

  it('fails the cold start when neither AppConfig nor the bundled file gives a config', async () => {
    const { state, provider } = fakeAppConfig(undefined);
    state.failure = new Error('unreachable');
    const { source } = sourceWith(provider, { fallbackPath: join(dir, 'absent.json') });

    await assert.rejects(source.current(), /cannot read/);
  });

  it('asks AppConfig again only once maxAge has passed, and keeps the same config while the content is unchanged', async () => {
    const { state, provider } = fakeAppConfig(bytes(configWith('a')));
    const { source, clock } = sourceWith(provider);
    const first = await source.current();

    clock.advance(59_000);
    assert.equal(await source.current(), first);
    assert.equal(state.calls, 1);

    clock.advance(1_000);
    assert.equal(await source.current(), first, 'same content: same snapshot, nothing rebuilt');
    assert.equal(state.calls, 2);
    assert.deepEqual(state.maxAges, [60, 60]);
  });

  it('takes up a changed config after maxAge, without a redeploy', async () => {
    const { state, provider } = fakeAppConfig(bytes(configWith('a')));
    const { source, clock } = sourceWith(provider);
    await source.current();

    state.content = bytes(configWith('b'));
    clock.advance(60_000);
    const changed = await source.current();

    assert.equal(changed.origin, 'appconfig');
    assert.equal(changed.version, 2);
    assert.deepEqual([...changed.config.routes.keys()], ['b']);
  });

  it('moves from the bundled fallback to AppConfig once AppConfig answers', async () => {
    const { state, provider } = fakeAppConfig(undefined);
    state.failure = new Error('throttled');
    const { source, clock } = sourceWith(provider);
    assert.equal((await source.current()).origin, 'bundled');

    state.failure = undefined;
    state.content = bytes(configWith('recovered'));
    clock.advance(60_000);
    const snapshot = await source.current();

    assert.equal(snapshot.origin, 'appconfig');
    assert.deepEqual([...snapshot.config.routes.keys()], ['recovered']);
  });

  it('keeps the config in use when a refresh fails or delivers a config that does not compile', async () => {
    const { state, provider } = fakeAppConfig(bytes(configWith('good')));
    const { source, clock, logs } = sourceWith(provider);
    const good = await source.current();

    state.failure = new Error('network down');
    clock.advance(60_000);
    assert.equal(await source.current(), good);

    state.failure = undefined;
    state.content = new TextEncoder().encode('{ not json');
    clock.advance(60_000);
    assert.equal(await source.current(), good);

    const levels = logs.records().map((r) => `${r['level']} ${r['message']}`);
    assert.ok(levels.includes('WARN AppConfig refresh failed; keeping the config in use'), levels.join('\n'));
    assert.ok(levels.includes('ERROR AppConfig delivered a config that does not compile; keeping the config in use'), levels.join('\n'));
  });

  it('shares one fetch among concurrent callers', async () => {
    const { state, provider } = fakeAppConfig(bytes(configWith('a')));
    const { source } = sourceWith(provider);

    const snapshots = await Promise.all([source.current(), source.current(), source.current()]);

    assert.equal(state.calls, 1);
    assert.ok(snapshots.every((s) => s === snapshots[0]));
  });
});

describe('rebuildOnChange', () => {
  it('builds once per config and rebuilds when the config changed', async () => {
    const { state, provider } = fakeAppConfig(bytes(configWith('a')));
    const { source, clock } = sourceWith(provider);
    const built: string[] = [];
    const current = rebuildOnChange(source, (config) => {
      const name = [...config.routes.keys()].join();
      built.push(name);
      return name;
    });

    assert.equal(await current(), 'a');
    clock.advance(60_000);
    assert.equal(await current(), 'a');
    state.content = bytes(configWith('b'));
    clock.advance(60_000);
    assert.equal(await current(), 'b');

    assert.deepEqual(built, ['a', 'b']);
  });
});

describe('appConfigSourceFromEnv', () => {
  const clock = fakeClock();
  const { logger } = capturingLogger();

  it('is off (undefined) unless all three env vars are set', async () => {
    assert.equal(appConfigLocationFromEnv({ [APPCONFIG_ENV.APPLICATION]: 'app', [APPCONFIG_ENV.ENVIRONMENT]: 'dev' }), undefined);
    assert.equal(await appConfigSourceFromEnv({ fallbackPath: bundledPath, clock, logger, env: {} }), undefined);
  });

  it('reads through Powertools\' AppConfigProvider when they are', async () => {
    const env = { [APPCONFIG_ENV.APPLICATION]: 'app', [APPCONFIG_ENV.ENVIRONMENT]: 'dev', [APPCONFIG_ENV.PROFILE]: 'routing' };
    assert.deepEqual(appConfigLocationFromEnv(env), { application: 'app', environment: 'dev', profile: 'routing' });
    assert.ok((await appConfigSourceFromEnv({ fallbackPath: bundledPath, clock, logger, env })) instanceof AppConfigSource);
  });
});

/**
 * AppConfigData's two calls as a local HTTP endpoint (there is no AppConfig emulator): enough
 * of the wire protocol to run Powertools' real AppConfigProvider and SDK client through
 * appConfigSourceFromEnv. An empty body means "unchanged since your token", as AppConfig says it.
 */
async function startFakeAppConfigData(content: () => string | undefined) {
  const sessions: string[] = [];
  let polls = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/configurationsessions') {
        const input = JSON.parse(body) as { ApplicationIdentifier: string; EnvironmentIdentifier: string; ConfigurationProfileIdentifier: string };
        sessions.push(`${input.ApplicationIdentifier}/${input.EnvironmentIdentifier}/${input.ConfigurationProfileIdentifier}`);
        response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ InitialConfigurationToken: 'token-0' }));
        return;
      }
      if (request.method === 'GET' && request.url?.startsWith('/configuration?')) {
        polls += 1;
        const text = content() ?? '';
        response
          .writeHead(200, { 'content-type': 'application/json', 'next-poll-configuration-token': `token-${polls}`, 'next-poll-interval-in-seconds': '60' })
          .end(text);
        return;
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions,
    polls: () => polls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('appConfigSourceFromEnv over the AppConfigData wire protocol', () => {
  it('reads, caches and picks up a change through Powertools\' AppConfigProvider', async (t) => {
    let current: string | undefined = JSON.stringify(configWith('first'));
    const fake = await startFakeAppConfigData(() => current);
    t.after(() => fake.close());
    const saved = { ...process.env };
    t.after(() => {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    });
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_APPCONFIGDATA: fake.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret-not-real',
    });
    const env = { [APPCONFIG_ENV.APPLICATION]: 'app-id', [APPCONFIG_ENV.ENVIRONMENT]: 'dev', [APPCONFIG_ENV.PROFILE]: 'routing' };
    const clock = fakeClock();
    const source = await appConfigSourceFromEnv({ fallbackPath: bundledPath, clock, logger: capturingLogger().logger, env });
    assert.ok(source);

    const first = await source.current();
    assert.equal(first.origin, 'appconfig');
    assert.deepEqual([...first.config.routes.keys()], ['first']);
    assert.deepEqual(fake.sessions, ['app-id/dev/routing']);

    // Within maxAge: no call at all. Past it, AppConfig says "unchanged" (an empty body).
    assert.equal(await source.current(), first);
    assert.equal(fake.polls(), 1);
    current = undefined;
    clock.advance(60_000);
    assert.equal(await source.current(), first);

    current = JSON.stringify(configWith('second'));
    clock.advance(60_000);
    const second = await source.current();
    assert.deepEqual([...second.config.routes.keys()], ['second']);
    assert.equal(second.version, 2);
    assert.equal(fake.polls(), 3, 'one GetLatestConfiguration per maxAge');
    assert.equal(fake.sessions.length, 1, 'one session, its token carried from poll to poll');
  });
});
