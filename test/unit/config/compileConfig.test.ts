import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig, ConfigError, DEFAULT_RETRY, type BreakwaterConfigInput } from '../../../shared/config';
import type { GroupNode, TargetNode } from '../../../shared/routing';

const base = (): BreakwaterConfigInput => ({
  providers: {
    primary: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1', credential: 'openai' },
    backup: { type: 'anthropic', credential: 'anthropic' },
  },
  routes: {
    default: {
      strategy: { mode: 'fallback', on_status_codes: [429, 500, 502, 503, 504] },
      retry: { attempts: 3, use_retry_after_header: true },
      request_timeout: 10_000,
      targets: [
        { provider: 'primary', override_params: { model: 'gpt-4o-mini' } },
        { provider: 'backup', override_params: { model: 'claude-haiku-4-5' } },
      ],
    },
  },
  tenants: { demo: { route: 'default', keys: ['bw_test_demo_key_0001_local_only_x'] } },
});

function issuesOf(config: unknown): string[] {
  try {
    compileConfig(config);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('compileConfig', () => {
  it('compiles the issue’s example config', () => {
    const config = compileConfig(base());
    const route = config.routes.get('default') as GroupNode;
    assert.equal(route.kind, 'group');
    assert.equal(route.mode, 'fallback');
    assert.deepEqual([...route.fallbackOn], [429, 500, 502, 503, 504]);
    const [primary, backup] = route.children as TargetNode[];
    assert.equal(primary!.model, 'gpt-4o-mini');
    assert.equal(primary!.retry.attempts, 3);
    assert.equal(backup!.requestTimeoutMs, 10_000);
    assert.equal(backup!.provider.type, 'anthropic');
    assert.equal(config.settings.max_request_ms, 300_000);
  });

  it('nested targets inherit retry, timeout and fallback statuses, and can override them', () => {
    const config = base();
    config.routes.default!.targets = [
      {
        strategy: { mode: 'loadbalance' },
        request_timeout: 2_000,
        targets: [
          { provider: 'primary', weight: 2, override_params: { model: 'a' } },
          { provider: 'primary', weight: 1, retry: { attempts: 0 }, override_params: { model: 'b' } },
        ],
      },
      { provider: 'backup', override_params: { model: 'c' } },
    ];
    const route = compileConfig(config).routes.get('default') as GroupNode;
    const inner = route.children[0] as GroupNode;
    const [a, b] = inner.children as TargetNode[];
    assert.equal(inner.mode, 'loadbalance');
    assert.deepEqual([...inner.fallbackOn], [429, 500, 502, 503, 504]);
    assert.equal(a!.retry.attempts, 3, 'inherited from the route');
    assert.equal(a!.requestTimeoutMs, 2_000, 'inherited from the group');
    assert.equal(a!.weight, 2);
    assert.equal(b!.retry.attempts, 0, 'own setting wins');
    assert.equal(b!.retry.useRetryAfterHeader, true, 'unset fields still inherit');
    assert.equal((route.children[1] as TargetNode).requestTimeoutMs, 10_000);
  });

  it('uses the defaults when a route says nothing', () => {
    const config = base();
    config.routes.default = { provider: 'primary' };
    const target = compileConfig(config).routes.get('default') as TargetNode;
    assert.equal(target.retry, DEFAULT_RETRY);
    assert.equal(target.model, undefined, 'the client’s model is used');
  });

  it('accepts Portkey inline targets: provider as a type and custom_host', () => {
    const config = base();
    config.routes.default = { provider: 'openai', custom_host: 'http://127.0.0.1:11434/v1', override_params: { model: 'llama3' } };
    const target = compileConfig(config).routes.get('default') as TargetNode;
    assert.equal(target.provider.type, 'openai');
    assert.deepEqual(target.provider, { type: 'openai', base_url: 'http://127.0.0.1:11434/v1', credential: 'openai' });
  });

  it('names the path of an unknown provider', () => {
    const config = base();
    config.routes.default!.targets![1]!.provider = 'nope';
    const [issue] = issuesOf(config);
    assert.match(issue!, /^routes\.default\.targets\[1\]\.provider: unknown provider "nope"/);
  });

  it('names the path of a wrongly typed field', () => {
    const config = base() as unknown as { routes: { default: { retry: { attempts: unknown } } } };
    config.routes.default.retry.attempts = 'three';
    assert.match(issuesOf(config)[0]!, /^routes\.default\.retry\.attempts: /);
  });

  it('rejects an API key pasted into the config and says where it goes', () => {
    const config = base();
    (config.routes.default!.targets![0] as Record<string, unknown>).api_key = 'sk-test-pasted';
    const [issue] = issuesOf(config);
    assert.match(issue!, /^routes\.default\.targets\[0\]\.api_key: keys never go in the config file/);
    assert.ok(!issue!.includes('sk-test-pasted'));
  });

  it('rejects unknown fields, a tenant’s unknown route and a key shared by two tenants', () => {
    const config = base() as BreakwaterConfigInput & { routes: Record<string, Record<string, unknown>> };
    config.routes.default!.retries = 3;
    assert.match(issuesOf(config)[0]!, /^routes\.default: Unrecognized key: "retries"/);

    const other = base();
    other.tenants.demo!.route = 'missing';
    other.tenants.second = { route: 'default', keys: ['bw_test_demo_key_0001_local_only_x'] };
    assert.deepEqual(issuesOf(other), [
      'tenants.demo.route: unknown route "missing"',
      'tenants.second.keys[0]: key already belongs to tenant "demo"',
    ]);
  });

  it('rejects a group without strategy and a target with neither provider nor targets', () => {
    const config = base();
    config.routes.default = { targets: [{ provider: 'primary' }] };
    assert.deepEqual(issuesOf(config), ['routes.default.strategy: nested `targets` need a `strategy`']);
    config.routes.default = { override_params: { model: 'x' } };
    assert.deepEqual(issuesOf(config), ['routes.default.provider: a target needs `provider` (or nested `targets`)']);
  });

  it('stream timeouts: first token defaults to the attempt timeout, both inherit; stream_recovery sits on the route only', () => {
    const config = base();
    config.routes.default!.stream_idle_timeout = 2_000;
    config.routes.default!.stream_recovery = 'continue';
    config.routes.default!.targets![1] = { provider: 'backup', stream_first_token_timeout: 500 };
    const compiled = compileConfig(config);
    const [primary, backup] = (compiled.routes.get('default') as GroupNode).children as TargetNode[];
    assert.deepEqual(primary!.stream, { firstTokenTimeoutMs: 10_000, idleTimeoutMs: 2_000 });
    assert.deepEqual(backup!.stream, { firstTokenTimeoutMs: 500, idleTimeoutMs: 2_000 });
    assert.equal(compiled.routeOptions.get('default')!.streamRecovery, 'continue');

    config.routes.default!.targets![0] = { provider: 'primary', stream_recovery: 'continue' };
    assert.deepEqual(issuesOf(config), ['routes.default.targets[0].stream_recovery: stream_recovery is set on the route itself, not on a nested target']);
  });

  it('ships a demo config that compiles', async () => {
    const { loadConfigFile } = await import('../../../shared/config');
    const config = await loadConfigFile('breakwater.config.json');
    assert.ok(config.routes.has('default'));
    assert.equal([...config.tenants.values()][0]!.keys[0], 'bw_test_demo_key_0001_local_only_x');
  });
});
