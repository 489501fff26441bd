/**
 * The audit line's path template when no permission or high-stakes pattern named the call: the
 * path with its ids replaced by `{id}`, so lines group by operation and carry no customer ids.
 * An id is a segment with a digit in it (`42`, `cus_9s8d7f`, a UUID, a hash), or a long token.
 */
export function pathTemplate(segments: readonly string[]): string {
  if (segments.length === 0) return '/';
  return `/${segments.map((segment) => (looksLikeId(segment) ? '{id}' : segment)).join('/')}`;
}

function looksLikeId(segment: string): boolean {
  // API versions (`v1`, `v2.1`) are part of the operation.
  if (/^v\d+(\.\d+)*$/i.test(segment)) return false;
  if (/\d/.test(segment)) return true;
  // Long opaque tokens (base64ish names, emails) are data, not the API's vocabulary.
  return segment.length > 24 || /[@=+]/.test(segment);
}
