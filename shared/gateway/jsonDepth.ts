/**
 * How deeply a parsed JSON value nests, counted without recursion so a hostile body cannot
 * overflow the stack here (JSON.parse copes with 10,000 levels; JSON.stringify does not).
 * Stops counting once past `limit`.
 */
export function exceedsJsonDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
