import type { ModelPrice } from './prices';
import type { TokenUsage } from './usage';

/**
 * Money is counted in integers so that sums are exact:
 * - a cost is computed in picodollars (1e-12 USD): a price in USD per million tokens with up to
 *   six decimals is a whole number of picodollars per token, so tokens × price is exact (up to
 *   $9,000 in one request, Number.MAX_SAFE_INTEGER picodollars);
 * - the ledger counts whole microdollars (1e-6 USD), each request's cost ROUNDED UP, so the
 *   ledger over-counts by under $0.000001 a request and never under-counts (integers up to $9e9);
 * - dollars appear only at the edges (headers, logs), as one division of an exact integer, which
 *   gives the double nearest the exact decimal: 2_100 µ$ reads 0.0021, not 0.0020999999999999994.
 */
export const PICO_PER_USD = 1e12;
export const MICRO_PER_USD = 1e6;
const PICO_PER_MICRO = 1e6;

/** Picodollars per token for a price in USD per million tokens. */
export const picoPerToken = (usdPerMillion: number): number => Math.round(usdPerMillion * 1e6);

/** The exact cost of a usage record, in picodollars. */
export function costInPicoUsd(usage: TokenUsage, price: ModelPrice): number {
  return (
    usage.input * picoPerToken(price.input) +
    usage.cacheRead * picoPerToken(price.cache_read) +
    usage.cacheWrite * picoPerToken(price.cache_write) +
    usage.output * picoPerToken(price.output)
  );
}

/** The cost of a usage record in USD: exact up to the one final rounding to a double. */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  return costInPicoUsd(usage, price) / PICO_PER_USD;
}

/** Picodollars → whole microdollars, rounded up: the ledger's unit. */
export function picoToLedgerMicros(pico: number): number {
  const whole = Math.floor(pico / PICO_PER_MICRO);
  return pico % PICO_PER_MICRO === 0 ? whole : whole + 1;
}

/** A configured dollar amount (a cap) → microdollars. Caps are decimals people typed: round to nearest. */
export const usdToMicros = (usd: number): number => Math.round(usd * MICRO_PER_USD);

export const microsToUsd = (micros: number): number => micros / MICRO_PER_USD;
