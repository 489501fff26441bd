import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../../../shared/config';
import { orderChildren, type GroupNode, type TargetNode } from '../../../shared/routing';
import { scriptedRandom } from '../../support/fakeClock';

function group(mode: 'single' | 'fallback' | 'loadbalance', weights: number[]): GroupNode {
  const config = compileConfig({
    providers: { p: { type: 'simulated' } },
    routes: {
      r: { strategy: { mode }, targets: weights.map((weight, i) => ({ provider: 'p', weight, override_params: { model: `m${i}` } })) },
    },
    tenants: { t: { route: 'r', keys: ['bw_test_key_000000001_xxxxxxxxxx'] } },
  });
  return config.routes.get('r') as GroupNode;
}

const models = (nodes: readonly unknown[]) => nodes.map((node) => (node as TargetNode).model);

describe('orderChildren', () => {
  it('fallback keeps config order; single takes the first only', () => {
    assert.deepEqual(models(orderChildren(group('fallback', [1, 1, 1]), Math.random)), ['m0', 'm1', 'm2']);
    assert.deepEqual(models(orderChildren(group('single', [1, 1]), Math.random)), ['m0']);
  });

  it('loadbalance picks by weight, then orders the rest by weight too', () => {
    const g = group('loadbalance', [1, 3]);
    // total 4: a draw under 1/4 picks m0, above picks m1.
    assert.deepEqual(models(orderChildren(g, scriptedRandom(0.1, 0))), ['m0', 'm1']);
    assert.deepEqual(models(orderChildren(g, scriptedRandom(0.3, 0))), ['m1', 'm0']);
  });

  it('loadbalance follows the weights within 2% over 20,000 draws and never picks weight 0', () => {
    const g = group('loadbalance', [5, 3, 2, 0]);
    const counts: Record<string, number> = {};
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const first = models(orderChildren(g, random))[0]!;
      counts[first] = (counts[first] ?? 0) + 1;
    }
    assert.ok(Math.abs(counts.m0! / 20_000 - 0.5) < 0.02, `m0 ${counts.m0}`);
    assert.ok(Math.abs(counts.m1! / 20_000 - 0.3) < 0.02, `m1 ${counts.m1}`);
    assert.ok(Math.abs(counts.m2! / 20_000 - 0.2) < 0.02, `m2 ${counts.m2}`);
    assert.equal(counts.m3, undefined);
  });
});
