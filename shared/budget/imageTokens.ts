/**
 * The most tokens one image can be billed at, per model family. An image part carries a URL or
 * base64 bytes whose size says nothing about its price: providers resize every image to a
 * bounded size and bill that, so each family has a hard maximum, taken from its pricing rules.
 * Rules assume images are only ever scaled down, as every provider documents.
 */

/** Content part types that carry an image (Chat Completions, Anthropic, Responses). */
export const IMAGE_PART_TYPES: ReadonlySet<string> = new Set(['image_url', 'image', 'input_image']);

/**
 * OpenAI's tile rule: fit in 2048 × 2048, then shortest side to 768 px, then 512 px tiles: at
 * most 768 × 2048 = 2 × 4 = 8 tiles. gpt-4o-mini bills 2,833 + 5,667 a tile: 48,169, the dearest
 * rule anyone documents, so it is also the bound for a family we do not know.
 */
const GPT_4O_MINI = 2_833 + 8 * 5_667;
/** gpt-4o, gpt-4.1, gpt-4.5: 85 + 170 a tile, 8 tiles. */
const OPENAI_TILES = 85 + 8 * 170;
/** o1, o3: 75 + 150 a tile, 8 tiles. */
const OPENAI_REASONING_TILES = 75 + 8 * 150;
/** gpt-5: 70 + 140 a tile, 8 tiles. */
const GPT_5_TILES = 70 + 8 * 140;
/** The patch rule (32 px patches, at most 1,536), times the model's multiplier, rounded up. */
const patches = (multiplier: number) => Math.ceil(1_536 * multiplier);
/**
 * Anthropic: tokens = width × height / 750, after the long edge is cut to 1,568 px. The docs'
 * "~1,600" also assumes the 1.15 MP cap; 1,568² / 750 does not rely on that approximation.
 */
const CLAUDE = Math.ceil((1_568 * 1_568) / 750);

/** Unknown families: no documented rule is dearer than gpt-4o-mini's, so nothing slips under it. */
export const DEFAULT_MAX_IMAGE_TOKENS = GPT_4O_MINI;

/** First match wins: the more specific names (`-mini`, `-nano`) come before their family. */
const FAMILIES: ReadonlyArray<readonly [RegExp, number]> = [
  [/gpt-4o-mini/, GPT_4O_MINI],
  [/gpt-(4\.1|5)-nano/, patches(2.46)],
  [/o4-mini/, patches(1.72)],
  [/gpt-(4\.1|5)-mini/, patches(1.62)],
  [/claude/, CLAUDE],
  [/gpt-4o|gpt-4\.1|gpt-4\.5|chatgpt-4o/, OPENAI_TILES],
  [/(^|[/.])(o1|o3)(-|$)/, OPENAI_REASONING_TILES],
  [/gpt-5/, GPT_5_TILES],
];

/** The most one image part can cost on `model`, in input tokens. */
export function maxImageTokens(model: string): number {
  const name = model.toLowerCase();
  for (const [pattern, tokens] of FAMILIES) if (pattern.test(name)) return tokens;
  return DEFAULT_MAX_IMAGE_TOKENS;
}
