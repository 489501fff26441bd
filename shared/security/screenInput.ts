import patternFile from './injectionPatterns.json' with { type: 'json' };

export const INPUT_SCREENING_MODES = { OFF: 'off', FLAG: 'flag', BLOCK: 'block' } as const;
export type InputScreeningMode = (typeof INPUT_SCREENING_MODES)[keyof typeof INPUT_SCREENING_MODES];

interface Pattern {
  id: string;
  regex: RegExp;
}

const PATTERNS: readonly Pattern[] = patternFile.patterns.map(({ id, regex }) => ({ id, regex: new RegExp(regex, 'i') }));

/** Text a user (or a tool result the agent pasted in) supplied: where injections arrive. */
function userTexts(body: Readonly<Record<string, unknown>>): string[] {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  const texts: string[] = [];
  for (const message of messages) {
    if (message.role !== 'user' && message.role !== 'tool') continue;
    if (typeof message.content === 'string') texts.push(message.content);
    else if (Array.isArray(message.content)) {
      for (const part of message.content as Array<{ text?: unknown }>) if (typeof part.text === 'string') texts.push(part.text);
    }
  }
  return texts;
}

/** The ids of the known injection patterns found in the request's user content (none: []). */
export function screenInput(body: Readonly<Record<string, unknown>>, patterns: readonly Pattern[] = PATTERNS): string[] {
  const found = new Set<string>();
  for (const text of userTexts(body)) {
    // Long pastes are cut: the patterns are phrases, and a regex over megabytes costs the request.
    const sample = text.length > 100_000 ? text.slice(0, 100_000) : text;
    for (const pattern of patterns) if (pattern.regex.test(sample)) found.add(pattern.id);
  }
  return [...found];
}
