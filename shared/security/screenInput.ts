import patternFile from './injectionPatterns.json' with { type: 'json' };
import { normalizeForScreening } from './normalizeForScreening';

export const INPUT_SCREENING_MODES = { OFF: 'off', FLAG: 'flag', BLOCK: 'block' } as const;
export type InputScreeningMode = (typeof INPUT_SCREENING_MODES)[keyof typeof INPUT_SCREENING_MODES];

interface Pattern {
  id: string;
  regex: RegExp;
}

const PATTERNS: readonly Pattern[] = patternFile.patterns.map(({ id, regex }) => ({ id, regex: new RegExp(regex, 'i') }));

/**
 * Characters of user text screened in full; past it, the first and last halves. 4 Mi is the
 * gateway's body limit, so every accepted request is screened whole (measured: ~60 ms of CPU
 * for 4 MiB of text on a laptop core, see `test/unit/security/screenInput.test.ts`); the bound
 * only matters if that limit is raised, and keeps the cost linear in it.
 */
export const MAX_SCREENED_CHARS = 4 * 1024 * 1024;

export interface ScreenInputOptions {
  patterns?: readonly Pattern[];
  /** @default {@link MAX_SCREENED_CHARS} */
  maxChars?: number;
}

/** Text a user (or a tool result the agent pasted in) supplied, in order: where injections arrive. */
function userTexts(body: Readonly<Record<string, unknown>>): string[] {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  const texts: string[] = [];
  for (const message of messages) {
    if (message.role !== 'user' && message.role !== 'tool') continue;
    if (typeof message.content === 'string') texts.push(message.content);
    else if (Array.isArray(message.content)) {
      for (const part of message.content as Array<{ text?: unknown }>) if (typeof part?.text === 'string') texts.push(part.text);
    }
  }
  return texts;
}

/** The first and last `maxChars / 2` characters when the pieces together are longer than `maxChars`. */
function bounded(pieces: string[], maxChars: number): string[] {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (total <= maxChars) return pieces;
  const half = Math.floor(maxChars / 2);
  const head: string[] = [];
  let left = half;
  for (let i = 0; i < pieces.length && left > 0; i++) {
    head.push(pieces[i]!.slice(0, left));
    left -= head[head.length - 1]!.length;
  }
  const tail: string[] = [];
  left = half;
  for (let i = pieces.length - 1; i >= 0 && left > 0; i--) {
    tail.unshift(pieces[i]!.slice(-left));
    left -= tail[0]!.length;
  }
  return [...head, ...tail];
}

/**
 * The ids of the known injection patterns found in the request's user content (none: []).
 * The text is folded first ({@link normalizeForScreening}: zero-width characters, homoglyphs,
 * compatibility forms, whitespace), and every user and tool piece is joined, so a phrase split
 * across content parts or messages is still one phrase. The pieces are joined twice, with
 * nothing between them ("ignore prev" + "ious instructions") and with a space ("ignore previous"
 * + "instructions"), since either split reads as the phrase to a model.
 */
export function screenInput(body: Readonly<Record<string, unknown>>, options: ScreenInputOptions = {}): string[] {
  const patterns = options.patterns ?? PATTERNS;
  const pieces = bounded(userTexts(body), options.maxChars ?? MAX_SCREENED_CHARS).map(normalizeForScreening);
  if (pieces.length === 0) return [];
  const joined = pieces.length === 1 ? [pieces[0]!] : [pieces.join(''), pieces.join(' ')];
  const found = new Set<string>();
  for (const pattern of patterns) if (joined.some((text) => pattern.regex.test(text))) found.add(pattern.id);
  return [...found];
}
