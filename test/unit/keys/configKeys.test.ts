import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig, ConfigError } from '../../../shared/config';

const SHORT_KEY = 'bw_test_only_31_characters_long';
const configWith = (keys: string[]) => ({
  providers: { sim: { type: 'simulated' as const } },
  routes: { main: { strategy: { mode: 'single' as const }, targets: [{ provider: 'sim' }] } },
  tenants: { acme: { route: 'main', keys } },
});

describe('config tenants.*.keys', () => {
  it('refuses a key shorter than 32 characters, naming where without quoting the key', () => {
    assert.equal(SHORT_KEY.length, 31);
    let error: unknown;
    try {
      compileConfig(configWith(['bw_test_0123456789abcdefghijklmn', SHORT_KEY]));
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues, [{ path: 'tenants.acme.keys[1]', message: 'virtual keys are at least 32 characters' }]);
    assert.ok(!error.message.includes(SHORT_KEY));
  });

  it('accepts the demo key and any key of 32 characters or more', () => {
    const config = compileConfig(configWith(['bw_test_demo_key_0001_local_only_x', 'bw_test_0123456789abcdefghijklmn']));
    assert.equal(config.tenants.get('acme')!.keys.length, 2);
  });
});
