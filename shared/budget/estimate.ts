import { IMAGE_PART_TYPES } from './imageTokens';
import { isRecord } from './usage';

/**
 * A request's likely size, known before the upstream is called, for what needs a guess rather
 * than a bound (the tokens-per-minute limit, `count_tokens`, a cut stream's usage). Input has no
 * tokenizer here, so it is over-estimated on purpose: ~4 characters a token (English averages a
 * little more), every non-ASCII code unit a whole token (CJK and emoji run close to one token a
 * character), plus per-message and per-request overheads. Spend reservations need a true upper
 * bound instead: see requestBound.ts.
 */

/** Role markers and separators around each message; OpenAI documents 3-4, rounded well up. */
export const MESSAGE_OVERHEAD_TOKENS = 8;
/** Reply priming and the scaffolding providers add around a request. */
export const REQUEST_OVERHEAD_TOKENS = 16;
/**
 * An image part, whatever its size: a large high-detail image on gpt-4o is ~1,100 tokens and on
 * Claude ~1,600. This is an estimate, not a bound (gpt-4o-mini bills images at far more tokens).
 */
export const IMAGE_TOKENS = 2_000;
const CHARS_PER_TOKEN = 4;

/** Text "units": an ASCII character is one, anything else a whole token (4). */
function textUnits(text: string): number {
  let units = 0;
  for (let i = 0; i < text.length; i++) units += text.charCodeAt(i) < 128 ? 1 : CHARS_PER_TOKEN;
  return units;
}

/** Every string and number inside a message, images aside (those are counted per part). */
function walk(value: unknown, tally: { units: number; images: number }): void {
  if (typeof value === 'string') tally.units += textUnits(value);
  else if (typeof value === 'number' || typeof value === 'boolean') tally.units += String(value).length;
  else if (Array.isArray(value)) for (const item of value) walk(item, tally);
  else if (isRecord(value)) {
    if (typeof value.type === 'string' && IMAGE_PART_TYPES.has(value.type)) {
      tally.images += 1;
      return;
    }
    for (const item of Object.values(value)) walk(item, tally);
  }
}

/** Embeddings `input`: text, texts, or pre-tokenized arrays (one token per number). */
function embeddingInputTokens(input: unknown): number {
  if (typeof input === 'string') return Math.ceil(textUnits(input) / CHARS_PER_TOKEN);
  if (!Array.isArray(input)) return 0;
  return input.reduce<number>((sum, item) => {
    if (typeof item === 'number') return sum + 1;
    if (Array.isArray(item)) return sum + item.length;
    return sum + embeddingInputTokens(item);
  }, 0);
}

/** Input tokens a Chat Completions or Embeddings body can use, estimated high. */
export function estimateInputTokens(body: Readonly<Record<string, unknown>>): number {
  if (!Array.isArray(body.messages)) {
    return body.input === undefined ? REQUEST_OVERHEAD_TOKENS : REQUEST_OVERHEAD_TOKENS + embeddingInputTokens(body.input);
  }
  const tally = { units: 0, images: 0 };
  for (const message of body.messages) walk(message, tally);
  // Tool and response schemas are sent as JSON, keys and all.
  for (const field of ['tools', 'functions', 'response_format'] as const) {
    if (body[field] !== undefined && body[field] !== null) tally.units += textUnits(JSON.stringify(body[field]));
  }
  return (
    REQUEST_OVERHEAD_TOKENS +
    body.messages.length * MESSAGE_OVERHEAD_TOKENS +
    tally.images * IMAGE_TOKENS +
    Math.ceil(tally.units / CHARS_PER_TOKEN)
  );
}

/** The client's own output ceiling (`max_completion_tokens`, else `max_tokens`), if it set one. */
export function requestedOutputTokens(body: Readonly<Record<string, unknown>>): number | undefined {
  for (const field of ['max_completion_tokens', 'max_tokens'] as const) {
    const value = body[field];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.ceil(value);
  }
  return undefined;
}
