import type { HighStakesRule } from './serviceConfig';
import { matchesPathPattern } from './pathPattern';

/** What a high-stakes rule is matched against. */
export interface HighStakesInput {
  method: string;
  /** Decoded path segments under the service. */
  segments: readonly string[];
  body?: Buffer;
  /** The request's content type (lower-case header value), to read the amount from a form body. */
  contentType?: string;
}

/**
 * The first `high_stakes` rule that holds this call, or undefined. A rule with an `amount_field`
 * and a `threshold` holds the call only when the amount is at least the threshold; an amount that
 * cannot be read (no body, not JSON or a form, no such field, not a number) holds it as well: a
 * malformed refund must not slip past its approval. A pure decision: no I/O.
 */
export function matchHighStakes(rules: readonly HighStakesRule[], input: HighStakesInput): HighStakesRule | undefined {
  return rules.find((rule) => {
    if (rule.method !== input.method || !matchesPathPattern(rule.path, input.segments)) return false;
    if (rule.amount_field === undefined || rule.threshold === undefined) return true;
    const amount = readAmount(input, rule.amount_field);
    return amount === undefined || amount >= rule.threshold;
  });
}

/** The number at a dot path of a JSON body, or a form field (`amount`, `refund.amount` or `refund[amount]`). */
export function readAmount(input: Pick<HighStakesInput, 'body' | 'contentType'>, field: string): number | undefined {
  if (!input.body || input.body.length === 0) return undefined;
  const text = input.body.toString('utf8');
  if (input.contentType?.includes('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(text);
    const bracketed = field.split('.').map((part, i) => (i === 0 ? part : `[${part}]`)).join('');
    return toNumber(form.get(field) ?? form.get(bracketed) ?? undefined);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return toNumber(value);
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  // Form bodies and some JSON APIs carry amounts as strings ("1000", "12.50").
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}
