/**
 * A value fit for an HTTP header whatever it holds: every character outside visible ASCII
 * (and `%` itself) is percent-encoded as UTF-8, so `decodeURIComponent` gives the original
 * back. For values a client can choose (a passed-through model name in `x-breakwater-target`):
 * Node refuses to write a header with a character outside Latin-1 or a control character, which
 * turned a request the upstream had already answered (and billed) into a 502.
 */
export function headerSafe(value: string): string {
  // With the `u` flag a lone surrogate is one match, which encodeURIComponent refuses: U+FFFD.
  return value.replace(/%|[^\x21-\x7e]/gu, (char) => {
    try {
      return encodeURIComponent(char);
    } catch {
      return '%EF%BF%BD';
    }
  });
}
