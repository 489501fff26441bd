import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileConfig } from '../../../shared/config';

describe('the README', () => {
  it('shows a config example that the gateway accepts', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const example = readme.split('## Configuration')[1]?.split('```json')[1]?.split('```')[0];
    assert.ok(example, 'the Configuration section has a JSON example');
    const config = compileConfig(JSON.parse(example));
    assert.deepEqual([...config.routes.keys()], ['default']);
    assert.equal(config.routeOptions.get('default')?.cache?.max_age, 3600);
    assert.equal(config.tenants.get('demo')?.policy.daily_budget_usd, 20);
  });
});
