/**
 * Folding of text before the injection patterns run, so that what a model reads as
 * "ignore previous instructions" is what the patterns see, however it was spelt:
 * - compatibility decomposition (NFKD, a superset of NFKC's folding: fullwidth, mathematical
 *   bold, ligatures, superscripts) then combining marks dropped, so "ïgnore" is "ignore";
 * - format characters (`\p{Cf}`: zero-width space/joiners, bidi controls, soft hyphen, word
 *   joiner, tag characters) and variation selectors dropped: a model does not see them;
 * - Cyrillic and Greek letters that look like Latin ones mapped to Latin;
 * - every run of whitespace collapsed to one space.
 * The output is only ever matched against, never sent anywhere.
 */

/**
 * Look-alikes, keyed by the character as written (case matters: Greek `ν` looks like `v`, its
 * capital `Ν` like `N`). Cyrillic and Greek are the scripts a homoglyph bypass reaches for first;
 * this is not Unicode's full confusables table (Cherokee, Armenian, Latin small capitals are
 * left out), which would be a larger table for little gain.
 */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  // Cyrillic lower case
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  і: 'i', ј: 'j', ѕ: 's', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ү: 'y',
  // Cyrillic upper case
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', У: 'Y', Х: 'X',
  І: 'I', Ј: 'J', Ѕ: 'S', Һ: 'H', Ԁ: 'D', Ԛ: 'Q', Ԝ: 'W', Ӏ: 'I', Ү: 'Y',
  // Greek lower case
  α: 'a', β: 'b', γ: 'y', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u',
  χ: 'x', ω: 'w',
  // Greek upper case
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T',
  Υ: 'Y', Χ: 'X',
};

/**
 * Marks, format characters, variation selectors (U+FE00–FE0F, U+E0100–E01EF), the combining
 * grapheme joiner, Mongolian free variation selectors and the Hangul fillers, all of which
 * render as nothing.
 */
const INVISIBLE = /^[\p{M}\p{Cf}\u034F\u115F\u1160\u180B-\u180F\u3164\uFFA0]$/u;

/** Runs of whitespace and any whitespace but a plain space: replacing every lone space would cost 10x. */
const WHITESPACE_RUN = /\s{2,}|[^\S ]/g;

const DROP = 0xffff;

/**
 * One table for the BMP, built once (64 K lookups, ~8 ms): the code unit to write, or DROP. A
 * Unicode-property regex `replace` costs ~30 ns a character and a callback per match far more;
 * a table lookup keeps 4 MiB of Cyrillic or zero-width text within ~20 ms. Built on the first
 * screened request, not at import: screening is off unless a key policy turns it on, and the
 * gateway's cold start should not pay for it (`npm run bench:cold`).
 */
let bmpTable: Uint16Array | undefined;
function bmpFoldTable(): Uint16Array {
  if (bmpTable) return bmpTable;
  const table = new Uint16Array(0x10000);
  for (let unit = 0; unit < table.length; unit++) {
    const isSurrogate = unit >= 0xd800 && unit <= 0xdfff;
    table[unit] = !isSurrogate && INVISIBLE.test(String.fromCharCode(unit)) ? DROP : unit;
  }
  for (const [from, to] of Object.entries(HOMOGLYPHS)) table[from.charCodeAt(0)] = to.charCodeAt(0);
  return (bmpTable = table);
}
const UTF16 = new TextDecoder('utf-16le');

/** Drops invisible characters and maps look-alikes in one pass over the code units. */
function foldCodeUnits(text: string): string {
  const table = bmpFoldTable();
  const out = new Uint16Array(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      // Astral: tag characters (U+E0000 block) and the variation selectors supplement are invisible.
      const pair = text.slice(i, i + 2);
      i++;
      if (INVISIBLE.test(pair)) continue;
      out[length++] = unit;
      out[length++] = pair.charCodeAt(1);
      continue;
    }
    const mapped = table[unit]!;
    if (mapped !== DROP) out[length++] = mapped;
  }
  return UTF16.decode(out.subarray(0, length));
}

export function normalizeForScreening(text: string): string {
  return foldCodeUnits(text.normalize('NFKD')).replace(WHITESPACE_RUN, ' ');
}
