import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textNestsDeeperThan } from '../../../shared/middleware';
import { exceedsJsonDepth } from '../../../shared/gateway/jsonDepth';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('textNestsDeeperThan: the depth of JSON text, read before parsing', () => {
  const cases: Array<[name: string, text: string, limit: number, deeper: boolean]> = [
    ['64 levels against 64', nested(64), 64, false],
    ['65 levels against 64', nested(65), 64, true],
    ['objects and arrays alike', `{"a":${nested(3)}}`, 3, true],
    ['brackets inside a string do not count', `{"a":"${'['.repeat(100)}"}`, 1, false],
    ['an escaped quote does not end the string', `{"a":"\\"${'{'.repeat(100)}"}`, 1, false],
    ['an escaped backslash before the closing quote', `{"a":"\\\\","b":${nested(2)}}`, 2, true],
    ['a million levels, never closed', '['.repeat(1_000_000), 64, true],
    ['malformed text is left to the parser', ']]]]', 1, false],
  ];
  for (const [name, text, limit, deeper] of cases) {
    it(name, () => {
      assert.equal(textNestsDeeperThan(text, limit), deeper);
      // Where the text parses, it agrees with the check on the parsed value.
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      assert.equal(exceedsJsonDepth(parsed, limit), deeper);
    });
  }
});
