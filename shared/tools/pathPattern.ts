import { ENCODED_SLASH } from './safePath';

/**
 * Path patterns of key permissions and `high_stakes` rules: `/v1/customers/*` (`*` is one
 * segment), `/v1/files/**` (`**` any number of segments, none included). Matched against the
 * call's decoded segments, after {@link checkToolPath} refused every traversal trick, so a
 * pattern cannot be walked out of with `..` or an encoded slash.
 *
 * On a service with `allow_encoded_slashes`, an encoded slash stays inside its segment, as the
 * API reads it: `/projects/*` matches `/projects/group%2Fproject` (one segment), a pattern
 * with two `*` after `/projects` does not. A pattern names such a segment literally with `%2F` or
 * `%2f` (`/projects/group%2Fproject/` then `**`).
 */
export function matchesPathPattern(pattern: string, segments: readonly string[]): boolean {
  return matchFrom(splitPath(pattern).map(withCanonicalSlashes), 0, segments, 0);
}

/** Checked segments spell an encoded slash `%2F`; a pattern may write `%2f`. */
const withCanonicalSlashes = (part: string): string => part.replace(/%2f/gi, ENCODED_SLASH);

/** The first of `patterns` that matches, or undefined. */
export function firstMatchingPattern(patterns: readonly string[], segments: readonly string[]): string | undefined {
  return patterns.find((pattern) => matchesPathPattern(pattern, segments));
}

/** `/a/b/` → `['a', 'b']`: a trailing slash does not make a different path for a pattern. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((segment, index, all) => segment !== '' || (index > 0 && index < all.length - 1));
}

function matchFrom(pattern: readonly string[], p: number, segments: readonly string[], s: number): boolean {
  if (p === pattern.length) return s === segments.length;
  const part = pattern[p]!;
  if (part === '**') {
    // Patterns hold a few `**` at most; trying each split is cheap and exact.
    for (let next = s; next <= segments.length; next++) if (matchFrom(pattern, p + 1, segments, next)) return true;
    return false;
  }
  if (s === segments.length) return false;
  if (part !== '*' && part !== segments[s]) return false;
  return matchFrom(pattern, p + 1, segments, s + 1);
}
