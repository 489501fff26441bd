import type { RandomSource } from '../resilience';
import type { GroupNode, RouteNode } from './routePlan';

/**
 * The order in which a group's children are tried.
 * - `single`: the first child only.
 * - `fallback`: config order.
 * - `loadbalance`: a weighted draw without replacement, so the first pick follows the weights
 *   and, if it fails with a fallback status, the rest are tried in weighted order too
 *   (Portkey tries only the pick; trying the others is what a caller would want from a gateway).
 */
export function orderChildren(group: GroupNode, random: RandomSource): readonly RouteNode[] {
  switch (group.mode) {
    case 'single':
      return group.children.slice(0, 1);
    case 'fallback':
      return group.children;
    case 'loadbalance':
      return weightedOrder(group.children, random);
  }
}

export function weightedOrder(children: readonly RouteNode[], random: RandomSource): RouteNode[] {
  const pool = children.filter((child) => child.weight > 0);
  const ordered: RouteNode[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, child) => sum + child.weight, 0);
    let draw = random() * total;
    let index = pool.findIndex((child) => (draw -= child.weight) < 0);
    if (index === -1) index = pool.length - 1; // floating-point edge when random() is ~1
    ordered.push(...pool.splice(index, 1));
  }
  return ordered;
}
