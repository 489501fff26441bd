import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../../../shared/config';
import { breakerKey, leaves, targetKey } from '../../../shared/routing';

describe('breakerKey', () => {
  const config = compileConfig({
    providers: { shared: { type: 'openai', base_url: 'https://api.example.com/v1', credential: 'platform-openai' } },
    routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'shared', override_params: { model: 'gpt-test' } }] } },
    tenants: { t: { route: 'main', keys: ['bw_test_breaker_key_0001_xxxxxxx'] } },
  });
  const target = leaves(config.routes.get('main')!)[0]!;

  it("the provider's own credential keeps the plain target key (the fleet's existing breaker)", () => {
    assert.equal(breakerKey(target, 'gpt-test'), targetKey(target, 'gpt-test'));
    assert.equal(breakerKey(target, 'gpt-test', 'platform-openai'), targetKey(target, 'gpt-test'));
  });

  it("a tenant's own credential (BYOK) gets a breaker of its own, named by the secret, never its value", () => {
    const own = breakerKey(target, 'gpt-test', 'tenant-a-openai');
    assert.equal(own, 'shared|gpt-test|https://api.example.com/v1|credential:tenant-a-openai');
    assert.notEqual(own, breakerKey(target, 'gpt-test', 'tenant-b-openai'));
  });
});
