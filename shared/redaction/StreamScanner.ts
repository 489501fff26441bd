import { REDACTED, TRAILING_GENERATED_KEY } from './credentialShapes';
import type { TrieNode } from './trieRegExpSource';

/**
 * A partial credential at the end of a piece is held back when it is at least this long.
 * Shorter ones go out: holding back every piece ending in `s` (the start of `sk-…`) would
 * delay and re-cut ordinary text; the rest of such a credential is cut from the next piece
 * instead, so at most its first 3 characters go out (`sk-`, the public part of most keys).
 */
export const MIN_HELD_CHARS = 4;

/** What a scanner needs of the redactor: its matchers, rebuilt when secrets are added. */
export interface StreamMatchers {
  exact: RegExp;
  /** The forms, and the generated key's prefix, a piece's end may begin. */
  held: TrieNode;
  longestForm: number;
}

/**
 * Redacts one stream piece by piece, across piece boundaries (a credential split over two
 * chunks, or streamed token by token): an end that may be the beginning of a credential waits
 * for the next piece, or (when shorter than {@link MIN_HELD_CHARS}) goes out and the rest of
 * the credential is cut from the next piece. An SSE event ends in a newline, which begins no
 * credential, so events go out whole and at once.
 */
export class StreamScanner {
  /** Sent already, and possibly the first characters of a credential. */
  private sentTail = '';
  /** Not sent yet: the possible beginning of a credential. */
  private pending = '';

  constructor(private readonly matchers: () => StreamMatchers) {}

  /** The part of the stream that can go out now (possibly empty). */
  push(piece: string): string {
    const { exact, held, longestForm } = this.matchers();
    const text = this.sentTail + this.pending + piece;
    const sent = this.sentTail.length;
    // A generated key running to the end may go on: it waits whole, unredacted, for the rest.
    const run = TRAILING_GENERATED_KEY.exec(text);
    const headEnd = run ? Math.max(run.index, sent) : text.length;
    const out = redactFrom(text.slice(0, headEnd), sent, exact);
    const visible = this.sentTail + out;
    const partial = partialAtEnd(visible, held, longestForm);
    const hold = partial >= MIN_HELD_CHARS ? Math.min(partial, out.length) : 0;
    const ready = out.slice(0, out.length - hold);
    this.pending = out.slice(out.length - hold) + text.slice(headEnd);
    // The already-sent part of a partial is kept to recognise the rest of it in the next piece.
    const sentPartial = partial - hold;
    this.sentTail = sentPartial > 0 ? (this.sentTail + ready).slice(-sentPartial) : '';
    return ready;
  }

  /** The rest, redacted as it is: the stream ended. */
  end(): string {
    const { exact } = this.matchers();
    const rest = redactFrom(this.sentTail + this.pending, this.sentTail.length, exact);
    this.sentTail = '';
    this.pending = '';
    return rest;
  }
}

/** `text` from `start` on, with every credential cut, including the rest of one that began before `start`. */
function redactFrom(text: string, start: number, pattern: RegExp): string {
  let out = '';
  let last = start;
  // exec on the shared global pattern, not matchAll: matchAll copies the pattern, and copying
  // one built from a hundred secrets costs far more than the scan (measured: 100x per event).
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const end = match.index + match[0].length;
    if (match[0] === '') pattern.lastIndex++;
    if (end <= start) continue;
    out += text.slice(last, Math.max(match.index, last)) + REDACTED;
    last = end;
  }
  return out + text.slice(last);
}

/** Length of the longest end of `text` that is the beginning (not the whole) of a form. */
function partialAtEnd(text: string, held: TrieNode, longestForm: number): number {
  for (let start = Math.max(0, text.length - longestForm + 1); start < text.length; start++) {
    // Walk the trie from here: most starts fall off after a character or two.
    let node: TrieNode | undefined = held;
    for (let i = start; node && i < text.length; i++) node = node.children.get(text[i]!);
    if (node && node.children.size > 0) return text.length - start;
  }
  return 0;
}
