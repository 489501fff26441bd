/**
 * How deeply a parsed JSON value nests, counted without recursion so a hostile body cannot
 * overflow the stack here (JSON.parse copes with 10,000 levels; JSON.stringify does not).
 * Stops counting once past `limit`. Only objects and arrays go on the stack, and arrays are
 * walked by index: a body of two million numbers is one typeof check each (a few ms), not two
 * million stack entries and an `Object.values` copy (over 200 ms).
 */
export function exceedsJsonDepth(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const child: unknown = current[i];
        if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
      }
    } else {
      for (const key of Object.keys(current)) {
        const child: unknown = (current as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
      }
    }
  }
  return false;
}
